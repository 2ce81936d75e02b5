"""`run_search`: the whole TinyNAS pipeline an app's `search` command calls.

stage 1 (pick W, R by the MACs of fitting subnets) -> supernet training at (W, R) -> evolution under the budget
-> fine-tune of the winner (distilled from the largest subnet) -> files in out_dir:

  stage1.json, stage1_cdf.png     the per-(W, R) table, samples and the choice (cached: reused on a re-run)
  supernet.pt                     supernet checkpoint after every epoch (resumable)
  evolution.jsonl                 one line per generation (resumable)
  joint.json                      with SearchConfig.joint: every (arch, grid, split) scored, the winner's plan
  candidates.png                  score vs arena of every evaluated candidate
  finetune/checkpoint.pt          tinycore.train.fit checkpoint of the winner (resumable)
  best_spec.json                  the winner as a tinycore.spec ModelSpec (spec_to_json)
  search.json                     SearchResult.to_dict(): prediction, scores, histories, settings

Data contract: `train_data` and `val_data` are either a function resolution -> (x, y) (the app recomputes
features or resizes for that R; x is (N, C, H, W) float matching `space.input_shape_at(R)`) or a plain (x, y)
pair when the input does not depend on R. Arrays may be numpy or torch; integer targets become int64.
`train_loader`, when given, trains the supernet and the winner instead of train_data: a DataLoader (such as an
app's augmenting one) or a function resolution -> DataLoader or None (None: fall back to train_data, e.g. when the
app only augments at its native resolution). train_data still gives the BN recalibration batches.
Under torchrun every rank calls run_search; rank 0 runs the evolution and writes the files.
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from tinycore.budget import Budget
from tinycore.errors import TrainError
from tinycore.nas.evolution import Candidate, EvolutionConfig, evolve
from tinycore.nas.joint import JointConfig, JointCostModel, joint_evolve
from tinycore.nas.plots import plot_candidates, plot_stage1_cdf
from tinycore.nas.space import Arch, SearchSpace
from tinycore.nas.stage1 import Stage1Result, arch_cost, format_table, optimize_space
from tinycore.nas.supernet import Supernet
from tinycore.nas.train_supernet import SupernetConfig, calibration_batches, score_subnet, train_supernet
from tinycore.spec.layers import ModelSpec, spec_to_json
from tinycore.train import distributed
from tinycore.train.loop import accuracy, evaluate, fit

Pair = tuple[Any, Any]
SearchData = Union[Pair, Callable[[int], Pair]]


@dataclass(frozen=True)
class SearchConfig:
    samples_per_space: int = 1000     # stage 1 subnets sampled per (W, R)
    min_fit_share: float = 0.2        # stage 1 rule: spaces with at least this share fitting compete on mean MACs
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    finetune_epochs: int = 10
    finetune_lr: float = 3e-3
    seed: int = 0
    # network + patch plan searched together (tinycore.nas.joint): stage 1 and the evolution cost each subnet by
    # its patched arena; `evolution` above replaces joint.evolution. None: no patches
    joint: JointConfig | None = None

    @staticmethod
    def quick(seed: int = 0) -> "SearchConfig":
        """Small settings that finish in minutes on 2 CPU cores (49x10x1 inputs, ~3000 training clips)."""
        return SearchConfig(samples_per_space=200, supernet=SupernetConfig(epochs=2, n_random=0, calib_batches=2,
                                                                           seed=seed),
                            evolution=EvolutionConfig(population=8, generations=3), finetune_epochs=8, seed=seed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SearchResult:
    spec: ModelSpec
    arch: Arch
    width: float
    resolution: int
    predicted_arena_bytes: int     # exact int8 arena (tinycore.memory on the quantized graph shape)
    predicted_flash_bytes: int
    macs: int
    params: int
    accuracy: float                # metric of the fine-tuned winner on val_data
    supernet_accuracy: float       # its score inside the supernet (BN recalibrated)
    budget: Budget
    stage1: Stage1Result = field(repr=False)
    history: dict[str, Any] = field(repr=False, default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    model: nn.Module | None = field(default=None, repr=False, compare=False)  # the fine-tuned float model
    patch_plan: dict[str, Any] | None = None  # joint search: {"splits", "grid"} of the winner's plan, or None
    input_mode: str | None = None             # joint search: how the patch stage holds its input

    @property
    def patch(self) -> str:
        """The plan in --patch form ('3x3@op7'), or 'none'."""
        if self.patch_plan is None:
            return "none"
        g = self.patch_plan["grid"]
        return f"{g[0]}x{g[1]}@" + ",".join(f"op{i}" for i in self.patch_plan["splits"])

    def to_dict(self) -> dict[str, Any]:
        s1 = self.stage1.to_dict()
        s1.pop("samples")
        return {"spec": self.spec.to_dict(), "arch": self.arch.to_dict(), "summary": self.arch.short(),
                "patch": self.patch, "patch_plan": self.patch_plan, "input_mode": self.input_mode,
                "width": self.width, "resolution": self.resolution,
                "predicted_arena_bytes": self.predicted_arena_bytes,
                "predicted_flash_bytes": self.predicted_flash_bytes, "macs": self.macs, "params": self.params,
                "accuracy": self.accuracy, "supernet_accuracy": self.supernet_accuracy,
                "budget": self.budget.to_dict(), "stage1": s1, "history": self.history, "files": self.files}


def resolve_data(data: SearchData, resolution: int, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(x float32, y) tensors for `resolution` from either form of the data contract."""
    pair = data(resolution) if callable(data) else data
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise TrainError(f"search: {what} must be (x, y) or a function resolution -> (x, y), got {type(pair)}")
    x = torch.as_tensor(np.asarray(pair[0]) if not isinstance(pair[0], torch.Tensor) else pair[0]).float()
    y = torch.as_tensor(np.asarray(pair[1]) if not isinstance(pair[1], torch.Tensor) else pair[1])
    if not torch.is_floating_point(y):
        y = y.long()
    if len(x) != len(y) or len(x) == 0:
        raise TrainError(f"search: {what} has {len(x)} inputs and {len(y)} targets")
    return x, y


