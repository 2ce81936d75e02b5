"""One C call per op: prepare in Python, evaluate in C.

Every shape, padding, zero point, multiplier and arena offset is resolved here and written as a constant; the
kernels (kernels/include/tc_kernels.h) only loop. An op's emission is a list of `static const` declarations
(parameter structs) and one statement inside `model_invoke`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tinycore.errors import UnsupportedError
from tinycore.ir.graph import Graph, Op
from tinycore.memory.rules import column_options, fc_token_bytes, patch_rows, scratch_bytes

_C_TYPES = {"int8": "int8_t", "int32": "int32_t"}
INT32_MIN = -(2**31)


def c_int(v: int) -> str:
    """An int32 literal that is valid C for every value (INT32_MIN has no literal of its own)."""
    v = int(v)
    if not INT32_MIN <= v < 2**31:
        raise UnsupportedError(f"value {v} does not fit int32")
    return "(-2147483647 - 1)" if v == INT32_MIN else str(v)


def c_array(ctype: str, name: str, values: np.ndarray, per_line: int = 24) -> str:
    """`static const <ctype> name[n] = {...};` with a few values per line."""
    flat = [c_int(v) for v in np.asarray(values).reshape(-1).tolist()]
    lines = [", ".join(flat[i:i + per_line]) for i in range(0, len(flat), per_line)]
    body = ",\n    ".join(lines)
    return f"static const {ctype} {name}[{len(flat)}] = {{\n    {body}\n}};"


def c_comment(text: str) -> str:
    """Text safe inside /* */ (tensor and op names are free-form)."""
    return str(text).replace("*/", "*_/").replace("/*", "/_*").replace("\n", " ")


def c_ident(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", text)[:40]


@dataclass
class Emitter:
    """Holds the graph, the arena offsets and the constants emitted so far (each constant once)."""

    graph: Graph
    offsets: dict[str, int]
    scratch: dict[str, tuple[int, int]]
    constants: dict[str, str] = field(default_factory=dict)  # tensor name -> C symbol
    const_decls: list[str] = field(default_factory=list)

    def const(self, name: str) -> str:
        if name not in self.constants:
            t = self.graph.tensors[name]
            if t.dtype not in _C_TYPES:
                raise UnsupportedError(f"constant '{name}' has dtype {t.dtype}; the C export takes int8 and int32")
            sym = f"tc_c{len(self.constants)}_{c_ident(name)}"
            self.constants[name] = sym
            head = f"/* {c_comment(name)}: shape {tuple(t.shape)} */\n"
            self.const_decls.append(head + c_array(_C_TYPES[t.dtype], sym, t.data))
        return self.constants[name]

    def ptr(self, tensor: str) -> str:
        """An activation's place in the arena; a constant operand (a ViT's position embedding or class token, a
        one-hot row) is its Flash array, read through the kernels' const input pointers."""
        if self.graph.tensors[tensor].is_constant:
            return f"((const int8_t *){self.const(tensor)})"
        return f"(tc_arena + {self.offsets[tensor]})"

    def scratch_ptr(self, op: Op, need_bytes: int) -> str:
        """The op's planned scratch (tinycore.memory.rules.scratch_bytes), "NULL" when its kernel needs none."""
        if need_bytes == 0:
            return "NULL"
        if op.name not in self.scratch:
            raise UnsupportedError(f"op '{op.name}' ({op.kind}): the arena plan gives it no scratch; its kernel "
                                   f"needs {need_bytes} B")
        off, size = self.scratch[op.name]
        if size < need_bytes:
            raise UnsupportedError(f"op '{op.name}' ({op.kind}): arena plan gives {size} B of scratch, its "
                                   f"kernel needs {need_bytes} B")
        return f"(tc_arena + {off})"


