"""TinyNAS vs the MLPerf DS-CNN reference vs MobileNetV2 scaled to fit, on the built-in KWS data, same budget.

Each model is trained with the KWS app's settings, quantized, planned and evaluated on the held-out-voice test split.
Prints one JSON line per model (int8 and float test accuracy, arena and Flash, MACs, params) and a summary line.

    python bench/tinynas_kws.py [--quick] [--sram 64KB] [--flash 256KB] [--out runs/bench/tinynas_kws]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.kws.task import TASK  # noqa: E402
from tinycore.budget import Budget  # noqa: E402
from tinycore.cli import search, steps  # noqa: E402
from tinycore.nas import subnet_cost  # noqa: E402
from tinycore.report import RunDir  # noqa: E402
from tinycore.spec import InputSpec, ds_cnn_s, mobilenet_v2  # noqa: E402
from tinycore.task import DataOptions  # noqa: E402
from tinycore.units import parse_bytes  # noqa: E402


def mobilenet_v2_that_fits(input_shape, classes: int, budget: Budget):
    """The widest MobileNetV2 (width grid 1.0 down to 0.1) whose exact int8 arena and Flash fit the budget."""
    for width in (1.0, 0.75, 0.5, 0.35, 0.25, 0.2, 0.15, 0.1):
        spec = mobilenet_v2(width=width, resolution=input_shape[1], classes=classes, in_channels=input_shape[0])
        spec = dataclasses.replace(spec, input=InputSpec(*input_shape))
        cost = subnet_cost(spec)
        if budget.fits(cost.arena_bytes, cost.flash_bytes):
            return spec
    return None


def row(name: str, run: RunDir, seconds: float) -> dict:
    r = run.load_report()
    return {"bench": "tinynas_kws", "model": name, "spec": r["model"]["family"], "params": r["model"]["params"],
            "macs": r["model"]["macs"], "arena_bytes": r["memory"]["sram_peak_bytes"],
            "flash_bytes": r["memory"]["flash_bytes"], "float_accuracy": r["metrics"]["float"]["accuracy"],
            "int8_accuracy": r["metrics"]["int8"]["accuracy"], "test_split": r["dataset"].get("split"),
            "n_test": r["dataset"]["n_test"], "seconds": round(seconds, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sram", default="64KB")
    ap.add_argument("--flash", default="256KB")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/bench/tinynas_kws")
    args = ap.parse_args()
    budget = Budget(parse_bytes(args.sram), parse_bytes(args.flash))
    out = Path(args.out)
    opts = DataOptions(cache_dir=Path("data/kws") / ("quick" if args.quick else "full"), quick=args.quick,
                       seed=args.seed, progress=False)
    data = TASK.load_data(opts)
    rows = []
    candidates = [("ds_cnn_reference", ds_cnn_s(len(data.classes), *data.input_shape[1:])),
                  ("mobilenet_v2_scaled", mobilenet_v2_that_fits(data.input_shape, len(data.classes), budget))]
    for name, spec in candidates:
        if spec is None:
            print(json.dumps({"bench": "tinynas_kws", "model": name, "skipped": "no width fits the budget"}))
            continue
        run, t0 = RunDir(out / name), time.time()
        steps.train(TASK, data, run, spec, quick=args.quick, seed=args.seed, progress=False)
        steps.export(TASK, data, run, sram_bytes=budget.sram_bytes, flash_bytes=budget.flash_bytes, strict=True)
        steps.evaluate(TASK, data, run)
        rows.append(row(name, run, time.time() - t0))
        print(json.dumps(rows[-1]), flush=True)
    run, t0 = RunDir(out / "tinynas"), time.time()
    search.search_and_export(TASK, data, run, sram_bytes=budget.sram_bytes, flash_bytes=budget.flash_bytes,
                             quick=args.quick, seed=args.seed, progress=False)
    rows.append(row("tinynas", run, time.time() - t0))
    print(json.dumps(rows[-1]), flush=True)
    best = max(rows, key=lambda r: r["int8_accuracy"])
    print(json.dumps({"bench": "tinynas_kws", "summary": True, "budget": budget.to_dict(), "best": best["model"],
                      "tinynas_beats_all": best["model"] == "tinynas"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
