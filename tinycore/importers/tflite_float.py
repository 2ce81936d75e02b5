"""Float .tflite -> FloatGraph: NHWC tensors and OHWI / 1HWC weights turned into the NCHW / OIHW the spec builds.

TFLite's SAME padding puts the odd pixel at the bottom/right (the spec's 'same' centres it), so pads are computed
from the tensor shapes the file records and written out explicitly. A dense layer after flattening an HxW map
(H*W > 1) gets its weight columns re-ordered from (h, w, c) to (c, h, w), the order torch flattens in.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinycore.errors import UnsupportedError
from tinycore.importers.graph import FloatGraph, FloatNode
from tinycore.tflite.reader import TflModel, TflOperator, read_model

_FUSED = {0: None, 1: "relu", 3: "relu6"}  # 2 RELU_N1_TO_1, 4 TANH, ...: not supported
_ACTS = {"RELU": "relu", "RELU6": "relu6", "HARD_SWISH": "hswish", "LOGISTIC": "sigmoid"}


def _same_pads(size: int, out: int, k: int, s: int) -> tuple[int, int]:
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class _Reader:
    def __init__(self, m: TflModel, path: Path) -> None:
        self.m, self.path = m, path
        self.nodes: list[FloatNode] = []
        self.flattened_from: dict[int, tuple[int, ...]] = {}  # tensor -> NHWC shape it was flattened from

    def t(self, i: int) -> str:
        return f"t{i}"

    def fail(self, o: TflOperator, why: str) -> UnsupportedError:
        return UnsupportedError(f"{self.path}: operator {o.index} ({o.op}, output "
                                f"'{self.m.tensors[o.outputs[0]].name}'): {why}")

    def const(self, o: TflOperator, k: int) -> np.ndarray | None:
        if k >= len(o.inputs) or o.inputs[k] < 0:
            return None
        tensor = self.m.tensors[o.inputs[k]]
        if tensor.data is None:
            raise self.fail(o, f"input {k} ('{tensor.name}') must be a constant")
        if tensor.dtype != "float32":
            raise self.fail(o, f"input {k} ('{tensor.name}') is {tensor.dtype}; the importer reads float models "
                               f"(an int8 .tflite goes through tinycore.tflite.import_tflite)")
        return tensor.data.astype(np.float64)

    def emit(self, op: str, o: TflOperator, inputs: list[int], fused: int = 0, **attrs: Any) -> None:
        out = o.outputs[0]
        if fused not in _FUSED:
            raise self.fail(o, f"fused activation {fused} is not supported (only none, relu, relu6)")
        act = _FUSED[fused]
        mid = self.t(out) + (":pre" if act else "")
        self.nodes.append(FloatNode(op, [self.t(i) for i in inputs], mid, f"{o.index} ({o.op})", attrs))
        if act:
            self.nodes.append(FloatNode("act", [mid], self.t(out), f"{o.index} ({o.op} fused)", {"kind": act}))

    def hard_sigmoid(self, o: TflOperator) -> bool:
        """TFLite has no HARD_SIGMOID: the converter writes hsigmoid(W x + b) = relu6(W x + b + 3) / 6 as a conv or
        dense layer with bias b + 3 and RELU6 fused, then MUL by the scalar 1/6. Read back as that layer (bias b)
        with the activation hsigmoid; True when `o` is such a MUL."""
        consts = [i for i in o.inputs if self.m.tensors[i].data is not None]
        if len(consts) != 1 or self.m.tensors[consts[0]].data.size != 1 or len(self.nodes) < 2:
            return False
        (x,) = [i for i in o.inputs if i not in consts]
        act, layer = self.nodes[-1], self.nodes[-2]
        sixth = abs(float(self.m.tensors[consts[0]].data.reshape(-1)[0]) - 1.0 / 6.0) < 1e-6
        if not (sixth and o.options.get("FusedActivationFunction", 0) == 0 and act.op == "act"
                and act.attrs["kind"] == "relu6" and act.output == self.t(x) and layer.op in ("conv", "linear")
                and layer.output == act.inputs[0]):
            return False
        bias = layer.attrs["bias"]
        n_out = layer.attrs["weight"].shape[0]
        layer.attrs["bias"] = (np.zeros(n_out) if bias is None else bias) - 3.0
        act.attrs["kind"] = "hsigmoid"
        act.output = self.t(o.outputs[0])
        return True

    def pads(self, o: TflOperator, k: tuple[int, int], s: tuple[int, int]) -> tuple[int, int, int, int]:
        if o.options.get("Padding", 1) == 1:  # VALID
            return (0, 0, 0, 0)
        _, h, w, _ = self.m.tensors[o.inputs[0]].shape
        _, oh, ow, _ = self.m.tensors[o.outputs[0]].shape
        return (*_same_pads(h, oh, k[0], s[0]), *_same_pads(w, ow, k[1], s[1]))

    def read(self, o: TflOperator) -> None:
        opt, x = o.options, o.inputs[0]
        if o.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            if opt.get("DilationHFactor", 1) != 1 or opt.get("DilationWFactor", 1) != 1:
                raise self.fail(o, "dilated convolution is not supported")
            w = self.const(o, 1)
            if o.op == "CONV_2D":
                w, groups = w.transpose(0, 3, 1, 2), 1
            else:
                if opt.get("DepthMultiplier", 1) != 1:
                    raise self.fail(o, "depth multiplier != 1 is not supported")
                w = w.transpose(3, 0, 1, 2)
                groups = w.shape[0]
            s = (opt["StrideH"], opt["StrideW"])
            self.emit("conv", o, [x], opt.get("FusedActivationFunction", 0), weight=w, bias=self.const(o, 2),
                      stride=s, pads=self.pads(o, w.shape[2:], s), groups=groups)
        elif o.op == "FULLY_CONNECTED":
            w = self.const(o, 1)
            src = self.flattened_from.get(x) or self.m.tensors[x].shape
            if len(src) == 4 and src[1] * src[2] > 1:
                _, h, wd, c = src
                w = w.reshape(w.shape[0], h, wd, c).transpose(0, 3, 1, 2).reshape(w.shape[0], -1)
            self.emit("linear", o, [x], opt.get("FusedActivationFunction", 0), weight=w, bias=self.const(o, 2))
        elif o.op in _ACTS:
            self.emit("act", o, [x], kind=_ACTS[o.op])
        elif o.op == "MUL" and self.hard_sigmoid(o):
            return
        elif o.op in ("ADD", "MUL"):
            if any(self.m.tensors[i].data is not None for i in o.inputs):
                raise self.fail(o, f"{o.op} with a constant is not supported (only tensor and tensor)")
            self.emit(o.op.lower(), o, list(o.inputs), opt.get("FusedActivationFunction", 0))
        elif o.op == "MEAN":
            axes = sorted(int(a) % 4 for a in np.atleast_1d(self.m.tensors[o.inputs[1]].data))
            if axes != [1, 2]:
                raise self.fail(o, f"mean over axes {axes} is not supported (only H and W)")
            self.emit("gap", o, [x], keepdims=bool(opt.get("KeepDims", False)))
        elif o.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            k, s = (opt["FilterHeight"], opt["FilterWidth"]), (opt["StrideH"], opt["StrideW"])
            self.emit("avgpool" if o.op.startswith("AVERAGE") else "maxpool", o, [x],
                      opt.get("FusedActivationFunction", 0), kernel=k, stride=s, pads=self.pads(o, k, s))
        elif o.op == "RESHAPE":
            if len(self.m.tensors[o.outputs[0]].shape) != 2:
                raise self.fail(o, "only a reshape to (batch, features) (a flatten) is supported")
            self.flattened_from[o.outputs[0]] = self.m.tensors[x].shape
            self.emit("flatten", o, [x])
        elif o.op == "PAD":
            p = self.m.tensors[o.inputs[1]].data
            if p is None or p.shape != (4, 2) or p[0].any() or p[3].any():
                raise self.fail(o, "only constant zero padding of H and W is supported")
            self.emit("pad", o, [x], pads=(int(p[1, 0]), int(p[1, 1]), int(p[2, 0]), int(p[2, 1])))
        else:
            raise self.fail(o, "not supported by the float importer (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, "
                               "ADD, MUL (squeeze-and-excitation), MEAN, pools, RESHAPE, PAD, RELU, RELU6, "
                               "HARD_SWISH, LOGISTIC)")


def read_tflite_float(path: str | Path) -> FloatGraph:
    path = Path(path)
    m = read_model(path)
    if len(m.inputs) != 1 or len(m.outputs) != 1:
        raise UnsupportedError(f"{path}: {len(m.inputs)} inputs and {len(m.outputs)} outputs; only one of each")
    inp = m.tensors[m.inputs[0]]
    if inp.dtype != "float32":
        raise UnsupportedError(f"{path}: input '{inp.name}' is {inp.dtype}; the float importer reads float32 "
                               f"models (an int8 .tflite goes through tinycore.tflite.import_tflite)")
    r = _Reader(m, path)
    for o in m.operators:
        r.read(o)
    shape = inp.shape[1:]
    per_sample = (shape[2], shape[0], shape[1]) if len(shape) == 3 else tuple(shape)
    return FloatGraph(r.t(m.inputs[0]), tuple(int(d) for d in per_sample), r.t(m.outputs[0]), r.nodes, str(path))
