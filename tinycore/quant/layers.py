"""The float description of a model in graph terms, between capture (torch.fx) and conversion (int8)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch.fx as fx


@dataclass
class Value:
    """A graph activation. layout says how the torch value maps to it: "nchw" (transpose to NHWC), "flat" (as is)
    or "chw_flat" (a flattened (C,H,W) map: graph order is HWC, see `chw`)."""
    name: str
    node: str
    shape: tuple[int, ...]
    layout: str
    chw: tuple[int, int, int] | None = None
    share: str | None = None  # copies the quantization of this value (pools, reshape, pad: TFLite requires it)
    fixed: tuple[float, int] | None = None  # a quantization the op dictates (logistic: 1/256, -128)


@dataclass
class Layer:
    """One integer op to be: float64 weights in torch layout (Co, Ci/groups, KH, KW) or (O, N) in graph column
    order, BN already folded; `act` is the fused clamp in real units."""
    kind: str
    name: str
    modules: list[str]
    inputs: list[str]
    output: str
    attrs: dict[str, Any]
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    act: dict[str, Any] | None = None


@dataclass
class Capture:
    gm: fx.GraphModule
    values: dict[str, Value] = field(default_factory=dict)
    layers: list[Layer] = field(default_factory=list)
    input: str = "input"
    outputs: list[str] = field(default_factory=list)
    float_input_shape: tuple[int, ...] = ()
