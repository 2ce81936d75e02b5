"""concatenation_s8 cases: along channels (odd counts, one input used twice), rows, columns and a vector.

The graphs keep one input x: the other operands are made from x by a 1x1 convolution (another channel count) or
a padding (another height or width), all in x's quantization as concatenation requires.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.cases.build import act, const, requant, weights, zero_point
from tinycore.ir import SCHEMAS, Graph, Op, Tensor


@dataclass(frozen=True)
class ConcatCase:
    name: str
    shape: tuple[int, ...]
    axis: int
    operands: tuple[str, ...]  # "x", "conv<C>" (1x1 conv to C channels) or "pad<T>,<B>,<L>,<R>"

    def make(self, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        zp = zero_point(rng)
        x = act("x", self.shape, zp)
        tensors: dict[str, Tensor] = {"x": x}
        ops: list[Op] = []
        names = []
        for k, spec in enumerate(self.operands):
            if spec == "x":
                names.append("x")
                continue
            out = f"v{k}"
            if spec.startswith("conv"):
                co, ci = int(spec[4:]), self.shape[3]
                w = const(f"w{k}", weights(rng, (co, 1, 1, ci)))
                bias = const(f"b{k}", rng.integers(-500, 500, co).astype(np.int32))
                m, s = requant(rng, co, acc_std=45.0 * 70 * np.sqrt(ci))
                consts = [w, bias, const(f"m{k}", m), const(f"s{k}", s)]
                attrs = dict(stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, pad_top=0, pad_bottom=0,
                             pad_left=0, pad_right=0, input_zp=zp, output_zp=zp, act_min=-128, act_max=127)
                kind = "conv2d_s8"
            else:
                t, b, l, r = (int(v) for v in spec[3:].split(","))
                consts, kind = [], "pad_s8"
                attrs = dict(pad_top=t, pad_bottom=b, pad_left=l, pad_right=r, pad_value=zp)
            tensors.update({c.name: c for c in consts})
            shape = SCHEMAS[kind].infer([x.shape, *[c.shape for c in consts]], attrs)
            tensors[out] = act(out, shape, zp)
            ops.append(Op(kind, out, ["x", *[c.name for c in consts]], [out], attrs))
            names.append(out)
        shape = SCHEMAS["concatenation_s8"].infer([tensors[n].shape for n in names], {"axis": self.axis})
        tensors["y"] = act("y", shape, zp)
        ops.append(Op("concatenation_s8", "concat", names, ["y"], {"axis": self.axis}))
        return Graph(tensors, ops, ["x"], ["y"])


CONCATENATION_CASES = [
    ConcatCase("channels_odd_three_inputs", (1, 3, 5, 3), 3, ("x", "conv5", "x")),
    ConcatCase("channels_one", (1, 4, 2, 1), 3, ("conv1", "x")),
    ConcatCase("rows", (1, 2, 3, 4), 1, ("x", "pad1,0,0,0")),
    ConcatCase("cols_non_square", (1, 3, 2, 5), 2, ("pad0,0,2,1", "x")),
    ConcatCase("vector", (1, 7), 1, ("x", "x")),
]
