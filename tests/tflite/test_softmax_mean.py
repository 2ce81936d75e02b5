"""softmax_s8 and mean_s8 against TFLite Micro (through exported one-op models), and the C softmax kernel."""
import ctypes
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tinycore
from tests.tflite.random_graphs import GraphMaker
from tests.tflite.tflm import random_inputs, tflm_outputs
from tinycore.runtime import run
from tinycore.runtime.fixedpoint import requantize, round_div_away
from tinycore.runtime.ops.softmax import softmax_exp_table, softmax_s8
from tinycore.tflite import export_tflite_bytes
from tinycore.tflite.params import softmax_params

KERNELS = Path(tinycore.__file__).parent / "export" / "kernels"


def softmax_graph(n: int, scale: float, zp: int):
    g = GraphMaker(0, (1, n))
    g.tensors[g.x].scale, g.tensors[g.x].zero_point = (scale,), zp
    g.softmax()
    return g.finish()


@pytest.mark.oracle
@pytest.mark.parametrize("n,scale", [(12, 0.1447), (2, 0.0125), (10, 0.5), (511, 0.03), (7, 8.0), (5, 0.0007)])
def test_softmax_equals_tflm(n, scale):
    graph = softmax_graph(n, scale, 14)
    xs = random_inputs((1, n), 30, seed=n)
    # all equal: 1/n each; 511 equal maxima is the largest sum TFLM accepts (512 fails its exponent check)
    xs += [np.full((1, n), v, np.int8) for v in (-128, 0, 127)]
    for x, ref in zip(xs, tflm_outputs(export_tflite_bytes(graph), xs)):
        np.testing.assert_array_equal(run(graph, x), ref)


@pytest.mark.oracle
@pytest.mark.parametrize("hw,seed", [((7, 7), 0), ((5, 3), 1), ((1, 1), 2), ((16, 16), 3), ((3, 11), 4)])
def test_mean_equals_tflm(hw, seed):
    g = GraphMaker(seed, (1, *hw, 6))
    g.mean()
    graph = g.finish()
    xs = random_inputs(graph.input_tensor().shape, 30, seed)
    for x, ref in zip(xs, tflm_outputs(export_tflite_bytes(graph), xs)):
        np.testing.assert_array_equal(run(graph, x), ref)


def test_mean_folds_the_count_into_the_multiplier():
    # TFLM requantizes once with mult*2**s//n; "requantize, then divide by n" differs by 1 LSB on this input
    g = GraphMaker(0, (1, 7, 7, 1))
    g.tensors[g.x].scale, g.tensors[g.x].zero_point = (0.1,), 0
    g.mean()
    graph = g.finish()
    op = graph.ops[0]
    diffs = 0
    for x in random_inputs((1, 7, 7, 1), 200, seed=9):
        two_step = round_div_away(requantize(x.astype(np.int64).sum(), op.attrs["mult"], op.attrs["shift"]), 49)
        diffs += int(two_step + op.attrs["output_zp"]) != int(run(graph, x)[0, 0, 0, 0])
    assert diffs > 0


def test_softmax_known_values():
    p = softmax_params(0.1, 1.0)
    assert p == {"input_mult": 1717986944, "input_left_shift": 23, "diff_min": -248}
    y = softmax_s8(np.array([[0, 0, 0, 0]], np.int8), **p)
    np.testing.assert_array_equal(y, [[-64, -64, -64, -64]])  # 0.25 = 64/256
    y = softmax_s8(np.array([[127, -128]], np.int8), **p)
    np.testing.assert_array_equal(y, [[127, -128]])  # exp(-25.5) is below one output step


@pytest.fixture(scope="module")
def c_softmax(tmp_path_factory):
    out = tmp_path_factory.mktemp("sm") / "libsm.so"
    subprocess.run(["cc", "-std=c99", "-O2", "-Wall", "-Werror", "-shared", "-fPIC", f"-I{KERNELS / 'include'}",
                    str(KERNELS / "portable" / "tc_softmax_s8.c"), "-o", str(out)], check=True)
    lib = ctypes.CDLL(str(out))
    lib.tc_softmax_s8.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, ctypes.c_void_p]
    return lib


@pytest.mark.parametrize("rows,cols,scale", [(1, 12, 0.1447), (3, 10, 0.5), (2, 300, 0.03), (1, 2, 8.0)])
def test_c_softmax_equals_runtime(c_softmax, rows, cols, scale):
    p = softmax_params(scale, 1.0)
    table = softmax_exp_table(**p).astype(np.int32)  # what the exporter writes to Flash
    for seed in range(10):
        x = np.random.default_rng(seed).integers(-128, 128, size=(rows, cols), dtype=np.int8)
        y = np.zeros_like(x)
        c_softmax.tc_softmax_s8(x.ctypes.data, y.ctypes.data, rows, cols, table.ctypes.data)
        np.testing.assert_array_equal(y, softmax_s8(x, **p))
