"""TinyNAS vs the MLPerf DS-CNN reference vs MobileNetV2 scaled to fit, on the built-in KWS data, same budget.

Every model gets the same training recipe: the KWS app's `train` (speed-perturbed waveforms -> MFCC, AdamW, cosine)
for --epochs epochs; the TinyNAS winner gets them as its fine-tune (from the supernet weights, distilled from the
largest subnet). Each is quantized to int8, planned, exported under the budget (strict) and evaluated on the test
split (voices never heard in training, every clip noisy). Prints one JSON line per model (int8 and float test
accuracy, arena and Flash, MACs, params, seconds), a summary line, and a markdown table; all in OUT/bench.json.
A re-run resumes (every training and the search checkpoint in OUT).

    python bench/tinynas_kws.py --data-size quick --epochs 25 --supernet-epochs 10   # the README table
    python bench/tinynas_kws.py --quick                                               # smoke run (minutes)
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

import torch  # noqa: E402


REFERENCES = ("ds_cnn_reference", "mobilenet_v2_scaled")  # what the issue asks TinyNAS to beat


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
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--quick", action="store_true", help="smoke run: quick data set, `search --quick` settings")
    ap.add_argument("--data-size", choices=("quick", "full"), help="built-in set size (default: full; --quick: quick)")
    ap.add_argument("--epochs", type=int, help="training epochs of every model (default: the app's train epochs)")
    ap.add_argument("--supernet-epochs", type=int, help="supernet training epochs (default: the search's)")
    ap.add_argument("--sram", default="64KB")
    ap.add_argument("--flash", default="256KB")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--out", default="runs/bench/tinynas_kws")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    budget = Budget(parse_bytes(args.sram), parse_bytes(args.flash))
    out = Path(args.out)
    size = args.data_size or ("quick" if args.quick else "full")
    opts = DataOptions(cache_dir=Path("data/kws") / size, quick=size == "quick", seed=args.seed, progress=False)
    TASK.build_data(opts)
    data = TASK.load_data(opts)
    epochs = args.epochs or TASK.train_settings(args.quick).epochs
    cfg = search.search_config(TASK, args.quick, args.seed, epochs)
    if args.supernet_epochs:
        cfg = dataclasses.replace(cfg, supernet=dataclasses.replace(cfg.supernet, epochs=args.supernet_epochs))
    settings = {"data_size": size, "epochs": epochs, "search": cfg.to_dict(), "seed": args.seed,
                "command": " ".join(["python"] + sys.argv)}
    rows = []
    candidates = [("ds_cnn_reference", ds_cnn_s(len(data.classes), *data.input_shape[1:])),
                  ("mobilenet_v2_scaled", mobilenet_v2_that_fits(data.input_shape, len(data.classes), budget)),
                  ("ds_cnn_w128_app_default", TASK.default_spec(data))]  # context: the app's hand-sized model
    for name, spec in candidates:
        if spec is None:
            print(json.dumps({"bench": "tinynas_kws", "model": name, "skipped": "no width fits the budget"}))
            continue
        run, t0 = RunDir(out / name), time.time()
        steps.train(TASK, data, run, spec, quick=args.quick, seed=args.seed, progress=False, epochs=epochs)
        steps.export(TASK, data, run, sram_bytes=budget.sram_bytes, flash_bytes=budget.flash_bytes, strict=True)
        steps.evaluate(TASK, data, run)
        rows.append(row(name, run, time.time() - t0))
        print(json.dumps(rows[-1]), flush=True)
    run, t0 = RunDir(out / "tinynas"), time.time()
    report = search.search_and_export(TASK, data, run, sram_bytes=budget.sram_bytes,
                                      flash_bytes=budget.flash_bytes, quick=args.quick, seed=args.seed,
                                      progress=False, config=cfg)
    rows.append({**row("tinynas", run, time.time() - t0), "arch": report["search"]["arch"],
                 "width": report["search"]["width"], "supernet_val_accuracy": report["search"]["supernet_val"],
                 "train_source": report["search"]["train_source"]})
    print(json.dumps(rows[-1]), flush=True)
    nas = rows[-1]
    beats = {r["model"]: {k: nas[k] > r[k] for k in ("float_accuracy", "int8_accuracy")} for r in rows[:-1]}
    summary = {"bench": "tinynas_kws", "summary": True, "budget": budget.to_dict(), "settings": settings,
               "tinynas_beats": beats, "tinynas_beats_references": all(
                   all(beats[name].values()) for name in REFERENCES if name in beats)}
    print(json.dumps(summary))
    print(markdown_table(rows))
    (out / "bench.json").write_text(json.dumps({**summary, "rows": rows}, indent=2))
    return 0


def markdown_table(rows: list[dict]) -> str:
    lines = ["| model | params | MACs | arena (B) | Flash (B) | float acc | int8 acc |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} ({r['spec']}) | {r['params']:,} | {r['macs']:,} | {r['arena_bytes']:,} | "
                     f"{r['flash_bytes']:,} | {r['float_accuracy']:.3f} | {r['int8_accuracy']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
