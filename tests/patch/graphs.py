"""Small integer graphs for patch tests, built with numpy (tests.cases.random_graphs.GraphBuilder): stride-2 stem,
depthwise 3/5/7 (one dilated), residual adds, pools, pad, requantize; odd and non-square inputs."""
from __future__ import annotations

import numpy as np

from tests.cases.build import act, const, same_pads, weights, zero_point
from tests.cases.random_graphs import GraphBuilder
from tinycore.ir import Graph, Op
from tinycore.runtime.fixedpoint import quantize_multiplier


def dilated_dw(b: GraphBuilder, k: int = 3, dilation: int = 2) -> str:
    """A depthwise conv with dilation (SAME padding), appended to b."""
    _, h, w, c = b.shape
    (pt, pb), (pl, pr) = same_pads(h, k, 1, dilation), same_pads(w, k, 1, dilation)
    prefix = f"c{len(b.g.ops)}"
    names = b._consts(prefix, weights(b.rng, (1, k, k, c)), c, k * k)
    zp = zero_point(b.rng)
    attrs = dict(stride_h=1, stride_w=1, dilation_h=dilation, dilation_w=dilation, pad_top=pt, pad_bottom=pb,
                 pad_left=pl, pad_right=pr, input_zp=b.g.tensors[b.cur].zero_point, output_zp=zp, act_min=zp,
                 act_max=127, depth_multiplier=1)
    return b._op("depthwise_conv2d_s8", [b.cur, *names], attrs, zp, 0.05)


def patch_net(seed: int = 0, hw: tuple[int, int] = (23, 18), cin: int = 3) -> tuple[Graph, dict[str, int]]:
    """The test net and the index of some ops where a patch stage may end (name -> op index)."""
    b = GraphBuilder(np.random.default_rng(seed), (1, *hw, cin))
    marks: dict[str, int] = {}
    b.conv(8, k=3, stride=2)                      # stride-2 stem
    marks["stem"] = len(b.g.ops) - 1
    block_in = b.cur
    b.conv(8, k=3, depthwise=True)
    b.conv(8, k=1, relu=False)
    b.add(block_in)                               # residual beside a 3x3 halo
    marks["res3"] = len(b.g.ops) - 1
    b.conv(8, k=5, depthwise=True)
    b.conv(12, k=1)
    marks["dw5"] = len(b.g.ops) - 1
    block_in = b.cur
    b.conv(12, k=7, depthwise=True)
    dilated_dw(b)
    b.conv(12, k=1, relu=False)
    b.add(block_in)                               # residual beside a 7x7 + dilated 3x3 halo
    marks["res7"] = len(b.g.ops) - 1
    b.pad()
    b.pool("max_pool2d_s8", 3)
    b.quantize()
    marks["pool"] = len(b.g.ops) - 1
    b.conv(16, k=3, stride=2)
    b.pool("avg_pool2d_s8", 2)
    marks["avg"] = len(b.g.ops) - 1
    b.mean()
    b.reshape((1, 16))
    b.fc(5)
    return b.finish(), marks


def tiny_net() -> Graph:
    """input 8x8x4 -> 1x1 conv to 8 channels -> mean: a net whose first stage is already small (no patch helps)."""
    rng = np.random.default_rng(0)
    b = GraphBuilder(rng, (1, 8, 8, 4))
    b.conv(8, k=1)
    b.mean()
    return b.finish()


__all__ = ["patch_net", "tiny_net", "dilated_dw", "act", "const", "Op", "quantize_multiplier"]
