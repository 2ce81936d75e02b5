"""Sigmoid, Hardswish, a squeeze-and-excitation gate (x * sigmoid(...)) and nearest up-sampling quantize to
logistic_s8, hard_swish_s8, mul_s8 and resize_nearest_s8; int8 stays close to float and runs in TFLite Micro."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tests.quant.test_layers import _quantized_error_lsb
from tests.tflite.tflm import random_inputs, tflm_outputs
from tinycore.errors import UnsupportedError
from tinycore.quant import quantize
from tinycore.runtime import run
from tinycore.tflite import export_tflite_bytes


class SEBlock(nn.Module):
    """MobileNetV3: conv + BN + hard swish, a squeeze-and-excitation gate, then a 2x nearest up-sampling."""

    def __init__(self, upsample: str = "module"):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Hardswish())
        self.squeeze = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 4, 1), nn.ReLU(), nn.Conv2d(4, 8, 1),
                                     nn.Sigmoid())
        self.up = nn.Upsample(scale_factor=2, mode="nearest") if upsample == "module" else None
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        y = self.conv(x)
        y = y * self.squeeze(y)
        y = self.up(y) if self.up is not None else F.interpolate(y, size=(8, 11), mode="nearest")
        return self.head(y)


class Neck(nn.Module):
    """FPN-like: a strided branch up-sampled and concatenated with the full-resolution one (their calibrated
    ranges differ, so both are requantized to the concatenation's quantization)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim
        self.full = nn.Conv2d(3, 5, 3, padding=1)
        self.low = nn.Sequential(nn.Conv2d(3, 3 if dim == 1 else 5, 3, stride=2, padding=1), nn.ReLU())
        self.head = nn.Conv2d(8 if dim == 1 else 5, 4, 1)

    def forward(self, x):
        low = F.interpolate(self.low(x), scale_factor=2, mode="nearest")
        return self.head(torch.cat([self.full(x), low], dim=self.dim))


class Gate(nn.Module):
    def forward(self, x):
        return F.hardswish(x) * torch.sigmoid(x)


@pytest.mark.parametrize("make", [lambda: SEBlock("module"), lambda: SEBlock("size"),
                                  lambda: nn.Sequential(nn.Conv2d(3, 6, 3), Gate())])
def test_int8_close_to_float(make):
    torch.manual_seed(2)
    model = make().eval()
    graph, err = _quantized_error_lsb(model, (3, 5, 7))
    kinds = {op.kind for op in graph.ops}
    assert {"hard_swish_s8", "mul_s8"} <= kinds and ("logistic_s8" in kinds)
    # measured 1.5 / 0.36 LSB (max / mean) for these models: rounding through the 1/256 gate and the multiply
    assert err.max() <= 3, f"max error {err.max():.2f} LSB"
    assert err.mean() <= 0.6, f"mean error {err.mean():.3f} LSB"


@pytest.mark.parametrize("dim", [1, 2, -1])
def test_cat_is_requantized_then_concatenated(dim):
    torch.manual_seed(4)
    graph, err = _quantized_error_lsb(Neck(dim).eval(), (3, 6, 8))
    cat = next(op for op in graph.ops if op.kind == "concatenation_s8")
    assert cat.attrs["axis"] == {1: 3, 2: 1, -1: 2}[dim]
    y = graph.tensors[cat.outputs[0]]
    for name in cat.inputs:  # every input is a requantization to the output's quantization
        producer = next(op for op in graph.ops if name in op.outputs)
        assert producer.kind == "quantize_s8"
        t = graph.tensors[name]
        assert (t.scale, t.zero_point) == (y.scale, y.zero_point)
    assert err.max() <= 3, f"max error {err.max():.2f} LSB"
    assert err.mean() <= 0.6, f"mean error {err.mean():.3f} LSB"


@pytest.mark.oracle
def test_quantized_neck_runs_in_tflm_with_our_bytes():
    torch.manual_seed(5)
    graph = quantize(Neck(1).eval(), [torch.randn(16, 3, 6, 8) for _ in range(3)])
    xs = random_inputs(graph.input_tensor().shape, 8, 0)
    for x, ref in zip(xs, tflm_outputs(export_tflite_bytes(graph), xs)):
        np.testing.assert_array_equal(run(graph, x).reshape(-1), ref.reshape(-1))


@pytest.mark.oracle
def test_quantized_se_block_runs_in_tflm_with_our_bytes():
    torch.manual_seed(3)
    model = SEBlock("module").eval()
    graph = quantize(model, [torch.randn(16, 3, 5, 7) for _ in range(3)])
    assert "resize_nearest_s8" in {op.kind for op in graph.ops}
    xs = random_inputs(graph.input_tensor().shape, 8, 0)
    for x, ref in zip(xs, tflm_outputs(export_tflite_bytes(graph), xs)):
        np.testing.assert_array_equal(run(graph, x).reshape(-1), ref.reshape(-1))


def test_bilinear_is_refused_with_the_layer_named():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Upsample(scale_factor=2, mode="bilinear"))
    with pytest.raises(UnsupportedError, match=r"1 \(torch.nn.modules.upsampling.Upsample\).*'bilinear'"):
        quantize(model, [torch.randn(4, 3, 4, 4)])
