"""One translator per supported TFLite op: reads the op's tensors and options, emits graph ops.

Every number that TFLite Micro derives at Prepare time (multipliers, clamps, padding) comes from `params`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from tinycore.errors import GraphValidationError
from tinycore.ir.schema import SCHEMAS
from tinycore.tflite import params as P

_PADDING = {0: "SAME", 1: "VALID"}


def _opt(b, field: str):
    if field not in b.op.options:
        raise b.damaged(f"option {field} is missing (no or damaged options table)")
    return b.op.options[field]


def _clamp(b, out) -> dict:
    act = int(_opt(b, "FusedActivationFunction"))
    s, zp = b.quant(out)
    rng = P.activation_range(act, s, zp)
    if rng is None:
        raise b.unsupported(f"fused activation {act} is not supported (NONE, RELU, RELU_N1_TO_1, RELU6 are)")
    return {"act_min": rng[0], "act_max": rng[1]}


def _spatial(b, x_shape, kh: int, kw: int, out_shape, with_dilation: bool) -> dict:
    """Strides, dilations and explicit SAME/VALID padding; checks the file's output size against TFLM's."""
    pad = _PADDING.get(int(_opt(b, "Padding")))
    if pad is None:
        raise b.damaged(f"padding type {_opt(b, 'Padding')} is not SAME (0) or VALID (1)")
    a = {"stride_h": int(_opt(b, "StrideH")), "stride_w": int(_opt(b, "StrideW"))}
    if with_dilation:
        a["dilation_h"], a["dilation_w"] = int(_opt(b, "DilationHFactor")), int(_opt(b, "DilationWFactor"))
    if min(a.values()) < 1 or min(kh, kw) < 1:
        raise b.damaged(f"strides/dilations {a} and kernel {kh}x{kw} must be positive")
    dh, dw = (a["dilation_h"], a["dilation_w"]) if with_dilation else (1, 1)
    oh, a["pad_top"], a["pad_bottom"] = P.explicit_padding(pad, x_shape[1], kh, a["stride_h"], dh)
    ow, a["pad_left"], a["pad_right"] = P.explicit_padding(pad, x_shape[2], kw, a["stride_w"], dw)
    if (oh, ow) != tuple(out_shape[1:3]):
        raise b.damaged(f"output is {out_shape[1]}x{out_shape[2]}, {pad} padding gives {oh}x{ow}")
    return a


def _need_rank4(b, t) -> None:
    if len(t.shape) != 4 or t.shape[0] != 1:
        raise b.unsupported(f"tensor '{t.name}' has shape {t.shape}; a (1, H, W, C) feature map is expected")


def _conv(b, depthwise: bool) -> None:
    x, w, bias, out = b.tfl(0), b.tfl(1), b.tfl(2, optional=True), b.out_tfl()
    _need_rank4(b, x), _need_rank4(b, out)
    wname = b.weights(w, 4)
    cout = out.shape[3]
    a = _spatial(b, x.shape, w.shape[1], w.shape[2], out.shape, True)
    if depthwise:
        dm = int(_opt(b, "DepthMultiplier"))
        if w.shape[0] != 1 or w.shape[3] != cout or x.shape[3] * dm != cout:
            raise b.damaged(f"depthwise weights {w.shape}, input {x.shape[3]} channels x multiplier {dm} "
                            f"do not give {cout} output channels")
        a["depth_multiplier"] = dm
    elif w.shape[0] != cout or w.shape[3] != x.shape[3]:
        raise b.unsupported(f"weights {w.shape} do not map {x.shape[3]} to {cout} channels (grouped convolution?)")
    if len(w.scale) not in (1, cout):
        raise b.damaged(f"weights '{w.name}' have {len(w.scale)} scales for {cout} channels")
    (si, zi), (so, zo) = b.quant(x), b.quant(out)
    mult, shift = P.conv_multipliers(si, w.scale, so, cout)
    ws = list(w.scale) * (cout if len(w.scale) == 1 else 1)
    ins = [b.activation(x), wname, b.bias(bias, cout, [P.f32(si * s) for s in ws]),
           b.constant("mult", np.array(mult, np.int32)), b.constant("shift", np.array(shift, np.int32))]
    a.update(input_zp=zi, output_zp=zo, **_clamp(b, out))
    b.emit("depthwise_conv2d_s8" if depthwise else "conv2d_s8", ins, b.activation(out), a)


def _fully_connected(b) -> None:
    x, w, bias, out = b.tfl(0), b.tfl(1), b.tfl(2, optional=True), b.out_tfl()
    if int(b.op.options.get("WeightsFormat", 0)) != 0:
        raise b.unsupported("shuffled weights format is not supported")
    wname = b.weights(w, 2)
    o, n = w.shape
    size = int(np.prod(x.shape))
    shape: tuple[int, ...] = (1, o)  # one vector: x flattened
    if size != n:  # one row per token: keep_num_dims on x (1, T, N) -> (1, T, O)
        shape = (*x.shape[:-1], o)
        if len(x.shape) < 3 or x.shape[0] != 1 or x.shape[-1] != n or int(np.prod(out.shape)) != size // n * o:
            raise b.unsupported(f"input {x.shape} / output {out.shape} with weights {w.shape}: only one vector of {n} "
                                f"values or a batch of one with rows of {n} (last axis, (1, T, {n})) is supported")
    elif int(np.prod(out.shape)) != o:
        raise b.unsupported(f"input {x.shape} / output {out.shape} with weights {w.shape}: output should hold {o} "
                            f"values")
    if len(w.scale) not in (1, o):
        raise b.damaged(f"weights '{w.name}' have {len(w.scale)} scales for {o} outputs")
    (si, zi), (so, zo) = b.quant(x), b.quant(out)
    mult, shift = P.fc_multipliers(si, w.scale, so, o)
    ws = list(w.scale) * (o if len(w.scale) == 1 else 1)
    ins = [b.activation(x), wname, b.bias(bias, o, [P.f32(si * s) for s in ws]),
           b.constant("mult", np.array(mult, np.int32)), b.constant("shift", np.array(shift, np.int32))]
    a = {"input_zp": zi, "output_zp": zo, **_clamp(b, out)}
    _emit_reshaped(b, "fully_connected_s8", ins, out, shape, a)


def _emit_reshaped(b, kind: str, ins: list[str], out, shape: tuple[int, ...], attrs: dict) -> None:
    """Emit `kind` producing `shape`; if TFLite's output has another shape, add a reshape to it."""
    if tuple(out.shape) == shape:
        b.emit(kind, ins, b.activation(out), attrs)
        return
    tmp = b.temp(out, shape, kind)
    b.emit(kind, ins, tmp, attrs)
    b.emit("reshape", [tmp], b.activation(out), {"shape": list(out.shape)}, suffix="_reshape")


