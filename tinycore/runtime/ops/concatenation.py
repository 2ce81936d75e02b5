"""concatenation_s8: TFLite CONCATENATION (int8): inputs and output share one quantization, so it only copies."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def concatenation_s8(*xs, axis: int) -> NDArray[np.int8]:
    return np.concatenate([np.asarray(x, dtype=np.int8) for x in xs], axis=axis)
