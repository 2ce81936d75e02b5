"""What patch-based inference costs in instructions: MobileNetV2 with and without patches on the emulated M4.

    python bench/patch_instructions.py                      # w0.35 at 96 and 144 px, 4x4 grid, streamed input
    python bench/patch_instructions.py --models 0.35:128 --grid 3x3
    python bench/patch_instructions.py --models vww          # the VWW app's MobileNetV1 0.25 at 96 px

Each model is tinycore.spec's MobileNetV2 at the given width and resolution (1000 classes), or `vww`, the VWW
app's default model (tinycore.spec.zoo.mobilenet_v1_025), quantized with random calibration data (instruction
counts hardly depend on the weights). The patch plan is the one
tinycore.patch.search.choose_plan picks for the grid (streamed input, MAC overhead cap --max-overhead-pct). Both
programs run on mps2-an386 with the DSP kernels, one random input each: the whole-frame firmware
(tinycore.export.firmware.validate_on_board) and the patched one (tinycore.patch.validate.validate_patched, which
checks its output against the whole-frame numpy runtime). Instructions are exact (-icount, CMSDK timer around
model_invoke). The halo overhead appears twice: in MACs (the plan's figure) and in instructions (measured). One JSON
object per line.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def model_spec(name: str):
    """(label, ModelSpec, resolution) for `vww` or `WIDTH:RESOLUTION` (MobileNetV2)."""
    from tinycore.spec import mobilenet_v2
    from tinycore.spec.zoo import mobilenet_v1_025

    if name == "vww":
        return "mobilenet_v1_025_96", mobilenet_v1_025(), 96
    width, res = name.split(":")
    return f"mobilenet_v2_w{float(width)}_{int(res)}", mobilenet_v2(float(width), int(res)), int(res)


def measure(name: str, grid: str, max_overhead_pct: float, board: str) -> dict:
    import torch

    from tinycore.export.firmware import validate_on_board
    from tinycore.patch.search import choose_plan
    from tinycore.patch.validate import validate_patched
    from tinycore.quant import quantize
    from tinycore.spec import build_model

    t0 = time.time()
    label, spec, res = model_spec(name)
    torch.manual_seed(0)
    graph = quantize(build_model(spec).eval(), [torch.randn(2, 3, res, res)])
    figures = choose_plan(graph, grid, "stream", max_overhead_pct)
    if figures.plan is None:
        raise SystemExit(f"{label}: no patch plan for {grid}: {figures.reason}")
    whole = validate_on_board(graph, board, n=1, seed=0)
    patched = validate_patched(graph, figures.plan, target=board, n=1, seed=0, input_mode="stream")
    if not (whole["outputs_match"] and patched["outputs_match"]):
        raise SystemExit(f"{label}: outputs differ from the runtime (whole {whole['outputs_match']}, "
                         f"patched {patched['outputs_match']})")
    n0, n1 = whole["instructions_per_inference"], patched["instructions_per_inference"]
    return {"bench": "patch_instructions", "board": board, "model": label,
            "resolution_px": res, "patch": str(figures.plan), "input_mode": "stream",
            "instructions_no_patch": n0, "instructions_patch": n1,
            "instruction_overhead_pct": round(100.0 * (n1 - n0) / n0, 2),
            "mac_overhead_pct": round(figures.mac_overhead_pct, 2),
            "arena_bytes_no_patch": figures.arena_bytes_no_patch, "arena_bytes_patch": patched["arena_bytes"],
            "outputs_match": True, "seconds": round(time.time() - t0, 1)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=["0.35:96", "0.35:144", "vww"],
                    help="WIDTH:RESOLUTION (MobileNetV2) or vww (the VWW app's MobileNetV1 0.25, 96 px)")
    ap.add_argument("--grid", default="4x4")
    ap.add_argument("--max-overhead-pct", type=float, default=20.0)
    ap.add_argument("--board", default="mps2-an386")
    args = ap.parse_args(argv)
    for name in args.models:
        print(json.dumps(measure(name, args.grid, args.max_overhead_pct, args.board)), flush=True)


if __name__ == "__main__":
    main()
