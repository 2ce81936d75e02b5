"""The `search` subcommand: TinyNAS under the budget, then the winner goes through the same export and evaluation
as a trained model, and its real int8 arena and Flash are checked against the search's prediction."""
from __future__ import annotations

import json

import torch

from tinycore.budget import Budget
from tinycore.cli import steps
from tinycore.errors import TinycoreError
from tinycore.report import RunDir
from tinycore.task import Task, TaskData


def search_and_export(task: Task, data: TaskData, run: RunDir, *, sram_bytes: int, flash_bytes: int, quick: bool,
                      seed: int, progress: bool) -> dict:
    from tinycore.nas import SearchConfig, run_search
    from tinycore.spec import spec_to_json

    if task.search_space is None:
        raise TinycoreError(f"the {task.name} app defines no search space")
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
    memory = steps.export(task, data, run, sram_bytes=sram_bytes, flash_bytes=flash_bytes, strict=True)
    if (memory["sram_peak_bytes"], memory["flash_bytes"]) != (result.predicted_arena_bytes,
                                                             result.predicted_flash_bytes):
        raise TinycoreError(
            f"search predicted arena {result.predicted_arena_bytes:,} B / Flash {result.predicted_flash_bytes:,} B "
            f"but the exported graph has {memory['sram_peak_bytes']:,} B / {memory['flash_bytes']:,} B: a bug in "
            f"tinycore.nas.cost; please report it with {run.spec_path}")
    steps.evaluate(task, data, run)
    return run.load_report()


def summary_text(report: dict) -> str:
    s, mem, met = report["search"], report["memory"], report.get("metrics", {})
    name = next(iter(met.get("float", {})), None)
    lines = [f"searched W={s['width']} R={s['resolution']}: arena {mem['sram_peak_bytes']:,} B "
             f"(predicted {s['predicted_arena_bytes']:,}), Flash {mem['flash_bytes']:,} B "
             f"(predicted {s['predicted_flash_bytes']:,}); budget {report['budget']['sram_bytes']:,} / "
             f"{report['budget']['flash_bytes']:,} B"]
    if met:
        key = "accuracy" if "accuracy" in met["float"] else name
        lines.append(f"test {key}: float {met['float'][key]:.4f}, int8 {met['int8'][key]:.4f}")
    lines.append(json.dumps(s["files"]))
    return "\n".join(lines)
