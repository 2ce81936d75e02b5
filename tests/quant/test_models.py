"""Whole models quantize (the acceptance probe, a small MobileNetV2), errors name the layer, io is exact."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from tinycore.errors import CalibrationError, UnsupportedError
from tinycore.ir import load_graph, validate_graph
from tinycore.quant import dequantize_output, quantize, quantize_input
from tinycore.runtime import run

from tests.quant.models import Probe, mobilenet_v2


def _bn_stats(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def _output_error_lsb(model, graph, xs) -> np.ndarray:
    with torch.no_grad():
        ref = model(xs).numpy()
    got = np.concatenate([dequantize_output(graph, run(graph, quantize_input(graph, x.numpy()))) for x in xs])
    return np.abs(got - ref) / graph.output_tensor().scale[0]


def test_probe_model_quantizes_and_round_trips(tmp_path):
    torch.manual_seed(0)
    model = _bn_stats(Probe())
    calib = [torch.randn(8, 3, 32, 32) for _ in range(4)]
    graph = quantize(model, calib)
    assert [op.kind for op in graph.ops] == ["conv2d_s8", "depthwise_conv2d_s8", "conv2d_s8", "add_s8", "conv2d_s8",
                                             "avg_pool2d_s8", "reshape", "fully_connected_s8"]
    assert graph.tensors["dw.0.weights"].shape == (1, 5, 5, 16)
    loaded = load_graph(graph.save(tmp_path / "probe.graph"))
    x = calib[0][:1]
    np.testing.assert_array_equal(run(loaded, quantize_input(loaded, x.numpy())),
                                  run(graph, quantize_input(graph, x.numpy())))
    err = _output_error_lsb(model, graph, calib[2][:6])
    assert err.max() <= 6.0 and err.mean() <= 1.5, (err.max(), err.mean())


def test_small_mobilenet_v2_quantizes():
    torch.manual_seed(0)
    model = _bn_stats(mobilenet_v2(0.35, classes=10))
    calib = [torch.randn(4, 3, 32, 32) for _ in range(2)]
    graph = quantize(model, calib)
    validate_graph(graph)
    kinds = [op.kind for op in graph.ops]
    assert kinds.count("depthwise_conv2d_s8") == 17 and kinds.count("add_s8") == 10
    assert kinds[-3:] == ["avg_pool2d_s8", "reshape", "fully_connected_s8"]
    out = run(graph, quantize_input(graph, calib[0][:1].numpy()))
    assert out.shape == (1, 10) and out.dtype == np.int8
    # 52 layers of random weights: the output keeps its sign pattern and stays within a few percent of its range
    with torch.no_grad():
        ref = model(calib[0][:1]).numpy()
    got = dequantize_output(graph, out)
    assert np.abs(got - ref).max() <= 0.1 * (np.abs(ref).max())


@pytest.mark.parametrize("layer,pattern", [
    (nn.Softplus(), r"^body\.1 \(torch\.nn\.modules\.activation\.Softplus\): unsupported layer\. Supported layers: "),
    (nn.Conv2d(4, 4, 3, groups=2), r"^body\.1 \(torch\.nn\.modules\.conv\.Conv2d\): groups=2 with 4 input"),
    (nn.Upsample(scale_factor=2, mode="bilinear"),
     r"^body\.1 \(torch\.nn\.modules\.upsampling\.Upsample\): interpolation mode 'bilinear'"),
])
def test_unsupported_layer_is_named(layer, pattern):
    wrapped = nn.Sequential()
    wrapped.add_module("body", nn.Sequential(nn.Conv2d(3, 4, 1), layer))
    with pytest.raises(UnsupportedError, match=pattern) as e:
        quantize(wrapped.eval(), [torch.randn(2, 3, 8, 8)])
    assert "Linear" in str(e.value)  # the list of supported layers


def test_lstm_module_itself_is_named():
    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)
            self.rnn = nn.LSTM(8, 8)

        def forward(self, x):
            return self.rnn(self.fc(x))[0]

    with pytest.raises(UnsupportedError, match=r"^rnn \(torch\.nn\.modules\.rnn\.LSTM\): unsupported layer"):
        quantize(Seq().eval(), [torch.randn(2, 8)])


def test_untraceable_model_is_unsupported():
    class Branchy(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    with pytest.raises(UnsupportedError, match="Branchy: torch.fx cannot trace"):
        quantize(Branchy(), [torch.randn(2, 4)])


def test_empty_calibration_raises():
    with pytest.raises(CalibrationError, match="calibration_inputs is empty"):
        quantize(nn.Linear(4, 2), [])
    with pytest.raises(CalibrationError, match="calibration_inputs is empty"):
        quantize(nn.Linear(4, 2), iter(()))


def test_bad_calibration_batch_raises():
    with pytest.raises(CalibrationError, match="calibration batch 0"):
        quantize(nn.Linear(4, 2), [torch.full((2, 4), float("nan"))])
    with pytest.raises(CalibrationError, match=r"shape \(2, 5\) does not run"):
        quantize(nn.Linear(4, 2), [torch.randn(2, 5)])


def test_training_flag_restored_and_generator_accepted():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Dropout(0.5), nn.Linear(3, 2)).train()
    graph = quantize(model, (torch.randn(4, 4) for _ in range(3)))
    assert model.training and [op.kind for op in graph.ops] == ["fully_connected_s8", "fully_connected_s8"]
    assert graph.meta["float_input_layout"] == "NF" and graph.input_tensor().shape == (1, 4)


def test_quantize_input_exact_and_layout():
    model = nn.Conv2d(2, 2, 1).eval()
    calib = torch.tensor([-1.0, 2.0]).reshape(1, 2, 1, 1).expand(1, 2, 3, 4).contiguous()
    graph = quantize(model, [calib])
    t = graph.input_tensor()
    assert t.scale[0] == float(np.float32(3.0 / 255)) and t.zero_point == -43  # round(-128 + 1 / (3/255))
    x = np.zeros((2, 3, 4), np.float32)
    x[0, 1, 2], x[1, 0, 3], x[1, 2, 0] = 2.0, -1.0, 10.0
    q = quantize_input(graph, x)
    assert q.shape == (1, 3, 4, 2) and q.dtype == np.int8
    assert (q[0, 1, 2, 0], q[0, 0, 3, 1], q[0, 2, 0, 1], q[0, 0, 0, 0]) == (127, -128, 127, -43)


def test_dequantize_output_restores_torch_layout():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.Flatten()).eval()
    calib = [torch.randn(8, 3, 6, 6)]
    graph = quantize(model, calib)
    assert graph.meta["float_sources"][graph.outputs[0]]["layout"] == "chw_flat"
    x = calib[0][:1]
    got = dequantize_output(graph, run(graph, quantize_input(graph, x.numpy())))
    with torch.no_grad():
        ref = model(x).numpy()
    assert got.shape == ref.shape == (1, 36)
    assert np.abs(got - ref).max() <= 2.5 * graph.output_tensor().scale[0]
    map_graph = quantize(nn.Conv2d(3, 4, 1).eval(), calib)
    assert dequantize_output(map_graph, run(map_graph, quantize_input(map_graph, x.numpy()))).shape == (1, 4, 6, 6)
