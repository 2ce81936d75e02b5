"""Every supported layer quantizes, and the int8 runtime's output, dequantized, stays within a few output LSBs of
the float model. Also: the exact quantization parameters (float32 scales, TFLite multipliers, clamps, layouts)."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tinycore.quant import dequantize_output, quantize, quantize_input
from tinycore.runtime import quantize_multiplier, run


class Fn(nn.Module):
    """Wrap a function of the input (for functional and tensor-method spellings)."""

    def __init__(self, body: nn.Module, fn):
        super().__init__()
        self.body, self.fn = body, fn

    def forward(self, x):
        return self.fn(self.body(x))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Sequential(nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8))

    def forward(self, x):
        y = self.a(x)
        return F.relu(torch.add(y, self.b(y)))


class FlattenView(nn.Module):
    """A 4x4 map flattened with view(): the Linear's columns must be reordered from CHW to HWC."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, 2, 1)
        self.fc = nn.Linear(5 * 4 * 4, 7)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        return self.fc(y.view(y.size(0), -1))


def _bn(c: int) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(c)
    with torch.no_grad():
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.3, 0.3)
    return bn


CASES = {  # name: (model, float input shape (C, H, W) or (F,))
    "conv_bias": (lambda: nn.Conv2d(3, 8, 3, 1, 1), (3, 9, 7)),
    "conv_nobias_stride2": (lambda: nn.Conv2d(3, 8, 3, 2, 1, bias=False), (3, 9, 7)),
    "conv_dilated_same": (lambda: nn.Conv2d(3, 4, 3, padding="same", dilation=2), (3, 8, 8)),
    "conv_bn_relu6": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), _bn(8), nn.ReLU6()), (3, 8, 8)),
    "depthwise": (lambda: nn.Sequential(nn.Conv2d(4, 4, 3, 1, 1, groups=4), _bn(4), nn.ReLU()), (4, 6, 6)),
    "depthwise_mult2": (lambda: nn.Conv2d(3, 6, 5, 2, 2, groups=3, bias=False), (3, 9, 9)),
    "linear": (lambda: nn.Sequential(nn.Linear(12, 9), nn.ReLU(), nn.Linear(9, 5)), (12,)),
    "flatten_linear_perm": (lambda: nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.ReLU(), nn.Flatten(),
                                                  nn.Linear(4 * 4 * 3, 6)), (3, 8, 5)),
    "view_linear_perm": (FlattenView, (3, 8, 8)),
    "adaptive_avg": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                           nn.Flatten()), (3, 9, 9)),
    "adaptive_avg_2x2": (lambda: nn.Sequential(nn.Conv2d(3, 8, 1), nn.AdaptiveAvgPool2d(2)), (3, 8, 6)),
    "mean_hw": (lambda: Fn(nn.Conv2d(3, 8, 3), lambda y: y.mean((2, 3))), (3, 7, 7)),
    "mean_keepdim": (lambda: Fn(nn.Conv2d(3, 8, 3), lambda y: torch.mean(y, dim=[-2, -1], keepdim=True)), (3, 7, 7)),
    "avgpool_pad": (lambda: nn.Sequential(nn.Conv2d(3, 8, 1), nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
                    (3, 9, 8)),
    "maxpool_pad": (lambda: nn.Sequential(nn.Conv2d(3, 8, 1), nn.MaxPool2d(3, 2, 1)), (3, 9, 8)),
    "maxpool_functional": (lambda: Fn(nn.Conv2d(3, 8, 1), lambda y: F.max_pool2d(y, 2)), (3, 8, 8)),
    "zeropad": (lambda: nn.Sequential(nn.Conv2d(3, 4, 1), nn.ZeroPad2d((1, 2, 0, 1)), nn.Conv2d(4, 4, 3)), (3, 6, 6)),
    "residual_add_relu": (Residual, (3, 6, 6)),
    "functional_relu": (lambda: Fn(nn.Conv2d(3, 8, 3), F.relu), (3, 6, 6)),
    "clamp_0_6": (lambda: Fn(nn.Conv2d(3, 8, 3), lambda y: y.clamp(0, 6)), (3, 6, 6)),
    "hardtanh": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.Hardtanh()), (3, 6, 6)),
    "dropout_identity": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.Dropout(0.5), nn.Identity(), nn.ReLU()),
                         (3, 6, 6)),
}


