"""ONNX importer: torch.onnx.export of the same small models parses into a spec whose built float module gives
onnxruntime's outputs (max abs difference <= 1e-5); a MobileNetV1-style export parses to the same architecture
as its TorchScript; an unsupported node is a named error."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from tests.importers.models import SUPPORTED, UNSUPPORTED, make
from tinycore.errors import ModelFileError, UnsupportedError
from tinycore.importers import import_model
from tinycore.spec import spec_to_json

ATOL = 1e-5
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def _export(name: str, path) -> tuple[torch.nn.Module, tuple[int, ...]]:
    model, shape = make(name)
    torch.onnx.export(model, (torch.randn(1, *shape),), str(path))
    return model, shape


def _onnxruntime(path, x: np.ndarray) -> np.ndarray:
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    return np.concatenate([s.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_parsed_model_equals_onnxruntime(name, tmp_path):
    _, shape = _export(name, tmp_path / f"{name}.onnx")
    imported = import_model(tmp_path / f"{name}.onnx")
    assert imported.format == "onnx" and imported.spec.input.shape() == shape
    x = np.random.default_rng(1).standard_normal((5, *shape)).astype(np.float32)
    want = _onnxruntime(tmp_path / f"{name}.onnx", x)
    with torch.no_grad():
        got = imported.model(torch.from_numpy(x)).numpy()
    assert got.shape == want.shape and float(np.abs(got - want).max()) <= ATOL
    assert float(np.abs(want).max()) > 1e-2


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v3_hsigmoid", "resnet"])
def test_onnx_export_parses_to_the_torchscript_architecture(name, tmp_path):
    model, shape = _export(name, tmp_path / "m.onnx")
    torch.jit.trace(model, torch.randn(1, *shape)).save(str(tmp_path / "m.pt"))
    a, b = import_model(tmp_path / "m.onnx"), import_model(tmp_path / "m.pt", shape)
    assert spec_to_json(a.spec) == spec_to_json(b.spec)


@pytest.mark.parametrize("name, node", [("tanh", r"\(Tanh\)"), ("grouped", "2 groups")])
def test_unsupported_node_is_named(name, node, tmp_path):
    _export(name, tmp_path / f"{name}.onnx")
    with pytest.raises(UnsupportedError, match=node):
        import_model(tmp_path / f"{name}.onnx")


def test_damaged_file(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07garbage")
    with pytest.raises(ModelFileError, match="bad.onnx"):
        import_model(tmp_path / "bad.onnx")
