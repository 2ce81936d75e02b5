"""`search --boards B1,B2,...`: one supernet, one model per board (tinycore.nas.boards), each exported under its
board's limits, evaluated in int8, built for the board and run in QEMU on the emulated board of its core.

Run folder layout: <run>/search/ holds stage 1 and the shared supernet, <run>/search/boards/<board>/ each board's
evolution; <run>/boards/<board>/ is a complete run folder per board (spec, checkpoint, model.graph, member_report.json
with memory, metrics, `firmware` from the emulated twin and `board_image` from the real board's build). The run's
report.json gets `search.boards` (the settings, the stage-1 choice, one row per board, the wall time).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch

from tinycore.cli import steps
from tinycore.cli.search import export_and_check, search_config, split_at, train_loader_for
from tinycore.errors import CheckError, TinycoreError
from tinycore.report import RunDir
from tinycore.task import Task, TaskData
from tinycore.train import distributed

BOARD_IMAGE_CLIPS = 2  # test inputs compiled into the real board's image (it is built, not run)


def _board_row(task: Task, target, result, report: dict, seconds: float) -> dict:
    m = task.metric_name
    fw, img = report.get("firmware", {}), report.get("board_image", {})
    return {"board": target.board, "cpu": target.cpu, "emulated": target.emulated,
            "sram_limit_bytes": target.budget.sram_bytes, "flash_limit_bytes": target.budget.flash_bytes,
            "arch": result.arch.short(), "arena_bytes": report["memory"]["sram_peak_bytes"],
            "flash_bytes": report["memory"]["flash_bytes"], "macs": result.macs, "params": result.params,
            f"supernet_val_{m}": result.supernet_accuracy, f"val_{m}": result.accuracy,
            f"float_{m}": report["metrics"]["float"].get(m), f"int8_{m}": report["metrics"]["int8"].get(m),
            "instructions_per_inference": fw.get("instructions_per_inference"),
            "outputs_match_runtime": fw.get("outputs_match_runtime"), "n_checked": fw.get("n_checked"),
            "board_image_flash_bytes": img.get("flash_bytes"), "board_image_elf": img.get("elf"),
            "flash_command": img.get("flash_command"), "seconds": round(seconds, 1)}


def _export_board(task: Task, data: TaskData, run: RunDir, target, result, *, n_clips: int, seed: int,
                  progress: bool, firmware: bool) -> dict:
    """The board's run folder: save the subnet, export it under the board's limits (the arena/Flash prediction
    checked exactly), evaluate float and int8, build the real board's image, run the emulated twin's."""
    from tinycore.spec import spec_to_json

    run.path.mkdir(parents=True, exist_ok=True)
    run.spec_path.write_text(spec_to_json(result.spec))
    torch.save({"model": result.model.state_dict(), "meta": {"source": "tinycore.nas.boards", "board": target.board}},
               run.checkpoint_path)
    run.update_report(app=task.name, dataset=data.dataset, model=steps.model_section(result.spec),
                      search={"board": target.to_dict(), "arch": result.arch.short(), "width": result.width,
                              "resolution": result.resolution, "predicted_arena_bytes": result.predicted_arena_bytes,
                              "predicted_flash_bytes": result.predicted_flash_bytes,
                              f"val_{task.metric_name}": result.accuracy, "supernet_val": result.supernet_accuracy,
                              "finetune_epochs": len(result.history.get("finetune", [])), "files": result.files})
    export_and_check(task, data, run, target.budget.sram_bytes, target.budget.flash_bytes,
                     result.predicted_arena_bytes, result.predicted_flash_bytes, "tinycore.nas.cost")
    steps.evaluate(task, data, run)
    if firmware and task.firmware is not None:
        image = steps.firmware(task, data, run, board=target.board, n_clips=BOARD_IMAGE_CLIPS, seed=seed,
                               progress=progress)
        fw = steps.firmware(task, data, run, board=target.emulated, n_clips=n_clips, seed=seed, progress=progress)
        run.update_report(board_image=image)
        failed = steps.firmware_failures(task, fw)
        if failed:
            raise CheckError(f"{fw.get('elf')}: firmware check(s) failed on {target.emulated} for {target.board}: "
                             f"{', '.join(failed)} (details in {run.report_path})")
    return run.load_report()


def boards_search_and_export(task: Task, data: TaskData, run: RunDir, boards: list[str], *, quick: bool, seed: int,
                             progress: bool, finetune_epochs: int = 0, n_clips: int = 20,
                             firmware: bool = True, config=None) -> dict | None:
    """search.boards of the run's report (see module doc); None on torchrun ranks other than 0."""
    from tinycore.nas.boards import board_targets, format_board_table, search_boards

    if task.search_space is None:
        raise TinycoreError(f"--boards: the {task.name} app has no TinyNAS search space (Task.search_space)")
    t0 = time.time()
    targets = board_targets(boards, task.firmware_ram_bytes)
    cfg = config if config is not None else search_config(task, quick, seed)
    # no patch plans here (search_config without joint_config): a board's whole SRAM is its budget, and the
    # per-board export then plans each winner whole, as the search costed it
    cfg = dataclasses.replace(cfg, finetune_epochs=finetune_epochs)
    space = task.search_space(data)
    rows: list[dict] = []
    main = distributed.is_main_process()

    def on_board(target, result) -> None:
        if not main:
            return
        t = time.time()
        steps.log(f"[{target.board}] {result.arch.short()}: export, evaluate, firmware on {target.emulated}",
                  not progress)
        report = _export_board(task, data, run.member_run(f"boards/{target.board}"), target, result,
                               n_clips=n_clips, seed=seed, progress=progress, firmware=firmware)
        rows.append(_board_row(task, target, result, report, time.time() - t))

    found = search_boards(space, targets, split_at(task, data, space, "train"),
                          split_at(task, data, space, "val"), cfg, run.path / "search", loss=task.loss,
                          metric=task.metric, metric_name=task.metric_name, progress=progress,
                          train_loader=train_loader_for(task, data, space, cfg.supernet.batch_size, progress),
                          on_board=on_board)
    if not main:
        return None
    section = {"boards": {
        "boards": [t.to_dict() for t in targets], "common_budget": found.common.to_dict(),
        "stage1": {"width": found.stage1.width, "resolution": found.stage1.resolution, "rule": found.stage1.rule,
                   "budget": "common_budget (the smallest SRAM and Flash limit of the boards)"},
        "supernet": found.supernet_history, "finetune_epochs": finetune_epochs, "fine_tuned": finetune_epochs > 0,
        "config": cfg.to_dict(), "rows": rows,
        "table": format_board_table(rows, task.metric_name), "seconds": round(time.time() - t0, 1)}}
    run.path.mkdir(parents=True, exist_ok=True)
    return run.update_report(app=task.name, dataset=data.dataset, search=section)


def boards_summary(report: dict, metric_name: str) -> str:
    from tinycore.nas.boards import format_board_table

    b = report["search"]["boards"]
    tuned = f"fine-tuned {b['finetune_epochs']} epochs each" if b["fine_tuned"] else "not fine-tuned (supernet weights)"
    return (f"one supernet at W{b['stage1']['width']:g} R{b['stage1']['resolution']} for {len(b['rows'])} boards; "
            f"subnets {tuned}\n{format_board_table(b['rows'], metric_name)}\ntook {b['seconds']} s")