def _quantized_error_lsb(model: nn.Module, shape: tuple, seed: int = 0):
    torch.manual_seed(seed)
    calib = [torch.randn(16, *shape) for _ in range(4)]
    graph = quantize(model, calib)
    xs = calib[1][:8]  # inside the calibrated ranges: the error measured is rounding, not clipping
    with torch.no_grad():
        ref = model(xs).numpy()
    got = np.concatenate([dequantize_output(graph, run(graph, quantize_input(graph, x.numpy()))) for x in xs])
    assert got.shape == ref.shape
    err = np.abs(got - ref) / graph.output_tensor().scale[0]
    return graph, err


@pytest.mark.parametrize("name", CASES)
def test_layer_int8_close_to_float(name):
    make, shape = CASES[name]
    torch.manual_seed(1)
    model = make().eval()
    graph, err = _quantized_error_lsb(model, shape)
    # input rounding (0.5 input LSB) and weight rounding carried through one or two layers, plus output rounding
    assert err.max() <= 3.5, f"{name}: max error {err.max():.2f} LSB"
    assert err.mean() <= 0.75, f"{name}: mean error {err.mean():.3f} LSB"


def test_op_kinds_and_fusion():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), _bn(8), nn.ReLU6(), nn.Conv2d(8, 8, 3, groups=8),
                          nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(), nn.Linear(8, 4)).eval()
    graph = quantize(model, [torch.randn(4, 3, 10, 10)])
    assert [(op.kind, op.name) for op in graph.ops] == [
        ("conv2d_s8", "0"), ("depthwise_conv2d_s8", "3"), ("avg_pool2d_s8", "5"), ("reshape", "6"),
        ("fully_connected_s8", "8")]
    assert [m["modules"] for m in graph.meta["ops"]] == [["0", "1", "2"], ["3", "4"], ["5"], ["6"], ["8"]]
    assert [m["activation"] for m in graph.meta["ops"]] == ["relu6", "relu", None, None, None]
    assert graph.tensors["0.weights"].shape == (8, 3, 3, 3)
    assert graph.tensors["3.weights"].shape == (1, 3, 3, 8)
    assert graph.ops[1].attrs["depth_multiplier"] == 1
    pool = graph.ops[2]
    assert (pool.attrs["filter_h"], pool.attrs["filter_w"]) == (6, 6)
    t_in, t_out = graph.tensors[pool.inputs[0]], graph.tensors[pool.outputs[0]]
    assert (t_in.scale, t_in.zero_point) == (t_out.scale, t_out.zero_point)  # TFLite AVERAGE_POOL_2D rule
    assert graph.meta["input_layout"] == "NHWC" and graph.meta["float_input_shape"] == [1, 3, 10, 10]
    assert graph.input_tensor().shape == (1, 10, 10, 3)


def test_scales_are_float32_and_multipliers_match_tflm():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 6, 3), _bn(6), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 4 * 4, 5)).eval()
    graph = quantize(model, [torch.randn(8, 3, 6, 6)])
    for t in graph.tensors.values():
        assert all(float(np.float32(s)) == s for s in t.scale), t.name
    for op in graph.ops:
        if op.kind not in ("conv2d_s8", "fully_connected_s8"):
            continue
        s_in = graph.tensors[op.inputs[0]].scale[0]
        s_out = graph.tensors[op.outputs[0]].scale[0]
        w = graph.tensors[op.inputs[1]]
        expect = [quantize_multiplier(float(s_in) * float(s) / float(s_out)) for s in w.scale]
        assert graph.tensors[op.inputs[3]].data.tolist() == [m for m, _ in expect]
        assert graph.tensors[op.inputs[4]].data.tolist() == [s for _, s in expect]
        assert w.data.dtype == np.int8 and int(np.abs(w.data).max()) == 127  # symmetric, full range per tensor
        per_channel_max = np.abs(w.data.reshape(w.shape[0], -1)).max(axis=1)
        assert per_channel_max.tolist() == [127] * w.shape[0]  # each channel uses its own full range
        assert w.zero_point == 0


