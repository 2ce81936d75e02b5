"""Random multi-op integer graphs built directly with numpy: chains with residual adds, pools, pad, reshape + FC.

They exercise what single-op cases cannot: arena reuse across ops, in-place depthwise and 1x1 convolutions,
reshape aliases, and tensors read by two ops (residuals).
"""
from __future__ import annotations

import numpy as np

from tests.cases.build import act, add_params, const, requant, same_pads, weights, zero_point
from tinycore.ir import SCHEMAS, Graph, Op
from tinycore.runtime.fixedpoint import quantize_multiplier


class GraphBuilder:
    """Appends ops to a graph; `cur` is the newest activation. Scales are made up but consistent."""

    def __init__(self, rng: np.random.Generator, shape: tuple[int, ...]) -> None:
        self.rng = rng
        x = act("x", shape, zero_point(rng), float(rng.uniform(0.01, 0.1)))
        self.g = Graph({"x": x}, [], ["x"], [])
        self.cur = "x"

    @property
    def shape(self) -> tuple[int, ...]:
        return self.g.tensors[self.cur].shape

    def _op(self, kind: str, inputs: list[str], attrs: dict, zp: int | None = None, scale: float | None = None,
            ) -> str:
        name = f"{kind.split('_')[0]}{len(self.g.ops)}"
        out_shape = tuple(int(d) for d in SCHEMAS[kind].infer([self.g.tensors[n].shape for n in inputs], attrs))
        src = self.g.tensors[inputs[0]]
        zp = src.zero_point if zp is None else zp
        self.g.tensors[name] = act(name, out_shape, zp, src.scale[0] if scale is None else scale)
        self.g.ops.append(Op(kind, name, inputs, [name], attrs))
        self.cur = name
        return name

    def _consts(self, prefix: str, w: np.ndarray, cout: int, taps: int) -> list[str]:
        acc_std = 70.0 * np.sqrt(taps) * max(float(np.abs(w).mean()), 1.0)
        mult, shift = requant(self.rng, cout, acc_std)
        bias = self.rng.integers(-int(acc_std), int(acc_std) + 1, cout).astype(np.int32)
        names = []
        for part, arr in (("w", w), ("b", bias), ("m", mult), ("s", shift)):
            self.g.tensors[f"{prefix}.{part}"] = const(f"{prefix}.{part}", arr)
            names.append(f"{prefix}.{part}")
        return names

    def conv(self, cout: int, k: int = 3, stride: int = 1, depthwise: bool = False, relu: bool = True) -> str:
        _, h, w, cin = self.shape
        (pt, pb), (pl, pr) = same_pads(h, k, stride), same_pads(w, k, stride)
        prefix = f"c{len(self.g.ops)}"
        if depthwise:
            wt, taps, cout = weights(self.rng, (1, k, k, cin)), k * k, cin
        else:
            wt, taps = weights(self.rng, (cout, k, k, cin)), k * k * cin
        out_zp = zero_point(self.rng)
        attrs = dict(stride_h=stride, stride_w=stride, dilation_h=1, dilation_w=1, pad_top=pt, pad_bottom=pb,
                     pad_left=pl, pad_right=pr, input_zp=self.g.tensors[self.cur].zero_point, output_zp=out_zp,
                     act_min=out_zp if relu else -128, act_max=127)
        if depthwise:
            attrs["depth_multiplier"] = 1
        kind = "depthwise_conv2d_s8" if depthwise else "conv2d_s8"
        return self._op(kind, [self.cur, *self._consts(prefix, wt, cout, taps)], attrs, out_zp,
                        float(self.rng.uniform(0.02, 0.1)))

    def add(self, other: str) -> str:
        a, b = self.g.tensors[self.cur], self.g.tensors[other]
        out_zp, out_scale = zero_point(self.rng), float(self.rng.uniform(0.03, 0.15))
        attrs = dict(input1_zp=a.zero_point, input2_zp=b.zero_point, output_zp=out_zp, act_min=-128, act_max=127,
                     **add_params(self.rng, a.scale[0], b.scale[0], out_scale))
        return self._op("add_s8", [self.cur, other], attrs, out_zp, out_scale)

    def pool(self, kind: str, size: int = 2) -> str:
        _, h, w, _ = self.shape
        (pt, pb), (pl, pr) = same_pads(h, size, 2), same_pads(w, size, 2)
        attrs = dict(filter_h=size, filter_w=size, stride_h=2, stride_w=2, pad_top=pt, pad_bottom=pb, pad_left=pl,
                     pad_right=pr, act_min=-128, act_max=127)
        return self._op(kind, [self.cur], attrs)

    def pad(self) -> str:
        t, b, l, r = (int(v) for v in self.rng.integers(0, 2, 4))
        zp = self.g.tensors[self.cur].zero_point
        return self._op("pad_s8", [self.cur], dict(pad_top=t, pad_bottom=b, pad_left=l, pad_right=r, pad_value=zp))

    def quantize(self) -> str:
        src = self.g.tensors[self.cur]
        scale = src.scale[0] * float(self.rng.uniform(0.5, 2.0))
        mult, shift = quantize_multiplier(src.scale[0] / scale)
        zp = zero_point(self.rng)
        return self._op("quantize_s8", [self.cur], dict(input_zp=src.zero_point, output_zp=zp, mult=mult,
                                                        shift=shift), zp, scale)

    def mean(self) -> str:
        src = self.g.tensors[self.cur]
        zp = zero_point(self.rng)
        mult, shift = quantize_multiplier(float(self.rng.uniform(0.5, 2.0)))
        return self._op("mean_s8", [self.cur], dict(input_zp=src.zero_point, output_zp=zp, mult=mult, shift=shift),
                        zp)

    def reshape(self, shape: tuple[int, ...]) -> str:
        return self._op("reshape", [self.cur], dict(shape=list(shape)))

    def fc(self, n_out: int) -> str:
        n_in = int(np.prod(self.shape))
        wt = weights(self.rng, (n_out, n_in))
        out_zp = zero_point(self.rng)
        attrs = dict(input_zp=self.g.tensors[self.cur].zero_point, output_zp=out_zp, act_min=-128, act_max=127)
        return self._op("fully_connected_s8", [self.cur, *self._consts(f"c{len(self.g.ops)}", wt, n_out, n_in)],
                        attrs, out_zp)

    def fc_tokens(self, n_out: int) -> str:
        """The same FC on every row of the last axis (TFLite keep_num_dims): (1, ..., N) -> (1, ..., n_out)."""
        n_in = self.shape[-1]
        wt = weights(self.rng, (n_out, n_in))
        out_zp = zero_point(self.rng)
        attrs = dict(input_zp=self.g.tensors[self.cur].zero_point, output_zp=out_zp, act_min=-128, act_max=127)
        return self._op("fully_connected_s8", [self.cur, *self._consts(f"c{len(self.g.ops)}", wt, n_out, n_in)],
                        attrs, out_zp)

    def finish(self) -> Graph:
        self.g.outputs = [self.cur]
        return self.g


