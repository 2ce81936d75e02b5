"""Float .tflite importer on a TF-converted fixture (make_float_tflite.py): the parsed model equals the TFLite
interpreter's float outputs stored with it (max abs difference <= 1e-5), TF's asymmetric SAME padding and the
NHWC flatten order included; an int8 model or an unsupported operator is a named error."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tinycore.errors import UnsupportedError
from tinycore.importers import import_model
from tinycore.spec import SE, DWConv, Residual

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TFLITE_FIXTURES = Path(__file__).resolve().parents[1] / "tflite" / "fixtures"
ATOL = 1e-5


def test_parsed_model_equals_tflite_interpreter():
    imported = import_model(FIXTURES / "float_blocks.tflite")
    ref = np.load(FIXTURES / "float_blocks_ref.npz")
    x = torch.from_numpy(np.ascontiguousarray(ref["inputs"].transpose(0, 3, 1, 2)))  # NHWC -> NCHW
    with torch.no_grad():
        got = imported.model(x).numpy()
    assert got.shape == ref["outputs"].shape and float(np.abs(got - ref["outputs"]).max()) <= ATOL
    assert float(np.abs(ref["outputs"]).max()) > 1e-2
    blocks = imported.spec.blocks
    assert blocks[1] == DWConv(kernel=3, stride=2, padding=(0, 1, 0, 1), act="hswish", bn=False)
    assert blocks[2] == SE(squeeze=4, act="relu", gate="sigmoid")
    assert isinstance(blocks[4], Residual) and imported.spec.input.shape() == (3, 16, 16)


def test_hard_sigmoid_as_the_converter_writes_it_reads_back_as_hsigmoid():
    """CONV_2D (bias + 3, RELU6 fused) then MUL by 1/6 (make_float_hsigmoid_tflite.py): an SE with gate hsigmoid,
    equal to the TFLite interpreter; and it quantizes (the gate folded into its conv) close to the float model."""
    from tinycore.quant import quantize, quantize_input
    from tinycore.runtime import run

    imported = import_model(FIXTURES / "float_hsigmoid_se.tflite")
    ref = np.load(FIXTURES / "float_hsigmoid_se_ref.npz")
    x = torch.from_numpy(np.ascontiguousarray(ref["inputs"].transpose(0, 3, 1, 2)))
    with torch.no_grad():
        got = imported.model(x).numpy()
    assert float(np.abs(got - ref["outputs"]).max()) <= ATOL and float(np.abs(ref["outputs"]).max()) > 1e-2
    assert imported.spec.blocks[1] == SE(squeeze=2, act="relu", gate="hsigmoid")
    graph = quantize(imported.model, [x])
    q = np.stack([np.asarray(run(graph, s)).reshape(-1) for s in quantize_input(graph, x.numpy())])
    out = graph.tensors[graph.outputs[0]]
    deq = (q.astype(np.float64) - out.zero_point) * out.scale[0]
    assert float(np.abs(deq - got).max()) <= 0.05 * float(np.abs(got).max())


def test_int8_model_is_refused_with_the_way_to_import_it():
    with pytest.raises(UnsupportedError, match="import_tflite"):
        import_model(TFLITE_FIXTURES / "se_neck.tflite")


def test_unsupported_operator_is_named(tmp_path, monkeypatch):
    from tinycore.importers import tflite_float
    from tinycore.tflite.reader import read_model

    def with_tanh(path):
        m = read_model(path)
        m.operators[2].op = "TANH"  # HARD_SWISH in the fixture
        return m

    monkeypatch.setattr(tflite_float, "read_model", with_tanh)
    with pytest.raises(UnsupportedError, match=r"operator 2 \(TANH"):
        import_model(FIXTURES / "float_blocks.tflite")
