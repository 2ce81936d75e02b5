"""MCUNetV2 patch-based inference: receptive-field walk, patch plans, executors (numpy, torch, C), plan search."""
from tinycore.patch.execute import run_patched, run_program
from tinycore.patch.plan import PatchPlan, PatchRequest, check_split, parse_patch
from tinycore.patch.program import INPUT_MODES, PatchProgram, Region, build_program

__all__ = ["PatchPlan", "PatchRequest", "parse_patch", "check_split", "build_program", "PatchProgram", "Region",
           "INPUT_MODES", "run_patched", "run_program"]
