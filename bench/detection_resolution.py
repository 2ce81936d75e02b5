"""Detection mAP against input resolution under one SRAM budget, with and without patch-based inference.

    python bench/detection_resolution.py                           # memory columns only (seconds per size)
    python bench/detection_resolution.py --epochs 16 --plot bench_out/det_res.png   # + train and score each size

For each input size (4:3, e.g. 128x96 to 416x312) the detection app's default model (apps.detection.model) is
quantized (random calibration for the memory columns: arenas depend on shapes only) and planned whole-frame
(tinycore.memory.plan_graph) and with the first stage run patch by patch from streamed input rows
(tinycore.patch.search.choose_plan "auto", the app's export). With --epochs it is also trained on the built-in
quick set (pictures resized to the size, the front end's bilinear resize), exported and scored on the test split
(int8 mAP@0.5 through the integer decoder). One JSON object per line: resolution, macs, arena_no_patch,
fits_no_patch, patch, arena_patch, fits_patch, mac_overhead_pct (and map50_int8, map50_float when trained).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = ((96, 128), (120, 160), (168, 224), (240, 320), (312, 416))


def memory_row(hw: tuple[int, int], budget: int) -> dict:
    import torch

    from apps.detection.data import CLASSES
    from apps.detection.model import Detector, default_spec, detector_stats
    from tinycore.memory import plan_graph
    from tinycore.patch.search import choose_plan
    from tinycore.quant import quantize

    torch.manual_seed(0)
    spec = default_spec(CLASSES, hw)
    graph = quantize(Detector(spec).eval(), [torch.rand(2, 3, *hw)])
    no_patch = plan_graph(graph).arena_bytes
    fig = choose_plan(graph, "auto", "stream")
    return {"resolution": f"{hw[1]}x{hw[0]}", "input_hw": list(hw), "macs": detector_stats(spec)["macs"],
            "arena_no_patch": no_patch, "fits_no_patch": no_patch <= budget,
            "patch": "none" if fig.plan is None else str(fig.plan), "arena_patch": fig.arena_bytes,
            "fits_patch": fig.arena_bytes <= budget, "mac_overhead_pct": round(fig.mac_overhead_pct, 2)}


def train_row(hw: tuple[int, int], epochs: int, out: Path, train_pictures: int | None = None) -> dict:
    """Train the default model at hw on the quick set (its first train_pictures training pictures, all by
    default), export, score the test split (float and int8 mAP@0.5)."""
    from dataclasses import replace

    from apps.detection import pipeline, task as det_task
    from tinycore.report import RunDir
    from tinycore.task import DataOptions

    opts = DataOptions(cache_dir=ROOT / "data/detection/quick", seed=0, progress=False, quick=True)
    sets = det_task._sets(opts)
    if train_pictures:
        sets["train"] = sets["train"].select(sets["train"].image_ids[:train_pictures])
    arrays, extra = det_task.arrays_at(sets, hw, det_task.STRIDE)
    data = det_task.load_data(replace(opts, splits=("val",)))
    data = replace(data, train=arrays["train"], val=arrays["val"], test=arrays["test"], input_shape=(3, *hw),
                   extra={**data.extra, **extra})
    run = RunDir(out / f"{hw[1]}x{hw[0]}")
    pipeline.train(det_task.TASK, data, run, det_task.detector_spec(data.classes, hw), quick=True, seed=0,
                   progress=False, epochs=epochs)
    pipeline.export(det_task.TASK, data, run, sram_bytes=1 << 40, flash_bytes=1 << 40, strict=False)
    m = pipeline.evaluate(det_task.TASK, data, run)
    return {"map50_float": round(m["float"]["map50"], 4), "map50_int8": round(m["int8"]["map50"], 4),
            "epochs": epochs, "train_pictures": len(arrays["train"][0])}


def plot(rows: list[dict], path: Path, budget: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["input_hw"][1] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(x, [r["arena_no_patch"] / 1024 for r in rows], "o-", label="arena, whole frame")
    ax.plot(x, [r["arena_patch"] / 1024 for r in rows], "s-", label="arena, patched first stage (stream)")
    ax.axhline(budget / 1024, color="grey", ls="--", label=f"budget {budget // 1024} KB")
    ax.set_xlabel("input width (px, 4:3)")
    ax.set_ylabel("SRAM arena (KB)")
    if any("map50_int8" in r for r in rows):
        ax2 = ax.twinx()
        ax2.plot(x, [r.get("map50_int8", float("nan")) for r in rows], "^-", color="tab:green", label="int8 mAP@0.5")
        ax2.set_ylabel("int8 mAP@0.5 (test)")
        ax2.legend(loc="lower right")
    ax.legend(loc="upper left")
    ax.set_title("detection: resolution under one SRAM budget")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", help="HxW,HxW,... (default: 96x128 .. 312x416)")
    p.add_argument("--budget", type=int, default=256 * 1024, help="SRAM budget in bytes (default 256 KB)")
    p.add_argument("--epochs", type=int, default=0, help="train and score each size for this many epochs (0: no)")
    p.add_argument("--train-pictures", type=int, help="train on only the first N training pictures (small runs)")
    p.add_argument("--out", default=str(ROOT / "runs/detection_resolution"), help="run folders when training")
    p.add_argument("--plot", help="write the plot here (PNG)")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    sizes = SIZES if not args.sizes else tuple(tuple(int(v) for v in s.split("x")) for s in args.sizes.split(","))
    rows = []
    for hw in sizes:
        row = memory_row(hw, args.budget)
        if args.epochs:
            row.update(train_row(hw, args.epochs, Path(args.out), args.train_pictures))
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.plot:
        plot(rows, Path(args.plot), args.budget)
    return 0


if __name__ == "__main__":
    sys.exit(main())
