"""BatchNorm folding: conv(x, w) + b followed by BN (eval statistics) equals conv(x, w * f) + (b - mean) * f + beta.

Folding happens before weight quantization, so the int8 weights quantize what the firmware really computes.
QAT uses `bn_factor` so that its fake-quantized weights fold the same way as the converter's.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from tinycore.errors import UnsupportedError


def bn_factor(bn: nn.BatchNorm2d, where: str = "BatchNorm2d") -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel (scale f, shift) of a BN in eval mode: bn(y) = y * f + shift, as torch tensors (autograd kept)."""
    if bn.running_mean is None or bn.running_var is None:
        raise UnsupportedError(f"{where}: BatchNorm2d without running statistics (track_running_stats=False) "
                               f"cannot be folded; enable track_running_stats")
    gamma = bn.weight if bn.weight is not None else torch.ones_like(bn.running_var)
    beta = bn.bias if bn.bias is not None else torch.zeros_like(bn.running_mean)
    f = gamma / torch.sqrt(bn.running_var + bn.eps)
    return f, beta - bn.running_mean * f


def fold_bn(weight: np.ndarray, bias: np.ndarray | None, bn: nn.BatchNorm2d,
            where: str = "BatchNorm2d") -> tuple[np.ndarray, np.ndarray]:
    """Fold BN into conv weights (Co, ...) and bias (Co,), in float64; returns new (weight, bias)."""
    with torch.no_grad():
        f, shift = (t.detach().double().numpy() for t in bn_factor(bn, where))
    w = np.asarray(weight, dtype=np.float64)
    b = np.zeros(w.shape[0]) if bias is None else np.asarray(bias, dtype=np.float64)
    if f.shape[0] != w.shape[0]:
        raise UnsupportedError(f"{where}: BatchNorm2d has {f.shape[0]} channels, the conv before it {w.shape[0]}")
    return w * f.reshape(-1, *([1] * (w.ndim - 1))), b * f + shift
