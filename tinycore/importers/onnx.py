"""ONNX file -> FloatGraph: initializers and Constant nodes are the weights and attributes; NCHW as ONNX is."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinycore.errors import ModelFileError, UnsupportedError
from tinycore.importers.graph import FloatGraph, FloatNode, bn_fold

_ACTS = {"Relu": "relu", "HardSwish": "hswish", "Sigmoid": "sigmoid"}
_IDENTITY = ("Dropout", "Identity")


def _pads(p: list[int] | None) -> tuple[int, int, int, int]:
    t, l, b, r = p or (0, 0, 0, 0)  # ONNX order: begin of each axis, then end of each axis
    return (int(t), int(b), int(l), int(r))


class _Reader:
    def __init__(self, model: Any, path: Path) -> None:
        from onnx import numpy_helper
        self.path = path
        self.consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        self.nodes: list[FloatNode] = []

    def fail(self, node: Any, why: str) -> UnsupportedError:
        return UnsupportedError(f"{self.path}: node '{node.name or node.output[0]}' ({node.op_type}): {why}")

    def const(self, node: Any, name: str) -> np.ndarray:
        if name not in self.consts:
            raise self.fail(node, f"input '{name}' must be a constant (initializer)")
        return self.consts[name]

    def opt(self, node: Any, i: int) -> np.ndarray | None:
        return self.const(node, node.input[i]).astype(np.float64) if len(node.input) > i and node.input[i] else None

    def add(self, op: str, node: Any, inputs: list[str], **attrs: Any) -> None:
        self.nodes.append(FloatNode(op, inputs, node.output[0], f"{node.name or node.output[0]} ({node.op_type})",
                                    attrs))

    def read(self, node: Any) -> None:
        from onnx import helper, numpy_helper
        a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
        op, x = node.op_type, (node.input[0] if node.input else "")
        if op == "Constant":
            self.consts[node.output[0]] = numpy_helper.to_array(a["value"])
        elif op == "Conv":
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise self.fail(node, f"auto_pad {a['auto_pad']!r} is not supported (explicit pads only)")
            if any(d != 1 for d in a.get("dilations", [1, 1])):
                raise self.fail(node, f"dilations {a['dilations']} are not supported (only 1)")
            w = self.const(node, node.input[1]).astype(np.float64)
            if w.ndim != 4:
                raise self.fail(node, f"{w.ndim - 2}-D convolution is not supported (only 2-D)")
            self.add("conv", node, [x], weight=w, bias=self.opt(node, 2), stride=tuple(a.get("strides", [1, 1])),
                     pads=_pads(a.get("pads")), groups=int(a.get("group", 1)))
        elif op == "Gemm":
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise self.fail(node, "only Gemm(x, W, b) with transA=0, alpha=beta=1 is supported")
            w = self.const(node, node.input[1]).astype(np.float64)
            self.add("linear", node, [x], weight=w if a.get("transB", 0) else w.T, bias=self.opt(node, 2))
        elif op == "MatMul":
            self.add("linear", node, [x], weight=self.const(node, node.input[1]).astype(np.float64).T, bias=None)
        elif op == "BatchNormalization":
            g, b, m, v = (self.const(node, node.input[i]).astype(np.float64) for i in (1, 2, 3, 4))
            self.add("bn", node, [x], **bn_fold(g, b, m, v, float(a.get("epsilon", 1e-5))))
        elif op in _ACTS:
            self.add("act", node, [x], kind=_ACTS[op])
        elif op == "Clip":
            lo, hi = (float(self.const(node, node.input[i])) if len(node.input) > i and node.input[i] else None
                      for i in (1, 2))
            lo, hi = a.get("min", lo), a.get("max", hi)
            if (lo, hi) == (0.0, 6.0):
                self.add("act", node, [x], kind="relu6")
            else:
                raise self.fail(node, f"Clip({lo}, {hi}) is not supported (only ReLU6 = Clip(0, 6))")
        elif op == "HardSigmoid":
            if not (abs(a.get("alpha", 0.2) - 1 / 6) < 1e-6 and abs(a.get("beta", 0.5) - 0.5) < 1e-6):
                raise self.fail(node, f"HardSigmoid alpha {a.get('alpha', 0.2)} beta {a.get('beta', 0.5)}: only "
                                      f"the hard sigmoid relu6(x + 3) / 6 (alpha 1/6, beta 0.5) is supported")
            self.add("act", node, [x], kind="hsigmoid")
        elif op in ("Add", "Mul"):
            known = [i for i in node.input if i in self.consts]
            if op == "Add" and len(known) == 1 and self.nodes and self.nodes[-1].op == "linear" \
                    and self.nodes[-1].output in node.input and self.nodes[-1].attrs["bias"] is None:
                self.nodes[-1].attrs["bias"] = self.consts[known[0]].astype(np.float64).reshape(-1)
                self.nodes[-1].output = node.output[0]  # MatMul + Add = linear with bias
                return
            if known:
                raise self.fail(node, f"{op} with a constant is not supported (only tensor {op.lower()} tensor)")
            self.add(op.lower(), node, list(node.input))
        elif op == "GlobalAveragePool":
            self.add("gap", node, [x], keepdims=True)
        elif op == "ReduceMean":
            axes = a.get("axes")
            if axes is None and len(node.input) > 1:
                axes = self.const(node, node.input[1]).tolist()
            if sorted(int(d) % 4 for d in (axes or [])) != [2, 3]:
                raise self.fail(node, f"mean over axes {axes} is not supported (only H and W)")
            self.add("gap", node, [x], keepdims=bool(a.get("keepdims", 1)))
        elif op in ("AveragePool", "MaxPool"):
            if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
                raise self.fail(node, "ceil_mode or dilated pooling is not supported")
            pads = _pads(a.get("pads"))
            if op == "AveragePool" and any(pads) and a.get("count_include_pad", 0):
                raise self.fail(node, "average pooling that counts the padding is not supported")
            k = tuple(a["kernel_shape"])
            self.add("avgpool" if op == "AveragePool" else "maxpool", node, [x], kernel=k,
                     stride=tuple(a.get("strides", k)), pads=pads)
        elif op in ("Flatten", "Reshape"):
            self.add("flatten", node, [x])
        elif op == "Pad":
            mode = a.get("mode", b"constant")
            p = self.const(node, node.input[1]).tolist() if len(node.input) > 1 else a.get("pads")
            value = self.opt(node, 2)
            if mode not in (b"constant", "constant") or (value is not None and float(value) != 0) or len(p) != 8 \
                    or any(p[i] for i in (0, 1, 4, 5)):
                raise self.fail(node, "only zero padding of H and W is supported")
            self.add("pad", node, [x], pads=(int(p[2]), int(p[6]), int(p[3]), int(p[7])))
        elif op in _IDENTITY:
            self.add("identity", node, [x])
        else:
            raise self.fail(node, f"op {op} is not supported by the importer (Conv, Gemm/MatMul, "
                                  f"BatchNormalization, pools, Add, squeeze-and-excitation Mul, Relu/Clip(0,6)/"
                                  f"HardSwish/HardSigmoid/Sigmoid)")


def read_onnx(path: str | Path) -> FloatGraph:
    path = Path(path)
    try:
        import onnx
    except ImportError:
        raise UnsupportedError(f"{path}: reading ONNX needs the onnx package: "
                               f"pip install 'tinyml-suite[onnx]'") from None
    try:
        model = onnx.load(str(path))
    except Exception as e:  # protobuf's DecodeError and friends
        raise ModelFileError(f"{path}: not an ONNX file ({e})") from None
    r = _Reader(model, path)
    inputs = [i for i in model.graph.input if i.name not in r.consts]
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise UnsupportedError(f"{path}: {len(inputs)} inputs and {len(model.graph.output)} outputs; only one of each")
    dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim][1:]
    if not dims or any(d <= 0 for d in dims):
        raise ModelFileError(f"{path}: input '{inputs[0].name}' has no fixed per-sample shape ({dims})")
    for node in model.graph.node:
        r.read(node)
    return FloatGraph(inputs[0].name, tuple(dims), model.graph.output[0].name, r.nodes, str(path))
