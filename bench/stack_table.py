"""Measure the per-kernel stack table (tinycore/export/stack_table.json) on every emulated core, in QEMU.

    python bench/stack_table.py            # measure and print the table
    python bench/stack_table.py --write    # ... and write tinycore/export/stack_table.json

Cases: every op of small int8 models (DS-CNN, MobileNetV2 0.35 at 32 px, the dense autoencoder, a 1-block ViT, a
conv + hard swish + sigmoid-gated SE + max pool + sigmoid model, a concat + nearest upsampling + zero padding one)
as one-op models, plus depthwise and conv layers that take the DSP kernels' other paths (rows wider than 64
pixels, 5x5 taps with padding 2, channels not a multiple of 4, a stride-2 stem, ReLU clamps that take the
generic output stage) and a requantizing quantize_s8. Each core (M3, M4, M7, M55)
runs them with the DSP kernels and with the portable ones (M3: portable only); see tinycore.export.stack_measure
for what each entry means. Re-run it after changing a kernel: tests/export/test_stack_table.py fails when a
kernel's measured stack exceeds its entry.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernels import layer_graph  # noqa: E402  (bench/kernels.py: single conv / depthwise / fc layers)

from tinycore.export.boards import BOARDS  # noqa: E402
from tinycore.ir import Graph, Op, Tensor  # noqa: E402
from tinycore.runtime.fixedpoint import quantize_multiplier  # noqa: E402
from tinycore.export.stack import MARGIN_BYTES, TABLE_PATH  # noqa: E402
from tinycore.export.stack_measure import measure_kernels, measure_printf, merge_core, one_op_graphs  # noqa: E402

LAYERS = [  # (name, input shape, bench/kernels.py layer parameters): the DSP kernels' paths
    ("dw3x3_row_path", (1, 25, 5, 64), {"k": 3, "depthwise": True}),
    ("dw3x3_wide_rows", (1, 4, 80, 8), {"k": 3, "depthwise": True}),
    ("dw5x5_pad2", (1, 9, 9, 8), {"k": 5, "depthwise": True}),
    ("dw3x3_c6", (1, 6, 6, 6), {"k": 3, "depthwise": True}),
    ("dw3x3_s2", (1, 12, 12, 16), {"k": 3, "depthwise": True, "stride": 2}),
    ("conv3x3", (1, 16, 16, 16), {"k": 3, "cout": 16}),
    ("conv3x3_stem_s2", (1, 24, 24, 3), {"k": 3, "cout": 8, "stride": 2}),
    ("conv1x1_odd", (1, 7, 5, 19), {"k": 1, "cout": 7}),
    ("conv3x3_relu", (1, 6, 6, 3), {"k": 3, "cout": 5, "relu": True}),  # clamp narrower than int8: generic stage
    ("conv1x1_relu", (1, 5, 5, 16), {"k": 1, "cout": 8, "relu": True}),
    ("dw3x3_relu", (1, 5, 6, 8), {"k": 3, "depthwise": True, "relu": True}),
    ("fc_relu", (1, 64), {"n_out": 10, "relu": True}),
    ("fc640", (1, 640), {"n_out": 128}),
    ("fc_odd", (1, 37), {"n_out": 5}),
]
CORES = {"cortex-m3": "mps2-an385", "cortex-m4": "mps2-an386", "cortex-m7": "mps2-an500",
         "cortex-m55": "mps3-an547"}


def model_cases(seed: int) -> list:
    """One-op models cut from small quantized zoo models (torch only here, for the quantizer)."""
    import torch

    from tinycore.quant import quantize, quantize_vit
    from tinycore.spec import InputSpec, ModelSpec, build_model
    from tinycore.spec.layers import FC, SE, Act, Conv, Flatten, GlobalPool, MaxPool
    from tinycore.spec.zoo import dense_autoencoder, ds_cnn, mobilenet_v2, vit

    torch.manual_seed(seed)
    cases = []
    for name, spec, shape in [("ds_cnn", ds_cnn(16), (8, 1, 49, 10)),
                              ("mbv2", mobilenet_v2(0.35, resolution=32, classes=4), (8, 3, 32, 32)),
                              ("ae", dense_autoencoder((64, 16, 8, 16, 64)), (8, 64))]:
        graph = quantize(build_model(spec).eval(), [torch.randn(*shape)])
        cases += one_op_graphs(graph, name)
    spec = vit(dim=16, depth=1, heads=2, patch=4, resolution=16, classes=2, pos_embed=False)
    cases += one_op_graphs(quantize_vit(build_model(spec).eval(), torch.randn(8, 3, 16, 16)), "vit")
    spec = ModelSpec(input=InputSpec(channels=3, height=16, width=16), name="mbv3_ops",
                     stem=(Conv(8, kernel=3, act="hswish"),),
                     blocks=(SE(4, gate="sigmoid"), MaxPool(2), Act("sigmoid")), head=(GlobalPool(), Flatten(), FC(4)))
    cases += one_op_graphs(quantize(build_model(spec).eval(), [torch.randn(8, 3, 16, 16)]), "mbv3_ops")
    cases += one_op_graphs(quantize(_MapOps().eval(), [torch.randn(8, 3, 8, 8)]), "map_ops")
    return cases


class _MapOps:
    """Built lazily (torch is imported only in model_cases): concat, nearest 2x upsampling, zero padding."""

    def __new__(cls):
        import torch
        import torch.nn.functional as F
        from torch import nn

        class MapOps(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.b, self.c = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(3, 4, 1), nn.Conv2d(8, 4, 3)

            def forward(self, x):
                y = F.interpolate(torch.cat([self.a(x), self.b(x)], dim=1), scale_factor=2, mode="nearest")
                return self.c(F.pad(y, (1, 1, 1, 1)))

        return MapOps()


def layer_case(shape: tuple[int, ...], p: dict, rng: np.random.Generator) -> Graph:
    """bench/kernels.py's layer; "relu": its clamp starts at the output zero point (the kernels' generic output
    stage)."""
    graph = layer_graph(shape, p, rng)[0]
    if p.get("relu"):
        op = graph.ops[0]
        graph.ops[0] = Op(op.kind, op.name, op.inputs, op.outputs, {**op.attrs, "act_min": op.attrs["output_zp"]})
    return graph


def quantize_case() -> Graph:
    """A requantizing quantize_s8 (int8 -> int8 with another scale)."""
    mult, shift = quantize_multiplier(0.37)
    x = Tensor("x", (1, 4, 4, 3), "int8", (0.05,), 3)
    y = Tensor("y", (1, 4, 4, 3), "int8", (0.135,), -2)
    return Graph({"x": x, "y": y}, [Op("quantize_s8", "quantize_s8", ["x"], ["y"], dict(
        input_zp=3, output_zp=-2, mult=int(mult), shift=int(shift)))], ["x"], ["y"])


def all_cases(seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [*((name, layer_case(shape, p, rng)) for name, shape, p in LAYERS), ("quantize", quantize_case()),
            *model_cases(seed)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"write {TABLE_PATH}")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.time()
    cases = all_cases(args.seed)
    cores = {}
    with tempfile.TemporaryDirectory(prefix="tc_stack_table_") as tmp:
        for cpu, board in CORES.items():
            variants = (True, False) if BOARDS[board].has_dsp else (False,)
            runs = [measure_kernels(cases, board, dsp, Path(tmp) / f"{board}-{dsp}", args.seed) for dsp in variants]
            cores[cpu] = {"board": board, **merge_core(runs, measure_printf(board, Path(tmp) / f"printf-{board}"))}
            print(f"{cpu} ({board}): harness {cores[cpu]['harness']} B, printf {cores[cpu]['printf']} B, "
                  + ", ".join(f"{k} {v}" for k, v in cores[cpu]["kernels"].items()), flush=True)
    table = {"about": "stack bytes measured in QEMU with boards/common/tc_stack.h; see tinycore/export/stack.py",
             "command": "python bench/stack_table.py --write", "margin_bytes": MARGIN_BYTES,
             "n_cases": len(cases), "cores": cores}
    print(f"{len(cases)} cases, {time.time() - t0:.0f} s")
    if args.write:
        TABLE_PATH.write_text(json.dumps(table, indent=1) + "\n")
        print(f"wrote {TABLE_PATH}")


if __name__ == "__main__":
    main()
