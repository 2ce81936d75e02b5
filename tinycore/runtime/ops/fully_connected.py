"""fully_connected_s8: int8 matrix-vector product, per-output requantization."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.ops.conv2d import output_stage


def fully_connected_s8(x, weights, bias, mult, shift, **a) -> NDArray[np.int8]:
    """x (1, ..., N) flattened in row-major order, weights (O, N) -> (1, O)."""
    xi = x.reshape(-1).astype(np.float64) - a["input_zp"]
    acc = (weights.astype(np.float64) @ xi).astype(np.int64) + bias.astype(np.int64)
    return output_stage(acc, mult, shift, a)[None]
