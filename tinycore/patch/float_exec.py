"""Patch-based execution of a float torch model (nn.Sequential), for checking plans before quantization.

The first `split + 1` children form the patch stage; torch.fx traces them (residual adds included) into the same
receptive-field nodes the integer walk uses, and each patch runs the layers on its window with the padding of the
frame borders only (F.pad then the op without padding). Results equal the whole-frame model within float
rounding (1e-5). Supported in the patch stage: Conv2d (zeros padding), MaxPool2d, AvgPool2d (count_include_pad
or no padding), BatchNorm2d and elementwise activations, additions.
"""
from __future__ import annotations

import operator

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.fx import symbolic_trace
from torch.fx.passes.shape_prop import ShapeProp

from tinycore.errors import UnsupportedError
from tinycore.patch.receptive import RFNode, Window, grid_cuts, walk_axis

_ELEMENTWISE = (nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.Identity, nn.Dropout, nn.Hardswish, nn.SiLU, nn.Sigmoid,
                nn.Hardsigmoid, nn.LeakyReLU, nn.Tanh)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _windows(m: nn.Module, where: str) -> tuple[Window | None, Window | None]:
    if isinstance(m, nn.Conv2d):
        if m.padding_mode != "zeros" or isinstance(m.padding, str):
            raise UnsupportedError(f"{where}: Conv2d with padding {m.padding!r} / {m.padding_mode}; use int padding")
        k, s, p, d = _pair(m.kernel_size), _pair(m.stride), _pair(m.padding), _pair(m.dilation)
        return Window(k[0], s[0], p[0], d[0]), Window(k[1], s[1], p[1], d[1])
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        if m.ceil_mode or (isinstance(m, nn.AvgPool2d) and not m.count_include_pad and m.padding):
            raise UnsupportedError(f"{where}: {type(m).__name__} with ceil_mode or count_include_pad=False")
        k, s, p = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding)
        d = _pair(getattr(m, "dilation", 1))
        return Window(k[0], s[0], p[0], d[0]), Window(k[1], s[1], p[1], d[1])
    if isinstance(m, _ELEMENTWISE):
        return None, None
    raise UnsupportedError(f"{where}: {type(m).__name__} cannot run on patches")


def _run(m: nn.Module, x: torch.Tensor, pads: tuple[int, int, int, int]) -> torch.Tensor:
    """One layer on a window; pads = (left, right, top, bottom) of frame padding for this patch."""
    if isinstance(m, nn.Conv2d):
        return F.conv2d(F.pad(x, pads), m.weight, m.bias, m.stride, 0, m.dilation, m.groups)
    if isinstance(m, nn.MaxPool2d):
        return F.max_pool2d(F.pad(x, pads, value=float("-inf")), m.kernel_size, m.stride, 0, m.dilation)
    if isinstance(m, nn.AvgPool2d):
        return F.avg_pool2d(F.pad(x, pads), m.kernel_size, m.stride, 0)
    return m(x)


@torch.no_grad()
def run_patched_float(model: nn.Sequential, split: int, grid: tuple[int, int], x: torch.Tensor) -> torch.Tensor:
    """model(x) computed with children 0..split on an n x m grid of patches (x: (1, C, H, W), NCHW)."""
    stage1, stage2 = model[:split + 1], model[split + 1:]
    gm = symbolic_trace(stage1)
    ShapeProp(gm).propagate(x)
    mods = dict(gm.named_modules())
    nodes, kinds, sizes_h, sizes_w = [], {}, {}, {}
    for n in gm.graph.nodes:
        if n.op in ("placeholder", "call_module", "call_function"):
            shape = n.meta["tensor_meta"].shape
            sizes_h[n.name], sizes_w[n.name] = shape[2], shape[3]
        if n.op == "call_module":
            rows, cols = _windows(mods[n.target], f"layer '{n.target}'")
            nodes.append(RFNode(n.name, (n.args[0].name,), n.name, rows, cols))
            kinds[n.name] = mods[n.target]
        elif n.op == "call_function":
            if n.target not in (operator.add, torch.add):
                raise UnsupportedError(f"{n.name}: function {n.target} cannot run on patches")
            nodes.append(RFNode(n.name, tuple(a.name for a in n.args), n.name, None, None))
            kinds[n.name] = "add"
    out = nodes[-1].output
    full = stage1(x)
    s = torch.zeros_like(full)
    row_cuts, col_cuts = grid_cuts(full.shape[2], grid[0]), grid_cuts(full.shape[3], grid[1])
    rws = [walk_axis(nodes, sizes_h, out, lo, hi, "rows") for lo, hi in row_cuts]
    cws = [walk_axis(nodes, sizes_w, out, lo, hi, "cols") for lo, hi in col_cuts]
    x_name = next(n.name for n in gm.graph.nodes if n.op == "placeholder")
    for (r0, r1), rw in zip(row_cuts, rws):
        for (c0, c1), cw in zip(col_cuts, cws):
            (a, b), (c, d) = rw.held[x_name], cw.held[x_name]
            vals = {x_name: x[:, :, a:b, c:d]}
            for node in nodes:
                (ra, rb), (ca, cb) = rw.reads[node.name], cw.reads[node.name]
                ins = [vals[t][:, :, ra - rw.held[t][0]:rb - rw.held[t][0], ca - cw.held[t][0]:cb - cw.held[t][0]]
                       for t in node.inputs]
                if kinds[node.name] == "add":
                    vals[node.output] = ins[0] + ins[1]
                else:
                    pads = (*cw.pads[node.name], *rw.pads[node.name])
                    vals[node.output] = _run(kinds[node.name], ins[0], pads)
            s[:, :, r0:r1, c0:c1] = vals[out]
    return stage2(s)