def _stage1(space: SearchSpace, budget: Budget, cfg: SearchConfig, out: Path, write: bool,
            progress: bool, joint_cost: JointCostModel | None = None) -> Stage1Result:
    n = cfg.samples_per_space if cfg.joint is None else min(cfg.samples_per_space, cfg.joint.stage1_samples)
    joint = None if cfg.joint is None else {k: v for k, v in asdict(cfg.joint).items() if k != "evolution"}
    key = json.loads(json.dumps({"space": space.describe(), "budget": budget.to_dict(),  # as stage1.json stores it
                                 "samples_per_space": n, "min_fit_share": cfg.min_fit_share,
                                 "seed": cfg.seed, **({"joint": joint} if joint else {})}))
    path = out / "stage1.json"
    if path.exists():
        d = json.loads(path.read_text())
        if d.get("key") == key:
            return Stage1Result.from_dict(d)
    res = optimize_space(space, budget, n, np.random.default_rng([cfg.seed, 1]), cfg.min_fit_share,
                         cost=None if joint_cost is None else lambda a: joint_cost.smallest(a, budget.sram_bytes))
    if write:
        path.write_text(json.dumps({"key": key, **res.to_dict()}))
        plot_stage1_cdf(res, out / "stage1_cdf.png")
    if progress:
        print(format_table(res.rows, (res.width, res.resolution)), file=sys.stderr)
        print(f"stage 1 choice: W{res.width:g} R{res.resolution} ({res.rule})", file=sys.stderr)
    return res


def _share(obj: Any, ctx: distributed.DistContext) -> Any:
    """Rank 0's value on every rank."""
    if not ctx.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _joint_evolution(space: SearchSpace, w: float, r: int, budget: Budget, score: Callable[[Arch], float],
                     cfg: SearchConfig, cost: JointCostModel, path: Path | None,
                     show: bool) -> tuple[dict[str, Any], list[Candidate], Candidate]:
    """The evolution over (arch, grid, split) at (W, R); returns the shared best dict (its arena the patched one,
    with the plan), every candidate as a Candidate (for the plot) and the best one. Writes joint.json."""
    jcfg = replace(cfg.joint, evolution=cfg.evolution)
    res = joint_evolve(space, w, r, budget, score, jcfg, np.random.default_rng([cfg.seed, 2]), cost, progress=show)

    def as_candidate(c) -> Candidate:
        return Candidate(c.arch, c.score, c.cost.arena_bytes, c.cost.flash_bytes, c.cost.macs, c.generation)

    b = res.best
    plan = None if b.cost.plan is None else {"splits": list(b.cost.plan.splits),
                                             "grid": [b.cost.plan.grid_rows, b.cost.plan.grid_cols]}
    best = {"best": as_candidate(b).to_dict(), "history": list(res.history), "patch_plan": plan,
            "input_mode": jcfg.input_mode, "joint_best": b.to_dict()}
    if path is not None:
        path.write_text(json.dumps({"best": b.to_dict(), "rejected": res.rejected, "history": list(res.history),
                                    "candidates": [c.to_dict() for c in res.candidates]}, indent=1, default=str))
    return best, [as_candidate(c) for c in res.candidates], as_candidate(b)


