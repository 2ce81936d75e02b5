"""Build single-op integer graphs directly with numpy (no torch): the shared vocabulary of the case tables.

Multipliers are chosen as a quantizer would: real multiplier = (wanted output spread) / (accumulator spread),
turned into (Q31 mult, shift) by TFLite's QuantizeMultiplier, so outputs cover the int8 range without all
saturating; `gain` scales that choice (gain >> 1 saturates, gain << 1 collapses toward the zero point).
"""
from __future__ import annotations

import numpy as np

from tinycore.ir import SCHEMAS, Graph, Op, Tensor
from tinycore.runtime.fixedpoint import quantize_multiplier


def act(name: str, shape: tuple[int, ...], zp: int = 0, scale: float = 0.05) -> Tensor:
    return Tensor(name, tuple(int(d) for d in shape), "int8", (scale,), int(zp))


def const(name: str, arr: np.ndarray) -> Tensor:
    return Tensor(name, tuple(arr.shape), str(arr.dtype), (1.0,), 0, arr)


def weights(rng: np.random.Generator, shape: tuple[int, ...], extreme: bool = False,
            std: float = 45.0) -> np.ndarray:
    """Symmetric int8 weights in [-127, 127]; `extreme` puts all of them at +-127 (worst-case accumulators)."""
    if extreme:
        return (rng.choice([-127, 127], size=shape)).astype(np.int8)
    return np.clip(np.round(rng.normal(0, std, size=shape)), -127, 127).astype(np.int8)


def requant(rng: np.random.Generator, n: int, acc_std: float, gain: float = 1.0,
            out_std: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (mult, shift) arrays for accumulators of spread acc_std; channels vary by a factor 4."""
    mults, shifts = [], []
    for _ in range(n):
        real = gain * out_std / max(acc_std, 1e-9) * float(rng.uniform(0.5, 2.0))
        m, s = quantize_multiplier(real)
        mults.append(m)
        shifts.append(s)
    return np.array(mults, np.int32), np.array(shifts, np.int32)


def zero_point(rng: np.random.Generator) -> int:
    return int(rng.integers(-128, 128))


def same_pads(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TFLite SAME padding (before, after): the extra pixel goes after."""
    ek = (k - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + ek - size, 0)
    return total // 2, total - total // 2


def single_op(kind: str, x: Tensor, consts: list[Tensor], attrs: dict, out_zp: int = 0,
              extra_inputs: list[Tensor] = ()) -> Graph:
    """Graph input x -> one op -> graph output y (shape from the op schema)."""
    inputs = [x, *extra_inputs, *consts]
    shapes = [t.shape for t in inputs]
    out_shape = tuple(int(d) for d in SCHEMAS[kind].infer(shapes, attrs))
    y = act("y", out_shape, out_zp)
    tensors = {t.name: t for t in [*inputs, y]}
    return Graph(tensors, [Op(kind, kind, [t.name for t in inputs], ["y"], dict(attrs))], [x.name], ["y"])


def add_params(rng: np.random.Generator, s1: float, s2: float, s_out: float) -> dict:
    """TFLite ADD int8 preparation: left shift 20, inputs rescaled to twice the larger input scale."""
    twice_max = 2 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << 20) * s_out))
    return dict(left_shift=20, input1_mult=m1, input1_shift=sh1, input2_mult=m2, input2_shift=sh2,
                output_mult=mo, output_shift=sho)
