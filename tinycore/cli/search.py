"""The `search` subcommand: TinyNAS under the budget (or the app's own search, Task.search, when the app has no
TinyNAS search space), then the winner goes through the same export and evaluation as a trained model, and its real
int8 arena and Flash are checked against the search's prediction."""
from __future__ import annotations

import dataclasses
import json

import torch

from tinycore.budget import Budget
from tinycore.cli import steps
from tinycore.errors import TinycoreError
from tinycore.report import RunDir
from tinycore.train import distributed
from tinycore.task import AppSearchResult, Task, TaskData


def search_config(task: Task, quick: bool, seed: int, epochs: int | None = None):
    """The SearchConfig an app's `search` runs: --quick settings, or the full ones with the winner fine-tuned for
    as many epochs and at the learning rate the app's `train` uses (so it is trained as well as a reference).
    Supernet and winner train on the app's `train_loader` (its augmentation) when it has one."""
    from tinycore.nas import SearchConfig

    if quick:
        cfg = SearchConfig.quick(seed)
    else:
        settings = task.train_settings(False)
        cfg = SearchConfig(seed=seed, finetune_epochs=settings.epochs, finetune_lr=settings.lr)
    return cfg if epochs is None else dataclasses.replace(cfg, finetune_epochs=epochs)


def _data_at(task: Task, data: TaskData, space, resolution: int) -> TaskData | None:
    """The data at the space's input for `resolution`: `data` itself, Task.data_at_shape's, or None (no way)."""
    shape = tuple(space.input_shape_at(resolution))
    if shape == tuple(data.input_shape):
        return data
    return None if task.data_at_shape is None else task.data_at_shape(data, shape)


def split_at(task: Task, data: TaskData, space, split: str):
    """resolution -> (x, y) of `split` for run_search; the plain pair when the app has one input shape."""
    if task.data_at_shape is None:
        return getattr(data, split)
    return lambda resolution: getattr(_data_at(task, data, space, resolution), split)


def train_loader_for(task: Task, data: TaskData, space, batch_size: int, progress: bool):
    """resolution -> the app's training loader (augmentation) on the data at that resolution, or None when the
    app cannot give it (the search then trains on its train tensors)."""
    if task.train_loader is None:
        return None

    def at(resolution: int):
        d = _data_at(task, data, space, resolution)
        return None if d is None else task.train_loader(d, batch_size, progress)
    return at


QUICK_JOINT_STAGE1_SAMPLES = 6  # --quick: stage 1 subnets per (W, R) when each is costed by its patch plans


def joint_config(task: Task, space, cfg, quick: bool = False):
    """cfg with the app's network + patch-plan search (Task.search_patches, tinycore.nas.joint) when its space
    declares patch stages; cfg unchanged otherwise (or when cfg has its own). --quick samples fewer subnets in
    stage 1 (planning every patch plan of a subnet takes seconds on a loaded core)."""
    if cfg.joint is not None or task.search_patches is None or not space.patch_stages:
        return cfg
    joint = task.search_patches
    if quick:
        joint = dataclasses.replace(joint, stage1_samples=min(joint.stage1_samples, QUICK_JOINT_STAGE1_SAMPLES))
    return dataclasses.replace(cfg, joint=joint)


