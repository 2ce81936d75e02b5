"""The framework-neutral float graph the readers produce: NCHW, one output per node, weights as numpy arrays.

Ops and attrs (`FloatNode.attrs`):
- conv: weight (O, I/groups, kh, kw), bias (O,) or None, stride (sh, sw), pads (top, bottom, left, right), groups
- linear: weight (O, I), bias (O,) or None
- bn: scale (C,), shift (C,) -- inference BatchNorm as y = x * scale + shift
- act: kind in tinycore.spec ACTS ('relu', 'relu6', 'hswish', 'hsigmoid', 'sigmoid')
- add, mul: two tensor inputs (elementwise; mul with a broadcast (C, 1, 1) gate is squeeze-and-excitation)
- gap: keepdims (mean over H and W)
- avgpool, maxpool: kernel (kh, kw), stride (sh, sw), pads (top, bottom, left, right)
- flatten, identity, pad: pads (top, bottom, left, right), zero padding only
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

OPS = ("conv", "linear", "bn", "act", "add", "mul", "gap", "avgpool", "maxpool", "flatten", "identity", "pad")


@dataclass
class FloatNode:
    op: str
    inputs: list[str]   # tensor names; weights live in attrs
    output: str
    name: str           # the source's node name or kind, for error messages
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class FloatGraph:
    input: str
    input_shape: tuple[int, ...]   # per sample, channels first: (C, H, W) or (N,)
    output: str
    nodes: list[FloatNode]
    source: str                    # the file, for error messages


def bn_fold(gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray, var: np.ndarray, eps: float
            ) -> dict[str, np.ndarray]:
    """BatchNorm in inference as the per-channel (scale, shift) the `bn` op carries."""
    scale = gamma / np.sqrt(var + eps)
    return {"scale": scale.astype(np.float64), "shift": (beta - mean * scale).astype(np.float64)}
