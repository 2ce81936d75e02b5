"""Match a `FloatGraph` onto spec layers, and keep each layer's float weights to load into the built module.

The graph is walked from the input. A chain gives Conv / DWConv (BatchNorm folded in: bn=False, the folded bias
kept), FC, pools, Act. A tensor read by two nodes opens a branch that must close at one add or mul:
add -> Residual (identity shortcut, or the shorter branch as the projection shortcut); mul of x by
gate(conv(act(conv(mean_hw(x))))) -> SE. Anything else raises UnsupportedError naming the node.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinycore.errors import UnsupportedError
from tinycore.importers.graph import FloatGraph, FloatNode
from tinycore.spec.layers import (FC, SE, SE_GATES, Act, AvgPool, Conv, DWConv, Flatten, GlobalPool, InputSpec, Layer,
                                  MaxPool, ModelSpec, Residual)

_CHAINABLE_ACTS = ("relu", "relu6", "hswish", "hsigmoid", "sigmoid")


@dataclass
class Parsed:
    """Layers with a parallel list of weights: (w, b) for conv/fc, (w1, b1, w2, b2) for SE, (body, shortcut)
    Parsed pair for a residual, None for layers without weights."""
    layers: list[Layer]
    weights: list[Any]


def _compact(pair: tuple[int, int]) -> int | tuple[int, int]:
    return pair[0] if pair[0] == pair[1] else (int(pair[0]), int(pair[1]))


def _padding(pads: tuple[int, int, int, int]) -> Any:
    t, b, l, r = (int(p) for p in pads)
    if t == b and l == r:
        return t if t == l else (t, l)
    return (t, b, l, r)


class _Walker:
    def __init__(self, g: FloatGraph) -> None:
        self.g = g
        self.consumers: dict[str, list[FloatNode]] = {}
        for n in g.nodes:
            for t in n.inputs:
                self.consumers.setdefault(t, []).append(n)

    def fail(self, node: FloatNode, why: str) -> UnsupportedError:
        return UnsupportedError(f"{self.g.source}: node '{node.name}' ({node.op}): {why}")

    def _single_next(self, t: str, op: str | tuple[str, ...]) -> FloatNode | None:
        """The only reader of `t` if it is an `op` node (and t is not the graph output)."""
        cons = self.consumers.get(t, [])
        ops = (op,) if isinstance(op, str) else op
        if len(cons) == 1 and cons[0].op in ops and t != self.g.output:
            return cons[0]
        return None

    def _fused(self, node: FloatNode, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, str, str]:
        """Fold a following bn into (w, b) and take a following activation: (w, b, act, output tensor)."""
        out = node.output
        bn = self._single_next(out, "bn")
        if bn is not None:
            s, sh = bn.attrs["scale"], bn.attrs["shift"]
            w = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
            b = b * s + sh
            out = bn.output
        act = self._single_next(out, "act")
        if act is not None and act.attrs["kind"] in _CHAINABLE_ACTS:
            return w, b, act.attrs["kind"], act.output
        return w, b, "none", out

    def chain(self, t: str, flat: bool, first: FloatNode | None = None) -> tuple[Parsed, str, bool]:
        """Parse from tensor t until the graph output or a merge (add/mul) reading the current tensor.
        Returns the layers, the last tensor and whether it is 1-D."""
        p = Parsed([], [])
        pending_pads = (0, 0, 0, 0)
        while t != self.g.output:
            cons = [first] if first is not None else self.consumers.get(t, [])
            first = None
            if not cons:
                break
            if len(cons) > 1:
                t, flat = self.branch(t, cons, p, flat)
                continue
            n = cons[0]
            if n.op in ("add", "mul"):
                break
            if n.op == "pad":
                pending_pads = tuple(a + c for a, c in zip(pending_pads, n.attrs["pads"]))
                t = n.output
                continue
            if any(pending_pads) and n.op != "conv":
                raise self.fail(n, "explicit padding is supported only before a convolution")
            if n.op == "conv":
                t = self.conv(n, pending_pads, p)
                pending_pads = (0, 0, 0, 0)
            elif n.op == "linear":
                if not flat:
                    p.layers.append(Flatten())
                    p.weights.append(None)
                    flat = True
                w, b = n.attrs["weight"], n.attrs["bias"]
                b = np.zeros(w.shape[0]) if b is None else b
                w, b, act, t = self._fused(n, w, b)
                p.layers.append(FC(out=int(w.shape[0]), act=act, bn=False))
                p.weights.append((w, b))
            elif n.op == "act":
                p.layers.append(Act(n.attrs["kind"]))
                p.weights.append(None)
                t = n.output
            elif n.op == "gap":
                p.layers.append(GlobalPool())
                p.weights.append(None)
                if not n.attrs["keepdims"]:
                    p.layers.append(Flatten())
                    p.weights.append(None)
                    flat = True
                t = n.output
            elif n.op in ("avgpool", "maxpool"):
                cls = AvgPool if n.op == "avgpool" else MaxPool
                p.layers.append(cls(kernel=_compact(n.attrs["kernel"]), stride=_compact(n.attrs["stride"]),
                                    padding=_padding(n.attrs["pads"])))
                p.weights.append(None)
                t = n.output
            elif n.op == "flatten":
                if not flat:
                    p.layers.append(Flatten())
                    p.weights.append(None)
                    flat = True
                t = n.output
            elif n.op == "identity":
                t = n.output
            else:
                raise self.fail(n, "not after a convolution or linear layer (only conv/fc + bn + act are matched)")
        return p, t, flat

    def conv(self, n: FloatNode, extra_pads: tuple[int, ...], p: Parsed) -> str:
        a = n.attrs
        w, b = a["weight"], a["bias"]
        cout, cin_g = int(w.shape[0]), int(w.shape[1])
        b = np.zeros(cout) if b is None else b
        pads = tuple(x + y for x, y in zip(a["pads"], extra_pads))
        w, b, act, out = self._fused(n, w, b)
        kernel, stride, padding = _compact(w.shape[2:]), _compact(a["stride"]), _padding(pads)
        if a["groups"] == 1:
            p.layers.append(Conv(out=cout, kernel=kernel, stride=stride, padding=padding, act=act, bn=False))
        elif cin_g == 1 and a["groups"] == cout:
            p.layers.append(DWConv(kernel=kernel, stride=stride, padding=padding, act=act, bn=False))
        else:
            raise self.fail(n, f"grouped convolution with {a['groups']} groups of {cin_g} input channels is not "
                               f"supported (only groups=1 and depthwise)")
        p.weights.append((w, b))
        return out

    def branch(self, t: str, cons: list[FloatNode], p: Parsed, flat: bool) -> tuple[str, bool]:
        """Two readers of t: parse both paths up to their common merge node; append a Residual or an SE."""
        if len(cons) != 2:
            raise self.fail(cons[0], f"tensor '{t}' is read by {len(cons)} nodes; only two-way branches "
                                     f"(residual add, squeeze-and-excitation) are supported")
        paths = []
        for c in cons:
            if c.op in ("add", "mul"):
                paths.append((Parsed([], []), t, c))
                continue
            sub, end, _ = self.chain(t, flat, first=c)
            nxt = self.consumers.get(end, [])
            if len(nxt) != 1 or nxt[0].op not in ("add", "mul"):
                raise self.fail(c, f"the branch from '{t}' does not end at one add or mul")
            paths.append((sub, end, nxt[0]))
        merge = paths[0][2]
        if paths[1][2] is not merge or sorted(merge.inputs) != sorted([paths[0][1], paths[1][1]]):
            raise self.fail(merge, f"the two branches from '{t}' do not meet at one node")
        if merge.op == "mul":
            self.se(merge, paths, p)
        else:
            (a, _, _), (b, _, _) = paths
            body, short = (a, b) if len(a.layers) >= len(b.layers) else (b, a)
            p.layers.append(Residual(body=tuple(body.layers), shortcut=tuple(short.layers)))
            p.weights.append((body, short))
        return merge.output, flat

    def se(self, merge: FloatNode, paths: list, p: Parsed) -> None:
        gate_path = [sub for sub, _, _ in paths if sub.layers]
        if len(gate_path) != 1 or len(paths[0][0].layers) * len(paths[1][0].layers) != 0:
            raise self.fail(merge, "a multiply of two computed branches is not squeeze-and-excitation")
        ls, ws = gate_path[0].layers, gate_path[0].weights
        ok = (len(ls) == 3 and isinstance(ls[0], GlobalPool) and all(isinstance(x, Conv) for x in ls[1:])
              and all(x.kernel == 1 for x in ls[1:]) and ls[2].act in SE_GATES)
        if not ok:
            kinds = [f"{x.kind}({getattr(x, 'act', '')})" for x in ls]
            raise self.fail(merge, f"gate branch {kinds} is not squeeze-and-excitation (mean over H, W -> 1x1 conv "
                                   f"+ act -> 1x1 conv + hsigmoid or sigmoid)")
        p.layers.append(SE(squeeze=ls[1].out, act=ls[1].act, gate=ls[2].act))
        p.weights.append((*ws[1], *ws[2]))


def graph_to_spec(g: FloatGraph, name: str = "") -> tuple[ModelSpec, Parsed]:
    """The spec and its weights (all layers in `blocks`)."""
    w = _Walker(g)
    parsed, end, _ = w.chain(g.input, flat=len(g.input_shape) == 1)
    if end != g.output:
        nxt = w.consumers.get(end, [])
        raise w.fail(nxt[0], "not reached as part of a supported pattern") if nxt else UnsupportedError(
            f"{g.source}: the graph output '{g.output}' is not reached from the input")
    shape = g.input_shape
    inp = InputSpec(features=shape[0]) if len(shape) == 1 else InputSpec(*shape)
    return ModelSpec(input=inp, blocks=tuple(parsed.layers), name=name), parsed
