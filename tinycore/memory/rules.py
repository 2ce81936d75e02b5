"""Per-op memory rules: when an op may write its output over its input, and the scratch its C kernel needs.

The C kernels implement exactly these cases (see tc_kernels.h); the tests walk the op registry so that every kind
has a rule here.
"""
from __future__ import annotations

from tinycore.ir.graph import Graph, Op
from tinycore.runtime.ops.fully_connected import fc_rows

# Kinds whose output never shares its input's memory and whose kernels need no scratch.
PLAIN_KINDS = frozenset({"fully_connected_s8", "avg_pool2d_s8", "max_pool2d_s8", "mean_s8", "pad_s8", "softmax_s8"})
# Elementwise, or row by row reading a row before writing it (layer_norm_s8): output may overwrite the input.
ELEMENTWISE_KINDS = frozenset({"add_s8", "quantize_s8", "layer_norm_s8", "gelu_s8"})
ALIAS_KINDS = frozenset({"reshape"})
# detection / MobileNetV3 ops: concatenation and resize copy between distinct buffers; the lookups are elementwise;
# mul may write over a full-size input only (never over a broadcast (1, ..., 1, C) vector)
PLAIN_KINDS |= {"concatenation_s8", "resize_nearest_s8"}
ELEMENTWISE_KINDS |= {"logistic_s8", "hard_swish_s8"}
TRANSFORMER_PLAIN_KINDS = frozenset({"batch_matmul_s8", "transpose_s8"})  # MCUFormer ops (issue #14)
RULE_KINDS = PLAIN_KINDS | ELEMENTWISE_KINDS | ALIAS_KINDS | TRANSFORMER_PLAIN_KINDS | \
    {"conv2d_s8", "depthwise_conv2d_s8", "mul_s8"}


def per_token_fc(op: Op, graph: Graph) -> tuple[int, int, int] | None:
    """(tokens, inputs per token, outputs per token) of a fully connected op applied per token, else None.

    Token overwriting (MCUFormer): the C loop copies token t's input to a one-token scratch, then writes token t's
    output at t * n_out. Tokens run forward when n_out <= n_in (token t's output ends at (t + 1) * n_out, before
    token t + 1's input) and backward otherwise (tokens before t end at t * n_in <= t * n_out): so the buffer
    needs max(input, output) bytes plus n_in, and every output is exact.
    """
    if op.kind != "fully_connected_s8":
        return None
    n_out, n_in = graph.tensors[op.inputs[1]].shape
    rows = fc_rows(graph.tensors[op.inputs[0]].shape, n_in)
    return (rows, n_in, n_out) if rows > 1 else None


def patch_rows(op: Op, graph: Graph) -> tuple[int, int, int] | None:
    """(token rows, input bytes per token row, output bytes per token row) of a patch embedding that may write
    its tokens over its input (MCUFormer's patch-embedding decomposition, streamed by rows), else None.

    A conv2d_s8 whose kernel equals its stride, unpadded and undilated, reads input rows [r kh, (r + 1) kh) for
    token row r and nothing else. The C loop computes token row r into a one-row scratch, then copies it to
    r * out_row: when out_row <= in_row that range lies inside the input rows already read, so the whole input
    and the whole token map are never both held, and every output is exact.
    """
    if op.kind != "conv2d_s8":
        return None
    a, x, y = op.attrs, graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    kh, kw = graph.tensors[op.inputs[1]].shape[1:3]
    if (kh, kw) != (a["stride_h"], a["stride_w"]) or kh * kw == 1 or a["dilation_h"] != 1 or \
            a["dilation_w"] != 1 or any(a[k] for k in ("pad_top", "pad_bottom", "pad_left", "pad_right")):
        return None
    in_row, out_row = kh * x.shape[2] * x.shape[3], y.shape[2] * y.shape[3]
    return (y.shape[1], in_row, out_row) if out_row <= in_row and y.shape[1] > 1 else None


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
        ok = (pointwise and out.shape[-1] <= x.shape[-1]) or patch_rows(op, graph) is not None
        return [x.name] if ok else []
    if op.kind == "mul_s8":
        return [n for n in op.inputs if not graph.tensors[n].is_constant and graph.tensors[n].shape == out.shape]
    if per_token_fc(op, graph):
        return [x.name]
    if op.kind in ELEMENTWISE_KINDS:
        return [n for n in op.inputs if not graph.tensors[n].is_constant]
    return []


