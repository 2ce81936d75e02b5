"""The `search` subcommand: TinyNAS under the budget (or the app's own search, Task.search, when the app has no
TinyNAS search space), then the winner goes through the same export and evaluation as a trained model, and its real
int8 arena and Flash are checked against the search's prediction."""
from __future__ import annotations

import json

import torch

from tinycore.budget import Budget
from tinycore.cli import steps
from tinycore.errors import TinycoreError
from tinycore.report import RunDir
from tinycore.task import AppSearchResult, Task, TaskData


def search_and_export(task: Task, data: TaskData, run: RunDir, *, sram_bytes: int, flash_bytes: int, quick: bool,
                      seed: int, progress: bool) -> dict:
    from tinycore.nas import SearchConfig, run_search
    from tinycore.spec import spec_to_json

    if task.search_space is None and task.search is not None:
        return _app_search_and_export(task, data, run, sram_bytes=sram_bytes, flash_bytes=flash_bytes, quick=quick,
                                      seed=seed, progress=progress)
    if task.search_space is None:
        raise TinycoreError(f"the {task.name} app defines no search space and no search")
    budget = Budget(sram_bytes, flash_bytes)
    cfg = SearchConfig.quick(seed) if quick else SearchConfig(seed=seed)
    x, y = data.train
    vx, vy = data.val
    result = run_search(task.search_space(data), budget, (x, y), (vx, vy), cfg, run.path / "search",
                        loss=task.loss, metric=task.metric, metric_name=task.metric_name, progress=progress)
    run.path.mkdir(parents=True, exist_ok=True)
    run.spec_path.write_text(spec_to_json(result.spec))
    torch.save({"model": result.model.state_dict(), "meta": {"source": "tinycore.nas.run_search"}},
               run.checkpoint_path)
    run.update_report(app=task.name, dataset=data.dataset, model=steps.model_section(result.spec),
                      search={"width": result.width, "resolution": result.resolution,
                              "predicted_arena_bytes": result.predicted_arena_bytes,
                              "predicted_flash_bytes": result.predicted_flash_bytes,
                              f"val_{task.metric_name}": result.accuracy,
                              "supernet_val": result.supernet_accuracy, "config": cfg.to_dict(),
                              "files": result.files})
    _export_and_check(task, data, run, sram_bytes, flash_bytes, result.predicted_arena_bytes,
                      result.predicted_flash_bytes, "tinycore.nas.cost")
    steps.evaluate(task, data, run)
    return run.load_report()


def _app_search_and_export(task: Task, data: TaskData, run: RunDir, *, sram_bytes: int, flash_bytes: int,
                           quick: bool, seed: int, progress: bool) -> dict:
    """Task.search picks the winner (trained or not); an untrained winner is trained with the task's settings."""
    from tinycore.spec import spec_to_json

    run.path.mkdir(parents=True, exist_ok=True)
    result: AppSearchResult = task.search(task, data, run.path, sram_bytes, flash_bytes, quick, seed, progress)
    section = {"source": f"apps.{task.name} (Task.search)", "predicted_arena_bytes": result.predicted_arena_bytes,
               "predicted_flash_bytes": result.predicted_flash_bytes, **result.details}
    if result.model is None:
        if run.spec_path.exists() and run.spec_path.read_text() != spec_to_json(result.spec):
            run.checkpoint_path.unlink(missing_ok=True)  # a previous winner's weights; train the new one afresh
        section["train"] = steps.train(task, data, run, result.spec, quick=quick, seed=seed, progress=progress)
    else:
        run.spec_path.write_text(spec_to_json(result.spec))
        torch.save({"model": result.model.state_dict(), "meta": {"source": f"apps.{task.name} search"}},
                   run.checkpoint_path)
    run.update_report(app=task.name, dataset=data.dataset, model=steps.model_section(result.spec), search=section)
    _export_and_check(task, data, run, sram_bytes, flash_bytes, result.predicted_arena_bytes,
                      result.predicted_flash_bytes, f"apps.{task.name} search")
    steps.evaluate(task, data, run)
    return run.load_report()


def _export_and_check(task: Task, data: TaskData, run: RunDir, sram_bytes: int, flash_bytes: int,
                      arena_bytes: int, flash_pred_bytes: int, predictor: str) -> dict:
    """Export the winner under the budget (strict) and require the search's memory prediction to be exact."""
    memory = steps.export(task, data, run, sram_bytes=sram_bytes, flash_bytes=flash_bytes, strict=True)
    if (memory["sram_peak_bytes"], memory["flash_bytes"]) != (arena_bytes, flash_pred_bytes):
        raise TinycoreError(
            f"search predicted arena {arena_bytes:,} B / Flash {flash_pred_bytes:,} B but the exported graph has "
            f"{memory['sram_peak_bytes']:,} B / {memory['flash_bytes']:,} B: a bug in {predictor}; please report "
            f"it with {run.spec_path}")
    return memory


def summary_text(report: dict) -> str:
    s, mem, met = report["search"], report["memory"], report.get("metrics", {})
    name = next(iter(met.get("float", {})), None)
    what = f"W={s['width']} R={s['resolution']}" if "width" in s and "resolution" in s else \
        "-".join(map(str, s.get("sizes", []))) or report.get("model", {}).get("family", "model")
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
