"""One typed attribute record per op kind: the names, types and ranges an op's `attrs` must have.

An op's attributes travel as a plain dict (JSON in the graph file, `**attrs` into the runtime), but that dict is
checked against its record once, where a graph is made or read (`validate_graph`: file load, quant convert,
tflite import, codegen). A missing, misspelt, extra or wrongly typed key is then an error naming the op and the
key, so no backend reads an attribute with a default: every reader indexes `attrs[key]`.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

import numpy as np

from tinycore.errors import GraphValidationError

_S8 = {"lo": -128, "hi": 127}  # zero points, clamps, pad values: int8 values
_POS = {"lo": 1}  # strides, dilations, filter sizes, depth multiplier
_NONNEG = {"lo": 0}  # paddings, Q31 multipliers, shift counts


def _int(**limits: int) -> Any:
    return field(metadata=limits)


@dataclass(frozen=True)
class PadAttrs:
    pad_top: int = _int(**_NONNEG)
    pad_bottom: int = _int(**_NONNEG)
    pad_left: int = _int(**_NONNEG)
    pad_right: int = _int(**_NONNEG)


@dataclass(frozen=True)
class ClampAttrs:
    act_min: int = _int(**_S8)
    act_max: int = _int(**_S8)


@dataclass(frozen=True)
class ConvAttrs(ClampAttrs, PadAttrs):
    stride_h: int = _int(**_POS)
    stride_w: int = _int(**_POS)
    dilation_h: int = _int(**_POS)
    dilation_w: int = _int(**_POS)
    input_zp: int = _int(**_S8)
    output_zp: int = _int(**_S8)


@dataclass(frozen=True)
class DepthwiseConvAttrs(ConvAttrs):
    depth_multiplier: int = _int(**_POS)


@dataclass(frozen=True)
class FullyConnectedAttrs(ClampAttrs):
    input_zp: int = _int(**_S8)
    output_zp: int = _int(**_S8)


@dataclass(frozen=True)
class AddAttrs(ClampAttrs):
    input1_zp: int = _int(**_S8)
    input2_zp: int = _int(**_S8)
    output_zp: int = _int(**_S8)
    left_shift: int = _int(**_NONNEG)
    input1_mult: int = _int(**_NONNEG)
    input1_shift: int = _int()
    input2_mult: int = _int(**_NONNEG)
    input2_shift: int = _int()
    output_mult: int = _int(**_NONNEG)
    output_shift: int = _int()


@dataclass(frozen=True)
class PoolAttrs(ClampAttrs, PadAttrs):
    filter_h: int = _int(**_POS)
    filter_w: int = _int(**_POS)
    stride_h: int = _int(**_POS)
    stride_w: int = _int(**_POS)


@dataclass(frozen=True)
class RequantAttrs:
    """mean_s8 and quantize_s8: one per-tensor requantization."""
    input_zp: int = _int(**_S8)
    output_zp: int = _int(**_S8)
    mult: int = _int(**_NONNEG)
    shift: int = _int()


@dataclass(frozen=True)
class ReshapeAttrs:
    shape: tuple[int, ...] = field(metadata={"shape": True})


@dataclass(frozen=True)
class ConstantPadAttrs(PadAttrs):
    pad_value: int = _int(**_S8)


@dataclass(frozen=True)
class SoftmaxAttrs:
    input_mult: int = _int(**_NONNEG)
    input_left_shift: int = _int()
    diff_min: int = _int()


ATTR_RECORDS: dict[str, type] = {
    "conv2d_s8": ConvAttrs,
    "depthwise_conv2d_s8": DepthwiseConvAttrs,
    "fully_connected_s8": FullyConnectedAttrs,
    "add_s8": AddAttrs,
    "avg_pool2d_s8": PoolAttrs,
    "max_pool2d_s8": PoolAttrs,
    "mean_s8": RequantAttrs,
    "reshape": ReshapeAttrs,
    "pad_s8": ConstantPadAttrs,
    "softmax_s8": SoftmaxAttrs,
    "quantize_s8": RequantAttrs,
}


# ---- transformer ops (MCUFormer, issue #14) ----
@dataclass(frozen=True)
class LayerNormAttrs:
    """layer_norm_s8: one requantization of gamma * 2**22 * (x - mean) / sqrt(ssq) + bias (the input's scale and
    zero point cancel)."""
    output_zp: int = _int(**_S8)
    mult: int = _int(**_NONNEG)
    shift: int = _int()


@dataclass(frozen=True)
class TableAttrs:
    """gelu_s8: the function is its 256-entry table input; nothing else to set."""


@dataclass(frozen=True)
class BatchMatmulAttrs(ClampAttrs):
    input1_zp: int = _int(**_S8)
    input2_zp: int = _int(**_S8)
    output_zp: int = _int(**_S8)
    mult: int = _int(**_NONNEG)
    shift: int = _int()
    transpose_b: int = _int(lo=0, hi=1)


@dataclass(frozen=True)
class TransposeAttrs:
    perm: tuple[int, ...] = field(metadata={"perm": True})


ATTR_RECORDS.update({
    "layer_norm_s8": LayerNormAttrs,
    "gelu_s8": TableAttrs,
    "batch_matmul_s8": BatchMatmulAttrs,
    "transpose_s8": TransposeAttrs,
})


def attr_names(record: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(record))


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _value(key: str, v: Any, meta: Mapping[str, Any]) -> Any:
    """The checked value of one attribute; GraphValidationError naming the key otherwise."""
    if meta.get("shape"):
        if not isinstance(v, (list, tuple)) or not v or not all(_is_int(d) and d > 0 for d in v):
            raise GraphValidationError(f"attribute '{key}' must be a list of positive integers, got {v!r}")
        return tuple(int(d) for d in v)
    if meta.get("perm"):
        if not isinstance(v, (list, tuple)) or not all(_is_int(d) for d in v) or sorted(v) != list(range(len(v))):
            raise GraphValidationError(f"attribute '{key}' must be a permutation of 0..n-1, got {v!r}")
        return tuple(int(d) for d in v)
    if not _is_int(v):
        raise GraphValidationError(f"attribute '{key}' must be an integer, got {v!r} ({type(v).__name__})")
    lo, hi = meta.get("lo", -2**31), meta.get("hi", 2**31 - 1)
    if not lo <= v <= hi:
        raise GraphValidationError(f"attribute '{key}' is {int(v)}, outside [{lo}, {hi}]")
    return int(v)


def parse_attrs(kind: str, attrs: Mapping[str, Any]) -> Any:
    """The typed record of an op's attribute dict: every key present, none extra, each an integer in range.

    The caller prefixes the op (index, kind, name); the message names the key and, for a misspelt one, the
    close match.
    """
    record = ATTR_RECORDS[kind]
    names = attr_names(record)
    if not isinstance(attrs, Mapping):
        raise GraphValidationError(f"attributes must be a mapping of {', '.join(names)}, got {type(attrs).__name__}")
    missing = [n for n in names if n not in attrs]
    problems = []
    for key in (k for k in attrs if k not in names):
        close = difflib.get_close_matches(str(key), missing or names, n=1)
        problems.append(f"unknown attribute '{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    problems += [f"missing attribute '{n}'" for n in missing]
    if problems:
        raise GraphValidationError(f"{'; '.join(problems)}; {kind} takes {', '.join(names)}")
    return record(**{f.name: _value(f.name, attrs[f.name], f.metadata) for f in fields(record)})


# --- detection / MobileNetV3 ops (concatenation, resize, logistic, hard swish, mul) ---


@dataclass(frozen=True)
class ConcatenationAttrs:
    """Inputs and output share one quantization (the importer requantizes the others first)."""
    axis: int = _int(lo=0, hi=7)


@dataclass(frozen=True)
class ResizeNearestAttrs:
    """TFLite RESIZE_NEAREST_NEIGHBOR: output size and the two flags (0 or 1)."""
    out_h: int = _int(**_POS)
    out_w: int = _int(**_POS)
    align_corners: int = _int(lo=0, hi=1)
    half_pixel_centers: int = _int(lo=0, hi=1)


@dataclass(frozen=True)
class LogisticAttrs:
    """TFLite Micro's int8 LOGISTIC preparation: input rescaled to Q4.27; output scale 1/256, zero point -128."""
    input_zp: int = _int(**_S8)
    input_mult: int = _int(**_NONNEG)
    input_left_shift: int = _int(lo=-31, hi=31)
    input_range_radius: int = _int(**_NONNEG)


@dataclass(frozen=True)
class HardSwishAttrs:
    """TFLite Micro's int8 HARD_SWISH preparation: two Q15 multipliers with their exponents."""
    input_zp: int = _int(**_S8)
    output_zp: int = _int(**_S8)
    output_mult: int = _int(lo=0, hi=32767)
    output_exponent: int = _int(lo=-31, hi=0)
    reluish_mult: int = _int(lo=0, hi=32767)
    reluish_exponent: int = _int(lo=-31, hi=31)


@dataclass(frozen=True)
class MulAttrs(ClampAttrs):
    """TFLite MUL int8: (a - input1_zp) * (b - input2_zp) requantized by s1 * s2 / s_out."""
    input1_zp: int = _int(**_S8)
    input2_zp: int = _int(**_S8)
    output_zp: int = _int(**_S8)
    mult: int = _int(**_NONNEG)
    shift: int = _int()


ATTR_RECORDS.update({
    "concatenation_s8": ConcatenationAttrs,
    "resize_nearest_s8": ResizeNearestAttrs,
    "logistic_s8": LogisticAttrs,
    "hard_swish_s8": HardSwishAttrs,
    "mul_s8": MulAttrs,
})
