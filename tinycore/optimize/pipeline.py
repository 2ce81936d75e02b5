"""`optimize.run(model, data, budget, out_dir, cfg)`: fit a user's trained float model to a memory budget within an
accuracy drop. The CLI (`python -m tinycore optimize`) and apps call this one function.

1. import the model (tinycore.importers) and measure it: float test accuracy, params, MACs, exact int8 arena and
   Flash of its graph (tinycore.nas.cost, the planner's numbers);
2. build the design space around its layers (space.py) and search it with the TinyNAS evolution
   (tinycore.nas.evolution.evolve) under the exact limits; the score is the candidate's MACs (in a fixed space the
   subnets with more computation under the budget are the more accurate ones: MCUNet's stage-1 argument), so the
   search spends the budget; every candidate it scores fits;
3. rank the `proxy_pool` best by a trained proxy: each distilled from the user's model for `proxy_epochs`, scored
   by float val accuracy (accuracy, not MACs, picks what is trained in full; proxy_epochs 0 skips this);
4. train the `top_k` best (the user's own architecture first when it fits, by patches if need be) with the user's
   model as teacher, then QAT (distill.py); quantize; int8 accuracy. Proxies and candidates start from the user's
   weights sliced to their channels and layers (inherit.py: "prune, then distil"), which is what lets a 1-epoch
   proxy tell candidates apart and a few epochs recover the accuracy (from scratch, a MobileNet sits on its loss
   plateau for ~25 epochs);
5. keep the most accurate on val within the limits (select.py), report its test drop; export it as our C, int8
   .tflite and float ONNX; run it in QEMU on the board's emulated core.

Resumable: the evolution logs a line per generation, each trained candidate leaves candidates/<tag>/state.json
(with its graph and weights); a rerun with the same settings reads them instead of training again.
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tinycore.budget import Budget
from tinycore.errors import TinycoreError
from tinycore.nas.boards import board_budget  # noqa: F401  (re-exported: tinycore.optimize.board_budget)
from tinycore.optimize.distill import DistillConfig
from tinycore.optimize.space import FIT_PROBES, KEEP_USER_GENE
from tinycore.progress import log

STATE_FORMAT = 1
BN_SAMPLES = 512  # train inputs an inherited candidate's BatchNorm statistics are measured on


@dataclass(frozen=True)
class OptimizeConfig:
    max_drop_points: float = 1.84
    seed: int = 0
    population: int = 32
    generations: int = 10
    top_k: int = 4
    proxy_pool: int = 8                # candidates (by MACs) given a short distillation to rank them by accuracy
    proxy_epochs: int = 2              # 0: rank by MACs only
    distill: DistillConfig = field(default_factory=DistillConfig)
    board: str | None = None           # the firmware check runs on its emulated core (mps2-an386 when None)
    firmware_inputs: int = 3
    also_boards: tuple[str, ...] = ()  # more emulated boards the chosen model is run on (e.g. mps3-an547)
    patches: bool = True               # patch-based inference for candidates whose first stage is over the SRAM
    progress: bool = True

    @staticmethod
    def quick(**kw: Any) -> "OptimizeConfig":
        """Small settings: a short search, two candidates, a few epochs."""
        base = OptimizeConfig(population=48, generations=8, top_k=2, proxy_pool=6, proxy_epochs=1,
                              distill=DistillConfig(epochs=8, batch_size=32, qat_epochs=1), firmware_inputs=2)
        return replace(base, **kw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure(spec) -> dict[str, int]:
    """params, macs and the exact int8 arena, Flash and weight bytes of `spec` (no calibration needed: memory
    depends on shapes only)."""
    from tinycore.memory import flash_report
    from tinycore.nas.cost import graph_shape, subnet_cost

    c = subnet_cost(spec)
    return {"params": c.params, "macs": c.macs, "arena_bytes": c.arena_bytes, "flash_bytes": c.flash_bytes,
            "weights_bytes": flash_report(graph_shape(spec)).weights_bytes}


def _load_inputs(model_path: Path, data: Any, input_shape, quick: bool, seed: int, progress: bool):
    from tinycore.importers import import_model
    from tinycore.optimize.data import load_app_data, load_data
    from tinycore.task import TaskData

    if isinstance(data, TaskData):
        return import_model(model_path, tuple(data.input_shape)), data
    if not Path(str(data)).is_dir():
        task_data, _ = load_app_data(str(data), quick, seed, progress)
        imported = import_model(model_path, tuple(task_data.input_shape))
        if tuple(imported.spec.input.shape()) != tuple(task_data.input_shape):
            raise TinycoreError(f"{model_path}: takes {imported.spec.input.shape()}, the app's inputs are "
                                f"{tuple(task_data.input_shape)}")
        return imported, task_data
    imported = import_model(model_path, input_shape)
    return imported, load_data(str(data), imported.spec.input.shape(), quick=quick, seed=seed, progress=progress)


def _arena(graph, patch: str | None) -> int:
    """The arena the exported C declares: whole graph, or the patch program of `patch` ('3x3@op0,op3')."""
    from tinycore.memory import plan_graph

    if patch is None:
        return plan_graph(graph).arena_bytes
    from tinycore.optimize.cost import INPUT_MODE
    from tinycore.patch.search import evaluate_plan

    return evaluate_plan(graph, patch_plan(patch), INPUT_MODE).arena_bytes


def patch_plan(text: str):
    from tinycore.patch.plan import PatchPlan, parse_patch

    req = parse_patch(text)
    return PatchPlan(req.splits, *req.grid)


def _init(space, teacher, g, cfg: OptimizeConfig):
    """The candidate's start: the user's weights sliced to it (inherit.py), its BatchNorms matched to its inputs;
    None (fresh initialisation) when cfg.distill.inherit is off."""
    if not cfg.distill.inherit:
        return None
    from tinycore.optimize.inherit import inherit, match_bn_statistics

    def init(model, x: np.ndarray) -> None:
        inherit(model, teacher, space, g)
        match_bn_statistics(model, x[:BN_SAMPLES])
    return init


def _candidate(space, cand, patch: str | None, out: Path, key: dict, outputs, data, cfg: OptimizeConfig) -> dict:
    """Train (or read back) one searched candidate; returns its report row."""
    import torch

    from tinycore.ir import load_graph
    from tinycore.memory import flash_bytes, flash_report
    from tinycore.optimize.distill import train_candidate
    from tinycore.spec import spec_to_json

    spec = space.to_spec(cand.arch)
    folder = out / "candidates" / spec.name
    state_path = folder / "state.json"
    if state_path.exists():
        state = json.loads(state_path.read_text())
        if state.get("key") == key and state["row"]["patch"] == (patch or "none"):
            return state["row"]
    folder.mkdir(parents=True, exist_ok=True)
    model, graph, metrics = train_candidate(spec, outputs, data, cfg.distill, folder, cfg.seed, cfg.progress,
                                            init=_init(space, outputs.teacher, cand.arch, cfg))
    graph.save(folder / "model.graph")
    torch.save(model.state_dict(), folder / "model.pt")
    (folder / "spec.json").write_text(spec_to_json(spec))
    arena = _arena(load_graph(folder / "model.graph"), patch)
    if (arena, flash_bytes(graph)) != (cand.arena_bytes, cand.flash_bytes):
        raise TinycoreError(f"{folder}: the trained graph needs arena {arena:,} B / Flash "
                            f"{flash_bytes(graph):,} B, the search predicted {cand.arena_bytes:,} / "
                            f"{cand.flash_bytes:,} B")
    row = {"name": spec.name, "genome": cand.arch.to_dict(), "summary": cand.arch.short(),
           "accuracy": metrics["int8_test"], "val_accuracy": metrics["int8_val"],
           "float_accuracy": metrics["float_test"], "float_val_accuracy": metrics["float_val"],
           "augmented": metrics["augmented"],
           "arena_bytes": arena, "patch": patch or "none", "flash_bytes": flash_bytes(graph),
           "weights_bytes": flash_report(graph).weights_bytes, "macs": cand.macs,
           "params": int(sum(p.numel() for p in model.parameters())), "search_score": cand.score,
           "folder": str(folder)}
    state_path.write_text(json.dumps({"format": STATE_FORMAT, "key": key, "row": row}, indent=1))
    return row


def _rank_by_proxy(pool: list, space, out: Path, key: dict, outputs, data, cfg: OptimizeConfig) -> tuple[list, dict]:
    """`pool` sorted by proxy val accuracy (ties: more MACs first), and {arch short: accuracy}; each score is kept
    in out/proxy.json under the run's key, so a resumed run does not train it again."""
    from tinycore.optimize.distill import proxy_accuracy

    path = out / "proxy.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    scores = saved.get("scores", {}) if saved.get("key") == key else {}
    for cand in pool:
        name = cand.arch.short()
        if name not in scores:
            scores[name] = proxy_accuracy(space.to_spec(cand.arch), outputs, data, cfg.distill, cfg.proxy_epochs,
                                          cfg.seed, init=_init(space, outputs.teacher, cand.arch, cfg))
            path.write_text(json.dumps({"key": key, "scores": scores}, indent=1))
        log(f"proxy {name}: val {100 * scores[name]:.2f} % after {cfg.proxy_epochs} epoch(s)", not cfg.progress)
    ranked = sorted(pool, key=lambda c: (-scores[c.arch.short()], -c.macs, c.arch.short()))
    return ranked, {c.arch.short(): scores[c.arch.short()] for c in pool}