def _add(b) -> None:
    x1, x2, out = b.tfl(0), b.tfl(1), b.out_tfl()
    if x1.shape != x2.shape or x1.shape != out.shape:
        raise b.unsupported(f"broadcasting ADD {x1.shape} + {x2.shape} -> {out.shape} is not supported")
    (s1, z1), (s2, z2), (so, zo) = b.quant(x1), b.quant(x2), b.quant(out)
    a = {"input1_zp": z1, "input2_zp": z2, "output_zp": zo, **P.add_params(s1, s2, so), **_clamp(b, out)}
    b.emit("add_s8", [b.activation(x1), b.activation(x2)], b.activation(out), a)


def _pool(b, kind: str) -> None:
    x, out = b.tfl(0), b.out_tfl()
    _need_rank4(b, x), _need_rank4(b, out)
    b.quant(x)
    fh, fw = int(_opt(b, "FilterHeight")), int(_opt(b, "FilterWidth"))
    a = _spatial(b, x.shape, fh, fw, out.shape, False)
    a.update(filter_h=fh, filter_w=fw, **_clamp(b, out))
    b.emit(kind, [b.activation(x)], b.activation(out), a)


def _mean(b) -> None:
    x, axis, out = b.tfl(0), b.tfl(1), b.out_tfl()
    _need_rank4(b, x)
    if axis.data is None or axis.dtype not in ("int32", "int64"):
        raise b.unsupported(f"axis '{axis.name}' must be a constant int32 tensor")
    axes = sorted({int(v) % 4 for v in axis.data.reshape(-1)})
    if axes != [1, 2]:
        raise b.unsupported(f"MEAN over axes {axis.data.reshape(-1).tolist()} is not supported (only over height "
                            f"and width, axes [1, 2])")
    (si, zi), (so, zo) = b.quant(x), b.quant(out)
    mult, shift = P.requantize_multiplier(si, so)
    a = {"input_zp": zi, "output_zp": zo, "mult": mult, "shift": shift}
    _emit_reshaped(b, "mean_s8", [b.activation(x)], out, (1, 1, 1, x.shape[3]), a)


