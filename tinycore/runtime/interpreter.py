"""Run an integer graph with numpy: the reference every other backend must equal byte for byte."""
from __future__ import annotations

from typing import Callable, Sequence

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


def _as_input(graph: Graph, k: int, x) -> np.ndarray:
    t = graph.input_tensor(k)
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise TinycoreError(f"input '{t.name}' must be int8 (quantize with scale {t.scale[0]:.6g}, "
                            f"zero point {t.zero_point}); got {x.dtype}")
    if x.size != t.size:
        raise TinycoreError(f"input '{t.name}' has shape {t.shape}; got an array of shape {x.shape}")
    return x.reshape(t.shape)


def graph_inputs(graph: Graph, x) -> list[np.ndarray]:
    """The graph's inputs from what a caller gives: one array for a one-input graph, else a tuple or list of
    arrays in graph.inputs order. Each is checked (int8, size) and shaped as its tensor."""
    n = len(graph.inputs)
    if n == 1:
        return [_as_input(graph, 0, x)]
    if not isinstance(x, (tuple, list)) or len(x) != n:
        raise TinycoreError(f"the graph has {n} inputs {graph.inputs}; give a tuple of {n} int8 arrays in that "
                            f"order, got {type(x).__name__}{f' of {len(x)}' if isinstance(x, (tuple, list)) else ''}")
    return [_as_input(graph, k, v) for k, v in enumerate(x)]


def run_outputs(graph: Graph, x, observe: Callable[[Op, NDArray], None] | None = None
                ) -> tuple[NDArray[np.int8], ...]:
    """Every graph output, in graph.outputs order, of one run (x as for `graph_inputs`)."""
    values = dict(zip(graph.inputs, graph_inputs(graph, x)))
    for op in graph.ops:
        y = run_op(graph, op, values)
        values[op.outputs[0]] = y
        if observe is not None:
            observe(op, y)
    return tuple(values[name] for name in graph.outputs)


def run(graph: Graph, x, observe: Callable[[Op, NDArray], None] | None = None):
    """Run the graph on one input (batch 1): the output array, or a tuple of arrays in graph.outputs order when
    the graph has several. x: one int8 array, or a tuple/list of them when the graph has several inputs.

    `observe(op, output)` is called after each op (used by tracing and by the patch executor's tests).
    """
    outs = run_outputs(graph, x, observe)
    return outs[0] if len(outs) == 1 else outs


def flat_outputs(graph: Graph, x) -> NDArray[np.int8]:
    """Every output of one run, flattened and concatenated in graph order: the bytes the C `model_invoke` writes
    to its packed output buffer."""
    return np.concatenate([y.reshape(-1) for y in run_outputs(graph, x)]).astype(np.int8)


def run_batch(graph: Graph, xs: Sequence):
    """Run each sample of a batch (N, *input shape without batch) and stack the outputs (a tuple of stacks when
    the graph has several outputs)."""
    outs = [run_outputs(graph, x) for x in xs]
    stacks = tuple(np.stack([o[k] for o in outs]) for k in range(len(graph.outputs)))
    return stacks[0] if len(stacks) == 1 else stacks
