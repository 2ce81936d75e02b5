"""quantize(model, calibration_inputs) -> integer graph: the only bridge from torch to tinycore.ir."""
from __future__ import annotations

import itertools
from typing import Iterable

import numpy as np
import torch
import torch.nn as nn

from tinycore.errors import CalibrationError
from tinycore.ir.graph import Graph, Op, Tensor
from tinycore.ir.validate import validate_graph
from tinycore.quant.capture import capture
from tinycore.quant.layers import Capture, Layer
from tinycore.quant.observe import as_float_batch, calibrate
from tinycore.quant.params import (activation_clamp, activation_qparams, add_params, quantize_weights,
                                   requant_multipliers)

_WEIGHTED = ("conv2d_s8", "depthwise_conv2d_s8", "fully_connected_s8")


def quantize(model: nn.Module, calibration_inputs: Iterable) -> Graph:
    """Trace, fold, calibrate (min/max over every batch) and convert `model` to an int8 graph (NHWC, batch 1).

    calibration_inputs: float batches (N, C, H, W) or (N, F), read once (a generator is fine). The model runs in
    eval mode; its training flag is restored afterwards. A ViT of tinycore.spec goes to `quantize_vit` with all
    batches as one, attention scheduled one head at a time (the arena tinycore.former.cost predicts).
    """
    was_training = model.training
    model.eval()
    try:
        it = iter(calibration_inputs)
        first = next(it, None)
        if first is None:
            raise CalibrationError("calibration_inputs is empty: give at least one float batch of real-looking "
                                   "inputs (a few hundred samples for good ranges)")
        first = as_float_batch(first, "calibration batch 0")
        if _is_vit(model):  # walked by its own converter, attention one head at a time (tinycore.former's cost)
            from tinycore.quant.vit import quantize_vit

            return quantize_vit(model, torch.cat([first, *(as_float_batch(b, "calibration batch") for b in it)]),
                                per_head=True)
        cap = capture(model, first[:2])
        ranges = calibrate(cap.gm, {v.node for v in cap.values.values() if v.share is None},
                           itertools.chain([first], it))
        return build_graph(cap, ranges, type(model).__name__)
    finally:
        model.train(was_training)


def _is_vit(model: nn.Module) -> bool:
    from tinycore.spec.vit_build import PatchEmbedding

    return any(isinstance(m, PatchEmbedding) for m in model.modules())


def value_qparams(cap: Capture, ranges: dict[str, tuple[float, float]]) -> dict[str, tuple[float, int]]:
    """(scale, zero point) of every graph activation; pools, pads and reshapes share their input's."""
    q: dict[str, tuple[float, int]] = {}

    def qparams(name: str) -> tuple[float, int]:  # a concatenation's requantized inputs share its later output
        if name not in q:
            v = cap.values[name]
            q[name] = v.fixed or (qparams(v.share) if v.share is not None else activation_qparams(*ranges[v.node]))
        return q[name]

    for name in cap.values:
        qparams(name)
    return q


def build_graph(cap: Capture, ranges: dict[str, tuple[float, float]], model_name: str = "model") -> Graph:
    """Quantize captured layers with calibrated ranges into a validated Graph."""
    qp = value_qparams(cap, ranges)
    tensors = {n: Tensor(n, v.shape, "int8", (qp[n][0],), qp[n][1]) for n, v in cap.values.items()}
    ops, op_meta = [], []
    for layer in cap.layers:
        ops.append(_op(layer, qp, tensors))
        op_meta.append({"name": layer.name, "kind": layer.kind, "modules": layer.modules,
                        "activation": None if layer.act is None else layer.act["name"]})
    s_in, z_in = qp[cap.input]
    graph = Graph(tensors, ops, [cap.input], list(cap.outputs), meta={
        "source": "torch", "model": model_name,
        "input_layout": "NHWC", "float_input_layout": "NCHW" if len(cap.float_input_shape) == 4 else "NF",
        "float_input_shape": list(cap.float_input_shape), "input_scale": s_in, "input_zero_point": z_in,
        "ops": op_meta,
        "float_sources": {n: {"node": v.node, "layout": v.layout, "chw": None if v.chw is None else list(v.chw)}
                          for n, v in cap.values.items()},
    })
    validate_graph(graph, f"quantized {model_name}")
    return graph


