"""Patch-based execution with the numpy integer runtime: each patch runs its sub-graph with the graph's own
kernels (`tinycore.runtime.run_op`), writes its tile of the stage-2 input, then stage 2 runs as usual.

No arithmetic of its own: only copies of windows. The result equals `tinycore.runtime.run` byte for byte.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import NDArray

from tinycore.ir.graph import Graph, Op
from tinycore.patch.plan import PatchPlan
from tinycore.patch.program import Copy, Patch, PatchProgram, ReadRows, build_program
from tinycore.errors import TinycoreError
from tinycore.runtime.interpreter import run_op


def _window(arr: np.ndarray, step: Copy) -> np.ndarray:
    r, s = step.region, step.src_region
    return arr[:, r.row0 - s.row0:r.row1 - s.row0, r.col0 - s.col0:r.col1 - s.col0, :]


def run_patch(patch: Patch, source: np.ndarray, stage2_input: np.ndarray,
              observe: Callable[[Op, NDArray], None] | None = None) -> None:
    """Run one patch: `source` is the stage's whole input (frame); its tile is written into `stage2_input`."""
    values: dict[str, np.ndarray] = {}
    for step in patch.steps:
        if isinstance(step, ReadRows):
            continue  # the frame is at hand here; crops below read the same rows the band would hold
        if isinstance(step, Copy):
            if not patch.is_local(step.dst):  # the place into the stage's output
                t = step.region
                stage2_input[:, t.row0:t.row1, t.col0:t.col1, :] = _window(values[step.src], step)
            elif patch.is_local(step.src):
                values[step.dst] = np.ascontiguousarray(_window(values[step.src], step))
            else:  # input crop: from the frame, whatever buffer the C code would read it from
                r = step.region
                values[step.dst] = np.ascontiguousarray(source[:, r.row0:r.row1, r.col0:r.col1, :])
            continue
        y = run_op(patch.graph, step, values)
        values[step.outputs[0]] = y
        if observe is not None:
            observe(step, y)


def _as_frame(graph: Graph, x) -> np.ndarray:
    t = graph.input_tensor()
    x = np.asarray(x)
    if x.dtype != np.int8 or x.size != t.size:
        raise TinycoreError(f"input '{t.name}' takes int8 of shape {t.shape}; got {x.dtype} of shape {x.shape}")
    return x.reshape(t.shape)


def run_program(program: PatchProgram, x) -> NDArray[np.int8]:
    """Run a built patch program on one int8 input; returns the graph's first output."""
    graph = program.graph
    frame = _as_frame(graph, x)
    for stage in program.stages:
        out = np.zeros(graph.tensors[stage.split_tensor].shape, np.int8)
        for patch in stage.patches:
            run_patch(patch, frame, out)
        frame = out
    values = {program.split_tensor: frame}
    for _, op in program.stage2:
        values[op.outputs[0]] = run_op(graph, op, values)
    return values[graph.outputs[0]]


def run_patched(graph: Graph, plan: PatchPlan, x) -> NDArray[np.int8]:
    """Patch-based inference of `graph` under `plan` on one int8 input (equals tinycore.runtime.run)."""
    return run_program(build_program(graph, plan), x)
