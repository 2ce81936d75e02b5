"""Graphs with several inputs and outputs, shared by the runtime, host-C, memory and emulator tests."""
from __future__ import annotations

import numpy as np

from tests.cases.build import act, zero_point
from tests.cases.random_graphs import GraphBuilder
from tinycore.ir import Graph


def two_heads(seed: int) -> Graph:
    """x -> conv `a` (an output) -> depthwise (in place would overwrite `a`) -> 1x1 -> mean -> reshape -> FC `b`.

    Outputs in the order [b, a]: not the order they are produced, and `a` dies early but for being an output.
    """
    b = GraphBuilder(np.random.default_rng(seed), (1, 7, 6, 3))
    a = b.conv(5, k=3)
    b.conv(0, k=3, depthwise=True)
    b.conv(4, k=1)
    b.mean()
    b.reshape((1, 4))
    head = b.fc(6)
    b.g.outputs = [head, a]
    return b.g


def two_inputs(seed: int) -> Graph:
    """Inputs x (1, 6, 5, 4) and y (same shape, its own quantization): add, conv, and three outputs: the sum, the
    conv, and a per-token FC of the conv over its rows of channels."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder(rng, (1, 6, 5, 4))
    b.g.tensors["y"] = act("y", (1, 6, 5, 4), zero_point(rng), float(rng.uniform(0.01, 0.1)))
    b.g.inputs.append("y")
    s = b.add("y")
    c = b.conv(3, k=3)
    t = b.fc_tokens(7)
    b.g.outputs = [s, c, t]
    return b.g