def _with_user_architecture(ranked: list, space, cost, budget: Budget) -> list:
    """The user's own architecture first when it fits (by patches if need be): retrained with the teacher and QAT it
    is the reference the search's candidates are compared with."""
    from tinycore.nas.evolution import Candidate
    from tinycore.optimize.cost import search_score

    c = cost(space.original)
    if not budget.fits(c.arena_bytes, c.flash_bytes, c.macs):
        return ranked
    own = Candidate(space.original, search_score(c), c.arena_bytes, c.flash_bytes, c.macs, -1)
    return [own] + [x for x in ranked if x.arch.key() != space.original.key()]


def run(model_path: str | Path, data: Any, budget: Budget, out_dir: str | Path, cfg: OptimizeConfig = OptimizeConfig(),
        input_shape: tuple[int, ...] | None = None, quick: bool = False) -> dict:
    """Optimize the model file for `budget`; `data` is an image folder, an app name or a TaskData. Writes
    out_dir/report.json (returned), pareto.png, model.graph, c/, model.tflite, model.onnx."""
    import torch
    from tqdm import tqdm

    from tinycore.nas.evolution import EvolutionConfig, evolve
    from tinycore.optimize.cost import CandidateCost, search_score
    from tinycore.optimize.distill import float_accuracy
    from tinycore.optimize.export import export_chosen
    from tinycore.optimize.report import plot_pareto
    from tinycore.optimize.select import choose
    from tinycore.optimize.teacher import TeacherOutputs
    from tinycore.optimize.space import UserSpace
    from tinycore.report import RunDir

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    imported, data = _load_inputs(Path(model_path), data, input_shape, quick, cfg.seed, cfg.progress)
    teacher = imported.model.eval()
    spec = imported.spec
    _, h, w = spec.input.shape()
    user = {"source": imported.source, "format": imported.format, "spec": spec.to_dict(),
            "accuracy": float_accuracy(teacher, *data.test), **measure(spec)}
    user["fits"] = budget.fits(user["arena_bytes"], user["flash_bytes"])
    log(f"user model {imported.source}: float test accuracy {100 * user['accuracy']:.2f} %, {user['params']:,} "
        f"params, {user['macs']:,} MACs, int8 arena {user['arena_bytes']:,} B, Flash {user['flash_bytes']:,} B",
        not cfg.progress)

    order = None
    if cfg.distill.inherit:  # drop first the layers whose removal changes the user's outputs least
        from tinycore.optimize.inherit import keep_order

        order = keep_order(UserSpace(spec), teacher, data.train[0][:BN_SAMPLES], progress=cfg.progress)
    space = UserSpace(spec, keep_order=order, keep_user_gene=KEEP_USER_GENE if cfg.distill.inherit else 0.0)
    cost = CandidateCost(space, budget, cfg.patches)

    def fits(g) -> bool:
        c = cost(g)
        return budget.fits(c.arena_bytes, c.flash_bytes, c.macs)
    fit_shares = space.fit_user_genes(fits, cfg.seed) if space.keep_user_gene > 0 else {}
    if fit_shares:
        log(f"random candidates keep each user gene with p = {space.keep_user_gene:g} (fitting share of "
            f"{FIT_PROBES} draws per p: {', '.join(f'{p}: {s:.1%}' for p, s in fit_shares.items())})", not cfg.progress)
    evo_cfg = EvolutionConfig(population=cfg.population, generations=cfg.generations)
    result = evolve(space, 1.0, h, budget, score=lambda g: search_score(cost(g)),
                    cfg=evo_cfg, rng=np.random.default_rng(cfg.seed), log_path=out / "evolution.jsonl",
                    cost=cost, progress=cfg.progress)
    ranked = sorted(result.candidates, key=lambda c: (-c.score, c.flash_bytes, c.arena_bytes, c.arch.short()))
    key = {"spec": json.loads(json.dumps(spec.to_dict())), "distill": cfg.distill.to_dict(), "seed": cfg.seed,
           "dataset": data.dataset, "keep_order": list(space.keep_order)}
    key = json.loads(json.dumps(key))
    pool, proxy = _with_user_architecture(ranked, space, cost, budget), {}
    outputs = TeacherOutputs(teacher, (h, w))  # the teacher's logits, once per candidate input size
    if cfg.proxy_epochs > 0 and len(pool) > cfg.top_k:
        pool, proxy = _rank_by_proxy(pool[:max(cfg.proxy_pool, cfg.top_k)], space, out,
                                     {**key, "proxy_epochs": cfg.proxy_epochs}, outputs, data, cfg)
    top = pool[:cfg.top_k]
    rows = []
    bar = tqdm(top, desc="candidates", file=sys.stderr, disable=not cfg.progress)
    for cand in bar:
        bar.set_postfix_str(cand.arch.short())
        cost(cand.arch)  # a resumed search scored it earlier: find its patch plan again
        row = _candidate(space, cand, cost.plans.get(cand.arch.key()), out, key, outputs, data, cfg)
        rows.append({**row, "proxy_val_accuracy": proxy.get(cand.arch.short())})
    bar.close()
    choice = choose(rows, budget, user["accuracy"], cfg.max_drop_points)
    chosen = rows[choice.index]
    log(f"chosen {chosen['summary']}: int8 test accuracy {100 * chosen['accuracy']:.2f} % (drop "
        f"{choice.drop_points:.2f} points, {'within' if choice.within_drop else 'NOT within'} "
        f"{cfg.max_drop_points:g}), arena {chosen['arena_bytes']:,} B, Flash {chosen['flash_bytes']:,} B",
        not cfg.progress)

    sections = export_chosen(chosen, out, cfg)
    plot_pareto(rows, user, choice.index, budget, out / "pareto.png",
                f"{spec.name}: {len(rows)} candidates, arena <= {budget.sram_bytes:,} B, Flash <= "
                f"{budget.flash_bytes:,} B")
    optimize = {"user": user, "candidates": rows, "chosen": {"index": choice.index, "name": chosen["name"],
                                                             "summary": chosen["summary"]},
                "drop_points": choice.drop_points, "max_drop_points": cfg.max_drop_points,
                "within_drop": choice.within_drop,
                "search": {"space": space.describe(), "evaluated": len(result.candidates),
                           "init": ("the user's weights, sliced by filter L1 norm, BatchNorm matched (inherit.py)"
                                    if cfg.distill.inherit else "fresh (from scratch)"),
                           "keep_user_gene": space.keep_user_gene, "fit_share_by_keep_user_gene": fit_shares,
                           "score": "log10(MACs x params) of a subnet within the limits",
                           "history": list(result.history),
                           "proxy": {"epochs": cfg.proxy_epochs, "val_accuracy": proxy,
                                     "rule": "the proxy_pool candidates with the highest score, each distilled for "
                                             "proxy_epochs; the top_k by float val accuracy are trained in full"}},
                "config": cfg.to_dict(), "pareto_plot": str(out / "pareto.png")}
    return RunDir(out).update_report(app="optimize", dataset=data.dataset, budget=budget.to_dict(), optimize=optimize,
                                 **sections)
