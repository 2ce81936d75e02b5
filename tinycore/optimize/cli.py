"""`python -m tinycore optimize MODEL --data APP|DIR --board B | --sram S --flash F --max-drop P`."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinycore.errors import CheckError, TinycoreError

EXAMPLES = """
  python -m tinycore optimize user.onnx --data images/ --board stm32f412 --max-drop 1.84
  python -m tinycore optimize user.pt --input-shape 3,96,96 --data vww --sram 128KB --flash 512KB --quick
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    o = sub.add_parser("optimize", help="fit a trained float model (TorchScript, ONNX, float .tflite) to a board "
                       "within an accuracy drop: search, distillation, QAT, C/.tflite/ONNX export, firmware check",
                       epilog="examples:" + EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    o.add_argument("model", help="the user's float model: .pt/.ts (TorchScript), .onnx or a float .tflite")
    o.add_argument("--data", required=True, metavar="APP|DIR", help="an image folder DIR/<class>/*.png|jpg (split "
                   "by a seeded hash of the path: test 20 %%, val 10 %%) or an app's built-in set (vww, ...)")
    o.add_argument("--board", help="limits from the board (its SRAM and Flash less the firmware's reserve); the "
                   "firmware check runs on its emulated core")
    o.add_argument("--sram", help="arena limit, e.g. 256KB (with --flash, instead of --board)")
    o.add_argument("--flash", help="Flash limit for the model constants, e.g. 1MB")
    o.add_argument("--macs", help="also limit multiply-accumulates per inference, e.g. 50M (with --board or "
                                  "--sram/--flash)")
    o.add_argument("--also-board", action="append", default=[], metavar="NAME",
                   help="also run the chosen model's firmware on this emulated board (repeatable), e.g. mps3-an547")
    o.add_argument("--max-drop", type=float, default=1.84, metavar="POINTS",
                   help="accepted test-accuracy drop against the user's float model, in percentage points")
    o.add_argument("--input-shape", metavar="C,H,W", help="the model's input (needed for TorchScript with --data DIR)")
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--out", metavar="DIR", help="run folder (default runs/optimize/<model name>)")
    o.add_argument("--resume", action="store_true", help="continue the run in --out (finished generations and "
                   "trained candidates are read back, not redone)")
    o.add_argument("--quick", action="store_true", help="small settings: a short search, two candidates, few epochs")
    o.add_argument("--top-k", type=int, help="candidates trained after the search (default 4, --quick 2)")
    o.add_argument("--epochs", type=int, help="distillation epochs per candidate (default 10, --quick 8)")
    o.add_argument("--json", action="store_true", help="print the optimize section of report.json on stdout")
    o.add_argument("--quiet", action="store_true", help="no progress on stderr")
    o.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: the same numbers on every run)")
    o.set_defaults(fn=cmd_optimize)


def _budget(args):
    from dataclasses import replace

    from tinycore.budget import Budget
    from tinycore.optimize.pipeline import board_budget
    from tinycore.units import parse_count

    if args.board and (args.sram or args.flash):
        raise TinycoreError("optimize: give --board or --sram/--flash, not both")
    macs = parse_count(args.macs) if args.macs else None
    if args.board:
        return replace(board_budget(args.board), macs=macs)
    if not (args.sram and args.flash):
        raise TinycoreError("optimize: give the limits: --board NAME, or --sram S and --flash F (e.g. 256KB 1MB)")
    return Budget.parse(args.sram, args.flash, macs)


def _shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) <= 0:
        raise TinycoreError(f"--input-shape {text!r}: give C,H,W, e.g. 3,96,96")
    return shape


def cmd_optimize(args) -> int:
    from dataclasses import replace

    from tinycore.cli.allocator import keep_freed_memory
    from tinycore.cli.threads import limit_threads
    from tinycore.optimize.pipeline import OptimizeConfig, run

    limit_threads(args.threads)
    keep_freed_memory()
    budget = _budget(args)
    out = Path(args.out or Path("runs") / "optimize" / Path(args.model).stem)
    if not args.resume and ((out / "evolution.jsonl").exists() or (out / "candidates").exists()):
        raise TinycoreError(f"{out} holds an optimize run; pass --resume to continue it or choose another --out")
    cfg = OptimizeConfig.quick() if args.quick else OptimizeConfig()
    distill = cfg.distill if args.epochs is None else replace(cfg.distill, epochs=args.epochs)
    cfg = replace(cfg, max_drop_points=args.max_drop, seed=args.seed, board=args.board, distill=distill,
                  also_boards=tuple(args.also_board),
                  top_k=args.top_k or cfg.top_k, progress=not args.quiet)
    report = run(args.model, args.data, budget, out, cfg, input_shape=_shape(args.input_shape), quick=args.quick)
    o, fw = report["optimize"], report["firmware"]
    if args.json:
        print(json.dumps({k: o[k] for k in ("user", "chosen", "drop_points", "within_drop")} |
                         {"memory": {k: v for k, v in report["memory"].items() if k != "per_layer"},
                          "firmware": fw, "report": str(out / "report.json")}, indent=1))
    else:
        u, c = o["user"], o["candidates"][o["chosen"]["index"]]
        print(f"user model: float {100 * u['accuracy']:.2f} %, {u['params']:,} params, arena {u['arena_bytes']:,} B, "
              f"Flash {u['flash_bytes']:,} B")
        print(f"chosen {c['summary']}: int8 {100 * c['accuracy']:.2f} % (drop {o['drop_points']:.2f} points), "
              f"{c['params']:,} params, arena {c['arena_bytes']:,} B, Flash {c['flash_bytes']:,} B, weights "
              f"{c['weights_bytes']:,} B; firmware on {fw['emulated_board']}: "
              f"{'MATCH' if fw['outputs_match_runtime'] else 'MISMATCH'}")
        print(f"wrote {out}/report.json, pareto.png, model.graph, c/, model.tflite, model.onnx")
    bad = [f["emulated_board"] for f in (fw, *fw["also"].values()) if not f["outputs_match_runtime"]]
    if bad:
        raise CheckError(f"{out}: the firmware's outputs on {', '.join(bad)} differ from the numpy runtime")
    if not o["within_drop"]:
        raise CheckError(f"{out}: the best candidate within the limits drops {o['drop_points']:.2f} points, more than "
                         f"--max-drop {args.max_drop:g} (it is exported and flagged in report.json)")
    return 0