def _reshape(b) -> None:
    x, out = b.tfl(0), b.out_tfl()
    if int(np.prod(x.shape)) != int(np.prod(out.shape)):
        raise b.damaged(f"reshape from {x.shape} ({int(np.prod(x.shape))} values) to {out.shape}")
    b.emit("reshape", [b.activation(x)], b.activation(out), {"shape": list(out.shape)})


def _pad(b) -> None:
    x, pads, out = b.tfl(0), b.tfl(1), b.out_tfl()
    _need_rank4(b, x)
    if pads.data is None or pads.data.shape != (4, 2):
        raise b.unsupported(f"paddings '{pads.name}' must be a constant (4, 2) tensor, is {pads.shape}")
    p = pads.data.astype(np.int64)
    if p[0].any() or p[3].any() or (p < 0).any():
        raise b.unsupported(f"padding {p.tolist()}: only non-negative padding of height and width is supported")
    _, zo = b.quant(out)
    value = zo
    cv = b.tfl(2, optional=True) if b.op.op == "PADV2" else None
    if cv is not None:
        if cv.data is None or cv.data.size != 1 or cv.dtype != "int8":
            raise b.unsupported(f"constant_values '{cv.name}' must be one constant int8 value")
        value = int(cv.data.reshape(-1)[0])
    a = {"pad_top": int(p[1, 0]), "pad_bottom": int(p[1, 1]), "pad_left": int(p[2, 0]), "pad_right": int(p[2, 1]),
         "pad_value": value}
    b.emit("pad_s8", [b.activation(x)], b.activation(out), a)


def _softmax(b) -> None:
    x, out = b.tfl(0), b.out_tfl()
    si, _ = b.quant(x)
    need_probability_output(b, out, "softmax")
    a = P.softmax_params(si, float(_opt(b, "Beta")))
    if a is None:
        raise b.unsupported(f"input scale {si} x beta {_opt(b, 'Beta')} is too small for TFLite's int8 softmax")
    b.emit("softmax_s8", [b.activation(x)], b.activation(out), a)


def _quantize(b) -> None:
    x, out = b.tfl(0), b.out_tfl()
    (si, zi), (so, zo) = b.quant(x), b.quant(out)
    mult, shift = P.requantize_multiplier(si, so)
    b.emit("quantize_s8", [b.activation(x)], b.activation(out),
           {"input_zp": zi, "output_zp": zo, "mult": mult, "shift": shift})


TRANSLATORS: dict[str, Callable] = {
    "CONV_2D": lambda b: _conv(b, False),
    "DEPTHWISE_CONV_2D": lambda b: _conv(b, True),
    "FULLY_CONNECTED": _fully_connected,
    "ADD": _add,
    "AVERAGE_POOL_2D": lambda b: _pool(b, "avg_pool2d_s8"),
    "MAX_POOL_2D": lambda b: _pool(b, "max_pool2d_s8"),
    "MEAN": _mean,
    "RESHAPE": _reshape,
    "SQUEEZE": _reshape,
    "PAD": _pad,
    "PADV2": _pad,
    "SOFTMAX": _softmax,
    "QUANTIZE": _quantize,  # int8 -> int8; float32 -> int8 on the input is handled by the importer
}


# --- detection / MobileNetV3 ops (concatenation, resize, logistic, hard swish, mul) ---


def need_probability_output(b, out, what: str) -> None:
    """int8 softmax and logistic write scale 1/256, zero point -128 in TFLite Micro; refuse any other output."""
    so, zo = b.quant(out)
    if zo != -128 or P.f32(so) != 1.0 / 256:
        raise b.unsupported(f"int8 {what} output must have scale 1/256 and zero point -128 (TFLite Micro), "
                            f"'{out.name}' has {so} / {zo}")


