"""One exporter per graph op kind: writes the TFLite operator and checks that TFLite Micro will recompute the
graph's integer parameters (multipliers, clamps, padding) exactly from what is written."""
from __future__ import annotations

from typing import Callable

import numpy as np

from tinycore.ir import Op
from tinycore.tflite import params as P

_ACT_ORDER = (0, 1, 3, 2)  # NONE, RELU, RELU6, RELU_N1_TO_1: the first whose clamp matches is written
_PAD_CODE = {"SAME": 0, "VALID": 1}


def _t(w, name):
    return w.graph.tensors[name]


def _fused(w, op: Op, out_name: str) -> int:
    t = _t(w, out_name)
    want = (op.attrs["act_min"], op.attrs["act_max"])
    for act in _ACT_ORDER:
        if P.activation_range(act, t.scale[0], t.zero_point) == want:
            return act
    raise w.unsupported(f"clamp [{want[0]}, {want[1]}] is not NONE, RELU, RELU6 or RELU_N1_TO_1 in the output "
                        f"quantization (scale {t.scale[0]:.6g}, zero point {t.zero_point})")


def _padding(x_shape, kh: int, kw: int, a: dict, dilation: tuple[int, int]) -> str | None:
    """SAME or VALID if TFLM's padding for it equals the explicit padding, else None (dilation (1, 1) for pools)."""
    pads = (a["pad_top"], a["pad_bottom"], a["pad_left"], a["pad_right"])
    for mode in ("VALID", "SAME"):
        _, pt, pb = P.explicit_padding(mode, x_shape[1], kh, a["stride_h"], dilation[0])
        _, pl, pr = P.explicit_padding(mode, x_shape[2], kw, a["stride_w"], dilation[1])
        if (pt, pb, pl, pr) == pads:
            return mode
    return None


def _check(w, what: str, ours, tflm) -> None:
    ours, tflm = [int(v) for v in np.ravel(ours)], [int(v) for v in np.ravel(tflm)]
    if ours != tflm:
        i = next(k for k, (u, v) in enumerate(zip(ours, tflm)) if u != v) if len(ours) == len(tflm) else 0
        raise w.unsupported(f"{what}: the graph has {ours[i] if ours else None} at channel {i}, TFLite Micro "
                            f"would compute {tflm[i] if tflm else None} from the scales; the graph's multipliers "
                            f"must be derived from its scales as TFLite does (tinycore.tflite.params)")


def _weighted_inputs(w, op: Op, qdim: int, fully_connected: bool) -> list[int]:
    x, wt, bias, mult, shift = (_t(w, n) for n in op.inputs)
    out = _t(w, op.outputs[0])
    cout = out.shape[-1]
    if len(wt.scale) not in (1, cout):
        raise w.unsupported(f"weights '{wt.name}' have {len(wt.scale)} scales for {cout} channels")
    fn = P.fc_multipliers if fully_connected else P.conv_multipliers
    m, s = fn(x.scale[0], wt.scale, out.scale[0], cout)
    _check(w, "multiplier", mult.data, m)
    _check(w, "shift", shift.data, s)
    ws = list(wt.scale) * (cout if len(wt.scale) == 1 else 1)
    return [w.activation(x.name), w.constant(wt.name, wt.data, list(wt.scale), qdim),
            w.constant(bias.name, bias.data.astype(np.int32), [P.f32(x.scale[0] * v) for v in ws])]


def _conv(w, op: Op) -> None:
    a, depthwise = op.attrs, op.kind == "depthwise_conv2d_s8"
    x, wt = _t(w, op.inputs[0]), _t(w, op.inputs[1])
    if a["input_zp"] != x.zero_point or a["output_zp"] != _t(w, op.outputs[0]).zero_point:
        raise w.unsupported("zero point attributes differ from the tensors' zero points")
    ins = _weighted_inputs(w, op, 3 if depthwise else 0, False)
    mode = _padding(x.shape, wt.shape[1], wt.shape[2], a, (a["dilation_h"], a["dilation_w"]))
    if mode is None:  # explicit padding: a PAD with the input zero point (real 0), then a VALID convolution
        shape = (1, x.shape[1] + a["pad_top"] + a["pad_bottom"], x.shape[2] + a["pad_left"] + a["pad_right"],
                 x.shape[3])
        padded = w.new_activation(f"{x.name}/padded", shape, x.scale[0], x.zero_point)
        pads = np.array([[0, 0], [a["pad_top"], a["pad_bottom"]], [a["pad_left"], a["pad_right"]], [0, 0]], np.int32)
        w.add_op("PAD", [ins[0], w.constant(f"{op.name}/paddings", pads, quantized=False)], [padded])
        ins[0], mode = padded, "VALID"
    fields = {"Padding": _PAD_CODE[mode], "StrideH": a["stride_h"], "StrideW": a["stride_w"],
              "DilationHFactor": a["dilation_h"], "DilationWFactor": a["dilation_w"],
              "FusedActivationFunction": _fused(w, op, op.outputs[0])}
    if depthwise:
        fields["DepthMultiplier"] = a["depth_multiplier"]
    w.add_op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", ins, [w.activation(op.outputs[0])],
             "DepthwiseConv2DOptions" if depthwise else "Conv2DOptions", **fields)


