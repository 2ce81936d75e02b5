"""Graph -> .tflite: TFLite Micro runs the export with our runtime's bytes; import(export(g)) runs the same."""
import numpy as np
import pytest

from tests.tflite.random_graphs import GraphMaker
from tests.tflite.tflm import random_inputs, tflm_outputs
from tinycore.errors import UnsupportedError
from tinycore.runtime import run
from tinycore.tflite import convert, export_tflite, export_tflite_bytes, import_tflite
from tinycore.tflite.reader import parse_model


def resnet_like(seed: int):
    g = GraphMaker(seed, (1, 11, 9, 3))
    g.conv(8, 3, stride=2, pads=(1, 1, 1, 1), act=1)  # SAME
    skip = g.x
    g.conv(0, 3, depthwise=True, dm=2, pads=(1, 1, 1, 1), act=3)  # depth multiplier 2, RELU6
    g.conv(8, 1, act=0, per_tensor=True)
    g.add(skip, act=1)
    g.conv(8, 3, pads=(2, 0, 1, 0), act=0)  # no SAME/VALID equivalent: exported as PAD + VALID conv
    g.pad((1, 1, 0, 1))
    g.pad((0, 1, 1, 0), value=-100)  # not the zero point: PADV2
    g.quantize()
    g.pool("max_pool2d_s8", 2, 2)
    g.pool("avg_pool2d_s8", 3, 1, pads=(1, 1, 1, 1))  # SAME average pool (counts only real pixels)
    g.mean()
    g.reshape((1, 8))
    g.fc(10, act=1, per_tensor=False)
    g.fc(6, act=0)
    g.softmax()
    return g.finish()


def dilated(seed: int):
    g = GraphMaker(seed, (1, 12, 12, 4))
    g.conv(6, 3, dilation=2, pads=(2, 2, 2, 2), act=2)  # SAME with dilation 2, RELU_N1_TO_1
    g.conv(0, 3, depthwise=True, stride=2, pads=(0, 0, 0, 0), act=0)  # VALID
    g.pool("avg_pool2d_s8", 2, 2)
    g.reshape((1, 2 * 2 * 6))
    g.fc(5, act=1)
    return g.finish()


@pytest.mark.oracle
@pytest.mark.parametrize("make,seed", [(resnet_like, 0), (resnet_like, 1), (dilated, 2), (dilated, 3)])
def test_export_runs_in_tflm_with_our_bytes(make, seed):
    graph = make(seed)
    data = export_tflite_bytes(graph)
    xs = random_inputs(graph.input_tensor().shape, 20, seed)
    outs = [run(graph, x) for x in xs]
    assert len({o.tobytes() for o in outs}) > 5  # the outputs vary: the comparison is not vacuous
    for i, (x, ref) in enumerate(zip(xs, tflm_outputs(data, xs))):
        np.testing.assert_array_equal(outs[i].reshape(ref.shape), ref, err_msg=f"input {i}")


@pytest.mark.parametrize("make,seed", [(resnet_like, 4), (dilated, 5)])
def test_import_of_export_gives_same_outputs(make, seed, tmp_path):
    graph = make(seed)
    path = export_tflite(graph, tmp_path / "m.tflite")
    back = import_tflite(path)
    kinds = [op.kind for op in back.ops]
    assert kinds.count("pad_s8") == sum(op.kind == "pad_s8" for op in graph.ops) + (make is resnet_like)
    for x in random_inputs(graph.input_tensor().shape, 20, seed):
        np.testing.assert_array_equal(run(back, x), run(graph, x))
    # .tflite -> .graph -> .tflite keeps the same operators
    convert(path, tmp_path / "m.graph")
    again = convert(tmp_path / "m.graph", tmp_path / "again.tflite")
    assert [o.op for o in parse_model(again.read_bytes()).operators] == [
        o.op for o in parse_model(path.read_bytes()).operators]


def test_export_writes_per_channel_weights_and_fused_activations():
    model = parse_model(export_tflite_bytes(resnet_like(0)))
    conv = model.operators[0]
    assert conv.op == "CONV_2D" and conv.options["Padding"] == 0 and conv.options["FusedActivationFunction"] == 1
    w = model.tensors[conv.inputs[1]]
    assert w.dtype == "int8" and len(w.scale) == 8 and w.zero_point == (0,) * 8 and w.quantized_dimension == 0
    dw = model.operators[1]
    assert dw.op == "DEPTHWISE_CONV_2D" and dw.options["DepthMultiplier"] == 2
    assert dw.options["FusedActivationFunction"] == 3
    assert model.tensors[dw.inputs[1]].quantized_dimension == 3
    assert [o.op for o in model.operators][3:8] == ["ADD", "PAD", "CONV_2D", "PAD", "PADV2"]
    assert model.tensors[model.inputs[0]].dtype == "int8" and model.tensors[model.outputs[0]].dtype == "int8"


def test_export_refuses_a_clamp_tflite_cannot_express():
    graph = resnet_like(0)
    graph.ops[0].attrs["act_min"] = -5  # neither RELU nor RELU6 in this output's quantization
    with pytest.raises(UnsupportedError, match=r"op 0 conv2d_s8 .*clamp \[-5, 127\]"):
        export_tflite_bytes(graph)


def test_export_refuses_multipliers_tflm_would_not_compute():
    graph = resnet_like(0)
    mult = graph.tensors[graph.ops[0].inputs[3]].data
    mult[3] += 1
    with pytest.raises(UnsupportedError, match=r"multiplier: the graph has .* at channel 3"):
        export_tflite_bytes(graph)


def test_export_refuses_pool_padding_that_is_neither_same_nor_valid():
    g = GraphMaker(0, (1, 6, 6, 2))
    g.pool("avg_pool2d_s8", 3, 1, pads=(2, 0, 0, 0))
    with pytest.raises(UnsupportedError, match="neither SAME nor VALID"):
        export_tflite_bytes(g.finish())
