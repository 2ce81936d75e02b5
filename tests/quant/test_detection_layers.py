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
