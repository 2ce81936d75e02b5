"""MCUFormer search: search-space evolution over (low-rank ratio, token count), exact-memory scoring of ViT
subnets."""
from tinycore.former.space import ViTArch, ViTChoices
from tinycore.former.space_evolution import (FormerSpace, SpaceEvolutionConfig, SpaceEvolutionResult, SpaceGrid,
                                             SpaceScore, Trend, evolve_space, fit_trend, space_score, step_decision)

__all__ = ["FormerSpace", "SpaceEvolutionConfig", "SpaceEvolutionResult", "SpaceGrid", "SpaceScore", "Trend",
           "evolve_space", "fit_trend", "space_score", "step_decision", "ViTArch", "ViTChoices"]
