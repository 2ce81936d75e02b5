"""Hard sigmoid in int8 (MobileNetV3's SE gate): the quantizer folds it into the conv / linear layer before it.
The case table (tests/cases/hard_sigmoid.py) checks the lowering against torch, host C against the runtime byte for
byte, and the .tflite round trip (TFLite has no HARD_SIGMOID: the gate is a plain CONV_2D / FULLY_CONNECTED)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.cases.hard_sigmoid import HARD_SIGMOID_CASES
from tests.export.conftest import case_inputs
from tinycore.errors import UnsupportedError
from tinycore.export.batch import run_models_on_host
from tinycore.quant import quantize, quantize_input
from tinycore.quant.capture import HSIGMOID_QUANT
from tinycore.runtime import run
from tinycore.tflite import export_tflite, import_tflite


def _runtime(graph, x: torch.Tensor) -> np.ndarray:
    q = quantize_input(graph, x.numpy())
    return np.stack([np.asarray(run(graph, s)).reshape(-1) for s in q])


@pytest.mark.parametrize("case", HARD_SIGMOID_CASES, ids=lambda c: c.name)
def test_lowered_hard_sigmoid_follows_torch(case):
    model, graph = case.model(0), case.make(0)
    x = case.inputs(seed=0)[:6]  # within the calibrated input range
    y = model(x).detach()
    want = (y.permute(0, 2, 3, 1) if y.ndim == 4 else y).numpy().reshape(len(x), -1)  # the graph's NHWC order
    got_q = _runtime(graph, x)
    out = graph.tensors[graph.outputs[0]]
    got = (got_q.astype(np.float64) - out.zero_point) * out.scale[0]
    if case.layer != "se":  # the gate's own output: exactly the [0, 1] quantization, saturation at both ends
        assert graph.tensors[graph.outputs[0]].scale[0] == HSIGMOID_QUANT[0]
        assert graph.tensors[graph.outputs[0]].zero_point == HSIGMOID_QUANT[1]
        # clamped in float: saturated in int8 (within the few LSBs that input quantization moves the boundary)
        assert np.all(got_q[want == 0.0] <= -125) and np.all(got_q[want == 1.0] >= 124)
        # input and weight quantization (amplified by the gain of the steep saturating case), 1/2 LSB of 1/255
        assert float(np.abs(got - want).max()) <= 0.03 * max(1.0, case.gain / 8)
    else:
        assert float(np.abs(got - want).max()) <= 0.03 * float(np.abs(want).max())
    if case.name.startswith("saturate"):
        assert np.isin(got_q, (-128, 127)).mean() > 0.9


def test_hard_sigmoid_cases_host_c_equals_runtime(tmp_path):
    models = [(g, case_inputs(g, seed=3)) for g in (c.make(0) for c in HARD_SIGMOID_CASES)]
    outs = run_models_on_host(models, tmp_path)
    for (g, xs), got in zip(models, outs):
        for k, (x, o) in enumerate(zip(xs, got)):
            np.testing.assert_array_equal(o, run(g, x).reshape(-1), err_msg=f"{g.meta.get('model')} input {k}")


@pytest.mark.parametrize("case", HARD_SIGMOID_CASES, ids=lambda c: c.name)
def test_hard_sigmoid_tflite_round_trip_is_the_same_graph(case, tmp_path):
    graph = case.make(0)
    back = import_tflite(export_tflite(graph, tmp_path / "m.tflite"))
    assert [o.kind for o in back.ops] == [o.kind for o in graph.ops]
    for x in case_inputs(graph, seed=4):
        np.testing.assert_array_equal(np.asarray(run(back, x)).reshape(-1), np.asarray(run(graph, x)).reshape(-1))


def test_hard_sigmoid_not_after_conv_or_linear_is_a_named_error():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Hardsigmoid()).eval()
    with pytest.raises(UnsupportedError, match="hard sigmoid must directly follow a Conv2d or Linear"):
        quantize(model, [torch.randn(4, 3, 8, 8)])


@pytest.mark.firmware
def test_mobilenet_v3_blocks_float_int8_c_firmware(tmp_path):
    """Imported MobileNetV3-style blocks (hard swish, SE with hard sigmoid x features): float -> int8 -> C in QEMU on
    the Cortex-M4 board, every output byte equal to the runtime."""
    from tests.importers.models import make
    from tinycore.export.validate import validate
    from tinycore.importers import import_model

    model, shape = make("mobilenet_v3_hsigmoid")
    torch.jit.trace(model, torch.randn(1, *shape)).save(str(tmp_path / "v3.pt"))
    imported = import_model(tmp_path / "v3.pt", shape)
    graph = quantize(imported.model, [torch.randn(32, *shape, generator=torch.Generator().manual_seed(1))])
    kinds = [o.kind for o in graph.ops]
    assert "hard_swish_s8" in kinds and "mul_s8" in kinds
    result = validate(graph, target="mps2-an386", n=3, seed=0)
    assert result["outputs_match"] and result["n_checked"] == 3
