"""Spec JSON round trip and validation errors."""
import json

import pytest

from tinycore.errors import TinycoreError
from tinycore.spec import (ZOO, Conv, FC, InputSpec, MBConv, ModelSpec, Residual, SpecError, layer_from_dict,
                           spec_from_json, spec_to_json, validate, zoo_spec)
from tests.spec.cases import CASES

ALL_SPECS = {**{n: zoo_spec(n) for n in ZOO}, **CASES}


@pytest.mark.parametrize("name", ALL_SPECS)
def test_json_round_trip_is_exact(name):
    spec = ALL_SPECS[name]
    text = spec_to_json(spec)
    back = spec_from_json(text)
    assert back == spec
    assert spec_to_json(back) == text
    assert json.loads(text)["version"] == 1


def test_hand_written_json_keeps_its_forms():
    text = json.dumps({"input": {"channels": 1, "height": 49, "width": 10},
                       "stem": [{"kind": "conv", "out": 8, "kernel": [10, 4], "stride": 2, "padding": [5, 1]}],
                       "head": [{"kind": "globalpool"}, {"kind": "flatten"}, {"kind": "fc", "out": 3}]})
    spec = spec_from_json(text)
    assert spec.stem[0] == Conv(8, kernel=(10, 4), stride=2, padding=(5, 1))
    d = json.loads(spec_to_json(spec))
    assert d["stem"][0]["kernel"] == [10, 4] and d["stem"][0]["stride"] == 2
    assert d["stem"][0]["act"] == "relu" and d["stem"][0]["bn"] is True  # defaults are written out


def test_residual_body_round_trips():
    layer = Residual(body=(Conv(4), Residual(body=(MBConv(4, expand=1),))))
    spec = ModelSpec(InputSpec(channels=4, height=5, width=5), blocks=(layer,))
    assert spec_from_json(spec_to_json(spec)) == spec


def test_unknown_kind_lists_known_kinds():
    with pytest.raises(SpecError) as e:
        layer_from_dict({"kind": "convv", "out": 3}, "blocks[2]")
    msg = str(e.value)
    assert "blocks[2]" in msg and "did you mean conv" in msg
    for kind in ("conv", "dwsep", "mbconv", "residual", "avgpool", "maxpool", "globalpool", "flatten", "fc",
                 "dropout"):
        assert kind in msg
    assert isinstance(e.value, TinycoreError)


def test_unknown_field_and_missing_field():
    with pytest.raises(SpecError, match=r"blocks\[0\] \(conv\): unknown fields \['kernal'\]"):
        ModelSpec.from_dict({"input": {"features": 4}, "blocks": [{"kind": "conv", "out": 3, "kernal": 3}]})
    with pytest.raises(SpecError, match=r"head\[0\] \(fc\).*out"):
        ModelSpec.from_dict({"input": {"features": 4}, "head": [{"kind": "fc"}]})


def test_wrong_version_and_bad_json():
    with pytest.raises(SpecError, match="version 7"):
        ModelSpec.from_dict({"version": 7, "input": {"features": 4}})
    with pytest.raises(SpecError, match="not valid JSON"):
        spec_from_json("{oops")


def _img(*blocks, c=3, h=8, w=8):
    return ModelSpec(InputSpec(channels=c, height=h, width=w), blocks=tuple(blocks))


@pytest.mark.parametrize("layer, pattern", [
    (Conv(8, kernel=0), r"blocks\.0 \(conv\): kernel must be an int >= 1"),
    (Conv(8, kernel=(3, 3, 3)), r"kernel must be"),
    (Conv(8, stride=0), r"stride must be"),
    (MBConv(8, kernel=4), r"blocks\.0 \(mbconv\): kernel must be an odd int"),
    (MBConv(8, expand=0.5), r"expand ratio must be a number >= 1"),
    (Conv(0), r"blocks\.0 \(conv\): channels/out must be a positive int, got 0"),
    (Conv(-4), r"positive int, got -4"),
    (Conv(8, act="gelu"), r"act 'gelu' is not one of none, relu, relu6"),
    (Conv(8, padding="full"), r"padding must be 'same', 'valid'"),
    (FC(3), r"blocks\.0 \(fc\): needs a 1-D input, got shape \(3, 8, 8\); add a 'flatten'"),
    (Residual(body=(Conv(5),)), r"body maps \(3, 8, 8\) to \(5, 8, 8\)"),
])
def test_validation_errors_name_the_layer(layer, pattern):
    with pytest.raises(SpecError, match=pattern):
        validate(_img(layer))


def test_vanishing_map_names_layer_index_and_shape():
    spec = _img(*[Conv(16, kernel=3, stride=2, padding="valid") for _ in range(3)])
    with pytest.raises(SpecError) as e:
        validate(spec)
    msg = str(e.value)
    assert msg.startswith("blocks.2 (conv): kernel 3x3 stride 2x2")
    assert "on input (16, 1, 1) leaves a 0x0 map" in msg


def test_bad_input():
    with pytest.raises(SpecError, match="positive int"):
        validate(ModelSpec(InputSpec(channels=0, height=8, width=8), head=(FC(2),)))
    with pytest.raises(SpecError, match="either features"):
        validate(ModelSpec(InputSpec(channels=1, height=8, width=8, features=3), head=(FC(2),)))
    with pytest.raises(SpecError, match="no layers"):
        validate(ModelSpec(InputSpec(features=3)))


def test_unknown_zoo_name_suggests_close_match():
    with pytest.raises(SpecError, match=r"unknown zoo model 'mobilenet_v3'; did you mean mobilenet_v2"):
        zoo_spec("mobilenet_v3")
    with pytest.raises(SpecError, match="did you mean tc_resnet[?] known: ds_cnn_s, ds_cnn, tc_resnet, mobilenet_v1, "
                                        "mobilenet_v1_025, mobilenet_v2, dense_autoencoder"):
        zoo_spec("resnet")
