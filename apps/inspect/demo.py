"""`python -m apps.inspect demo`: the Deeplite + Arm case end to end, on our own engine.

1. data: the built-in inspection set (or --data-dir, an MVTec AD tree);
2. the user's model: MobileNetV1 alpha 1.0 at 224x224 trained on it (with --quick: alpha 0.25 at 64x64, fewer
   epochs), saved as TorchScript user/model.pt, as a user would hand it over;
3. `tinycore.optimize.run` on that file for --board (default stm32f412: 256 KB SRAM, 1 MB Flash, less the
   firmware's reserves) with the model's int8 Flash also under --model-flash (144 KB) and its MACs under --macs
   (50 M), within --max-drop points:
   search around its architecture, distillation from it, QAT, int8, C, firmware in QEMU;
4. report.json (the optimize run's, in the same folder) gains "demo": the user's model and the optimized one side
   by side, and the time taken. A result outside the limits or off the drop exits non-zero.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from tinycore.report import RunDir
from tinycore.task import Task, load_task_data

BOARD = "stm32f412"
MAX_DROP_POINTS = 1.84  # Deeplite's figure for the case
ALSO_BOARDS = ("mps3-an547",)  # the chosen model's firmware also runs on the Cortex-M55 board
MODEL_FLASH = "144KB"  # Deeplite's result: a 144 KB model; our limit is on its whole int8 Flash (weights included)
# Uncapped, the search spends the SRAM on pixels (R196, 111 M MACs in the full case). The user's model keeps val
# 0.914 on frames shrunk to 128 px and back (0.918 at 224; README): the task's detail survives at ~128 px, so the
# demo caps MACs and spends the training time on epochs instead (latency on the F412 falls alike).
MACS = "50M"
# The full case's candidates: an inherited R128 candidate (124 K params, 47 M MACs) distilled with augmentation
# reached int8 test 0.882 after 20 epochs and 0.904 after 40 (drop 0.90 points; README)
FULL_DISTILL_EPOCHS = 40
# With no proxy the candidates are ranked by the search's score alone, and the evolution's top two differ in one
# kernel size; each costs ~31 min of the full case's 2 h (40 epochs, 2 idle cores), so the full case trains one
FULL_TOP_K = 1
USER_REPORT = "train_report.json"  # the user model's training report, in <out>/user/


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """The demo's own flags beside the shared ones (task.extra_arguments)."""
    if command == "demo":
        parser.add_argument("--max-drop", type=float, default=MAX_DROP_POINTS,
                            help=f"accuracy points the optimized int8 model may lose (default {MAX_DROP_POINTS})")
        parser.add_argument("--model-flash", default=MODEL_FLASH,
                            help=f"limit on the optimized model's int8 Flash (weights, biases, tables) below the "
                                 f"board's (default {MODEL_FLASH}, the size of Deeplite's result)")
        parser.add_argument("--macs", default=MACS,
                            help=f"limit on the optimized model's multiply-accumulates per inference, e.g. 50M "
                                 f"(default {MACS}; 'none': no limit)")
        parser.add_argument("--user-model", help="a trained model file (TorchScript, ONNX, float .tflite) to use as "
                                                 "the user's model instead of training MobileNetV1")


def train_user_model(task: Task, data, run_dir: Path, args) -> Path:
    """Train the task's default MobileNetV1 (or --model) in run_dir and save it as TorchScript; returns the file.
    Its training report is kept as run_dir/USER_REPORT."""
    import torch

    from tinycore.cli import app, steps

    path = run_dir / "model.pt"
    if path.exists() and (run_dir / USER_REPORT).exists():  # a resumed demo: the user's model is done
        return path
    user = RunDir(run_dir)
    spec = app._spec_for(task, data, args.model)
    steps.train(task, data, user, spec, quick=bool(args.quick), seed=args.seed, progress=not args.quiet,
                epochs=args.epochs)
    model = steps.load_float_model(user)
    torch.jit.trace(model, torch.zeros(1, *data.input_shape)).save(str(path))
    # the demo folder's one report.json is the optimize run's (what a search for report.json below it finds)
    (run_dir / "report.json").replace(run_dir / USER_REPORT)
    return path


def side_by_side(report: dict) -> dict:
    """The user's float model and the optimized int8 one, field by field."""
    o, mem = report["optimize"], report["memory"]
    user = o["user"]
    return {"user": {k: user.get(k) for k in ("accuracy", "params", "macs", "arena_bytes", "flash_bytes",
                                              "weights_bytes", "fits")},
            "optimized": {"accuracy": report["metrics"]["int8"]["accuracy"], "params": report["model"]["params"],
                          "macs": report["model"]["macs"], "arena_bytes": mem["sram_peak_bytes"],
                          "flash_bytes": mem["flash_bytes"], "weights_bytes": mem["weights_bytes"], "fits": True},
            "drop_points": o["drop_points"]}


