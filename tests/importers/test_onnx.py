"""ONNX importer: torch.onnx.export of the same small models parses into a spec whose built float module gives
onnxruntime's outputs (max abs difference <= 1e-5); a MobileNetV1-style export parses to the same architecture
as its TorchScript; an unsupported node is a named error."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

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


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_hsigmoid", "resnet"])
def test_legacy_exporter_too(name, tmp_path):
    """The TorchScript-based exporter (dynamo=False) writes Constant nodes, Flatten and Clip with inputs."""
    model, shape = make(name)
    torch.onnx.export(model, (torch.randn(1, *shape),), str(tmp_path / "m.onnx"), dynamo=False)
    x = np.random.default_rng(2).standard_normal((3, *shape)).astype(np.float32)
    with torch.no_grad():
        got = import_model(tmp_path / "m.onnx").model(torch.from_numpy(x)).numpy()
    assert float(np.abs(got - _onnxruntime(tmp_path / "m.onnx", x)).max()) <= ATOL


def test_hand_built_graph_with_bn_matmul_pad_and_pools(tmp_path):
    """Nodes the torch exporters fold away: BatchNormalization, Pad, MatMul + Add, pools, ReduceMean keepdims=0."""
    rng = np.random.default_rng(3)

    def init(name, *shape, positive=False):
        a = rng.random(shape) + 0.5 if positive else rng.standard_normal(shape) * 0.3
        return numpy_helper.from_array(a.astype(np.float32), name)

    inits = [init("w", 6, 3, 3, 3), init("g", 6, positive=True), init("b", 6), init("m", 6),
             init("v", 6, positive=True),
             numpy_helper.from_array(np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64), "pads"),
             numpy_helper.from_array(np.array([2, 3], np.int64), "axes"), init("fw", 6, 4), init("fb", 4)]
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"]),
             helper.make_node("Conv", ["p", "w"], ["c"], kernel_shape=[3, 3], strides=[2, 2]),
             helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"], epsilon=1e-3),
             helper.make_node("Relu", ["n"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["mp"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
             helper.make_node("AveragePool", ["mp"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("ReduceMean", ["ap", "axes"], ["gm"], keepdims=0),
             helper.make_node("MatMul", ["gm", "fw"], ["mm"]),
             helper.make_node("Add", ["mm", "fb"], ["y"])]
    graph = helper.make_graph(nodes, "hand", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "hand.onnx"))
    imported = import_model(tmp_path / "hand.onnx")
    assert [layer.kind for layer in imported.spec.blocks] == ["conv", "maxpool", "avgpool", "globalpool", "flatten",
                                                               "fc"]
    assert imported.spec.blocks[0].padding == (0, 1, 0, 1) and imported.spec.blocks[0].act == "relu"
    x = np.random.default_rng(4).standard_normal((3, 3, 16, 16)).astype(np.float32)
    with torch.no_grad():
        got = imported.model(torch.from_numpy(x)).numpy()
    assert float(np.abs(got - _onnxruntime(tmp_path / "hand.onnx", x)).max()) <= ATOL
