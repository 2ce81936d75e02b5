"""transpose_s8: permute the axes of an int8 tensor (heads: (1, T, H, Dh) <-> (1, H, T, Dh)); rank <= 4.

Moves bytes only; the output has the input's quantization. C twin: tc_transpose_s8.c.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def transpose_s8(x, perm: tuple[int, ...]) -> NDArray[np.int8]:
    """y = x.transpose(perm): y.shape[i] = x.shape[perm[i]]."""
    return np.ascontiguousarray(np.transpose(x, tuple(perm)))
