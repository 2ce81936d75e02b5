"""The six shared fixtures import, and our runtime equals TFLite Micro byte for byte on random inputs."""
import numpy as np
import pytest

from tests.tflite.tflm import FIXTURE_NAMES, FIXTURES, random_inputs, tflm_interpreter, tflm_outputs
from tinycore.ir import load_graph
from tinycore.runtime import run
from tinycore.tflite import analyze_ops, convert, import_tflite, load_model


@pytest.mark.oracle
@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_equals_tflm(name, tmp_path):
    path = FIXTURES / f"{name}.tflite"
    graph_path = convert(path, tmp_path / "m.graph")  # through the graph file, as the CLI does
    graph = load_graph(graph_path)
    det = tflm_interpreter(path).get_input_details(0)
    assert tuple(det["shape"]) == graph.input_tensor().shape
    xs = random_inputs(det["shape"], 20, seed=1)
    for i, (x, ref) in enumerate(zip(xs, tflm_outputs(path, xs))):
        y = run(graph, x)
        assert y.dtype == np.int8
        np.testing.assert_array_equal(y.reshape(ref.shape), ref, err_msg=f"{name} input {i}")


def test_kws_ops_and_attributes():
    g = load_model(FIXTURES / "kws_ref_model.tflite")
    assert [op.kind for op in g.ops] == ["conv2d_s8"] + ["depthwise_conv2d_s8", "conv2d_s8"] * 4 + [
        "avg_pool2d_s8", "reshape", "fully_connected_s8", "softmax_s8"]
    first = g.ops[0].attrs  # 49x10 in, 10x4 kernel, stride 2, SAME: 25x5 out; the odd padding row goes to the bottom
    assert (first["pad_top"], first["pad_bottom"], first["pad_left"], first["pad_right"]) == (4, 5, 1, 1)
    assert (first["act_min"], first["act_max"]) == (-128, 127)  # RELU with output zero point -128
    assert g.input_tensor().shape == (1, 49, 10, 1) and g.input_tensor().zero_point == 83
    assert g.tensors[g.ops[0].inputs[1]].scale[:2] == pytest.approx((0.00133184, 0.00074007), rel=1e-5)


def test_person_detect_relu6_and_depth_multiplier():
    g = import_tflite(FIXTURES / "person_detect.tflite")
    op = g.ops[0]
    assert op.kind == "depthwise_conv2d_s8" and op.attrs["depth_multiplier"] == 8
    out = g.tensors[op.outputs[0]]  # scale 6/255, zero point -128: RELU6 is [-128, 127]
    assert (out.zero_point, op.attrs["act_min"], op.attrs["act_max"]) == (-128, -128, 127)


def test_analyze_ops_lists_every_op():
    assert analyze_ops(FIXTURES / "pretrainedResnet_quant.tflite") == [
        ("CONV_2D", 9, True), ("ADD", 3, True), ("AVERAGE_POOL_2D", 1, True), ("RESHAPE", 1, True),
        ("FULLY_CONNECTED", 1, True), ("SOFTMAX", 1, True)]
    assert analyze_ops(FIXTURES / "micro_speech_quantized.tflite") == [
        ("RESHAPE", 1, True), ("DEPTHWISE_CONV_2D", 1, True), ("FULLY_CONNECTED", 1, True), ("SOFTMAX", 1, True)]
