"""Run an integer graph with numpy: the reference every other backend must equal byte for byte."""
from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import NDArray

from tinycore.errors import TinycoreError
from tinycore.ir.graph import Graph, Op
from tinycore.runtime.ops import OP_FUNCTIONS


def run_op(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> NDArray:
    """Evaluate one op given the values of its non-constant inputs."""
    fn = OP_FUNCTIONS.get(op.kind)
    if fn is None:
        raise TinycoreError(f"op '{op.name}': the runtime has no kernel for {op.kind}")
    args = [values[n] if n in values else graph.tensors[n].data for n in op.inputs]
    return fn(*args, **op.attrs)


def _as_input(graph: Graph, x) -> np.ndarray:
    t = graph.input_tensor()
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise TinycoreError(f"input '{t.name}' must be int8 (quantize with scale {t.scale[0]:.6g}, "
                            f"zero point {t.zero_point}); got {x.dtype}")
    if x.size != t.size:
        raise TinycoreError(f"input '{t.name}' has shape {t.shape}; got an array of shape {x.shape}")
    return x.reshape(t.shape)


def run(graph: Graph, x, observe: Callable[[Op, NDArray], None] | None = None) -> NDArray[np.int8]:
    """Run the graph on one int8 input (shape = the input tensor's, batch 1); returns the first output.

    `observe(op, output)` is called after each op (used by tracing and by the patch executor's tests).
    """
    values = {graph.inputs[0]: _as_input(graph, x)}
    for op in graph.ops:
        y = run_op(graph, op, values)
        values[op.outputs[0]] = y
        if observe is not None:
            observe(op, y)
    return values[graph.outputs[0]]


def run_batch(graph: Graph, xs) -> NDArray[np.int8]:
    """Run each sample of a batch (N, *input shape without batch) and stack the outputs."""
    return np.stack([run(graph, x) for x in xs])
