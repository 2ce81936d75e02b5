"""Counts read off the integer graph: multiply-accumulates and parameters per op."""
from __future__ import annotations

import numpy as np

from tinycore.ir.graph import Graph, Op


def op_macs(op: Op, graph: Graph) -> int:
    """Multiply-accumulates of one op: convs, fully connected layers and batch matmuls (attention's Q·Kᵀ and A·V,
    whose operands are both activations: K per output element); 0 for every other op."""
    out = graph.tensors[op.outputs[0]]
    if op.kind in ("conv2d_s8", "depthwise_conv2d_s8", "fully_connected_s8"):
        w = graph.tensors[op.inputs[1]]
        per_output = int(np.prod(w.shape[1:])) if op.kind != "depthwise_conv2d_s8" else w.shape[1] * w.shape[2]
        return out.size * per_output
    if op.kind == "batch_matmul_s8":
        return out.size * graph.tensors[op.inputs[0]].shape[-1]
    return 0


def op_params(op: Op, graph: Graph) -> int:
    """Weights plus biases of one op (the int8 export's parameter count)."""
    if op.kind in ("conv2d_s8", "depthwise_conv2d_s8", "fully_connected_s8"):
        return graph.tensors[op.inputs[1]].size + graph.tensors[op.inputs[2]].size
    return 0


def graph_macs(graph: Graph) -> int:
    return sum(op_macs(op, graph) for op in graph.ops)


def graph_params(graph: Graph) -> int:
    return sum(op_params(op, graph) for op in graph.ops)
