"""Per-layer tracing: float_reference matches each graph tensor, and a broken layer shows up where it is."""
import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from tinycore.errors import TinycoreError
from tinycore.ir import Tensor
from tinycore.quant import float_reference, quantize, quantize_input
from tinycore.runtime.trace import format_trace, trace


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
        self.dw = nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1, groups=8), nn.ReLU())
        self.pw = nn.Conv2d(8, 8, 1)
        self.head = nn.Sequential(nn.Conv2d(8, 12, 3), nn.ReLU(), nn.Flatten(), nn.Linear(12 * 2 * 2, 5))

    def forward(self, x):
        y = self.stem(x)
        return self.head(y + self.pw(self.dw(y)))


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = Net().eval()
    with torch.no_grad():
        model.stem[1].running_var.uniform_(0.5, 2.0)
    calib = [torch.randn(8, 3, 8, 8) for _ in range(3)]
    graph = quantize(model, calib)
    x = calib[1][:1]
    return model, graph, x, float_reference(model, graph, x)


def _by_name(rows):
    return {r.name: r for r in rows}


def test_float_reference_covers_every_tensor(setup):
    model, graph, x, ref = setup
    assert set(ref) == {t.name for t in graph.activations()}
    for name, v in ref.items():
        assert v.shape == graph.tensors[name].shape, name
    np.testing.assert_allclose(ref["input"], x.numpy().transpose(0, 2, 3, 1))
    with torch.no_grad():
        np.testing.assert_allclose(ref["head.3"], model(x).numpy(), rtol=1e-6)
        stem = model.stem(x).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(ref["stem.0"], stem, rtol=1e-6)


def test_clean_graph_traces_small_errors(setup):
    model, graph, x, ref = setup
    rows = trace(graph, quantize_input(graph, x.numpy()), ref)
    assert [r.name for r in rows] == [op.name for op in graph.ops]
    assert all(r.max_abs_lsb <= 4.0 and r.snr_db >= 25.0 for r in rows), format_trace(rows)
    table = format_trace(rows)
    assert table.splitlines()[0].split() == ["#", "op", "kind", "scale", "max", "LSB", "mean", "LSB", "SNR", "dB"]
    assert "depthwise_conv2d_s8" in table and len(table.splitlines()) == len(rows) + 2


def test_broken_output_scale_shows_at_that_layer(setup):
    model, graph, x, ref = setup
    broken = dataclasses.replace(graph, tensors=dict(graph.tensors))
    t = broken.tensors["dw.0"]
    broken.tensors["dw.0"] = Tensor(t.name, t.shape, t.dtype, (t.scale[0] * 1.5,), t.zero_point)
    rows = trace(broken, quantize_input(broken, x.numpy()), ref)
    worst = max(rows, key=lambda r: r.mean_abs_lsb)
    assert worst.name == "dw.0", format_trace(rows)
    assert _by_name(rows)["dw.0"].snr_db < 15.0


def test_broken_multiplier_shows_first_at_that_layer(setup):
    model, graph, x, ref = setup
    broken = dataclasses.replace(graph, tensors=dict(graph.tensors))
    m = broken.tensors["pw.mult"]
    broken.tensors["pw.mult"] = dataclasses.replace(m, data=(m.data // 2).astype(np.int32))
    rows = trace(broken, quantize_input(broken, x.numpy()), ref)
    names = [r.name for r in rows]
    at = names.index("pw")
    assert all(r.snr_db >= 25.0 for r in rows[:at]), format_trace(rows)
    assert rows[at].snr_db < 10.0 and rows[at].mean_abs_lsb == max(r.mean_abs_lsb for r in rows), format_trace(rows)


def test_reference_size_mismatch_is_named(setup):
    model, graph, x, ref = setup
    bad = dict(ref, **{"pw": np.zeros(3)})
    with pytest.raises(TinycoreError, match="tensor 'pw'.*op 2 conv2d_s8 'pw'"):
        trace(graph, quantize_input(graph, x.numpy()), bad)


def test_float_reference_of_other_model_is_refused(setup):
    model, graph, x, ref = setup
    with pytest.raises(TinycoreError, match="not the one the graph was made from"):
        float_reference(nn.Sequential(nn.Conv2d(3, 8, 1)), graph, x)


def test_exact_layer_has_infinite_snr():
    graph = quantize(nn.Sequential(nn.Flatten()), [torch.randn(2, 4, 1, 1)])
    x = np.array([[0.5, -1.0, 0.0, 1.5]], np.float32).reshape(1, 4, 1, 1)
    ref = {"0": (quantize_input(graph, x).astype(np.float64).reshape(1, 4) - graph.input_tensor().zero_point)
           * graph.input_tensor().scale[0]}
    rows = trace(graph, quantize_input(graph, x), ref)
    assert rows[0].snr_db == math.inf and rows[0].max_abs_lsb == 0.0
