"""Instructions per inference of the KWS DS-CNN width 128 (the app's default before width 224; 49x10 MFCCs, 12
classes) on the emulated M4, without training: the spec quantized with random calibration data (instruction counts
hardly depend on the weights), run by tinycore.export.firmware.validate_on_board (DSP kernels, outputs checked
against the numpy runtime). One JSON line; --portable-depthwise builds the depthwise layers from kernels/portable
instead (the figure before the DSP depthwise kernel).

    python bench/kws_instructions.py [--portable-depthwise] [--board mps2-an386]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--portable-depthwise", action="store_true")
    args = ap.parse_args(argv)
    import torch

    import tinycore.export.firmware as fw
    from tinycore.quant import quantize
    from tinycore.spec import build_model
    from tinycore.spec.zoo import ds_cnn

    torch.manual_seed(0)
    graph = quantize(build_model(ds_cnn(128, classes=12)).eval(), [torch.randn(16, 1, 49, 10) for _ in range(2)])
    if args.portable_depthwise:  # the board build picks kernels through select_kernel: keep this one portable
        pick = fw.select_kernel
        fw.select_kernel = lambda path, dsp: (fw.PORTABLE_DIR / path.name if path.name == "tc_depthwise_conv2d_s8.c"
                                              else pick(path, dsp))
    r = fw.validate_on_board(graph, args.board, n=2, seed=0)
    print(json.dumps({"bench": "kws_instructions", "model": "ds_cnn_w128", "board": args.board,
                      "depthwise_kernel": "portable" if args.portable_depthwise else "default",
                      "outputs_match": r["outputs_match"], "instructions_per_inference": r["instructions_per_inference"],
                      "arena_bytes": r["arena_bytes"], "stack_bytes": r["stack_bytes"],
                      "text_bytes": r["text_bytes"]}))


if __name__ == "__main__":
    main()