def _fully_connected(w, op: Op) -> None:
    ins = _weighted_inputs(w, op, 0, True)
    # per token (rows of the last axis, output (1, ..., T, O)): TFLM keeps the input's leading dims
    keep = _t(w, op.inputs[0]).size != _t(w, op.inputs[1]).shape[1]
    w.add_op("FULLY_CONNECTED", ins, [w.activation(op.outputs[0])], "FullyConnectedOptions",
             FusedActivationFunction=_fused(w, op, op.outputs[0]), KeepNumDims=keep)


def _binary(w, op: Op, code: str, params) -> None:
    """ADD and MUL: check the graph's parameters against TFLM's from the three scales, write the op and clamp."""
    a1, a2, out = _t(w, op.inputs[0]), _t(w, op.inputs[1]), _t(w, op.outputs[0])
    want = params(a1.scale[0], a2.scale[0], out.scale[0])
    want.update(input1_zp=a1.zero_point, input2_zp=a2.zero_point, output_zp=out.zero_point)
    for key, value in want.items():
        _check(w, key, [op.attrs[key]], [value])
    w.add_op(code, [w.activation(a1.name), w.activation(a2.name)], [w.activation(out.name)],
             f"{code.capitalize()}Options", FusedActivationFunction=_fused(w, op, out.name))


def _add(w, op: Op) -> None:
    _binary(w, op, "ADD", P.add_params)


def _pool(w, op: Op) -> None:
    a, x = op.attrs, _t(w, op.inputs[0])
    mode = _padding(x.shape, a["filter_h"], a["filter_w"], a, (1, 1))
    if mode is None:
        raise w.unsupported(f"padding {[a[k] for k in ('pad_top', 'pad_bottom', 'pad_left', 'pad_right')]} is "
                            f"neither SAME nor VALID; TFLite pools cannot express it")
    w.add_op("AVERAGE_POOL_2D" if op.kind == "avg_pool2d_s8" else "MAX_POOL_2D", [w.activation(x.name)],
             [w.activation(op.outputs[0])], "Pool2DOptions", Padding=_PAD_CODE[mode], StrideH=a["stride_h"],
             StrideW=a["stride_w"], FilterHeight=a["filter_h"], FilterWidth=a["filter_w"],
             FusedActivationFunction=_fused(w, op, op.outputs[0]))


def _requant_check(w, op: Op) -> None:
    x, out = _t(w, op.inputs[0]), _t(w, op.outputs[0])
    m, s = P.requantize_multiplier(x.scale[0], out.scale[0])
    _check(w, "mult/shift/zero points", [op.attrs[k] for k in ("mult", "shift", "input_zp", "output_zp")],
           [m, s, x.zero_point, out.zero_point])


def _mean(w, op: Op) -> None:
    _requant_check(w, op)
    axis = w.constant(f"{op.name}/axis", np.array([1, 2], np.int32), quantized=False)
    w.add_op("MEAN", [w.activation(op.inputs[0]), axis], [w.activation(op.outputs[0])], "ReducerOptions",
             KeepDims=True)


def _quantize(w, op: Op) -> None:
    _requant_check(w, op)
    w.add_op("QUANTIZE", [w.activation(op.inputs[0])], [w.activation(op.outputs[0])])


def _reshape(w, op: Op) -> None:
    shape = w.constant(f"{op.name}/shape", np.array(op.attrs["shape"], np.int32), quantized=False)
    w.add_op("RESHAPE", [w.activation(op.inputs[0]), shape], [w.activation(op.outputs[0])])


def _pad(w, op: Op) -> None:
    a, out = op.attrs, _t(w, op.outputs[0])
    pads = np.array([[0, 0], [a["pad_top"], a["pad_bottom"]], [a["pad_left"], a["pad_right"]], [0, 0]], np.int32)
    ins = [w.activation(op.inputs[0]), w.constant(f"{op.name}/paddings", pads, quantized=False)]
    if a["pad_value"] == out.zero_point:
        w.add_op("PAD", ins, [w.activation(out.name)])
        return
    cv = w.constant(f"{op.name}/value", np.array([a["pad_value"]], np.int8), [out.scale[0]])
    w.tensors[cv].zero_point = [int(out.zero_point)]  # PADV2 needs the output's quantization on the value
    w.add_op("PADV2", ins + [cv], [w.activation(out.name)])