def random_graph(seed: int) -> Graph:
    """A small CNN: stem conv, 2-4 random blocks, then mean + FC or reshape + FC (sometimes a final reshape)."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder(rng, (1, int(rng.integers(6, 13)), int(rng.integers(6, 13)), int(rng.integers(1, 5))))
    b.conv(int(rng.integers(4, 12)), k=3, stride=int(rng.integers(1, 3)))
    for _ in range(int(rng.integers(2, 5))):
        choice = rng.choice(["dw_pw_residual", "dw_pw", "conv", "pool", "pad", "quantize"])
        c = b.shape[3]
        if choice == "dw_pw_residual":
            block_in = b.cur
            b.conv(c, k=3, depthwise=True)
            b.conv(c, k=1, relu=False)
            b.add(block_in)
        elif choice == "dw_pw":
            b.conv(c, k=int(rng.choice([3, 5])), stride=int(rng.integers(1, 3)), depthwise=True)
            b.conv(int(rng.integers(2, c + 4)), k=1)
        elif choice == "conv":
            b.conv(int(rng.integers(3, 10)), k=int(rng.choice([1, 3])), stride=int(rng.integers(1, 3)))
        elif choice == "pool" and min(b.shape[1:3]) >= 2:
            b.pool(str(rng.choice(["avg_pool2d_s8", "max_pool2d_s8"])), size=int(rng.choice([2, 3])))
        elif choice == "pad":
            b.pad()
        else:
            b.quantize()
    if rng.random() < 0.5:
        b.mean()
    b.reshape((1, int(np.prod(b.shape))))
    b.fc(int(rng.integers(2, 13)))
    if rng.random() < 0.3:
        n = b.shape[1]
        b.reshape((1, 1, n, 1))
    return b.finish()


RANDOM_GRAPH_SEEDS = list(range(20))