@dataclass
class SharedSupernet:
    """A trained supernet and what scoring and fine-tuning its subnets need (one per `train_shared_supernet`)."""
    net: Supernet
    stage1: Stage1Result
    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    loader: Any                    # the DataLoader the supernet trained on, or None (the train tensors)
    calib: list[torch.Tensor]
    history: list[dict[str, Any]]
    out: Path
    ctx: distributed.DistContext
    metric: Callable = accuracy
    joint_cost: JointCostModel | None = None  # SearchConfig.joint: subnets costed by their patched arena
    scores: dict[tuple, float] = field(default_factory=dict)  # arch.key() -> score, shared by every pick
    # (arch.key(), fine-tune epochs, lr, seed) -> (state_dict, val metric, fine-tune history): a winner two budgets
    # share is extracted and fine-tuned once
    tuned: dict[tuple, tuple] = field(default_factory=dict)

    @property
    def space(self) -> SearchSpace:
        return self.net.space

    def score(self, arch: Arch) -> float:
        """The subnet's metric inside the supernet (BN recalibrated on the fixed calibration batches): the same
        number whichever budget asks, so a subnet several boards' evolutions meet is scored once."""
        k = arch.key()
        if k not in self.scores:
            self.scores[k] = score_subnet(self.net, arch, self.calib, self.val, self.metric)
        return self.scores[k]


def train_shared_supernet(space: SearchSpace, budget: Budget, train_data: SearchData, val_data: SearchData,
                          cfg: SearchConfig, out: Path, ctx: distributed.DistContext, *, loss: Callable,
                          metric: Callable, progress: bool, train_loader: Any) -> SharedSupernet:
    """Stage 1 under `budget` (it fixes W and R), then the supernet at (W, R), checkpointed in `out`."""
    write = ctx.is_main
    if write:
        out.mkdir(parents=True, exist_ok=True)
    show = progress and ctx.is_main
    joint_cost = JointCostModel(space, cfg.joint) if cfg.joint is not None else None
    s1 = _stage1(space, budget, cfg, out, write, show, joint_cost)
    w, r = s1.width, s1.resolution
    train = resolve_data(train_data, r, "train_data")
    val = resolve_data(val_data, r, "val_data")
    expect = space.input_shape_at(r)
    if tuple(train[0].shape[1:]) != expect or tuple(val[0].shape[1:]) != expect:
        raise TrainError(f"search: at resolution {r} the space expects inputs {expect}, the data give "
                         f"{tuple(train[0].shape[1:])} (train) and {tuple(val[0].shape[1:])} (val)")
    torch.manual_seed(cfg.seed)
    net = Supernet(space, w, r)
    loader = train_loader(r) if callable(train_loader) else train_loader
    calib = calibration_batches(train[0], cfg.supernet)
    sn_hist = train_supernet(net, train if loader is None else loader, val, cfg.supernet,
                             out if write else None, loss, metric, show, calib)
    return SharedSupernet(net, s1, train, val, loader, calib, sn_hist, out, ctx, metric, joint_cost)


