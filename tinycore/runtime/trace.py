"""Per-layer int8-vs-float error: where in a graph does quantization go wrong?

Each op's int8 output is dequantized with its tensor's (scale, zero point) and compared with the float model's
value of the same tensor (from `tinycore.quant.reference.float_reference`, or any dict in the graph's layout).
Errors are given in output LSBs (units of the output scale), so layers of different ranges compare directly;
the SNR shows how much of the signal survives. numpy only: no torch here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tinycore.errors import TinycoreError
from tinycore.ir.graph import Graph, Op
from tinycore.runtime.interpreter import run


@dataclass(frozen=True)
class LayerError:
    index: int  # position of the op in graph.ops
    name: str
    kind: str
    tensor: str  # the op's output tensor
    scale: float  # output scale: 1 LSB in real units
    max_abs_lsb: float  # max |dequantized int8 - float| / scale
    mean_abs_lsb: float
    snr_db: float  # 10 log10(sum float^2 / sum error^2); inf when exact


def _row(index: int, op: Op, graph: Graph, y: NDArray[np.int8], ref: NDArray) -> LayerError:
    t = graph.tensors[op.outputs[0]]
    ref = np.asarray(ref, dtype=np.float64)
    if ref.size != y.size:
        raise TinycoreError(f"trace: reference for tensor '{t.name}' (op {index} {op.kind} '{op.name}') has "
                            f"{ref.size} values, the op produces shape {t.shape}")
    real = t.scale[0] * (y.astype(np.float64) - t.zero_point)
    err = np.abs(real.reshape(-1) - ref.reshape(-1))
    noise, signal = float(np.sum(err**2)), float(np.sum(ref**2))
    snr = math.inf if noise == 0.0 else (10.0 * math.log10(signal / noise) if signal > 0 else -math.inf)
    return LayerError(index, op.name, op.kind, t.name, float(t.scale[0]), float(err.max() / t.scale[0]),
                      float(err.mean() / t.scale[0]), snr)


def trace(graph: Graph, x_int8: NDArray[np.int8], reference: dict[str, NDArray]) -> list[LayerError]:
    """Run the graph on one int8 input and measure each op's output against `reference[tensor name]`.

    reference arrays may carry a batch axis of 1; ops whose output has no reference are left out.
    """
    rows: list[LayerError] = []
    counter = iter(range(len(graph.ops)))

    def observe(op: Op, y: NDArray) -> None:
        i = next(counter)
        ref = reference.get(op.outputs[0])
        if ref is not None:
            rows.append(_row(i, op, graph, y, ref))

    run(graph, x_int8, observe=observe)
    return rows


def format_trace(rows: list[LayerError]) -> str:
    """A fixed-width table, one line per op, for the CLI and reports."""
    head = f"{'#':>3}  {'op':<28} {'kind':<20} {'scale':>10} {'max LSB':>8} {'mean LSB':>9} {'SNR dB':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        snr = "inf" if r.snr_db == math.inf else f"{r.snr_db:.1f}"
        lines.append(f"{r.index:>3}  {r.name[:28]:<28} {r.kind[:20]:<20} {r.scale:>10.4g} {r.max_abs_lsb:>8.2f} "
                     f"{r.mean_abs_lsb:>9.3f} {snr:>7}")
    return "\n".join(lines)
