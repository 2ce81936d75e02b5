"""Per-op memory rules: when an op may write its output over its input, and the scratch its C kernel needs.

The C kernels implement exactly these cases (see tc_kernels.h); the tests walk the op registry so that every kind
has a rule here.
"""
from __future__ import annotations

from tinycore.ir.graph import Graph, Op

# Kinds whose output never shares its input's memory and whose kernels need no scratch.
PLAIN_KINDS = frozenset({"fully_connected_s8", "avg_pool2d_s8", "max_pool2d_s8", "mean_s8", "pad_s8", "softmax_s8"})
ELEMENTWISE_KINDS = frozenset({"add_s8", "quantize_s8"})
ALIAS_KINDS = frozenset({"reshape"})
# detection / MobileNetV3 ops: concatenation and resize copy between distinct buffers; the lookups are elementwise;
# mul may write over a full-size input only (never over a broadcast (1, ..., 1, C) vector)
PLAIN_KINDS |= {"concatenation_s8", "resize_nearest_s8"}
ELEMENTWISE_KINDS |= {"logistic_s8", "hard_swish_s8"}
RULE_KINDS = PLAIN_KINDS | ELEMENTWISE_KINDS | ALIAS_KINDS | {"conv2d_s8", "depthwise_conv2d_s8", "mul_s8"}


def inplace_candidates(op: Op, graph: Graph) -> list[str]:
    """Inputs whose buffer the op's output may overwrite (if that input is not needed afterwards)."""
    out = graph.tensors[op.outputs[0]]
    x = graph.tensors[op.inputs[0]]
    a = op.attrs
    if op.kind == "depthwise_conv2d_s8":
        ok = a["depth_multiplier"] == 1 and out.nbytes <= x.nbytes
        return [x.name] if ok else []
    if op.kind == "conv2d_s8":
        w = graph.tensors[op.inputs[1]]
        pointwise = w.shape[1] == 1 and w.shape[2] == 1 and a["stride_h"] == 1 and a["stride_w"] == 1 and \
            not any(a[k] for k in ("pad_top", "pad_bottom", "pad_left", "pad_right"))
        return [x.name] if pointwise and out.shape[-1] <= x.shape[-1] else []
    if op.kind == "mul_s8":
        return [n for n in op.inputs if not graph.tensors[n].is_constant and graph.tensors[n].shape == out.shape]
    if op.kind in ELEMENTWISE_KINDS:
        return [n for n in op.inputs if not graph.tensors[n].is_constant]
    return []


def scratch_bytes(op: Op, graph: Graph, inplace: bool) -> int:
    """Bytes of scratch the op's C kernel needs; in-place kernels stage one channel (depthwise) or pixel (1x1)."""
    if not inplace:
        return 0
    out = graph.tensors[op.outputs[0]]
    if op.kind == "depthwise_conv2d_s8":
        return out.shape[1] * out.shape[2]
    if op.kind == "conv2d_s8":
        return out.shape[-1]
    return 0