def pick_subnet(shared: SharedSupernet, budget: Budget, cfg: SearchConfig, out: Path, *, loss: Callable,
                metric: Callable, metric_name: str, progress: bool) -> SearchResult:
    """Evolution under `budget` among the shared supernet's subnets, then the winner extracted and (with
    cfg.finetune_epochs > 0) fine-tuned, distilled from the largest subnet; files in `out` (see module doc)."""
    net, space, ctx = shared.net, shared.space, shared.ctx
    w, r = net.width, net.resolution
    calib, train, val, loader = shared.calib, shared.train, shared.val, shared.loader
    write, show = ctx.is_main, progress and ctx.is_main
    if write:
        out.mkdir(parents=True, exist_ok=True)
    best_dict = None
    if ctx.is_main:
        title = (f"{space.name}: W{w:g} R{r}, SRAM {budget.sram_bytes // 1024} KB, Flash "
                 f"{budget.flash_bytes // 1024} KB" + ("" if shared.joint_cost is None else ", patched arena"))
        if shared.joint_cost is None:
            evo = evolve(space, w, r, budget, shared.score, cfg.evolution,
                         np.random.default_rng([cfg.seed, 2]), out / "evolution.jsonl", progress=show)
            best_dict = {"best": evo.best.to_dict(), "history": list(evo.history)}
            candidates, best_c = evo.candidates, evo.best
        else:
            best_dict, candidates, best_c = _joint_evolution(space, w, r, budget, shared.score, cfg,
                                                             shared.joint_cost, out / "joint.json" if write else None,
                                                             show)
        plot_candidates(candidates, best_c, budget.sram_bytes, out / "candidates.png", metric_name, title,
                        budget.flash_bytes)
    best_dict = _share(best_dict, ctx)
    best = Candidate.from_dict(best_dict["best"])
    tune_key = (best.arch.key(), cfg.finetune_epochs, cfg.finetune_lr, cfg.seed)
    if tune_key in shared.tuned:  # another budget's winner, fine-tuned already: the same training would follow
        state, acc, ft_hist = shared.tuned[tune_key]
        model = net.extract(best.arch)
        model.load_state_dict(state)
    else:
        score_subnet(net, space.largest(w, r), calib, val, metric)
        teacher = net.extract(space.largest(w, r)).eval()
        score_subnet(net, best.arch, calib, val, metric)
        model = net.extract(best.arch)
        if cfg.finetune_epochs > 0:
            ft = fit(model, train if loader is None else loader, val, epochs=cfg.finetune_epochs,
                     lr=cfg.finetune_lr, loss=loss, metric=metric,
                     out_dir=out / "finetune", teacher=teacher, batch_size=cfg.supernet.batch_size,
                     progress=show, seed=cfg.seed)
            acc, ft_hist = ft.best_metric, [asdict(h) for h in ft.history]
        else:
            acc, ft_hist = evaluate(model, val, metric), []
        shared.tuned[tune_key] = ({k: v.clone() for k, v in model.state_dict().items()}, acc, ft_hist)
    spec = space.to_spec(best.arch)
    cost = arch_cost(space, best.arch)
    files = {k: str(d / v) for k, d, v in (("stage1", shared.out, "stage1.json"),
                                          ("stage1_cdf", shared.out, "stage1_cdf.png"),
                                          ("supernet", shared.out, "supernet.pt"), ("evolution", out, "evolution.jsonl"),
                                          ("candidates", out, "candidates.png"), ("best_spec", out, "best_spec.json"),
                                          ("result", out, "search.json"))}
    arena = best.arena_bytes if cfg.joint is not None else cost.arena_bytes  # joint: the patched arena
    if cfg.joint is not None:  # the joint evolution writes joint.json instead of evolution.jsonl
        files["joint"] = str(out / "joint.json")
        del files["evolution"]
    result = SearchResult(spec, best.arch, w, r, arena, cost.flash_bytes, cost.macs, cost.params,
                          float(acc), best.score, budget, shared.stage1,
                          {"supernet": shared.history, "evolution": best_dict["history"], "finetune": ft_hist,
                           "train_source": "train_data" if loader is None else "train_loader",
                           "config": cfg.to_dict()}, files, model.eval(), best_dict.get("patch_plan"),
                          best_dict.get("input_mode"))
    if write:
        (out / "best_spec.json").write_text(spec_to_json(spec))
        (out / "search.json").write_text(json.dumps(result.to_dict(), indent=2))
    if show:
        print(f"winner {best.arch.short()} (patches {result.patch}): arena {arena:,} B, Flash {cost.flash_bytes:,} B, "
              f"{cost.macs:,} MACs, {metric_name} {acc:.4f} (supernet {best.score:.4f})", file=sys.stderr)
    return result


def run_search(space: SearchSpace, budget: Budget, train_data: SearchData, val_data: SearchData,
               cfg: SearchConfig, out_dir: str | Path, *, loss: Callable = F.cross_entropy,
               metric: Callable = accuracy, metric_name: str = "accuracy", progress: bool = True,
               train_loader: Any = None) -> SearchResult:
    """TinyNAS under `budget`; every step is checkpointed in out_dir, so a re-run resumes (see module doc)."""
    out = Path(out_dir)
    ctx = distributed.start()
    try:
        shared = train_shared_supernet(space, budget, train_data, val_data, cfg, out, ctx, loss=loss,
                                       metric=metric, progress=progress, train_loader=train_loader)
        return pick_subnet(shared, budget, cfg, out, loss=loss, metric=metric, metric_name=metric_name,
                           progress=progress)
    finally:
        distributed.stop(ctx)
