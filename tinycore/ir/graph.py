"""The integer graph: the one contract between quantizer, runtime, memory planner and C export.

Layout is NHWC with a batch of 1, as in TFLite: a feature map is (1, H, W, C), a vector is (1, N).
Activations are int8 with one (scale, zero_point) per tensor. Constants (weights, biases, requantization
multipliers and shifts) are tensors with `data`; per-channel weight scales sit in `scale` (one per channel).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

GRAPH_FORMAT_VERSION = 1


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str  # "int8" | "int16" | "int32" | "float32"
    scale: tuple[float, ...] = (1.0,)  # one per tensor, or one per output channel for weights
    zero_point: int = 0
    data: np.ndarray | None = None  # set for constants only

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def itemsize(self) -> int:
        return np.dtype(self.dtype).itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.itemsize


@dataclass
class Op:
    kind: str  # e.g. "conv2d_s8"; the same string names the runtime function and the C kernel
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    tensors: dict[str, Tensor]
    ops: list[Op]
    inputs: list[str]
    outputs: list[str]
    meta: dict[str, Any] = field(default_factory=dict)  # free-form provenance: source model, float I/O, labels

    def tensor(self, name: str) -> Tensor:
        return self.tensors[name]

    def input_tensor(self, index: int = 0) -> Tensor:
        return self.tensors[self.inputs[index]]

    def output_tensor(self, index: int = 0) -> Tensor:
        return self.tensors[self.outputs[index]]

    def constants(self) -> list[Tensor]:
        """Constants actually used by some op, in first-use order (what Flash must hold)."""
        seen: dict[str, Tensor] = {}
        for op in self.ops:
            for name in op.inputs:
                t = self.tensors[name]
                if t.is_constant and name not in seen:
                    seen[name] = t
        return list(seen.values())

    def activations(self) -> list[Tensor]:
        """Non-constant tensors in the order they are first produced (graph inputs first)."""
        names = list(self.inputs)
        for op in self.ops:
            names += [n for n in op.outputs if n not in names]
        return [self.tensors[n] for n in names]

    def producer(self, tensor_name: str) -> Op | None:
        for op in self.ops:
            if tensor_name in op.outputs:
                return op
        return None

    def save(self, path: str | Path) -> Path:
        from tinycore.ir.file import save_graph

        return save_graph(self, path)
