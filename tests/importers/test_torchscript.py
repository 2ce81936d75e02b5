"""TorchScript importer: traced small models of every supported node kind parse into a spec whose built float
module gives the traced module's outputs (max abs difference <= 1e-5); an unsupported node is a named error."""
from __future__ import annotations

import pytest
import torch

from tests.importers.models import SUPPORTED, UNSUPPORTED, make
from tinycore.errors import ModelFileError, UnsupportedError
from tinycore.importers import import_model
from tinycore.spec import SE, Conv, DWConv, Residual

ATOL = 1e-5
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.*deprecated:DeprecationWarning")


def _save(name: str, path) -> tuple[torch.nn.Module, tuple[int, ...]]:
    model, shape = make(name)
    torch.jit.trace(model, torch.randn(1, *shape)).save(str(path))
    return model, shape


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_parsed_model_equals_traced(name, tmp_path):
    model, shape = _save(name, tmp_path / f"{name}.pt")
    imported = import_model(tmp_path / f"{name}.pt", shape)
    x = torch.randn(5, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = model(x), imported.model(x)
    assert got.shape == want.shape and float((got - want).abs().max()) <= ATOL
    assert float(want.abs().max()) > 1e-2  # not trivially zero
    assert imported.format == "torchscript" and imported.spec.input.shape() == shape


def test_patterns_become_spec_layers(tmp_path):
    _save("mobilenet_v3_hsigmoid", tmp_path / "v3.pt")
    blocks = import_model(tmp_path / "v3.pt", (3, 16, 16)).spec.blocks
    assert blocks[0] == Conv(out=8, kernel=3, stride=2, padding=1, act="hswish", bn=False)
    res = [b for b in blocks if isinstance(b, Residual)]
    assert len(res) == 2 and res[0].shortcut == ()
    assert [type(x) for x in res[0].body] == [Conv, DWConv, SE, Conv]
    assert res[0].body[2] == SE(squeeze=8, act="relu", gate="hsigmoid")
    _save("resnet", tmp_path / "r.pt")
    blocks = import_model(tmp_path / "r.pt", (3, 16, 16)).spec.blocks
    projected = [b for b in blocks if isinstance(b, Residual) and b.shortcut]
    assert len(projected) == 1 and projected[0].shortcut == (Conv(out=16, kernel=1, stride=2, padding=0, act="none",
                                                                    bn=False),)


@pytest.mark.parametrize("name, node", [("tanh", "aten::tanh"), ("grouped", "groups=2|2 groups")])
def test_unsupported_node_is_named(name, node, tmp_path):
    _save(name, tmp_path / f"{name}.pt")
    with pytest.raises(UnsupportedError, match=node):
        import_model(tmp_path / f"{name}.pt", UNSUPPORTED[name][1])


def test_missing_shape_or_bad_file(tmp_path):
    _save("dense", tmp_path / "d.pt")
    with pytest.raises(ModelFileError, match="input_shape"):
        import_model(tmp_path / "d.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a TorchScript file"):
        import_model(tmp_path / "bad.pt", (20,))
