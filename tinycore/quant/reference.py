"""The float model's value of every graph tensor, in the graph's layout: what per-layer tracing compares against."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from tinycore.errors import TinycoreError
from tinycore.ir.graph import Graph
from tinycore.quant.capture import trace_model
from tinycore.quant.layers import Value
from tinycore.quant.observe import WatchingInterpreter, as_float_batch, to_graph_layout


def float_reference(model: nn.Module, graph: Graph, x_float) -> dict[str, np.ndarray]:
    """Run `model` (eval, float, unfolded BN) on x_float (N, C, H, W) or (N, F) and return, for each activation
    tensor of `graph` that came from this model, its float value shaped (N, *tensor shape[1:]) in NHWC order.

    Uses graph.meta["float_sources"] (written by `quantize`): the fx node and layout behind each tensor.
    """
    sources = graph.meta.get("float_sources")
    if not sources:
        raise TinycoreError("graph has no meta['float_sources']: it was not made by tinycore.quant.quantize, so "
                            "its tensors cannot be matched to a float model")
    gm = trace_model(model)
    known = {n.name for n in gm.graph.nodes}
    missing = sorted({s["node"] for s in sources.values()} - known)
    if missing:
        raise TinycoreError(f"model {type(model).__name__} is not the one the graph was made from: no node(s) "
                            f"{', '.join(missing[:5])}")
    by_node: dict[str, list[str]] = {}
    for name, s in sources.items():
        by_node.setdefault(s["node"], []).append(name)
    out: dict[str, np.ndarray] = {}

    def sink(node: str, t: torch.Tensor) -> None:
        for name in by_node[node]:
            s, shape = sources[name], graph.tensors[name].shape
            v = Value(name, node, shape, s["layout"], None if s["chw"] is None else tuple(s["chw"]))
            out[name] = to_graph_layout(t, v)

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            WatchingInterpreter(gm, set(by_node), sink).run(as_float_batch(x_float, "x_float"))
    finally:
        model.train(was_training)
    return out
