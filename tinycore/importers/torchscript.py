"""TorchScript file -> FloatGraph: load, freeze (weights become constants, BatchNorm folds into the conv), then
read the aten ops of the inlined graph."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinycore.errors import ModelFileError, UnsupportedError
from tinycore.importers.graph import FloatGraph, FloatNode, bn_fold

_ACTS = {"aten::relu": "relu", "aten::relu_": "relu", "aten::relu6": "relu6", "aten::hardswish": "hswish",
         "aten::hardswish_": "hswish", "aten::hardsigmoid": "hsigmoid", "aten::hardsigmoid_": "hsigmoid",
         "aten::sigmoid": "sigmoid", "aten::sigmoid_": "sigmoid"}
_IDENTITY = ("aten::dropout", "aten::dropout_", "aten::contiguous", "aten::detach", "aten::clone")
_FLATTEN = ("aten::flatten", "aten::view", "aten::reshape")


def _const(v: torch._C.Value) -> Any:
    node = v.node()
    if node.kind() == "prim::Constant":
        return v.toIValue()
    if node.kind() == "prim::ListConstruct":
        return [_const(i) for i in node.inputs()]
    raise UnsupportedError(f"value '{v.debugName()}' made by {node.kind()} is not a constant after freezing")


def _np(t: Any) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().numpy().astype(np.float64)


def _pair(v: Any) -> tuple[int, int]:
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return (int(v[0]), int(v[-1]))


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.nodes: list[FloatNode] = []

    def where(self, node: torch._C.Node) -> str:
        return f"{node.kind()} -> %{node.output().debugName()}"

    def fail(self, node: torch._C.Node, why: str) -> UnsupportedError:
        return UnsupportedError(f"{self.path}: node '{self.where(node)}': {why}")

    def add(self, op: str, node: torch._C.Node, inputs: list[str], **attrs: Any) -> None:
        self.nodes.append(FloatNode(op, inputs, node.output().debugName(), self.where(node), attrs))

    def read(self, node: torch._C.Node) -> None:
        k = node.kind()
        ins = list(node.inputs())
        x = ins[0].debugName() if ins else ""
        if k in ("prim::Constant", "prim::ListConstruct", "aten::size", "prim::NumToTensor", "aten::Int"):
            return
        if k in ("aten::_convolution", "aten::conv2d"):
            stride, pad, dil = (_pair(_const(ins[i])) for i in (3, 4, 5))
            if k == "aten::_convolution" and _const(ins[6]):
                raise self.fail(node, "transposed convolution is not supported")
            groups = _const(ins[8] if k == "aten::_convolution" else ins[6])
            if dil != (1, 1):
                raise self.fail(node, f"dilation {dil} is not supported (only 1)")
            self.add("conv", node, [x], weight=_np(_const(ins[1])), bias=_np(_const(ins[2])), stride=stride,
                     pads=(pad[0], pad[0], pad[1], pad[1]), groups=int(groups))
        elif k == "aten::linear":
            self.add("linear", node, [x], weight=_np(_const(ins[1])), bias=_np(_const(ins[2])))
        elif k == "aten::batch_norm":
            w, b, mean, var = (_np(_const(ins[i])) for i in (1, 2, 3, 4))
            c = mean.shape[0]
            w = np.ones(c) if w is None else w
            b = np.zeros(c) if b is None else b
            self.add("bn", node, [x], **bn_fold(w, b, mean, var, float(_const(ins[7]))))
        elif k in _ACTS:
            self.add("act", node, [x], kind=_ACTS[k])
        elif k in ("aten::hardtanh", "aten::hardtanh_"):
            lo, hi = float(_const(ins[1])), float(_const(ins[2]))
            if (lo, hi) != (0.0, 6.0):
                raise self.fail(node, f"hardtanh({lo}, {hi}) is not supported (only ReLU6 = hardtanh(0, 6))")
            self.add("act", node, [x], kind="relu6")
        elif k in ("aten::add", "aten::add_", "aten::mul", "aten::mul_"):
            if any(i.node().kind() == "prim::Constant" for i in ins[:2]):
                raise self.fail(node, "add/mul with a constant is not supported (only tensor + tensor)")
            if k.startswith("aten::add") and _const(ins[2]) != 1:
                raise self.fail(node, "add with alpha != 1 is not supported")
            self.add("add" if "add" in k else "mul", node, [ins[0].debugName(), ins[1].debugName()])
        elif k == "aten::adaptive_avg_pool2d":
            if _pair(_const(ins[1])) != (1, 1):
                raise self.fail(node, "adaptive average pooling to other than 1x1 is not supported")
            self.add("gap", node, [x], keepdims=True)
        elif k == "aten::mean":
            dims = sorted(d % 4 for d in _const(ins[1]))
            if dims != [2, 3]:
                raise self.fail(node, f"mean over dims {dims} is not supported (only H and W)")
            self.add("gap", node, [x], keepdims=bool(_const(ins[2])))
        elif k in ("aten::avg_pool2d", "aten::max_pool2d"):
            kernel, pad = _pair(_const(ins[1])), _pair(_const(ins[3]))
            stride = _pair(_const(ins[2]) or kernel)
            ceil = _const(ins[5] if k == "aten::max_pool2d" else ins[4])
            if ceil:
                raise self.fail(node, "ceil_mode pooling is not supported")
            if k == "aten::avg_pool2d" and any(pad) and _const(ins[5]):
                raise self.fail(node, "average pooling that counts the padding is not supported "
                                      "(count_include_pad=False, as TFLite)")
            if k == "aten::max_pool2d" and _pair(_const(ins[4])) != (1, 1):
                raise self.fail(node, "dilated max pooling is not supported")
            self.add("avgpool" if "avg" in k else "maxpool", node, [x], kernel=kernel, stride=stride,
                     pads=(pad[0], pad[0], pad[1], pad[1]))
        elif k in ("aten::pad", "aten::constant_pad_nd"):
            p = list(_const(ins[1]))
            mode = _const(ins[2]) if k == "aten::pad" else "constant"
            value = _const(ins[3]) if len(ins) > 3 else 0
            if mode != "constant" or (value or 0) != 0 or len(p) != 4:
                raise self.fail(node, "only zero padding of H and W is supported")
            self.add("pad", node, [x], pads=(p[2], p[3], p[0], p[1]))
        elif k in _FLATTEN:
            self.add("flatten", node, [x])
        elif k in _IDENTITY:
            self.add("identity", node, [x])
        else:
            raise self.fail(node, f"op {k} is not supported by the importer (conv, depthwise, linear, pools, add, "
                                  f"squeeze-and-excitation mul, relu/relu6/hardswish/hardsigmoid/sigmoid)")


def read_torchscript(path: str | Path, input_shape: tuple[int, ...] | None) -> FloatGraph:
    """`input_shape`: per-sample (C, H, W) or (N,); a frozen TorchScript graph does not keep it."""
    path = Path(path)
    try:
        module = torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as e:  # torch raises RuntimeError with a long C++ trace
        raise ModelFileError(f"{path}: not a TorchScript file ({str(e).splitlines()[0]})") from None
    if input_shape is None:
        raise ModelFileError(f"{path}: a TorchScript file does not record its input shape; pass input_shape "
                             f"(C, H, W) or (N,)")
    graph = torch.jit.freeze(module).graph
    inputs = list(graph.inputs())[1:]
    outputs = list(graph.outputs())
    if len(inputs) != 1 or len(outputs) != 1:
        raise UnsupportedError(f"{path}: {len(inputs)} inputs and {len(outputs)} outputs; only one of each")
    r = _Reader(path)
    for node in graph.nodes():
        r.read(node)
    return FloatGraph(inputs[0].debugName(), tuple(int(d) for d in input_shape), outputs[0].debugName(), r.nodes,
                      str(path))