def check_accumulator_bound(graph: Graph, op: Op, i: int | str) -> None:
    """The C kernels accumulate in int32 (as TFLite); refuse weights for which a sum could overflow it.

    Worst case per output channel: |bias| + sum(|w|) * max|x - input_zp| (the runtime, in int64, would not wrap).
    """
    w = graph.tensors[op.inputs[1]].data.astype(np.int64)
    bias = np.abs(graph.tensors[op.inputs[2]].data.astype(np.int64))
    zp = int(op.attrs["input_zp"])
    max_diff = max(127 - zp, zp + 128)
    if op.kind == "depthwise_conv2d_s8":
        per_channel = np.abs(w).reshape(-1, w.shape[-1]).sum(axis=0)
    else:
        per_channel = np.abs(w).reshape(w.shape[0], -1).sum(axis=1)
    worst = bias + per_channel * max_diff
    if worst.max(initial=0) > 2**31 - 1:
        c = int(worst.argmax())
        raise UnsupportedError(f"op {i} {op.kind} '{op.name}': output channel {c} can accumulate "
                               f"{int(worst[c]):,}, beyond int32; the C kernels accumulate in int32. Split the "
                               f"layer or re-quantize its weights")


def planned_columns(e: Emitter, op: Op, inplace: bool) -> int:
    """A conv's tc_conv_params.columns for the scratch the arena plan gives it: the fastest of its choices
    (tinycore.memory.rules.column_options, column areas that shrink one after the other) that fits."""
    have = e.scratch.get(op.name, (0, 0))[1]
    for columns in column_options(op, e.graph):
        if scratch_bytes(op, e.graph, inplace, columns) <= have:
            return columns
    return 0


def _dims(sym: str, shape: tuple[int, ...]) -> str:
    h, w, c = shape[1], shape[2], shape[3]
    return f"static const tc_dims {sym} = {{{h}, {w}, {c}}};"


