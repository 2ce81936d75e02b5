"""fully_connected_s8: int8 matrix product, per-output requantization; once, or once per token."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.ops.conv2d import output_stage


def fc_rows(x_shape: tuple[int, ...], n_in: int) -> int:
    """How many rows (tokens) an FC of n_in inputs per row reads from x: 1 when x is one flattened vector,
    T for x (1, T, N) (TFLite FULLY_CONNECTED with keep_num_dims on a rank-3 input)."""
    return int(np.prod(x_shape)) // n_in


def fully_connected_s8(x, weights, bias, mult, shift, **a) -> NDArray[np.int8]:
    """x (1, ..., N) flattened in row-major order, weights (O, N) -> (1, O); or x (1, ..., T, N) -> (1, ..., T, O),
    the same weights applied to each of the T rows (tokens) independently."""
    o, n = weights.shape
    rows = fc_rows(x.shape, n)
    xi = x.reshape(rows, n).astype(np.float64) - a["input_zp"]
    acc = (xi @ weights.astype(np.float64).T).astype(np.int64) + bias.astype(np.int64)
    y = output_stage(acc, mult, shift, a)
    return y if rows == 1 else y.reshape(*x.shape[:-1], o)
