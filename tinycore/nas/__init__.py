"""TinyNAS (MCUNet): search space, stage-1 space optimization, once-for-all supernet, evolution under a budget.

Entry point for apps:

    space = SearchSpace(stages=(StageSpec(out=16, stride=1, depths=(2, 3, 4)), ...), head_classes=12,
                        input_shape=(1, 49, 10), widths=(0.5, 0.75, 1.0), resolutions=(49,))
    result = run_search(space, Budget(64 * 1024, 256 * 1024), train_data, val_data, SearchConfig.quick(),
                        out_dir)
    result.spec, result.predicted_arena_bytes, result.predicted_flash_bytes, result.model

The memory figures come from `subnet_cost` (torch-free, exact: the graph tinycore.quant would build, planned by
tinycore.memory). The evolution and stage-1 code import no torch; the supernet modules load lazily.
"""
from tinycore.budget import Budget
from tinycore.nas.cost import SubnetCost, graph_shape, subnet_cost
from tinycore.nas.evolution import Candidate, EvolutionConfig, EvolutionResult, evolve
from tinycore.nas.joint import JointConfig, JointResult, joint_evolve
from tinycore.nas.patch_space import Redistribution, redistribute
from tinycore.nas.space import Arch, SearchSpace, StageSpec
from tinycore.nas.stage1 import Stage1Result, budget_grid, format_grid, format_table, optimize_space

__all__ = ["Arch", "Budget", "Candidate", "EvolutionConfig", "EvolutionResult", "JointConfig", "JointResult",
           "Redistribution", "joint_evolve", "redistribute", "SearchConfig", "SearchResult",
           "SearchSpace", "Stage1Result", "StageSpec", "SubnetCost", "SupernetConfig", "budget_grid", "evolve",
           "format_grid", "format_table", "graph_shape", "optimize_space", "run_search", "subnet_cost"]

_LAZY = {"SearchConfig": "tinycore.nas.search", "SearchResult": "tinycore.nas.search",
         "run_search": "tinycore.nas.search", "SupernetConfig": "tinycore.nas.train_supernet"}


def __getattr__(name: str):
    """torch-using names load on first use, so `import tinycore.nas` stays torch-free for search code."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tinycore.nas' has no attribute {name!r}")
