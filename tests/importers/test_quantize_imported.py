"""An imported model goes on through the int8 flow: tinycore.quant.quantize of the built float module, and the
integer runtime's dequantized output stays near the float one; the hard-sigmoid SE gate too (folded into its conv,
tests/quant/test_hard_sigmoid.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.importers.models import make
from tinycore.importers import import_model
from tinycore.quant import dequantize_output, quantize, quantize_input
from tinycore.runtime import run

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.*deprecated:DeprecationWarning")


def _imported(name: str, tmp_path):
    model, shape = make(name)
    torch.jit.trace(model, torch.randn(1, *shape)).save(str(tmp_path / "m.pt"))
    return import_model(tmp_path / "m.pt", shape), shape


def _calibration(shape: tuple[int, ...]) -> list[torch.Tensor]:
    return [torch.randn(16, *shape, generator=torch.Generator().manual_seed(i)) for i in range(4)]


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_sigmoid", "mobilenet_v3_hsigmoid",
                                  "resnet"])
def test_imported_model_quantizes_and_stays_close(name, tmp_path):
    imported, shape = _imported(name, tmp_path)
    graph = quantize(imported.model, _calibration(shape))
    x = torch.randn(4, *shape, generator=torch.Generator().manual_seed(9))
    want = imported.model(x).detach().numpy()
    got = np.stack([np.asarray(dequantize_output(graph, run(graph, quantize_input(graph, x[i:i + 1].numpy())[0])))
                    .reshape(want.shape[1:]) for i in range(len(x))])
    assert float(np.abs(got - want).max()) <= 0.1 * float(np.abs(want).max())

