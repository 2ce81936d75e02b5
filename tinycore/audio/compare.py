"""Firmware int8 features against Python's: which differences the front ends' float rounding explains.

The C front end (tinycore/audio/c: its own float32 FFT, mel sums and log10f from the target's libm) and the torch
one agree within a stated tolerance in float (tests/audio/test_c_frontend.py: 0.01 dB for the dB log-mel, measured
0.003 dB), never bit for bit: the two compute the same sums in other orders. Quantizing is a step function, so
whenever two float values differ at all, some input scale puts a rounding edge between them and their int8 values
differ by one step; no choice of rounding makes that impossible. A difference is therefore explained when it is one
step and Python's float value lies within the tolerance of the rounding edge between the two steps; anything else
means the front ends diverged, and the check fails.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import quantize_float_s8

DB_TOLERANCE = 0.01  # C vs torch dB log-mel, within 80 dB of a clip's largest value (tests/audio/test_c_frontend.py)


def rounding_edge_distance(x: NDArray, scale: float) -> NDArray[np.float64]:
    """Distance (in x's units) from each float value to the nearest rounding edge of quantize_float_s8 at this
    scale: the edges lie at (k + 0.5) * scale whatever the zero point (round half away from zero)."""
    u = np.asarray(x, np.float32) / np.float32(scale)  # the float32 quotient quantize_float_s8 rounds
    return np.abs(np.abs(u.astype(np.float64)) % 1.0 - 0.5) * float(scale)


def feature_flips(firmware: NDArray[np.int8], python_float: NDArray, scale: float, zero_point: int,
                  tolerance: float = DB_TOLERANCE) -> dict:
    """Compare the firmware's int8 features with Python's float features quantized as the graph's input is:
    counts, the largest step, the largest distance of a differing value from its rounding edge, and whether every
    difference is a one-step flip within `tolerance` of an edge (`features_within_tolerance`)."""
    py = quantize_float_s8(python_float, scale, zero_point).astype(np.int64)
    fw = np.asarray(firmware).astype(np.int64)
    if fw.shape != py.shape:
        return {"feature_mismatch_values": int(py.size), "feature_values_checked": int(py.size),
                "feature_mismatch_max_step": None, "feature_mismatch_max_edge_distance": None,
                "features_within_tolerance": False}
    k = np.flatnonzero(fw != py)
    step = int(np.abs(fw.reshape(-1)[k] - py.reshape(-1)[k]).max()) if k.size else 0
    edge = float(rounding_edge_distance(np.asarray(python_float).reshape(-1)[k], scale).max()) if k.size else 0.0
    return {"feature_mismatch_values": int(k.size), "feature_values_checked": int(py.size),
            "feature_mismatch_max_step": step, "feature_mismatch_max_edge_distance": edge,
            "feature_tolerance": tolerance, "features_within_tolerance": bool(step <= 1 and edge <= tolerance)}
