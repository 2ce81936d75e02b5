"""A TensorFlow-converted int8 model with HARD_SWISH, LOGISTIC, a broadcast MUL, RESIZE_NEAREST_NEIGHBOR
(half_pixel_centers, as tf.image.resize writes it) and CONCATENATION (axis -1): imported, it runs byte for byte as
in TFLite Micro, in numpy and in host C. Made by fixtures/make_detection_fixtures.py."""
from pathlib import Path

import numpy as np
import pytest

from tests.tflite.tflm import random_inputs, tflm_outputs
from tinycore.export.batch import run_models_on_host
from tinycore.runtime import run
from tinycore.tflite import import_tflite

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "se_neck.tflite"


@pytest.fixture(scope="module")
def graph():
    return import_tflite(FIXTURE)


def test_import_maps_every_op(graph):
    kinds = [op.kind for op in graph.ops]
    assert kinds == ["conv2d_s8", "hard_swish_s8", "mean_s8", "conv2d_s8", "conv2d_s8", "logistic_s8", "mul_s8",
                     "conv2d_s8", "resize_nearest_s8", "concatenation_s8", "conv2d_s8"]
    resize = graph.ops[kinds.index("resize_nearest_s8")]
    assert resize.attrs == {"out_h": 8, "out_w": 8, "align_corners": 0, "half_pixel_centers": 1}
    assert graph.ops[kinds.index("concatenation_s8")].attrs == {"axis": 3}


@pytest.mark.oracle
def test_runtime_equals_tflm(graph):
    xs = random_inputs((1, 8, 8, 3), 12, 0)
    outs = [run(graph, x) for x in xs]
    assert len({o.tobytes() for o in outs}) == len(xs)
    for i, (o, ref) in enumerate(zip(outs, tflm_outputs(FIXTURE, xs))):
        np.testing.assert_array_equal(o.reshape(-1), ref.reshape(-1), err_msg=f"input {i}")


def test_host_c_equals_runtime(graph, tmp_path):
    xs = random_inputs((1, 8, 8, 3), 4, 1)
    (got,) = run_models_on_host([(graph, xs)], tmp_path)
    for x, o in zip(xs, got):
        np.testing.assert_array_equal(o, run(graph, x).reshape(-1))
