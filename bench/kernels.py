"""Instructions per MAC of the C kernels on an emulated Cortex-M (default M4, mps2-an386): portable vs DSP.

    python bench/kernels.py                     # M4, all layers, portable, DSP, DSP column-free (conv)
    python bench/kernels.py --board mps2-an500  # M7

Method: each layer is a single-op graph at two sizes (MLPerf-Tiny-like shapes); all of them run in ONE firmware
image per kernel set under `qemu-system-arm -icount shift=7`, where CMSDK timer 0 gives the exact instruction
count of each model_invoke (see tinycore/export/qemu.py). instructions_per_mac = (instructions_large -
instructions_small) / (macs_large - macs_small): the difference removes the fixed cost of the call (input and
output copies, set-up) but keeps the per-pixel and per-channel costs (gather, requantization). Outputs are
checked byte for byte against the numpy runtime. One JSON object per line.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinycore.export import generate_c, parse_output  # noqa: E402
from tinycore.export.qemu import run_batch  # noqa: E402
from tinycore.ir import SCHEMAS, Graph, Op, Tensor  # noqa: E402
from tinycore.memory import plan_graph  # noqa: E402
from tinycore.runtime import run  # noqa: E402
from tinycore.runtime.fixedpoint import quantize_multiplier  # noqa: E402

# layer -> (description, [(input shape, op parameters) small, large])
LAYERS = {
    "conv3x3": ("3x3 conv, 16->16 channels, stride 1, same padding (ResNet-8 / CIFAR)",
                [((1, 8, 8, 16), dict(cout=16, k=3)), ((1, 16, 16, 16), dict(cout=16, k=3))]),
    "conv3x3_stem": ("3x3 conv, 3->8 channels, stride 2 (MobileNet-0.25 VWW stem)",
                     [((1, 24, 24, 3), dict(cout=8, k=3, stride=2)), ((1, 48, 48, 3), dict(cout=8, k=3, stride=2))]),
    "depthwise3x3": ("depthwise 3x3, 64 channels, stride 1, same padding (DS-CNN KWS)",
                     [((1, 13, 5, 64), dict(k=3, depthwise=True)), ((1, 25, 5, 64), dict(k=3, depthwise=True))]),
    "conv1x1": ("1x1 conv, 64->64 channels (DS-CNN KWS pointwise)",
                [((1, 13, 5, 64), dict(cout=64, k=1)), ((1, 25, 5, 64), dict(cout=64, k=1))]),
    "conv1x1_wide": ("1x1 conv, 256->256 channels (MobileNet-0.25 VWW, last stage)",
                     [((1, 3, 3, 256), dict(cout=256, k=1)), ((1, 6, 3, 256), dict(cout=256, k=1))]),
    "fc": ("fully connected, 640 inputs (MLPerf-Tiny anomaly dense layer)",
           [((1, 640), dict(n_out=64)), ((1, 640), dict(n_out=128))]),
}


def layer_graph(shape: tuple[int, ...], p: dict, rng: np.random.Generator) -> tuple[Graph, int]:
    """A single-op graph with random int8 weights and plausible requantization; returns (graph, MACs)."""
    x = Tensor("x", shape, "int8", (0.05,), int(rng.integers(-20, 20)))
    if "n_out" in p:
        kind, n_in, n_out = "fully_connected_s8", int(np.prod(shape)), p["n_out"]
        w_shape, attrs, cout, per_out = (n_out, n_in), {}, n_out, n_in
    else:
        k, stride, cin = p["k"], p.get("stride", 1), shape[3]
        pad = (k - 1) // 2
        attrs = dict(stride_h=stride, stride_w=stride, dilation_h=1, dilation_w=1, pad_top=pad, pad_bottom=pad,
                     pad_left=pad, pad_right=pad)
        if p.get("depthwise"):
            kind, cout, per_out = "depthwise_conv2d_s8", cin, k * k
            w_shape, attrs["depth_multiplier"] = (1, k, k, cin), 1
        else:
            kind, cout, per_out = "conv2d_s8", p["cout"], k * k * cin
            w_shape = (cout, k, k, cin)
    attrs.update(input_zp=x.zero_point, output_zp=-5, act_min=-128, act_max=127)
    m, s = quantize_multiplier(40.0 / (45.0 * 60.0 * np.sqrt(per_out)))
    consts = [Tensor("w", w_shape, "int8", data=np.clip(rng.normal(0, 45, w_shape), -127, 127).astype(np.int8)),
              Tensor("b", (cout,), "int32", data=rng.integers(-500, 500, cout).astype(np.int32)),
              Tensor("m", (cout,), "int32", data=np.full(cout, m, np.int32)),
              Tensor("s", (cout,), "int32", data=np.full(cout, s, np.int32))]
    y_shape = tuple(int(d) for d in SCHEMAS[kind].infer([shape, w_shape], attrs))
    y = Tensor("y", y_shape, "int8", (0.05,), -5)
    tensors = {t.name: t for t in [x, *consts, y]}
    graph = Graph(tensors, [Op(kind, kind, ["x", "w", "b", "m", "s"], ["y"], attrs)], ["x"], ["y"])
    macs = int(np.prod(y_shape)) * per_out
    return graph, macs


KERNEL_SETS = ("portable", "dsp", "dsp_column_free")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="mps2-an386", help="an emulated board with DSP (mps2-an386 or mps2-an500)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    cases = []  # (layer, size index, graph, macs, input)
    for layer, (_, sizes) in LAYERS.items():
        for i, (shape, p) in enumerate(sizes):
            g, macs = layer_graph(shape, p, rng)
            cases.append((layer, i, g, macs, rng.integers(-128, 128, shape, dtype=np.int8)))
    with tempfile.TemporaryDirectory(prefix="tc_bench_") as tmp:
        # "dsp" keeps the DSP conv's columns (plan_graph(memory_first=False)); "dsp_column_free" is the default
        # memory-first plan, which for a one-op graph leaves the conv no column (any would raise the peak)
        plans = {"column": lambda g: plan_graph(g, memory_first=False), "memory_first": plan_graph}
        dirs = {name: [generate_c(g, Path(tmp) / f"{name}{k}", test_inputs=[x], plan=plan(g)).out_dir
                       for k, (_, _, g, _, x) in enumerate(cases)] for name, plan in plans.items()}
        counts = {}
        for kernels in KERNEL_SETS:
            plan = "memory_first" if kernels == "dsp_column_free" else "column"
            _, texts = run_batch(dirs[plan], args.board, Path(tmp) / kernels, dsp=kernels != "portable")
            for (layer, i, g, _, x), text in zip(cases, texts):
                out = parse_output(text, 1)
                if out.outputs[0] != run(g, x).reshape(-1).astype(np.int8).tobytes():
                    raise SystemExit(f"{layer} ({kernels}): firmware output differs from the runtime")
                counts[(layer, kernels, i)] = out.instructions[0]
    for layer, (desc, sizes) in LAYERS.items():
        macs = [c[3] for c in cases if c[0] == layer]
        for kernels in KERNEL_SETS:
            p = sizes[0][1]
            if kernels == "dsp_column_free" and ("k" not in p or p.get("depthwise")):
                continue  # only the conv has a column-free path
            n0, n1 = counts[(layer, kernels, 0)], counts[(layer, kernels, 1)]
            print(json.dumps({
                "bench": "kernels", "board": args.board, "layer": layer, "description": desc, "kernels": kernels,
                "input_shapes": [list(s) for s, _ in sizes], "macs_small": macs[0], "macs_large": macs[1],
                "instructions_small": n0, "instructions_large": n1,
                "instructions_per_mac": round((n1 - n0) / (macs[1] - macs[0]), 3),
                "instructions_per_mac_large_total": round(n1 / macs[1], 3)}))


if __name__ == "__main__":
    main()
