"""`python -m apps.vww data | eval --tflite FILE`: the built-in VWW set and a model's accuracy / AUC on it.

Minimal plumbing kept in the app until the VWW Task joins tinycore.cli (then `data` moves to Task.build_data and
`eval --tflite` becomes a shared option). Options follow the CLI conventions (design.md).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from apps.vww import data
from tinycore.cli.errors import run_command


def _cache(args) -> Path:
    return Path(args.cache_dir) if args.cache_dir else Path("data") / "vww" / ("quick" if args.quick else "full")


def cmd_data(args) -> int:
    meta = data.build(_cache(args), seed=args.seed, quick=args.quick, progress=not args.quiet)
    summary = {k: meta[k] for k in ("name", "counts", "build_seconds", "label_rule", "split_rule")}
    summary["cache_dir"] = str(_cache(args))
    if args.grid:
        sets = data.load(_cache(args), splits=("val",))
        summary["grid"] = str(data.save_grid(sets.images["val"], sets.labels["val"], Path(args.grid)))
    print(json.dumps(summary, indent=1) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0


def cmd_eval(args) -> int:
    from apps.vww.evaluate import evaluate_model

    data.build(_cache(args), seed=args.seed, quick=args.quick, progress=not args.quiet, splits=(args.split,))
    sets = data.load(_cache(args), splits=(args.split,))
    images, labels = sets.images[args.split], sets.labels[args.split]
    if args.n:
        images, labels = images[:args.n], labels[:args.n]
    m = evaluate_model(args.tflite, images, labels, progress=not args.quiet)
    payload = {"model": str(args.tflite), "split": args.split, "dataset": sets.meta["name"], "metrics": {"int8": m}}
    print(json.dumps(payload, indent=1) if args.json else
          f"{args.split} ({m['n']} images): int8 accuracy {m['accuracy']:.4f}, AUC {m['auc']:.4f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m apps.vww", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = p.add_subparsers(dest="command", required=True)
    for name, fn, text in (("data", cmd_data, "render (and cache) the built-in person / no-person set"),
                           ("eval", cmd_eval, "accuracy and AUC of an int8 model (--tflite) on a built-in split")):
        s = sub.add_parser(name, help=text)
        s.add_argument("--cache-dir", help="where the built-in set is cached (default data/vww/{quick,full})")
        s.add_argument("--quick", action="store_true", help="the small set (1200/400/400 images)")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--json", action="store_true", help="machine-readable output on stdout")
        s.add_argument("--quiet", action="store_true", help="no progress bars")
        s.set_defaults(fn=fn)
        if name == "data":
            s.add_argument("--grid", help="also write a contact sheet (.png or .jpg) of the first 48 validation "
                                           "images (green frame: person)")
        if name == "eval":
            s.add_argument("--tflite", required=True, help="an int8 .tflite (or graph file) with 2 outputs "
                                                           "(non_person, person)")
            s.add_argument("--split", default="test", choices=("val", "test"))
            s.add_argument("--n", type=int, help="score only the first N images of the split")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(lambda: args.fn(args), args.debug, "")


if __name__ == "__main__":
    sys.exit(main())