def _concatenation(b) -> None:
    """Inputs quantized unlike the output are first requantized to it (quantize_s8), then the bytes are copied."""
    xs, out = [b.tfl(k) for k in range(len(b.op.inputs))], b.out_tfl()
    if int(_opt(b, "FusedActivationFunction")) != 0:
        raise b.unsupported("a fused activation on CONCATENATION is not supported")
    rank = len(out.shape)
    axis = int(_opt(b, "Axis"))
    if not -rank <= axis < rank:
        raise b.damaged(f"axis {axis} is outside the rank-{rank} output")
    so, zo = b.quant(out)
    names = []
    for x in xs:
        if x.data is not None:
            raise b.unsupported(f"constant input '{x.name}' to CONCATENATION is not supported")
        name = b.activation(x)
        si, zi = b.quant(x)
        if (P.f32(si), zi) != (P.f32(so), zo):
            tmp = b.temp(out, x.shape, "requantized")
            mult, shift = P.requantize_multiplier(si, so)
            b.emit("quantize_s8", [name], tmp, {"input_zp": zi, "output_zp": zo, "mult": mult, "shift": shift},
                   suffix=f"_requantize{len(names)}")
            name = tmp
        names.append(name)
    b.emit("concatenation_s8", names, b.activation(out), {"axis": axis % rank})


def _resize_nearest(b) -> None:
    x, out = b.tfl(0), b.out_tfl()
    _need_rank4(b, x), _need_rank4(b, out)
    if b.quant(x) != b.quant(out):
        raise b.unsupported("RESIZE_NEAREST_NEIGHBOR with different input and output quantization is not supported")
    if out.shape[3] != x.shape[3]:
        raise b.damaged(f"output {out.shape} has other channels than input {x.shape}")
    a = {"out_h": out.shape[1], "out_w": out.shape[2], "align_corners": int(bool(_opt(b, "AlignCorners"))),
         "half_pixel_centers": int(bool(_opt(b, "HalfPixelCenters")))}
    b.emit("resize_nearest_s8", [b.activation(x)], b.activation(out), a)


def _logistic(b) -> None:
    x, out = b.tfl(0), b.out_tfl()
    si, zi = b.quant(x)
    need_probability_output(b, out, "LOGISTIC")
    b.emit("logistic_s8", [b.activation(x)], b.activation(out), P.logistic_params(si, zi))


def _hard_swish(b) -> None:
    x, out = b.tfl(0), b.out_tfl()
    (si, zi), (so, zo) = b.quant(x), b.quant(out)
    a = P.hard_swish_params(si, zi, so, zo)
    if a is None:
        raise b.unsupported(f"input scale {si} / 128 over output scale {so} exceeds 1: TFLite Micro's HARD_SWISH "
                            f"refuses it")
    b.emit("hard_swish_s8", [b.activation(x)], b.activation(out), a)


def _mul(b) -> None:
    x1, x2, out = b.tfl(0), b.tfl(1), b.out_tfl()
    try:
        shape = SCHEMAS["mul_s8"].infer([x1.shape, x2.shape], {})
    except GraphValidationError as e:
        raise b.unsupported(str(e)) from None
    if tuple(shape) != tuple(out.shape):
        raise b.damaged(f"MUL {x1.shape} x {x2.shape} gives {shape}, the output is {out.shape}")
    (s1, z1), (s2, z2), (so, zo) = b.quant(x1), b.quant(x2), b.quant(out)
    a = {"input1_zp": z1, "input2_zp": z2, "output_zp": zo, **P.mul_params(s1, s2, so), **_clamp(b, out)}
    b.emit("mul_s8", [b.activation(x1), b.activation(x2)], b.activation(out), a)


TRANSLATORS.update({
    "CONCATENATION": _concatenation,
    "RESIZE_NEAREST_NEIGHBOR": _resize_nearest,
    "LOGISTIC": _logistic,
    "HARD_SWISH": _hard_swish,
    "MUL": _mul,
})
