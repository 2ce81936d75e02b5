"""Typed op attributes: a graph whose op has a missing, misspelt, extra, wrongly typed or out-of-range attribute
fails to load (or to validate, where convert and import build it) with a message naming the op and the key."""
import json
import zipfile

import numpy as np
import pytest

from tinycore.errors import GraphValidationError
from tinycore.ir import Graph, Op, Tensor, load_graph, save_graph, validate_graph
from tinycore.ir.attrs import ATTR_RECORDS, ConvAttrs, attr_names, parse_attrs
from tinycore.ir.schema import SCHEMAS

CONV = {"stride_h": 1, "stride_w": 1, "dilation_h": 1, "dilation_w": 1, "pad_top": 1, "pad_bottom": 1,
        "pad_left": 1, "pad_right": 1, "input_zp": -3, "output_zp": 5, "act_min": -128, "act_max": 127}


def _conv_graph(attrs: dict) -> Graph:
    """x (1,5,5,2) -> conv2d_s8 3x3, 3 channels, same padding -> y (1,5,5,3)."""
    rng = np.random.default_rng(0)
    t = [Tensor("x", (1, 5, 5, 2), "int8", (0.05,), -3),
         Tensor("w", (3, 3, 3, 2), "int8", (0.01, 0.02, 0.03), 0, rng.integers(-127, 128, (3, 3, 3, 2), np.int8)),
         Tensor("b", (3,), "int32", data=np.zeros(3, np.int32)),
         Tensor("m", (3,), "int32", data=np.full(3, 1 << 30, np.int32)),
         Tensor("s", (3,), "int32", data=np.full(3, -4, np.int32)),
         Tensor("y", (1, 5, 5, 3), "int8", (0.1,), 5)]
    op = Op("conv2d_s8", "stem.conv", ["x", "w", "b", "m", "s"], ["y"], dict(attrs))
    return Graph({x.name: x for x in t}, [op], ["x"], ["y"])


def _write_with_attrs(tmp_path, attrs: dict):
    """A graph file whose op attributes are `attrs`, written past save_graph's own validation."""
    good = save_graph(_conv_graph(CONV), tmp_path / "good.graph")
    bad = tmp_path / "bad.graph"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "graph.json":
                doc = json.loads(data)
                doc["ops"][0]["attrs"] = attrs
                data = json.dumps(doc).encode()
            zout.writestr(item, data)
    return bad


def test_good_graph_loads_and_parses(tmp_path):
    g = load_graph(save_graph(_conv_graph(CONV), tmp_path / "g.graph"))
    rec = parse_attrs("conv2d_s8", g.ops[0].attrs)
    assert isinstance(rec, ConvAttrs) and rec.dilation_h == 1 and rec.input_zp == -3


def _without(key):
    return {k: v for k, v in CONV.items() if k != key}


@pytest.mark.parametrize("attrs, message", [
    (_without("dilation_h"), "missing attribute 'dilation_h'"),
    ({**_without("stride_w"), "strid_w": 1}, "unknown attribute 'strid_w' (did you mean 'stride_w'?)"),
    ({**CONV, "depth_multiplier": 1}, "unknown attribute 'depth_multiplier'"),
    ({**CONV, "stride_h": 1.0}, "attribute 'stride_h' must be an integer, got 1.0"),
    ({**CONV, "pad_top": True}, "attribute 'pad_top' must be an integer, got True"),
    ({**CONV, "act_max": "127"}, "attribute 'act_max' must be an integer"),
    ({**CONV, "stride_h": 0}, "attribute 'stride_h' is 0, outside [1, "),
    ({**CONV, "output_zp": 200}, "attribute 'output_zp' is 200, outside [-128, 127]"),
    ({**CONV, "act_min": 10, "act_max": 9}, "activation clamp [10, 9] is empty"),
])
def test_bad_attribute_fails_to_load_naming_op_and_key(tmp_path, attrs, message):
    path = _write_with_attrs(tmp_path, attrs)
    with pytest.raises(GraphValidationError) as e:
        load_graph(path)
    assert str(e.value).startswith(f"{path}: op 0 conv2d_s8 'stem.conv': ")
    assert message in str(e.value)


def test_in_memory_graph_is_checked_too():
    """quant convert, tflite import and codegen validate the graphs they build with the same check."""
    with pytest.raises(GraphValidationError, match="op 0 conv2d_s8 'stem.conv': missing attribute 'dilation_w'"):
        validate_graph(_conv_graph(_without("dilation_w")), "quantized net")


def test_every_op_kind_has_a_record_and_the_schema_lists_its_fields():
    assert set(ATTR_RECORDS) == set(SCHEMAS)
    for kind, schema in SCHEMAS.items():
        assert schema.attrs == attr_names(ATTR_RECORDS[kind]) and len(set(schema.attrs)) == len(schema.attrs)
    assert "dilation_h" in SCHEMAS["conv2d_s8"].attrs and "dilation_h" not in SCHEMAS["max_pool2d_s8"].attrs


def test_reshape_shape_and_records_are_frozen():
    assert parse_attrs("reshape", {"shape": [1, 12]}).shape == (1, 12)
    with pytest.raises(GraphValidationError, match="'shape' must be a list of positive integers"):
        parse_attrs("reshape", {"shape": [1, 0]})
    rec = parse_attrs("conv2d_s8", CONV)
    with pytest.raises(AttributeError):
        rec.stride_h = 2
