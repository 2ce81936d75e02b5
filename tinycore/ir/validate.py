"""Check a graph before anything runs it: every failure names the op, the tensor and what is wrong."""
from __future__ import annotations

import numpy as np

from tinycore.errors import GraphValidationError
from tinycore.ir.attrs import ClampAttrs, parse_attrs
from tinycore.ir.graph import Graph
from tinycore.ir.schema import SCHEMAS

_DTYPES = {"int8", "int16", "int32", "float32"}


def validate_graph(graph: Graph, source: str = "graph") -> None:
    """Raise GraphValidationError at the first inconsistency. `source` prefixes the message (a file name)."""
    def fail(msg: str) -> None:
        raise GraphValidationError(f"{source}: {msg}")

    for name, t in graph.tensors.items():
        if name != t.name:
            fail(f"tensor '{name}' is stored under another name '{t.name}'")
        if t.dtype not in _DTYPES:
            fail(f"tensor '{name}': dtype {t.dtype!r} is not one of {sorted(_DTYPES)}")
        if any((not isinstance(d, int)) or d <= 0 for d in t.shape):
            fail(f"tensor '{name}': shape {t.shape} has a non-positive dimension")
        if not all(np.isfinite(s) and s > 0 for s in t.scale):
            fail(f"tensor '{name}': scale {t.scale} must be finite and positive")
        if t.data is not None:
            if tuple(t.data.shape) != tuple(t.shape):
                fail(f"tensor '{name}': array has shape {tuple(t.data.shape)}, graph says {t.shape}")
            if str(t.data.dtype) != t.dtype:
                fail(f"tensor '{name}': array has dtype {t.data.dtype}, graph says {t.dtype}")
    for role, names in (("input", graph.inputs), ("output", graph.outputs)):
        if not names:
            fail(f"graph has no {role}")
        for n in names:
            if n not in graph.tensors:
                fail(f"graph {role} '{n}' is not a tensor of the graph")
    available = set(graph.inputs)
    for i, op in enumerate(graph.ops):
        where = f"op {i} {op.kind} '{op.name}'"
        schema = SCHEMAS.get(op.kind)
        if schema is None:
            fail(f"{where}: unknown op kind; known kinds: {', '.join(sorted(SCHEMAS))}")
        roles = schema.roles(len(op.inputs))
        if roles is None:
            fail(f"{where}: takes {'at least ' if schema.variadic else ''}{len(schema.inputs)} inputs "
                 f"({', '.join(r for r, _, _ in schema.inputs)}), has {len(op.inputs)}")
        if len(op.outputs) != 1:
            fail(f"{where}: must have exactly one output, has {len(op.outputs)}")
        try:
            attrs = parse_attrs(op.kind, op.attrs)
        except GraphValidationError as e:
            fail(f"{where}: {e}")
        shapes = []
        for name, (role, dtype, const) in zip(op.inputs, roles):
            t = graph.tensors.get(name)
            if t is None:
                fail(f"{where}: input {role} '{name}' is not a tensor of the graph")
            if t.dtype != dtype:
                fail(f"{where}: input {role} '{name}' has dtype {t.dtype}, expected {dtype}")
            if const and not t.is_constant:
                fail(f"{where}: input {role} '{name}' must be a constant array")
            if not t.is_constant and name not in available:
                fail(f"{where}: input {role} '{name}' is used before any op produces it")
            shapes.append(t.shape)
        try:
            expect = tuple(schema.infer(shapes, op.attrs))
        except GraphValidationError as e:
            fail(f"{where}: {e}")
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
            fail(f"{where}: bad attributes ({type(e).__name__}: {e})")
        out = graph.tensors.get(op.outputs[0])
        if out is None:
            fail(f"{where}: output '{op.outputs[0]}' is not a tensor of the graph")
        if out.shape != expect or min(expect) <= 0:
            fail(f"{where}: output '{out.name}' has shape {out.shape}, the op produces {expect}")
        if out.is_constant:
            fail(f"{where}: output '{out.name}' is a constant")
        if op.kind in ("conv2d_s8", "depthwise_conv2d_s8", "fully_connected_s8"):
            cout = out.shape[-1]
            for name, role in zip(op.inputs[2:], ("bias", "mult", "shift")):
                if graph.tensors[name].shape != (cout,):
                    fail(f"{where}: {role} '{name}' has shape {graph.tensors[name].shape}, expected ({cout},)")
        if isinstance(attrs, ClampAttrs) and attrs.act_min > attrs.act_max:
            fail(f"{where}: activation clamp [{attrs.act_min}, {attrs.act_max}] is empty (act_min > act_max)")
        available.add(out.name)
    for n in graph.outputs:
        if n not in available:
            fail(f"graph output '{n}' is produced by no op")