def search_and_export(task: Task, data: TaskData, run: RunDir, *, sram_bytes: int, flash_bytes: int, quick: bool,
                      seed: int, progress: bool, epochs: int | None = None, config=None,
                      macs: int | None = None) -> dict | None:
    """Search (TinyNAS, or the app's own search), export the winner strictly under the budget, evaluate it; the
    report. `config` (a tinycore.nas.SearchConfig) replaces the settings `search_config` would choose. Under
    torchrun every rank trains, and only rank 0 exports and returns the report (the others return None).
    `macs` limits the multiply-accumulates per inference (TinyNAS only)."""
    from tinycore.nas import run_search
    from tinycore.spec import spec_to_json

    if task.search_space is None and task.search is not None:
        if macs is not None:
            raise TinycoreError(f"--macs: the {task.name} app's own search takes no MACs limit (TinyNAS apps do)")
        return _app_search_and_export(task, data, run, sram_bytes=sram_bytes, flash_bytes=flash_bytes, quick=quick,
                                      seed=seed, progress=progress, epochs=epochs)
    if task.search_space is None:
        raise TinycoreError(f"the {task.name} app defines no search space and no search")
    budget = Budget(sram_bytes, flash_bytes, macs)
    space = task.search_space(data)
    cfg = joint_config(task, space, config if config is not None else search_config(task, quick, seed, epochs),
                       quick)
    result = run_search(space, budget, split_at(task, data, space, "train"), split_at(task, data, space, "val"),
                        cfg, run.path / "search", loss=task.loss,
                        metric=task.metric, metric_name=task.metric_name, progress=progress,
                        train_loader=train_loader_for(task, data, space, cfg.supernet.batch_size, progress))
    if not distributed.is_main_process():
        return None  # under torchrun the other ranks helped train; rank 0 exports, evaluates and writes
    run.path.mkdir(parents=True, exist_ok=True)
    run.spec_path.write_text(spec_to_json(result.spec))
    torch.save({"model": result.model.state_dict(), "meta": {"source": "tinycore.nas.run_search"}},
               run.checkpoint_path)
    run.update_report(app=task.name, dataset=data.dataset, model=steps.model_section(result.spec),
                      search={"arch": result.arch.short(), "width": result.width, "resolution": result.resolution,
                              "predicted_arena_bytes": result.predicted_arena_bytes,
                              "predicted_flash_bytes": result.predicted_flash_bytes,
                              "predicted_macs": result.macs, "macs_limit": macs,
                              "patch": result.patch, "patch_plan": result.patch_plan,
                              "input_mode": result.input_mode,
                              f"val_{task.metric_name}": result.accuracy,
                              "supernet_val": result.supernet_accuracy, "config": cfg.to_dict(),
                              "train_source": result.history.get("train_source"),
                              "files": result.files})
    export_and_check(task, data, run, sram_bytes, flash_bytes, result.predicted_arena_bytes,
                      result.predicted_flash_bytes, "tinycore.nas.cost")
    steps.evaluate(task, data, run)
    return run.load_report()


def _app_search_and_export(task: Task, data: TaskData, run: RunDir, *, sram_bytes: int, flash_bytes: int,
                           quick: bool, seed: int, progress: bool, epochs: int | None) -> dict:
    """Task.search picks the winner (trained or not); an untrained winner is trained with the task's settings."""
    from tinycore.spec import spec_to_json

    run.path.mkdir(parents=True, exist_ok=True)
    result: AppSearchResult = task.search(task, data, run.path, sram_bytes, flash_bytes, quick, seed, progress)
    section = {"source": f"apps.{task.name} (Task.search)", "predicted_arena_bytes": result.predicted_arena_bytes,
               "predicted_flash_bytes": result.predicted_flash_bytes, **result.details}
    if result.model is None:
        if run.spec_path.exists() and run.spec_path.read_text() != spec_to_json(result.spec):
            run.checkpoint_path.unlink(missing_ok=True)  # a previous winner's weights; train the new one afresh
        section["train"] = steps.train(task, data, run, result.spec, quick=quick, seed=seed, progress=progress,
                                       epochs=epochs)
    else:
        run.spec_path.write_text(spec_to_json(result.spec))
        torch.save({"model": result.model.state_dict(), "meta": {"source": f"apps.{task.name} search"}},
                   run.checkpoint_path)
    run.update_report(app=task.name, dataset=data.dataset, model=steps.model_section(result.spec), search=section)
    export_and_check(task, data, run, sram_bytes, flash_bytes, result.predicted_arena_bytes,
                      result.predicted_flash_bytes, f"apps.{task.name} search")
    steps.evaluate(task, data, run)
    return run.load_report()