def summary(report: dict, seconds: float) -> str:
    s = side_by_side(report)
    rows = [("", "user (float)", "optimized (int8)")]
    for k in ("accuracy", "params", "macs", "arena_bytes", "flash_bytes", "weights_bytes"):
        u, v = s["user"][k], s["optimized"][k]
        fmt = (lambda a: f"{100 * a:.2f} %") if k == "accuracy" else (lambda a: f"{a:,}")
        rows.append((k, fmt(u), fmt(v)))
    fw = report.get("firmware", {})
    lines = [f"{a:<14}{b:>18}{c:>18}" for a, b, c in rows]
    lines += [f"drop {s['drop_points']:.2f} points (limit {report['optimize']['max_drop_points']:g}); "
              "firmware: " + ", ".join(f"{f.get('emulated_board')} outputs match runtime {f.get('outputs_match_runtime')}"
                                       for f in (fw, *fw.get("also", {}).values())),
              f"took {seconds:.0f} s"]
    return "\n".join(lines)


def run_demo(task: Task, data, out: Path, budget, cfg, *, user_model: Path | None = None, args=None) -> dict:
    """Steps 2-4 on loaded data: the user's model (trained with `args`' --model/--epochs/--seed/--quick unless
    user_model is given), tinycore.optimize.run into `out`, the side-by-side report; returns report.json."""
    from tinycore.cli import steps
    from tinycore.optimize import run

    t0 = time.time()
    quiet = not cfg.progress
    if user_model is None:
        steps.log("[2/3] the user's model", quiet)
        user_model = train_user_model(task, data, out / "user", args)
    steps.log(f"[3/3] tinycore optimize for {cfg.board} (max drop {cfg.max_drop_points:g} points)", quiet)
    report = run(user_model, data, budget, out, cfg)
    return RunDir(out).update_report(app=task.name, demo={"seconds": round(time.time() - t0, 1), "board": cfg.board,
                                                          "user_model": str(user_model), **side_by_side(report)})


def demo_budget(task: Task, board: str, args):
    """The board's limits (or --sram/--flash when given), the model's Flash also under --model-flash, MACs under
    --macs ('none': no limit)."""
    from tinycore.budget import Budget
    from tinycore.optimize import board_budget
    from tinycore.units import parse_bytes, parse_count

    budget = board_budget(board)
    if args.sram != task.default_budget[0] or args.flash != task.default_budget[1]:
        budget = Budget(parse_bytes(args.sram), parse_bytes(args.flash))
    macs = None if str(args.macs).lower() == "none" else parse_count(args.macs)
    return Budget(budget.sram_bytes, min(budget.flash_bytes, parse_bytes(args.model_flash)), macs)


def cmd_demo(task: Task, args) -> int:
    """data -> the user's MobileNetV1 -> tinycore.optimize for the board -> report side by side."""
    from tinycore.cli import app, steps
    from tinycore.optimize import OptimizeConfig
    from tinycore.optimize.distill import DistillConfig

    t0 = time.time()
    board = args.board if args.board != task.default_board else BOARD
    steps.log(f"[1/3] data ({'quick' if args.quick else 'full'} built-in set)" if not args.data_dir else
              f"[1/3] data from {args.data_dir}", args.quiet)
    data = load_task_data(task, app.data_options(args), build=True)
    budget = demo_budget(task, board, args)
    # candidates start from the user's weights (tinycore.optimize.inherit). --quick: a 1-epoch proxy ranks them and
    # 8 epochs recover them. The full case's 1-epoch proxies all sat at chance (README), so its candidates are ranked
    # by the search's score (MACs x params) and get FULL_DISTILL_EPOCHS; only the best-scored one (FULL_TOP_K).
    full = {} if args.quick else {"proxy_epochs": 0, "top_k": FULL_TOP_K,
                                  "distill": DistillConfig(epochs=FULL_DISTILL_EPOCHS, batch_size=32, qat_epochs=1)}
    cfg = OptimizeConfig.quick(max_drop_points=args.max_drop, seed=args.seed, board=board, progress=not args.quiet,
                               also_boards=ALSO_BOARDS, firmware_inputs=2 if args.quick else 3, **full)
    out = app._run_dir(args, "demo").path
    report = run_demo(task, data, out, budget, cfg, user_model=Path(args.user_model) if args.user_model else None,
                      args=args)
    seconds = time.time() - t0
    report = RunDir(out).update_report(demo={**report["demo"], "seconds": round(seconds, 1), "quick": bool(args.quick)})
    app._emit(args, report, summary(report, seconds))
    fw = report.get("firmware", {})
    boards_ok = all(f.get("outputs_match_runtime") is True for f in (fw, *fw.get("also", {}).values()))
    return 0 if report["optimize"]["within_drop"] and boards_ok else 1
