"""Exact int8 memory of a spec without torch: build the integer graph SHAPE tinycore.quant would produce and plan it.

Search checks thousands of subnets against SRAM and Flash; quantizing each (trace, calibrate, convert) takes a
second, this takes a few milliseconds. The graph mirrors `tinycore.quant.quantize(build_model(spec), ...)`: the
same op list (conv + BN + act fused into one conv2d_s8 / depthwise_conv2d_s8, residual add_s8, global pool as
avg_pool2d_s8, flatten as reshape, fully_connected_s8; ZeroPad2d as pad_s8; dropout dropped), the same tensor
names, and constants of the right shapes and dtypes holding zeros. tests/nas/test_cost.py checks that
`plan_graph(...).arena_bytes` and `flash_bytes(...)` are equal for both graphs.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tinycore.errors import UnsupportedError
from tinycore.ir.graph import Graph, Op, Tensor
from tinycore.memory import flash_bytes, plan_graph
from tinycore.spec.layers import (FC, SE, Act, AvgPool, Conv, Dropout, DWConv, DWSep, Flatten, GlobalPool, Layer,
                                  MaxPool, MBConv, ModelSpec, Residual)
from tinycore.spec.shapes import analyze, child_names, conv_geometry, mbconv_hidden

_CLAMP = {"act_min": -128, "act_max": 127}
_ZP = {"input_zp": 0, "output_zp": 0}
# the ops an activation becomes (relu, relu6: the producer's clamp; hsigmoid: folded into the conv/linear before it)
_ACT_OPS = {"hswish": ("hard_swish_s8", {**_ZP, "output_mult": 0, "output_exponent": 0, "reluish_mult": 0,
                                         "reluish_exponent": 0}),
            "sigmoid": ("logistic_s8", {"input_zp": 0, "input_mult": 0, "input_left_shift": 0,
                                        "input_range_radius": 0})}


@dataclass(frozen=True)
class SubnetCost:
    arena_bytes: int   # plan_graph(graph).arena_bytes of the int8 graph
    flash_bytes: int   # flash_bytes(graph): weights, biases, multipliers, shifts
    macs: int          # model_stats(spec)["macs"]
    params: int


def _const(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return np.broadcast_to(np.zeros((), dtype), shape)  # zero data, no memory: only shapes matter here


class _Builder:
    """Walks a spec in run order, emitting ops named as the quantizer names them (module paths)."""

    def __init__(self, spec: ModelSpec) -> None:
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.n_add = 0
        self.n_mul = 0
        shape = spec.input.shape()
        gshape = (1, shape[1], shape[2], shape[0]) if len(shape) == 3 else (1, shape[0])
        self.cur = self._value("input", gshape)
        self.chw: tuple[int, ...] = shape  # torch-side shape of the current value, no batch

    def _value(self, name: str, shape: tuple[int, ...]) -> str:
        self.tensors[name] = Tensor(name, tuple(int(d) for d in shape), "int8")
        return name

    def _op(self, kind: str, name: str, inputs: list[str], out_shape: tuple[int, ...], attrs: dict) -> str:
        self.ops.append(Op(kind, name, inputs, [self._value(name, out_shape)], attrs))
        return name

    def _weighted(self, kind: str, name: str, w_shape: tuple[int, ...], cout: int, out_shape: tuple[int, ...],
                  attrs: dict) -> None:
        inputs = [self.cur]
        for role, shape, dtype in (("weights", w_shape, "int8"), ("bias", (cout,), "int32"),
                                   ("mult", (cout,), "int32"), ("shift", (cout,), "int32")):
            t = f"{name}.{role}"
            self.tensors[t] = Tensor(t, shape, dtype, data=_const(shape, dtype))
            inputs.append(t)
        self.cur = self._op(kind, name, inputs, out_shape, {**attrs, **_ZP, **_CLAMP})

    def act(self, where: str, act: str) -> None:
        """The op of a standalone activation module at `where` (hard swish, sigmoid); clamps add none."""
        if act in _ACT_OPS:
            kind, attrs = _ACT_OPS[act]
            self.cur = self._op(kind, where, [self.cur], self.tensors[self.cur].shape, attrs)

    def conv(self, where: str, cout: int, kernel, stride, padding, depthwise: bool = False, act: str = "relu",
             conv_name: str | None = None) -> None:
        """ConvBNAct at module path `where` (children pad, conv, bn, act); `conv_name` for a bare nn.Conv2d."""
        cin, h, w = self.chw
        g = conv_geometry(where, self.chw, kernel, stride, padding)
        pads = g.pads
        if not g.symmetric:
            t, b, l, r = pads
            self.cur = self._op("pad_s8", f"{where}.pad", [self.cur], (1, h + t + b, w + l + r, cin),
                                {"pad_top": t, "pad_bottom": b, "pad_left": l, "pad_right": r, "pad_value": 0})
            pads = (0, 0, 0, 0)
        attrs = {"stride_h": g.sh, "stride_w": g.sw, "dilation_h": 1, "dilation_w": 1, "pad_top": pads[0],
                 "pad_bottom": pads[1], "pad_left": pads[2], "pad_right": pads[3]}
        out_shape = (1, g.oh, g.ow, cout)
        name = conv_name or f"{where}.conv"
        if depthwise:
            attrs["depth_multiplier"] = cout // cin
            self._weighted("depthwise_conv2d_s8", name, (1, g.kh, g.kw, cout), cout, out_shape, attrs)
        else:
            self._weighted("conv2d_s8", name, (cout, g.kh, g.kw, cin), cout, out_shape, attrs)
        self.chw = (cout, g.oh, g.ow)
        self.act(f"{where}.act", act)

    def se(self, where: str, layer: SE) -> None:
        """SEBlock: pool, reduce (+ act), expand (+ gate), then x * gate broadcast over H, W."""
        x, (c, h, w) = self.cur, self.chw
        self.pool("avg_pool2d_s8", f"{where}.pool", h, w, h, w, 0, 0)
        self.conv(where, layer.squeeze, 1, 1, 0, act="none", conv_name=f"{where}.reduce")
        self.act(f"{where}.act", layer.act)
        self.conv(where, c, 1, 1, 0, act="none", conv_name=f"{where}.expand")
        self.act(f"{where}.gate", layer.gate)
        attrs = {"input1_zp": 0, "input2_zp": 0, "output_zp": 0, "mult": 0, "shift": 0, **_CLAMP}
        name = f"{where}.mul" if self.n_mul == 0 else f"{where}.mul_{self.n_mul}"
        self.n_mul += 1
        self.cur = self._op("mul_s8", name, [x, self.cur], self.tensors[x].shape, attrs)
        self.chw = (c, h, w)

    def add(self, where: str, skip: str) -> None:
        name = f"{where}.add" if self.n_add == 0 else f"{where}.add_{self.n_add}"
        self.n_add += 1
        attrs = {k: 0 for k in ("input1_zp", "input2_zp", "output_zp", "left_shift", "input1_mult", "input1_shift",
                                "input2_mult", "input2_shift", "output_mult", "output_shift")}
        self.cur = self._op("add_s8", name, [skip, self.cur], self.tensors[self.cur].shape, {**attrs, **_CLAMP})

    def pool(self, kind: str, where: str, fh: int, fw: int, sh: int, sw: int, ph: int, pw: int) -> None:
        c, h, w = self.chw
        oh, ow = (h + 2 * ph - fh) // sh + 1, (w + 2 * pw - fw) // sw + 1
        attrs = {"filter_h": fh, "filter_w": fw, "stride_h": sh, "stride_w": sw, "pad_top": ph, "pad_bottom": ph,
                 "pad_left": pw, "pad_right": pw, **_CLAMP}
        self.cur = self._op(kind, where, [self.cur], (1, oh, ow, c), attrs)
        self.chw = (c, oh, ow)

    def layer(self, layer: Layer, where: str) -> None:
        if isinstance(layer, Conv):
            self.conv(where, layer.out, layer.kernel, layer.stride, layer.padding, act=layer.act)
        elif isinstance(layer, DWConv):
            self.conv(where, self.chw[0], layer.kernel, layer.stride, layer.padding, depthwise=True, act=layer.act)
        elif isinstance(layer, DWSep):
            self.conv(f"{where}.dw", self.chw[0], layer.kernel, layer.stride, layer.padding, depthwise=True,
                      act=layer.act)
            self.conv(f"{where}.pw", layer.out, 1, 1, 0, act=layer.act)
        elif isinstance(layer, SE):
            self.se(where, layer)
        elif isinstance(layer, Act):
            if layer.act == "hsigmoid":
                raise UnsupportedError(f"{where} (act hsigmoid): a hard sigmoid is folded into the conv or linear "
                                       f"layer before it; alone it has no int8 op")
            self.act(where, layer.act)
        elif isinstance(layer, MBConv):
            skip, cin = self.cur, self.chw[0]
            hidden = mbconv_hidden(cin, layer.expand)
            if layer.expand != 1:
                self.conv(f"{where}.expand", hidden, 1, 1, 0, act=layer.act)
            self.conv(f"{where}.dw", hidden, layer.kernel, layer.stride, "same", depthwise=True, act=layer.act)
            self.conv(f"{where}.project", layer.out, 1, 1, 0, act="none")
            if layer.stride == 1 and cin == layer.out:
                self.add(where, skip)
        elif isinstance(layer, Residual):
            skip, chw = self.cur, self.chw
            for i, sub in enumerate(layer.shortcut):  # ProjectedResidualBlock runs shortcut(x) first
                self.layer(sub, f"{where}.shortcut.{i}")
            short, self.cur, self.chw = self.cur, skip, chw
            for i, sub in enumerate(layer.body):
                self.layer(sub, f"{where}.body.{i}")
            self.add(where, short)
        elif isinstance(layer, (AvgPool, MaxPool)):
            stride = layer.kernel if layer.stride is None else layer.stride
            g = conv_geometry(where, self.chw, layer.kernel, stride, layer.padding)
            kind = "avg_pool2d_s8" if isinstance(layer, AvgPool) else "max_pool2d_s8"
            self.pool(kind, where, g.kh, g.kw, g.sh, g.sw, g.pads[0], g.pads[2])
        elif isinstance(layer, GlobalPool):
            _, h, w = self.chw
            self.pool("avg_pool2d_s8", where, h, w, h, w, 0, 0)
        elif isinstance(layer, Flatten):
            if len(self.chw) == 3:
                n = int(np.prod(self.chw))
                self.cur = self._op("reshape", where, [self.cur], (1, n), {"shape": [1, n]})
                self.chw = (n,)
        elif isinstance(layer, FC):
            if layer.bn:
                raise UnsupportedError(f"{where} (fc): BatchNorm1d after a Linear is not folded by tinycore.quant; "
                                       f"use bn=False in search spaces")
            name = where if layer.act == "none" else f"{where}.fc"
            n = self.chw[0]
            self._weighted("fully_connected_s8", name, (layer.out, n), layer.out, (1, layer.out), {})
            self.chw = (layer.out,)
            self.act(f"{where}.act", layer.act)
        elif not isinstance(layer, Dropout):
            raise UnsupportedError(f"{where}: layer kind {getattr(layer, 'kind', layer)!r} has no int8 graph rule")


def graph_shape(spec: ModelSpec) -> Graph:
    """The int8 graph tinycore.quant would produce for build_model(spec), with zero-valued constants."""
    analyze(spec)  # validates, naming the bad layer
    b = _Builder(spec)
    for section, layers in spec.sections():
        for name, layer in zip(child_names(section, layers), layers):
            b.layer(layer, f"{section}.{name}")
    return Graph(b.tensors, b.ops, ["input"], [b.cur], meta={"source": "tinycore.nas.cost", "model": spec.name})


@lru_cache(maxsize=65536)
def _cost(spec: ModelSpec) -> SubnetCost:
    graph = graph_shape(spec)
    infos = analyze(spec)
    return SubnetCost(plan_graph(graph).arena_bytes, flash_bytes(graph), sum(i.macs for i in infos),
                      sum(i.params for i in infos))


def subnet_cost(spec: ModelSpec) -> SubnetCost:
    """Exact int8 arena and Flash of `spec` (cached by spec: specs are frozen and hashable)."""
    return _cost(spec)