def _op(layer: Layer, qp: dict[str, tuple[float, int]], tensors: dict[str, Tensor]) -> Op:
    s_out, z_out = qp[layer.output]
    act_min, act_max = activation_clamp(layer.act, s_out, z_out)
    attrs = dict(layer.attrs)
    inputs = list(layer.inputs)
    if layer.kind in _WEIGHTED:
        s_in, z_in = qp[layer.inputs[0]]
        w_q, w_scale, b_q = quantize_weights(layer.weight, layer.bias, s_in)
        mult, shift = requant_multipliers(s_in, w_scale, s_out)
        if layer.kind == "conv2d_s8":
            w_q = w_q.transpose(0, 2, 3, 1)  # (Co, Ci, KH, KW) -> (Co, KH, KW, Ci)
        elif layer.kind == "depthwise_conv2d_s8":
            w_q = w_q.transpose(1, 2, 3, 0)  # (C*M, 1, KH, KW) -> (1, KH, KW, C*M)
        w_scale_t = tuple(float(s) for s in w_scale)
        consts = [("weights", np.ascontiguousarray(w_q), "int8", w_scale_t),
                  ("bias", b_q, "int32", tuple(float(np.float32(s_in * s)) for s in w_scale)),
                  ("mult", mult, "int32", (1.0,)), ("shift", shift, "int32", (1.0,))]
        for role, data, dtype, scale in consts:
            name = f"{layer.name}.{role}"
            tensors[name] = Tensor(name, tuple(data.shape), dtype, scale, 0, data)
            inputs.append(name)
        attrs.update(input_zp=z_in, output_zp=z_out, act_min=act_min, act_max=act_max)
    elif layer.kind == "add_s8":
        (s1, z1), (s2, z2) = qp[layer.inputs[0]], qp[layer.inputs[1]]
        attrs.update(add_params(s1, z1, s2, z2, s_out, z_out), act_min=act_min, act_max=act_max)
    elif layer.kind in ("avg_pool2d_s8", "max_pool2d_s8"):
        attrs.update(act_min=act_min, act_max=act_max)
    elif layer.kind == "pad_s8":
        attrs["pad_value"] = z_out  # real 0.0
    elif layer.kind in ("logistic_s8", "hard_swish_s8", "mul_s8", "quantize_s8"):
        attrs.update(_detection_op_params(layer, qp, s_out, z_out, act_min, act_max))
    return Op(layer.kind, layer.name, inputs, [layer.output], attrs)



def _detection_op_params(layer: Layer, qp: dict[str, tuple[float, int]], s_out: float, z_out: int, act_min: int,
                         act_max: int) -> dict:
    """logistic, hard swish, mul, requantize: TFLite Micro's preparation from the calibrated scales
    (tinycore.tflite.params), so that the graph exports to a .tflite that TFLM runs with the same bytes."""
    from tinycore.tflite import params as P

    s_in, z_in = qp[layer.inputs[0]]
    if layer.kind == "quantize_s8":
        mult, shift = P.requantize_multiplier(s_in, s_out)
        return {"input_zp": z_in, "output_zp": z_out, "mult": mult, "shift": shift}
    if layer.kind == "logistic_s8":
        return P.logistic_params(s_in, z_in)
    if layer.kind == "hard_swish_s8":
        a = P.hard_swish_params(s_in, z_in, s_out, z_out)
        if a is None:
            raise CalibrationError(f"{layer.name}: hard swish input scale {s_in:.6g} / 128 exceeds the output scale "
                                   f"{s_out:.6g}; TFLite Micro refuses it")
        return a
    s2, z2 = qp[layer.inputs[1]]
    return {"input1_zp": z_in, "input2_zp": z2, "output_zp": z_out, **P.mul_params(s_in, s2, s_out),
            "act_min": act_min, "act_max": act_max}
