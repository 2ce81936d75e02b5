"""The layers importers need: dwconv, act, se (MobileNetV3 squeeze-and-excitation), hswish/hsigmoid/sigmoid and a
residual with a projection shortcut: JSON round trip, shapes and costs, build to torch, and named errors."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from tinycore.errors import SpecError
from tinycore.spec import (SE, Act, Conv, DWConv, InputSpec, ModelSpec, Residual, analyze, build_model, spec_from_json,
                           spec_to_json)

SPEC = ModelSpec(InputSpec(8, 8, 8), blocks=(
    DWConv(kernel=3, stride=2, padding=(0, 1, 0, 1), act="hswish", bn=False),
    SE(squeeze=2, act="relu", gate="hsigmoid"),
    Residual(body=(Conv(16, 3, 2, 1, "relu"), Conv(16, 3, 1, 1, "none")), shortcut=(Conv(16, 1, 2, 0, "none"),)),
    Act("sigmoid"),
))


def test_round_trip_and_costs():
    assert spec_from_json(spec_to_json(SPEC)) == SPEC
    infos = analyze(SPEC)
    assert [i.out_shape for i in infos] == [(8, 4, 4), (8, 4, 4), (16, 2, 2), (16, 2, 2)]
    assert infos[0].macs == 4 * 4 * 8 * 9 and infos[0].params == 8 * 9 + 8
    assert infos[1].macs == 2 * 8 * 2 and infos[1].params == 2 * 8 * 2 + 8 + 2
    assert infos[2].macs == 2 * 2 * 16 * (9 * 8 + 9 * 16 + 8)


def test_build_matches_the_layers():
    model = build_model(SPEC).eval()
    se = model.blocks[1]
    x = torch.randn(2, 8, 8, 8)
    y = model.blocks[0](x)
    gate = nn.functional.hardsigmoid(se.expand(torch.relu(se.reduce(y.mean((2, 3), keepdim=True)))))
    assert torch.allclose(se(y), y * gate)
    assert isinstance(model.blocks[0].act, nn.Hardswish) and isinstance(model.blocks[3], nn.Sigmoid)
    res = model.blocks[2]
    z = se(y)
    assert torch.allclose(res(z), res.shortcut(z) + res.body(z))
    assert model(x).shape == (2, 16, 2, 2)


@pytest.mark.parametrize("layer, pattern", [
    (SE(squeeze=2, gate="relu"), "gate 'relu' is not one of hsigmoid, sigmoid"),
    (Act("swish"), "act 'swish' is not one of"),
    (Residual(body=(Conv(16, 3, 2, 1),), shortcut=(Conv(16, 1, 1, 0),)), "shortcut's shape is"),
])
def test_errors_name_the_layer(layer, pattern):
    with pytest.raises(SpecError, match=pattern):
        analyze(ModelSpec(InputSpec(8, 8, 8), blocks=(layer,)))
