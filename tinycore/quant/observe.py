"""Run the traced float model and watch chosen fx nodes: min/max for calibration, values for the float reference.

The fx Interpreter frees each intermediate after its last use, so calibrating MobileNetV2 at 224x224 holds only a
few activations at a time; the observers keep two numbers per watched tensor.
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch
import torch.fx as fx

from tinycore.errors import CalibrationError
from tinycore.quant.layers import Value


class WatchingInterpreter(fx.Interpreter):
    """fx Interpreter that hands the output of every watched node to `sink(node_name, tensor)`.

    `transform(node_name, tensor)`, if given, replaces the output before later nodes read it (QAT fake quant).
    """

    def __init__(self, gm: fx.GraphModule, watch: set[str], sink: Callable[[str, torch.Tensor], None] | None = None,
                 transform: Callable[[str, torch.Tensor], torch.Tensor] | None = None):
        super().__init__(gm)
        self.watch, self.sink, self.transform = watch, sink, transform

    def run_node(self, n: fx.Node):
        out = super().run_node(n)
        if n.name in self.watch:
            if self.sink is not None:
                self.sink(n.name, out)
            if self.transform is not None:
                out = self.transform(n.name, out)
        return out


def as_float_batch(batch, where: str) -> torch.Tensor:
    """A calibration batch as a float32 tensor (numpy arrays are accepted too)."""
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], (torch.Tensor, np.ndarray)):
        batch = batch[0]  # (inputs, labels) pairs from a DataLoader
    if isinstance(batch, np.ndarray):
        batch = torch.from_numpy(batch)
    if not isinstance(batch, torch.Tensor) or batch.ndim < 2 or batch.shape[0] == 0:
        raise CalibrationError(f"{where}: expected a float batch (N, C, H, W) or (N, F) with N >= 1, got "
                               f"{type(batch).__name__} {tuple(getattr(batch, 'shape', ()))}")
    if not torch.isfinite(batch).all():
        raise CalibrationError(f"{where}: contains NaN or infinite values")
    return batch.float()


def calibrate(gm: fx.GraphModule, nodes: set[str], batches: Iterable) -> dict[str, tuple[float, float]]:
    """Min and max of every watched node's output over all calibration batches."""
    ranges: dict[str, list[float]] = {}

    def sink(name: str, t: torch.Tensor) -> None:
        lo, hi = float(t.min()), float(t.max())
        r = ranges.setdefault(name, [lo, hi])
        r[0], r[1] = min(r[0], lo), max(r[1], hi)

    count = 0
    with torch.no_grad():
        interp = WatchingInterpreter(gm, nodes, sink)
        for i, batch in enumerate(batches):
            interp.run(as_float_batch(batch, f"calibration batch {i}"))
            count += 1
    if count == 0:
        raise CalibrationError("calibration_inputs is empty: give at least one float batch of real-looking inputs "
                               "(a few hundred samples for good ranges)")
    bad = [n for n, (lo, hi) in ranges.items() if not (np.isfinite(lo) and np.isfinite(hi))]
    if bad:
        raise CalibrationError(f"calibration produced NaN or infinite values at node(s) {', '.join(bad)}")
    return {n: (lo, hi) for n, (lo, hi) in ranges.items()}


def to_graph_layout(t: torch.Tensor, v: Value) -> np.ndarray:
    """A torch value (N, ...) of node `v.node` -> (N, *v.shape[1:]) in the graph's layout (NHWC, HWC-flattened)."""
    a = t.detach().double().numpy()
    n = a.shape[0]
    if v.layout == "nchw":
        a = a.transpose(0, 2, 3, 1)
    elif v.layout == "chw_flat":
        c, h, w = v.chw
        a = a.reshape(n, c, h, w).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(a).reshape(n, *v.shape[1:])