def _softmax(w, op: Op) -> None:
    x, out = _t(w, op.inputs[0]), _t(w, op.outputs[0])
    _need_probability_output(w, out, "softmax")
    want = P.softmax_params(x.scale[0], 1.0)
    if want is None or any(op.attrs[k] != v for k, v in want.items()):
        raise w.unsupported(f"attributes {op.attrs} are not TFLite's for input scale {x.scale[0]:.6g} and beta 1 "
                            f"({want})")
    w.add_op("SOFTMAX", [w.activation(x.name)], [w.activation(out.name)], "SoftmaxOptions", Beta=1.0)


EXPORTERS: dict[str, Callable] = {
    "conv2d_s8": _conv, "depthwise_conv2d_s8": _conv, "fully_connected_s8": _fully_connected, "add_s8": _add,
    "avg_pool2d_s8": _pool, "max_pool2d_s8": _pool, "mean_s8": _mean, "reshape": _reshape, "pad_s8": _pad,
    "softmax_s8": _softmax, "quantize_s8": _quantize,
}


# --- detection / MobileNetV3 ops (concatenation, resize, logistic, hard swish, mul) ---


def _need_probability_output(w, out, what: str) -> None:
    """int8 softmax and logistic write scale 1/256, zero point -128 in TFLite Micro."""
    if out.zero_point != -128 or P.f32(out.scale[0]) != 1.0 / 256:
        raise w.unsupported(f"output '{out.name}' must have scale 1/256 and zero point -128 for TFLite int8 {what}")


def _same_quant(w, names: list[str], out_name: str, what: str) -> None:
    out = _t(w, out_name)
    for n in names:
        t = _t(w, n)
        if (P.f32(t.scale[0]), t.zero_point) != (P.f32(out.scale[0]), out.zero_point):
            raise w.unsupported(f"input '{n}' is quantized ({t.scale[0]:.6g}, {t.zero_point}), the output "
                                f"({out.scale[0]:.6g}, {out.zero_point}): {what} needs one quantization")


def _concatenation(w, op: Op) -> None:
    _same_quant(w, op.inputs, op.outputs[0], "CONCATENATION")
    w.add_op("CONCATENATION", [w.activation(n) for n in op.inputs], [w.activation(op.outputs[0])],
             "ConcatenationOptions", Axis=op.attrs["axis"], FusedActivationFunction=0)


def _resize_nearest(w, op: Op) -> None:
    a = op.attrs
    _same_quant(w, op.inputs, op.outputs[0], "RESIZE_NEAREST_NEIGHBOR")
    size = w.constant(f"{op.name}/size", np.array([a["out_h"], a["out_w"]], np.int32), quantized=False)
    w.add_op("RESIZE_NEAREST_NEIGHBOR", [w.activation(op.inputs[0]), size], [w.activation(op.outputs[0])],
             "ResizeNearestNeighborOptions", AlignCorners=bool(a["align_corners"]),
             HalfPixelCenters=bool(a["half_pixel_centers"]))


def _logistic(w, op: Op) -> None:
    x, out = _t(w, op.inputs[0]), _t(w, op.outputs[0])
    _need_probability_output(w, out, "LOGISTIC")
    want = P.logistic_params(x.scale[0], x.zero_point)
    _check(w, "logistic parameters", [op.attrs[k] for k in want], list(want.values()))
    w.add_op("LOGISTIC", [w.activation(x.name)], [w.activation(out.name)])


def _hard_swish(w, op: Op) -> None:
    x, out = _t(w, op.inputs[0]), _t(w, op.outputs[0])
    want = P.hard_swish_params(x.scale[0], x.zero_point, out.scale[0], out.zero_point)
    if want is None:
        raise w.unsupported(f"input scale {x.scale[0]:.6g} / 128 over output scale {out.scale[0]:.6g} exceeds 1: "
                            f"TFLite Micro's HARD_SWISH refuses it")
    _check(w, "hard swish parameters", [op.attrs[k] for k in want], list(want.values()))
    w.add_op("HARD_SWISH", [w.activation(x.name)], [w.activation(out.name)])


def _mul(w, op: Op) -> None:
    _binary(w, op, "MUL", P.mul_params)


EXPORTERS.update({
    "concatenation_s8": _concatenation, "resize_nearest_s8": _resize_nearest, "logistic_s8": _logistic,
    "hard_swish_s8": _hard_swish, "mul_s8": _mul,
})