def test_conv_weights_and_bias_layout():
    torch.manual_seed(4)
    conv = nn.Conv2d(2, 3, (3, 2), bias=True).eval()
    graph = quantize(conv, [torch.randn(4, 2, 5, 5)])
    assert graph.ops[0].name == "0"  # a bare layer is traced as Sequential(layer)
    w = graph.tensors[graph.ops[0].inputs[1]]
    scale = np.array(w.scale).reshape(-1, 1, 1, 1)
    want = conv.weight.detach().numpy().transpose(0, 2, 3, 1)  # (Co, KH, KW, Ci)
    assert np.abs(w.data * scale - want).max() <= scale.max() / 2 + 1e-9
    bias = graph.tensors[graph.ops[0].inputs[2]]
    s_in = graph.input_tensor().scale[0]
    want_b = np.sign(conv.bias.detach().numpy() / (s_in * scale.ravel())) * np.floor(
        np.abs(conv.bias.detach().numpy() / (s_in * scale.ravel())) + 0.5)
    assert bias.data.dtype == np.int32 and bias.data.tolist() == want_b.astype(np.int64).tolist()


def test_clamp_ranges_follow_tflite_rule():
    conv = nn.Conv2d(1, 1, 1).eval()
    with torch.no_grad():
        conv.weight.fill_(10.0)
        conv.bias.zero_()
    calib = [torch.linspace(-1, 1, 51).reshape(51, 1, 1, 1)]  # conv output spans [-10, 10]
    relu6 = quantize(nn.Sequential(conv, nn.ReLU6()), calib)
    out = relu6.output_tensor()
    assert out.zero_point == -128 and out.scale[0] == float(np.float32(6.0 / 255))
    assert (relu6.ops[0].attrs["act_min"], relu6.ops[0].attrs["act_max"]) == (-128, 127)
    tanh = quantize(nn.Sequential(conv, nn.Hardtanh(-1.0, 2.0)), calib)
    s, zp = tanh.output_tensor().scale[0], tanh.output_tensor().zero_point
    assert s == float(np.float32(3.0 / 255)) and zp == -128 + 85  # round(-128 - lo / scale), lo = -1
    rnd = lambda f: int(np.floor(np.float32(f) / np.float32(s) + np.float32(0.5)) if f >= 0 else
                        -np.floor(-np.float32(f) / np.float32(s) + np.float32(0.5)))
    assert tanh.ops[0].attrs["act_min"] == max(-128, zp + rnd(-1.0))
    assert tanh.ops[0].attrs["act_max"] == min(127, zp + rnd(2.0))


def test_add_uses_tflite_params():
    model = Residual().eval()
    graph = quantize(model, [torch.randn(8, 3, 6, 6)])
    add = next(op for op in graph.ops if op.kind == "add_s8")
    (s1, s2), so = (graph.tensors[n].scale[0] for n in add.inputs), graph.tensors[add.outputs[0]].scale[0]
    twice = 2 * max(s1, s2)
    assert add.attrs["left_shift"] == 20
    assert (add.attrs["input1_mult"], add.attrs["input1_shift"]) == quantize_multiplier(s1 / twice)
    assert (add.attrs["input2_mult"], add.attrs["input2_shift"]) == quantize_multiplier(s2 / twice)
    assert (add.attrs["output_mult"], add.attrs["output_shift"]) == quantize_multiplier(twice / (2**20 * so))
    assert add.attrs["act_min"] == graph.tensors[add.outputs[0]].zero_point  # fused ReLU


def test_zero_pad_value_is_zero_point():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ZeroPad2d(1)).eval()
    graph = quantize(model, [torch.randn(4, 3, 5, 5)])
    pad = graph.ops[1]
    assert pad.kind == "pad_s8" and pad.attrs["pad_value"] == graph.tensors[pad.inputs[0]].zero_point
    assert graph.output_tensor().shape == (1, 7, 7, 4)
