"""Transformer ops against float: LayerNorm's integer error with a stated bound, the integer square root, GELU
table vs the paper's x * sigmoid(1.702 x) form. (Bit-exactness against C is in tests/export via tests/cases.)"""
import math

import numpy as np

from tinycore.runtime.fixedpoint import quantize_float_s8
from tinycore.runtime.ops.gelu import gelu_float, gelu_s8, gelu_table
from tinycore.runtime.ops.layer_norm import isqrt_fixed, layer_norm_params, layer_norm_s8
from tinycore.runtime.ops.transpose import transpose_s8


def _float_layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def layer_norm_error_lsb(d: int, seed: int) -> tuple[float, float]:
    """(max, mean) |int8 LayerNorm - float LayerNorm of the same int8 input| in output LSBs over 64 rows."""
    rng = np.random.default_rng(seed)
    in_scale, in_zp = 0.05, 3
    rows = rng.normal(0, 1, (64, d)) * rng.uniform(0.1, 2.5, (64, 1)) + rng.normal(0, 1, (64, 1))
    xq = quantize_float_s8(rows, in_scale, in_zp).reshape(1, 64, d)
    gamma, beta = rng.uniform(0.5, 1.5, d), rng.normal(0, 0.2, d)
    want = _float_layer_norm(in_scale * (xq.astype(np.float64) - in_zp), gamma, beta)
    out_scale, out_zp = float(np.abs(want).max()) / 127.0, 0
    p = layer_norm_params(gamma, beta, out_scale, out_zp)
    got = out_scale * (layer_norm_s8(xq, p["gamma"], p["bias"], **p["attrs"]).astype(np.float64) - out_zp)
    err = np.abs(got - want) / out_scale
    return float(err.max()), float(err.mean())


def test_layer_norm_error_against_float_is_within_bound():
    """Bound: 1.5 output LSB (0.5 from output rounding, the rest from int8 gamma and the Q4 mean)."""
    for d in (16, 64, 192):
        worst, mean = layer_norm_error_lsb(d, seed=d)
        assert worst <= 1.5, (d, worst)
        assert mean <= 0.5, (d, mean)


def test_layer_norm_constant_row_gives_beta():
    p = layer_norm_params(np.ones(8), np.linspace(-1, 1, 8), 1 / 64, 0)
    y = layer_norm_s8(np.full((1, 2, 8), 17, np.int8), p["gamma"], p["bias"], **p["attrs"])
    np.testing.assert_array_equal(y[0, 0], np.round(np.linspace(-1, 1, 8) * 64).clip(-128, 127))


def test_isqrt_fixed_is_floor_sqrt():
    """4 Newton steps from 3 * 2**13 give floor(sqrt(v)) on [2**28, 2**30) (3 steps: off by 1 on 0.4 %)."""
    v = np.concatenate([np.random.default_rng(0).integers(1 << 28, 1 << 30, 20000), [1 << 28, (1 << 30) - 1]])
    r = isqrt_fixed(v)
    exact = np.array([math.isqrt(int(a)) for a in v])
    np.testing.assert_array_equal(r, exact)


def test_gelu_table_is_within_half_an_lsb_and_beats_the_sigmoid_form():
    in_scale, in_zp, out_scale, out_zp = 0.05, -10, 0.03, -20
    table = gelu_table(in_scale, in_zp, out_scale, out_zp)
    q = np.arange(-128, 128).astype(np.int8)
    real = in_scale * (q.astype(np.float64) - in_zp)
    want = gelu_float(real)
    inside = (want / out_scale + out_zp >= -128) & (want / out_scale + out_zp <= 127)
    got = out_scale * (gelu_s8(q, table).astype(np.float64) - out_zp)
    assert np.abs(got - want)[inside].max() / out_scale <= 0.5 + 1e-4
    sigmoid_form = real / (1.0 + np.exp(-1.702 * real))  # MCUFormer's approximation, before any integer rounding
    assert np.abs(sigmoid_form - want).max() / out_scale > 0.5


def test_transpose_splits_heads():
    x = np.arange(24, dtype=np.int8).reshape(1, 2, 3, 4)  # (1, T, H, Dh)
    y = transpose_s8(x, (0, 2, 1, 3))
    assert y.shape == (1, 3, 2, 4) and y[0, 2, 1, 3] == x[0, 1, 2, 3]