def export_and_check(task: Task, data: TaskData, run: RunDir, sram_bytes: int, flash_bytes: int,
                      arena_bytes: int, flash_pred_bytes: int, predictor: str) -> dict:
    """Export the winner under the budget (strict) and require the search's memory prediction to be exact (the
    smallest arena: the search costs it; the export may then fill the budget with faster kernels)."""
    memory = steps.export(task, data, run, sram_bytes=sram_bytes, flash_bytes=flash_bytes, strict=True)
    # patched: the arena of the plan the search chose, which the generated C declares
    arena = memory["sram_peak_bytes"] if memory.get("patch_plan") else memory["sram_smallest_bytes"]
    if (arena, memory["flash_bytes"]) != (arena_bytes, flash_pred_bytes):
        raise TinycoreError(
            f"search predicted arena {arena_bytes:,} B / Flash {flash_pred_bytes:,} B but the exported graph has "
            f"{arena:,} B / {memory['flash_bytes']:,} B: a bug in {predictor}; please report it with {run.spec_path}")
    return memory


def _space_cost(task: Task, space, sram_bytes: int | None):
    """Stage 1's cost of a subnet when the search plans patches (joint_config): a patched arena within
    `sram_bytes` if one is (else the smallest); None (the unpatched arena) when the app plans no patches."""
    from tinycore.nas import SearchConfig
    from tinycore.nas.joint import JointCostModel

    cfg = joint_config(task, space, SearchConfig())
    if cfg.joint is None:
        return None
    model = JointCostModel(space, cfg.joint)
    return lambda arch: model.smallest(arch, sram_bytes)


def space_report(task: Task, data: TaskData, out, srams: list[int], flashes: list[int], samples: int,
                 seed: int) -> tuple[dict, str]:
    """Stage 1 alone (torch-free, seconds): for one budget the per-(W, R) table, the MACs CDF plot and the choice;
    for several budgets the best (W, R) of each SRAM x Flash pair as a table and a heat map."""
    import numpy as np

    from tinycore.nas import budget_grid, format_grid, format_table, optimize_space
    from tinycore.nas.plots import plot_budget_grid, plot_stage1_cdf

    if task.search_space is None:
        raise TinycoreError(f"the {task.name} app has no TinyNAS search space")
    space = task.search_space(data)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 1])
    cost = _space_cost(task, space, srams[0] if len(srams) == 1 else None)
    if len(srams) == 1 and len(flashes) == 1:
        res = optimize_space(space, Budget(srams[0], flashes[0]), samples, rng, cost=cost)
        d = res.to_dict()
        d.pop("samples")
        (out / "stage1.json").write_text(json.dumps(d, indent=1))
        plot = plot_stage1_cdf(res, out / "stage1_cdf.png", f"{space.name}: SRAM {srams[0] // 1024} KB, Flash "
                                                             f"{flashes[0] // 1024} KB, MACs of fitting subnets")
        text = (f"{format_table(res.rows, (res.width, res.resolution))}\nchoice: W{res.width:g} R{res.resolution} "
                f"({res.rule})\nplot: {plot}")
        return {**d, "plot": str(plot)}, text
    rows = budget_grid(space, srams, flashes, samples, rng, cost=cost)
    (out / "grid.json").write_text(json.dumps(rows, indent=1))
    plot = plot_budget_grid(rows, out / "grid.png", f"{space.name}: stage-1 choice per budget ({samples} samples "
                                                    f"per space)")
    return {"grid": rows, "plot": str(plot)}, f"{format_grid(rows)}\nplot: {plot}"


def summary_text(report: dict) -> str:
    s, mem, met = report["search"], report["memory"], report.get("metrics", {})
    name = next(iter(met.get("float", {})), None)
    what = f"W={s['width']} R={s['resolution']}" if "width" in s and "resolution" in s else \
        "-".join(map(str, s.get("sizes", []))) or report.get("model", {}).get("family", "model")
    if s.get("patch_plan"):
        what += f", patches {s['patch']} ({s['input_mode']} input)"
    lines = [f"searched {what}: arena {mem['sram_peak_bytes']:,} B "
             f"(predicted {s['predicted_arena_bytes']:,}), Flash {mem['flash_bytes']:,} B "
             f"(predicted {s['predicted_flash_bytes']:,}); budget {report['budget']['sram_bytes']:,} / "
             f"{report['budget']['flash_bytes']:,} B"]
    if met:
        key = "accuracy" if "accuracy" in met["float"] else name
        lines.append(f"test {key}: float {met['float'][key]:.4f}, int8 {met['int8'][key]:.4f}")
    if "files" in s:
        lines.append(json.dumps(s["files"]))
    return "\n".join(lines)