def _conv(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    a, g = op.attrs, e.graph
    check_accumulator_bound(g, op, i)
    x, w = g.tensors[op.inputs[0]], g.tensors[op.inputs[1]]
    y = g.tensors[op.outputs[0]]
    dw = op.kind == "depthwise_conv2d_s8"
    fshape = (1, w.shape[1], w.shape[2], w.shape[3])
    inplace = e.offsets[x.name] == e.offsets[y.name]
    rows = None if dw or not inplace else patch_rows(op, g)
    if inplace:
        if dw:
            ok = a["depth_multiplier"] == 1
        else:
            ok = rows is not None or (w.shape[1] == w.shape[2] == 1 and a["stride_h"] == a["stride_w"] == 1
                                      and not any(a[k] for k in ("pad_top", "pad_bottom", "pad_left", "pad_right"))
                                      and y.shape[3] <= x.shape[3])
        if not ok:
            raise UnsupportedError(f"op {i} {op.kind} '{op.name}': the arena plan writes its output over its "
                                   f"input, which its kernel cannot do (see tc_kernels.h)")
    columns = 0 if dw else planned_columns(e, op, inplace)
    scratch = e.scratch_ptr(op, scratch_bytes(op, g, inplace, columns))
    p = f"tc_op{i}"
    params = [a["stride_h"], a["stride_w"], a["dilation_h"], a["dilation_w"], a["pad_top"], a["pad_left"],
              a["input_zp"], a["output_zp"], a["act_min"], a["act_max"], a["depth_multiplier"] if dw else 1,
              columns]
    decls = [f"static const tc_conv_params {p}_p = {{{', '.join(c_int(v) for v in params)}}};",
             _dims(f"{p}_in", x.shape), _dims(f"{p}_f", fshape), _dims(f"{p}_out", y.shape)]
    wsym, bsym, msym, ssym = (e.const(n) for n in op.inputs[1:5])
    if rows is not None:
        return [decls[0], _dims(f"{p}_in", (1, w.shape[1], *x.shape[2:])), decls[2],
                _dims(f"{p}_out", (1, 1, *y.shape[2:]))], \
            _patch_rows_call(e, op, f"tc_{op.kind}(&{p}_p, &{p}_in, %IN%, &{p}_f, {wsym}, {bsym}, {msym}, {ssym}, "
                                    f"&{p}_out, {scratch}, {scratch} + {rows[2] + (-rows[2]) % 4});", rows, scratch)
    call = (f"tc_{op.kind}(&{p}_p, &{p}_in, {e.ptr(x.name)}, &{p}_f, {wsym}, {bsym}, {msym}, {ssym}, "
            f"&{p}_out, {e.ptr(y.name)}, {scratch});")
    return decls, call


def _patch_rows_call(e: Emitter, op: Op, row_call: str, rows: tuple[int, int, int], scratch: str) -> str:
    """Patch-embedding decomposition (tinycore.memory.rules.patch_rows): token row r from input rows
    [r kh, (r + 1) kh) into the scratch row, then copied over input bytes already read."""
    n, in_row, out_row = rows
    base = e.ptr(op.inputs[0])
    call = row_call.replace("%IN%", f"{base} + r * {in_row}")
    return (f"{{\n        int32_t r, k;\n        for (r = 0; r < {n}; ++r) {{\n            {call}\n"
            f"            for (k = 0; k < {out_row}; ++k) {{\n                {base}[r * {out_row} + k] = {scratch}[k];"
            f"\n            }}\n        }}\n    }}")


def _fc(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    a, g = op.attrs, e.graph
    check_accumulator_bound(g, op, i)
    x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    n_out, n_in = g.tensors[op.inputs[1]].shape
    wsym, bsym, msym, ssym = (e.const(n) for n in op.inputs[1:5])
    args = ", ".join(c_int(a[k]) for k in ("input_zp", "output_zp", "act_min", "act_max"))
    inplace = e.offsets[x.name] == e.offsets[y.name]
    rows = x.size // n_in  # 1, or one row per token (see tinycore.runtime.ops.fully_connected)
    if inplace and rows == 1:
        raise UnsupportedError(f"op '{op.name}' fully_connected_s8: the arena plan writes its output over its "
                               f"input, which only a per-token layer can do")
    scratch = e.scratch_ptr(op, scratch_bytes(op, g, inplace))
    if inplace:
        return [], _fc_token_overwrite(e, op, rows, n_in, n_out, f"{wsym}, {bsym}, {msym}, {ssym}", args, scratch)
    if rows == 1:
        return [], (f"tc_fully_connected_s8({e.ptr(x.name)}, {n_in}, {wsym}, {bsym}, {msym}, {ssym}, "
                    f"{e.ptr(y.name)}, {n_out}, {args}, {scratch});")
    return [], (f"{{\n        int32_t t;\n        for (t = 0; t < {rows}; ++t) {{\n"
                f"            tc_fully_connected_s8({e.ptr(x.name)} + t * {n_in}, {n_in}, {wsym}, {bsym}, {msym}, "
                f"{ssym}, {e.ptr(y.name)} + t * {n_out}, {n_out}, {args}, {scratch});\n        }}\n    }}")


def _fc_token_overwrite(e: Emitter, op: Op, rows: int, n_in: int, n_out: int, consts: str, args: str,
                        scratch: str) -> str:
    """Token overwriting (tinycore.memory.rules.per_token_fc): token t is copied to the op's scratch
    (rules.fc_token_bytes), then its output is written at t * n_out over the shared buffer, forward when
    n_out <= n_in, else backward. The kernel itself needs no scratch (NULL)."""
    base = e.ptr(op.inputs[0])
    order = f"t = 0; t < {rows}; ++t" if n_out <= n_in else f"t = {rows - 1}; t >= 0; --t"
    return (f"{{\n        int32_t t, k;\n        for ({order}) {{\n"
            f"            for (k = 0; k < {n_in}; ++k) {{\n"
            f"                {scratch}[k] = {base}[t * {n_in} + k];\n            }}\n"
            f"            tc_fully_connected_s8({scratch}, {n_in}, {consts}, {base} + t * {n_out}, {n_out}, "
            f"{args}, NULL);\n        }}\n    }}")


_ADD_FIELDS = ("input1_zp", "input2_zp", "output_zp", "left_shift", "input1_mult", "input1_shift", "input2_mult",
               "input2_shift", "output_mult", "output_shift", "act_min", "act_max")


def _add(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    a, y = op.attrs, e.graph.tensors[op.outputs[0]]
    decl = f"static const tc_add_params tc_op{i}_p = {{{', '.join(c_int(a[k]) for k in _ADD_FIELDS)}}};"
    return [decl], (f"tc_add_s8(&tc_op{i}_p, {e.ptr(op.inputs[0])}, {e.ptr(op.inputs[1])}, {e.ptr(y.name)}, "
                    f"{y.size});")


def _check_pool_windows(op: Op, i: int | str, h: int, w: int, oh: int, ow: int) -> None:
    """Every window must hold at least one input pixel (an average over none is undefined)."""
    a = op.attrs
    for n_in, n_out, f, s, pad, axis in ((h, oh, a["filter_h"], a["stride_h"], a["pad_top"], "rows"),
                                         (w, ow, a["filter_w"], a["stride_w"], a["pad_left"], "columns")):
        for o in range(n_out):
            start = o * s - pad
            if min(start + f, n_in) <= max(start, 0):
                raise UnsupportedError(f"op {i} {op.kind} '{op.name}': output {axis[:-1]} {o} pools a window of "
                                       f"padding only; reduce the padding (filter {f}, padding {pad})")


def _pool(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    a, g = op.attrs, e.graph
    x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    _check_pool_windows(op, i, x.shape[1], x.shape[2], y.shape[1], y.shape[2])
    fields = ("filter_h", "filter_w", "stride_h", "stride_w", "pad_top", "pad_left", "act_min", "act_max")
    p = f"tc_op{i}"
    decls = [f"static const tc_pool_params {p}_p = {{{', '.join(c_int(a[k]) for k in fields)}}};",
             _dims(f"{p}_in", x.shape), _dims(f"{p}_out", y.shape)]
    return decls, f"tc_{op.kind}(&{p}_p, &{p}_in, {e.ptr(x.name)}, &{p}_out, {e.ptr(y.name)});"


def _mean(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    from tinycore.runtime.ops.mean import mean_multiplier

    a, g = op.attrs, e.graph
    x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    mult, shift = mean_multiplier(a["mult"], a["shift"], x.shape[1] * x.shape[2])  # 1/(H*W) folded in
    args = ", ".join(c_int(v) for v in (a["input_zp"], a["output_zp"], mult, shift))
    return [_dims(f"tc_op{i}_in", x.shape)], f"tc_mean_s8(&tc_op{i}_in, {e.ptr(x.name)}, {e.ptr(y.name)}, {args});"


def _reshape(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    x, y = op.inputs[0], op.outputs[0]
    if e.offsets[x] == e.offsets[y]:
        return [], f"/* reshape '{c_comment(op.name)}': output aliases its input */"
    return [], f"tc_reshape({e.ptr(x)}, {e.ptr(y)}, {e.graph.tensors[y].size});"


def _pad(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    a, x, y = op.attrs, e.graph.tensors[op.inputs[0]], op.outputs[0]
    args = ", ".join(c_int(a[k]) for k in ("pad_top", "pad_bottom", "pad_left", "pad_right", "pad_value"))
    return [_dims(f"tc_op{i}_in", x.shape)], f"tc_pad_s8(&tc_op{i}_in, {e.ptr(x.name)}, {e.ptr(y)}, {args});"


def _softmax(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    """The exp of every int8 difference to the row maximum, tabulated by the runtime (Flash: 1 KB)."""
    from tinycore.runtime.ops.softmax import softmax_exp_table

    a, x, y = op.attrs, e.graph.tensors[op.inputs[0]], op.outputs[0]
    if a["diff_min"] > 0:
        raise UnsupportedError(f"op {i} softmax_s8 '{op.name}': diff_min {a['diff_min']} > 0 keeps no element")
    table = softmax_exp_table(a["input_mult"], a["input_left_shift"], a["diff_min"])
    cols = x.shape[-1]
    return [c_array("int32_t", f"tc_op{i}_exp", table, per_line=8)], (
        f"tc_softmax_s8({e.ptr(x.name)}, {e.ptr(y)}, {x.size // cols}, {cols}, tc_op{i}_exp);")


def _quantize(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    a, x, y = op.attrs, e.graph.tensors[op.inputs[0]], op.outputs[0]
    args = ", ".join(c_int(a[k]) for k in ("input_zp", "output_zp", "mult", "shift"))
    return [], f"tc_quantize_s8({e.ptr(x.name)}, {e.ptr(y)}, {x.size}, {args});"


EMITTERS: dict[str, Callable[[Emitter, Op, int | str], tuple[list[str], str]]] = {
    "conv2d_s8": _conv,
    "depthwise_conv2d_s8": _conv,
    "fully_connected_s8": _fc,
    "add_s8": _add,
    "avg_pool2d_s8": _pool,
    "max_pool2d_s8": _pool,
    "mean_s8": _mean,
    "reshape": _reshape,
    "pad_s8": _pad,
    "softmax_s8": _softmax,
    "quantize_s8": _quantize,
}


# --- detection / MobileNetV3 ops (concatenation, resize, logistic, hard swish, mul) ---


def _concatenation(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    """One copy call per input into its place along the axis (rows before the axis, bytes from it on)."""
    axis, y = op.attrs["axis"], e.graph.tensors[op.outputs[0]]
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    out_inner = y.size // outer
    calls, at = [], 0
    for name in op.inputs:
        in_inner = e.graph.tensors[name].size // outer
        calls.append(f"tc_concatenation_s8({e.ptr(name)}, {outer}, {in_inner}, {e.ptr(y.name)} + {at}, {out_inner});")
        at += in_inner
    return [], "\n    ".join(calls)


def _resize_nearest(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    from tinycore.runtime.ops.resize import nearest_indices

    a, x, y = op.attrs, e.graph.tensors[op.inputs[0]], e.graph.tensors[op.outputs[0]]
    flags = (a["align_corners"], a["half_pixel_centers"])
    p = f"tc_op{i}"
    decls = [_dims(f"{p}_in", x.shape), _dims(f"{p}_out", y.shape),
             c_array("int32_t", f"{p}_rows", nearest_indices(x.shape[1], y.shape[1], *flags)),
             c_array("int32_t", f"{p}_cols", nearest_indices(x.shape[2], y.shape[2], *flags))]
    return decls, (f"tc_resize_nearest_s8(&{p}_in, {e.ptr(x.name)}, &{p}_out, {e.ptr(y.name)}, {p}_rows, "
                   f"{p}_cols);")


def _lookup(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    """logistic_s8, hard_swish_s8: the runtime's arithmetic tabulated for all 256 inputs."""
    from tinycore.runtime.ops import OP_FUNCTIONS
    from tinycore.runtime.ops.activations import lookup_table

    x, y = e.graph.tensors[op.inputs[0]], op.outputs[0]
    table = c_array("int8_t", f"tc_op{i}_table", lookup_table(OP_FUNCTIONS[op.kind], op.attrs), per_line=16)
    return [table], f"tc_{op.kind}({e.ptr(x.name)}, {e.ptr(y)}, {x.size}, tc_op{i}_table);"


_MUL_FIELDS = ("input1_zp", "input2_zp", "output_zp", "mult", "shift", "act_min", "act_max")


def _mul(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    a, y = op.attrs, e.graph.tensors[op.outputs[0]]
    cols = y.shape[-1]
    steps = [cols if e.graph.tensors[n].size == y.size else 0 for n in op.inputs]  # 0: a (1, ..., 1, C) vector
    decl = f"static const tc_mul_params tc_op{i}_p = {{{', '.join(c_int(a[k]) for k in _MUL_FIELDS)}}};"
    return [decl], (f"tc_mul_s8(&tc_op{i}_p, {e.ptr(op.inputs[0])}, {steps[0]}, {e.ptr(op.inputs[1])}, {steps[1]}, "
                    f"{e.ptr(y.name)}, {y.size // cols}, {cols});")


EMITTERS.update({
    "concatenation_s8": _concatenation,
    "resize_nearest_s8": _resize_nearest,
    "logistic_s8": _lookup,
    "hard_swish_s8": _lookup,
    "mul_s8": _mul,
})


# ---- transformer ops (MCUFormer, issue #14) ----
def _layer_norm(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    a, x, y = op.attrs, e.graph.tensors[op.inputs[0]], op.outputs[0]
    bias = e.graph.tensors[op.inputs[2]].data.astype(np.int64)
    limit = 2**31 - 1 - 2**29  # |gamma * z| <= 127 * 2**22 (with slack): the int32 sum must not wrap
    if np.abs(bias).max(initial=0) > limit:
        raise UnsupportedError(f"op {i} layer_norm_s8 '{op.name}': |bias| reaches {int(np.abs(bias).max()):,}, beyond "
                               f"{limit:,}; the C kernel sums gamma * z + bias in int32. Raise the gamma scale")
    d = x.shape[-1]
    gsym, bsym = e.const(op.inputs[1]), e.const(op.inputs[2])
    args = ", ".join(c_int(a[k]) for k in ("mult", "shift", "output_zp"))
    return [], f"tc_layer_norm_s8({e.ptr(x.name)}, {e.ptr(y)}, {x.size // d}, {d}, {gsym}, {bsym}, {args});"


def _gelu(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    x, y = e.graph.tensors[op.inputs[0]], op.outputs[0]
    return [], f"tc_gelu_s8({e.ptr(x.name)}, {e.ptr(y)}, {x.size}, {e.const(op.inputs[1])});"


_BATCH_MATMUL_FIELDS = ("input1_zp", "input2_zp", "output_zp", "mult", "shift", "act_min", "act_max", "transpose_b")


def _batch_matmul(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    a, g = op.attrs, e.graph
    x, b, y = g.tensors[op.inputs[0]], g.tensors[op.inputs[1]], g.tensors[op.outputs[0]]
    m, k = x.shape[-2], x.shape[-1]
    n = y.shape[-1]
    if k * 255 * 255 > 2**31 - 1:
        raise UnsupportedError(f"op {i} batch_matmul_s8 '{op.name}': K = {k} can overflow the int32 accumulator "
                               f"(limit {(2**31 - 1) // (255 * 255)})")
    decl = (f"static const tc_batch_matmul_params tc_op{i}_p = "
            f"{{{', '.join(c_int(a[f]) for f in _BATCH_MATMUL_FIELDS)}}};")
    batches = x.size // (m * k)
    return [decl], (f"tc_batch_matmul_s8(&tc_op{i}_p, {e.ptr(x.name)}, {e.ptr(b.name)}, {e.ptr(y.name)}, "
                    f"{batches}, {m}, {k}, {n});")


def _transpose(e: Emitter, op: Op, i: int | str) -> tuple[list[str], str]:
    x, y = e.graph.tensors[op.inputs[0]], e.graph.tensors[op.outputs[0]]
    pad = 4 - len(x.shape)
    in_shape = (1,) * pad + tuple(x.shape)
    perm = tuple(range(pad)) + tuple(p + pad for p in op.attrs["perm"])
    strides = [int(np.prod(in_shape[j + 1:])) for j in range(4)]
    out_shape = [in_shape[p] for p in perm]
    decls = [c_array("int32_t", f"tc_op{i}_shape", np.array(out_shape)),
             c_array("int32_t", f"tc_op{i}_strides", np.array([strides[p] for p in perm]))]
    return decls, f"tc_transpose_s8({e.ptr(x.name)}, {e.ptr(y.name)}, tc_op{i}_shape, tc_op{i}_strides);"


EMITTERS.update({
    "layer_norm_s8": _layer_norm,
    "gelu_s8": _gelu,
    "batch_matmul_s8": _batch_matmul,
    "transpose_s8": _transpose,
})