COL_VALUES = 1024  # TC_COL_VALUES: int16 values of a Cortex-M DSP column buffer
CONV_BLOCK_MAX = 8  # TC_CONV_BLOCK_MAX: output pixels per block of the DSP conv


def _round4(n: int) -> int:
    return (n + 3) // 4 * 4


def conv_col_bytes(kh: int, kw: int, cin: int, n_pixels: int, columns: int = 0) -> int:
    """The DSP conv's column area (tc_conv2d_s8_col_bytes): a block of up to 8 columns (at most `columns` if > 0),
    or one column; none for columns == -1 (its column-free path)."""
    if columns < 0:
        return 0
    length = kh * kw * cin
    len4 = _round4(length)
    stage = len4 if cin % 4 else 0
    p_max = min((2 * COL_VALUES - stage) // (2 * len4), CONV_BLOCK_MAX)
    if columns > 0:
        p_max = min(p_max, columns)
    if p_max >= 2 and n_pixels >= 2:
        return min(n_pixels, p_max) * 2 * len4 + stage
    if length <= COL_VALUES:
        return _round4(2 * length)
    return _round4(2 * (COL_VALUES // cin) * cin) if cin <= COL_VALUES else 0


def scratch_bytes(op: Op, graph: Graph, inplace: bool, columns: int = 0) -> int:
    """Bytes of arena scratch the op's C kernel takes (tc_<op>_scratch_bytes in tc_kernels.h, the same formula).

    In-place kernels stage one channel (depthwise), one pixel (1x1 conv), one token row (patch embedding,
    `patch_rows`) or one token (fully connected per token, token overwriting); the DSP conv keeps its int16
    columns there, as many as fit unless `columns` (its tc_conv_params.columns, see `column_options`) caps them
    or asks for none. The fully connected kernels need none. One model.c serves the portable and the DSP kernels,
    so the size is the DSP kernels' need whatever the target.
    """
    out = graph.tensors[op.outputs[0]]
    if op.kind == "depthwise_conv2d_s8":
        return out.shape[1] * out.shape[2] if inplace else 0
    if op.kind == "conv2d_s8":
        w = graph.tensors[op.inputs[1]]
        col = conv_col_bytes(w.shape[1], w.shape[2], w.shape[3], out.shape[1] * out.shape[2], columns)
        rows = patch_rows(op, graph)
        staged = rows[2] if rows else out.shape[-1]  # one token row (patch embedding), or one pixel (1x1)
        return (_round4(staged) if inplace else 0) + col
    if op.kind == "fully_connected_s8":
        n_in = graph.tensors[op.inputs[1]].shape[1]  # values per row: the whole input, or one token's
        # both kernels read the input in place; in place (token overwriting, per_token_fc) one token is staged
        return fc_token_bytes(n_in) if inplace else 0
    return 0


COLUMN_CHOICES = (0, 6, 4, 3, 2, 1, -1)  # tc_conv_params.columns tried, fastest first: all that fit .. none


def column_options(op: Op, graph: Graph) -> tuple[int, ...]:
    """The tc_conv_params.columns values of a conv worth planning, fastest first, each with a smaller column area
    than the one before (the last, -1, is the column-free path); () for ops without such a choice. The planner
    takes the fastest that does not grow the arena (memory first)."""
    if op.kind != "conv2d_s8":
        return ()
    out: list[int] = []
    last = None
    for c in COLUMN_CHOICES:
        size = scratch_bytes(op, graph, False, c)
        if last is None or size < last:
            out.append(c)
            last = size
    return tuple(out) if len(out) > 1 else ()


def fc_token_bytes(n_in: int) -> int:
    """The staged token of an in-place per-token fully connected op: its whole scratch (4-aligned, as every
    scratch size)."""
    return _round4(n_in)
