"""`search` for detection: a TinyNAS MBConv backbone and its patch plan found together (tinycore.nas.joint), under
the SRAM / Flash budget, at the app's input size; the winner becomes a DetectorSpec that `train` / `demo` take.

Space: stem conv s2 then four MBConv stages (s2, s2, s1, s1) ending at the head's stride 8, with elastic depth,
kernel and expand ratio per block; the joint genes add the patch grid and the split block. Memory is exact for the
graph the search sees: the backbone plus the detector's neck and head as spec layers (a depthwise-separable 3x3
to the head width, then one 1x1 conv to C + 4 channels, which holds the bytes of the heat and box outputs together),
planned patch by patch in the app's input mode ("stream": camera rows). `export` re-plans the trained int8 detector
(tinycore.patch.search "auto") and the report keeps the search's prediction beside it.

Score: training each candidate is beyond a quick run, so the search maximizes MACs within the budget and a MAC cap,
TinyNAS's training-free proxy (in a space where every network fits, more computation gives more accuracy; Lin et al.
2020, sec. 3.1). Ties go to the smaller arena.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from apps.detection.model import DetectorSpec
from tinycore.budget import Budget
from tinycore.nas.evolution import EvolutionConfig
from tinycore.nas.joint import JointConfig, JointResult, joint_evolve
from tinycore.nas.space import Arch, SearchSpace, StageSpec
from tinycore.spec import Conv, DWSep, InputSpec, ModelSpec

STRIDE = 8
HEAD_WIDTH = 64
MAC_CAP = 60_000_000  # keeps training time near the default model's (47 M MACs)
GRIDS = (None, (4, 4), (5, 5), (6, 6))


@dataclass(frozen=True)
class DetectionSpace(SearchSpace):
    """A SearchSpace whose networks end in the detector's neck + head instead of a classifier (the memory the
    joint search must count); `backbone` gives the stem + blocks the Detector module builds."""
    n_classes: int = 5
    head_width: int = HEAD_WIDTH

    def to_spec(self, arch: Arch, name: str | None = None) -> ModelSpec:
        b = self.backbone(arch, name)
        head = (DWSep(self.head_width, kernel=3, act="relu"), Conv(self.n_classes + 4, kernel=1, act="none", bn=False))
        return replace(b, head=head)

    def backbone(self, arch: Arch, name: str | None = None) -> ModelSpec:
        spec = SearchSpace.to_spec(self, arch, name)
        return replace(spec, head=())


def detection_space(n_classes: int, input_hw: tuple[int, int]) -> DetectionSpace:
    h, w = input_hw
    return DetectionSpace(
        stages=(StageSpec(16, 2, (1,)), StageSpec(24, 2, (1, 2)), StageSpec(40, 1, (1, 2)),
                StageSpec(48, 1, (1, 2, 3))),
        head_classes=n_classes, input_shape=(3, h, w), widths=(0.75, 1.0, 1.25), resolutions=(w,),
        kernels=(3, 5, 7), expands=(2, 3, 4), stem=Conv(8, kernel=3, stride=2, act="relu"), act="relu",
        name="det_tinynas", patch_stages=2, n_classes=n_classes)


def search_detector(classes: tuple[str, ...], input_hw: tuple[int, int], budget: Budget, *, width: float = 1.0,
                    population: int = 16, generations: int = 6, seed: int = 0, input_mode: str = "stream",
                    progress: bool = False) -> tuple[DetectorSpec, JointResult]:
    """Joint evolution of (backbone, patch grid, split) maximizing MACs within budget (and MAC_CAP unless the
    budget sets one); returns the winner as a DetectorSpec and the search result."""
    space = detection_space(len(classes), input_hw)
    budget = budget if budget.macs is not None else replace(budget, macs=MAC_CAP)
    cfg = JointConfig(grids=GRIDS, input_mode=input_mode,
                      evolution=EvolutionConfig(population=population, generations=generations))

    def score(arch: Arch) -> float:
        from tinycore.nas.stage1 import arch_cost

        return arch_cost(space, arch).macs / 1e6

    result = joint_evolve(space, width, input_hw[1], budget, score, cfg, np.random.default_rng(seed),
                          progress=progress)
    best = result.best
    h, w = input_hw
    name = f"det_s{STRIDE}_nas_{h}x{w}"
    spec = DetectorSpec(space.backbone(best.arch, name=name), tuple(classes), STRIDE, HEAD_WIDTH, name)
    return spec, result


def search_section(result: JointResult) -> dict:
    """report.json "search": the winner (arch, patch plan, predicted memory) and the run's counts."""
    best = result.best
    return {"method": "tinycore.nas.joint (backbone + patch plan), score = MACs within budget",
            "winner": best.to_dict(), "predicted_arena_bytes": best.cost.arena_bytes,
            "predicted_arena_bytes_no_patch": best.cost.arena_bytes_no_patch,
            "predicted_flash_bytes": best.cost.flash_bytes, "patch": best.patch,
            "n_candidates": len(result.candidates), "rejected": result.rejected, "history": list(result.history)}


def write_spec(spec: DetectorSpec, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec.to_json())
    return path
