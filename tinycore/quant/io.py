"""Float <-> int8 at the graph's edges, in numpy only (apps, runtime users and firmware tests import it, not torch).

quantize_input takes the float input in the torch layout (N, C, H, W) or (N, F) and gives the graph's int8 layout
(N, H, W, C); dequantize_output gives the torch layout back (a vector, or (N, C, H, W) for a map output).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.errors import TinycoreError
from tinycore.ir.graph import Graph
from tinycore.runtime.fixedpoint import quantize_float_s8


def quantize_input(graph: Graph, x_float: NDArray) -> NDArray[np.int8]:
    """round(x / scale) + zero_point in float32 with rounding half away from zero (TFLite QUANTIZE), clamped:
    the one quantizer, `quantize_float_s8`, that the firmware's C twin matches.

    x_float: (C, H, W) or (N, C, H, W) for image models, (F,) or (N, F) for vector models. Returns (N, H, W, C) or
    (N, F) int8; with N = 1 it is directly the runtime's input.
    """
    t = graph.input_tensor()
    x = np.asarray(x_float, dtype=np.float32)
    if x.ndim == len(t.shape) - 1:
        x = x[None]
    if x.ndim != len(t.shape):
        raise TinycoreError(f"input '{t.name}': expected a float array of rank {len(t.shape)} (batch first), "
                            f"got shape {x.shape}")
    if x.ndim == 4:
        x = x.transpose(0, 2, 3, 1)
    if tuple(x.shape[1:]) != tuple(t.shape[1:]):
        want = (t.shape[3], t.shape[1], t.shape[2]) if len(t.shape) == 4 else t.shape[1:]
        raise TinycoreError(f"input '{t.name}': the graph takes float samples of shape {want} "
                            f"(torch layout), got {x.shape[1:] if x.ndim != 4 else (x.shape[3], *x.shape[1:3])}")
    return quantize_float_s8(x, float(t.scale[0]), int(t.zero_point))


def dequantize_output(graph: Graph, y_int8: NDArray, index: int = 0) -> NDArray[np.float32]:
    """scale * (y - zero_point) of output `index`, put back into the torch layout of the model's output.

    y_int8: one output (its graph shape) or a batch of them (N, *graph shape[1:]).
    """
    t = graph.output_tensor(index)
    y = np.asarray(y_int8)
    if y.size % t.size:
        raise TinycoreError(f"output '{t.name}' has shape {t.shape}; got an array of shape {y.shape}")
    y = y.reshape(-1, *t.shape[1:])
    real = (np.float32(t.scale[0]) * (y.astype(np.float32) - np.float32(t.zero_point))).astype(np.float32)
    src = graph.meta.get("float_sources", {}).get(t.name, {})
    layout = src.get("layout", "nchw" if real.ndim == 4 else "flat")
    if layout == "nchw" and real.ndim == 4:
        return np.ascontiguousarray(real.transpose(0, 3, 1, 2))
    if layout == "chw_flat":
        c, h, w = src["chw"]
        return np.ascontiguousarray(real.reshape(-1, h, w, c).transpose(0, 3, 1, 2).reshape(real.shape[0], -1))
    return real.reshape(real.shape[0], -1) if layout == "flat" and real.ndim == 4 else real
