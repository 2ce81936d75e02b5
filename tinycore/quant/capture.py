"""Capture a torch model as float layers in graph terms: trace (torch.fx), fold BN, fuse clamps, relayout to NHWC.

The result still holds float weights; `convert` quantizes it. Each graph activation (`Value`) remembers the fx node
whose torch output it equals, so calibration and the float reference read the very tensors the graph holds.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.fx as fx
import torch.nn as nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

from tinycore.errors import CalibrationError, GraphValidationError, UnsupportedError
from tinycore.ir.schema import SCHEMAS, conv_output_hw
from tinycore.quant.fold import fold_bn
from tinycore.quant.layers import Capture, Layer, Value
from tinycore.quant.nodes import SUPPORTED_LAYERS, NodeInfo, as_pair, conv_geometry, describe, pool_geometry
from tinycore.quant.params import activation_qparams
from tinycore.runtime.ops.resize import nearest_indices

_CALLS = ("call_module", "call_function", "call_method")
# Hard sigmoid relu6(x + 3) / 6 after a conv or linear layer is folded into it: weights / 6, bias (b + 3) / 6, and
# the output quantization fixed to scale 1/255, zero point -128, which spans exactly [0, 1], so int8 saturation is
# the clamp. TFLite has no HARD_SIGMOID op; this way the gate is an ordinary CONV_2D / FULLY_CONNECTED there too.
HSIGMOID_QUANT = activation_qparams(0.0, 1.0)  # (float32(1/255), -128), as calibration would write it
_HSIGMOID = {"lo": 0.0, "hi": 1.0, "name": "hsigmoid"}


def trace_model(model: nn.Module) -> fx.GraphModule:
    """torch.fx symbolic trace; failures (data-dependent control flow, ...) become UnsupportedError.

    A bare torch.nn layer (say an nn.Conv2d) is traced as nn.Sequential(layer), so its op is named "0"."""
    if fx.Tracer().is_leaf_module(model, ""):
        model = nn.Sequential(model)
    try:
        return fx.symbolic_trace(model)
    except Exception as e:  # torch raises many types here (TraceError, TypeError, NotImplementedError)
        raise UnsupportedError(
            f"{type(model).__name__}: torch.fx cannot trace the model ({type(e).__name__}: {e}); the quantizer needs "
            f"a forward without data-dependent control flow") from None


def _meta_shape(node: fx.Node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    return tuple(int(d) for d in meta.shape) if isinstance(meta, TensorMetadata) else None


def _graph_shape(torch_shape: tuple[int, ...], where: str) -> tuple[tuple[int, ...], str]:
    if len(torch_shape) == 4:
        n, c, h, w = torch_shape
        return (1, h, w, c), "nchw"
    if len(torch_shape) == 2:
        return (1, torch_shape[1]), "flat"
    raise UnsupportedError(f"{where}: tensor of shape {torch_shape}; only (N, C, H, W) maps and (N, F) vectors "
                           f"are supported")


def capture(model: nn.Module, example: torch.Tensor) -> Capture:
    """Trace `model` (eval mode) and describe it as layers; `example` is a small float batch for shapes."""
    gm = trace_model(model)
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(example)
    except Exception as e:
        raise CalibrationError(f"{type(model).__name__}: a calibration batch of shape {tuple(example.shape)} does "
                               f"not run through the model ({type(e).__name__}: {e})") from None
    return _Walker(gm).run()


def _fold_hsigmoid(w: np.ndarray, b: np.ndarray, act: dict | None
                   ) -> tuple[np.ndarray, np.ndarray, dict | None, tuple[float, int] | None]:
    """hsigmoid(W x + b) = clamp((W / 6) x + (b + 3) / 6, 0, 1); the clamp is the fixed output quantization's."""
    if act is not _HSIGMOID:
        return w, b, act, None
    return w / 6.0, (b + 3.0) / 6.0, None, HSIGMOID_QUANT


class _Walker:
    def __init__(self, gm: fx.GraphModule):
        self.gm = gm
        self.cap = Capture(gm)
        self.alias: dict[str, str] = {}  # fx node name -> value name
        self.done: set[str] = set()

    def run(self) -> Capture:
        for node in self.gm.graph.nodes:
            if node.name in self.done or node.op == "get_attr":
                continue
            if node.op == "placeholder":
                self._placeholder(node)
            elif node.op == "output":
                self._output(node)
            elif node.op in _CALLS and node.meta.get("tensor_meta") is not None:
                self._call(node, describe(self.gm, node))
        return self.cap

    # ---- helpers
    def _unique(self, name: str) -> str:
        base, i = name, 1
        while name in self.cap.values:
            i += 1
            name = f"{base}_{i}"
        return name

    def value_of(self, arg: Any, where: str) -> Value:
        if not isinstance(arg, fx.Node) or arg.name not in self.alias:
            raise UnsupportedError(f"{where}: its input {arg!r} is not an activation of the graph (constants and "
                                   f"parameters used as data are not supported)")
        return self.cap.values[self.alias[arg.name]]

    def _next(self, cur: fx.Node) -> tuple[list[fx.Node], fx.Node, NodeInfo] | None:
        """The only user of `cur` (looking through Dropout/Identity), if it is a call."""
        skipped = []
        while True:
            users = list(cur.users)
            if len(users) != 1 or users[0].op not in _CALLS or users[0].args[:1] != (cur,):
                return None
            info = describe(self.gm, users[0])
            if info.kind != "ignore":
                return skipped, users[0], info
            skipped.append(users[0])
            cur = users[0]

    def _fuse(self, node: fx.Node, allow_bn: bool, allow_hsigmoid: bool = False
              ) -> tuple[fx.Node, list[fx.Node], NodeInfo | None, dict | None]:
        """Fold a following BatchNorm2d (convs only) and fuse a following clamp, or a hard sigmoid (conv and linear
        only, see HSIGMOID_QUANT), if nothing else reads between."""
        last, fused, bn, act = node, [], None, None
        step = self._next(node)
        if allow_bn and step is not None and step[2].kind == "bn":
            fused += step[0] + [step[1]]
            last, bn = step[1], step[2]
            step = self._next(last)
        if step is not None and (step[2].kind == "act" or (allow_hsigmoid and step[2].kind == "hardsigmoid")):
            fused += step[0] + [step[1]]
            last, act = step[1], (_HSIGMOID if step[2].kind == "hardsigmoid" else step[2].params)
        self.done.update(n.name for n in fused)
        return last, fused, bn, act

    def _emit(self, kind: str, info: NodeInfo, inputs: list[Value], nodes: list[fx.Node], shape: tuple[int, ...],
              layout: str, attrs: dict, weight=None, bias=None, act=None, chw=None, share=None, fixed=None) -> Value:
        name = self._unique(info.where)
        v = Value(name, nodes[-1].name, shape, layout, chw, share, fixed)
        self.cap.values[name] = v
        modules = [info.where] + [describe(self.gm, n).where for n in nodes[1:]]
        self.cap.layers.append(Layer(kind, name, modules, [x.name for x in inputs], name, attrs, weight, bias, act))
        for n in nodes:
            self.alias[n.name] = name
        return v

    def _unsupported(self, info: NodeInfo, why: str = "unsupported layer") -> UnsupportedError:
        return UnsupportedError(f"{info.where} ({info.type_name}): {why}. Supported layers: "
                                f"{'; '.join(SUPPORTED_LAYERS)}")

    # ---- graph ends
    def _placeholder(self, node: fx.Node) -> None:
        if self.cap.float_input_shape:
            raise UnsupportedError(f"model input '{node.name}': models with more than one input are not supported")
        tshape = _meta_shape(node)
        shape, layout = _graph_shape(tshape, f"model input '{node.name}'")
        self.cap.values["input"] = Value("input", node.name, shape, layout)
        self.alias[node.name] = "input"
        self.cap.float_input_shape = (1, *tshape[1:])

    def _output(self, node: fx.Node) -> None:
        out = node.args[0]
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        self.cap.outputs = [self.value_of(o, f"model output {i}").name for i, o in enumerate(outs)]

    # ---- calls
    def _call(self, node: fx.Node, info: NodeInfo) -> None:
        kind = info.kind
        if kind == "ignore":
            self.alias[node.name] = self.value_of(node.args[0], info.where).name
        elif kind == "conv":
            self._conv(node, info)
        elif kind == "linear":
            self._linear(node, info)
        elif kind == "add":
            self._add(node, info)
        elif kind in ("avgpool", "maxpool", "adaptive", "mean"):
            self._pool(node, info)
        elif kind == "pad":
            self._pad(node, info)
        elif kind == "reshape":
            self._reshape(node, info)
        elif kind == "cat":
            self._cat(node, info)
        elif kind in ("sigmoid", "hardswish", "mul", "resize"):
            self._detection_op(node, info)
        elif kind == "bn":
            raise self._unsupported(info, "BatchNorm2d must directly follow a Conv2d whose output nothing else "
                                          "reads, so that it can be folded into it")
        elif kind == "hardsigmoid":
            raise self._unsupported(info, "a hard sigmoid must directly follow a Conv2d or Linear whose output "
                                          "nothing else reads (it is folded into that layer: weights / 6, bias "
                                          "(b + 3) / 6, output quantization spanning [0, 1])")
        elif kind == "act":
            raise self._unsupported(info, "an activation must directly follow a Conv2d, Linear, add or pool whose "
                                          "output nothing else reads (it becomes that op's clamp)")
        else:
            raise self._unsupported(info)

    def _map_input(self, node: fx.Node, info: NodeInfo) -> Value:
        x = self.value_of(node.args[0], info.where)
        if len(x.shape) != 4:
            raise self._unsupported(info, f"needs a (N, C, H, W) feature map, gets a vector of shape {x.shape}")
        return x

    def _conv(self, node: fx.Node, info: NodeInfo) -> None:
        m: nn.Conv2d = info.module
        x = self._map_input(node, info)
        attrs = conv_geometry(m, info.where)
        if m.groups == 1:
            kind = "conv2d_s8"
        elif m.groups == m.in_channels:
            kind = "depthwise_conv2d_s8"
            attrs["depth_multiplier"] = m.out_channels // m.in_channels
        else:
            raise self._unsupported(info, f"groups={m.groups} with {m.in_channels} input channels; only groups=1 "
                                          f"or groups=in_channels (depthwise) map to int8 kernels")
        last, fused, bn, act = self._fuse(node, allow_bn=True, allow_hsigmoid=True)
        w = m.weight.detach().double().numpy()
        b = None if m.bias is None else m.bias.detach().double().numpy()
        if bn is not None:
            w, b = fold_bn(w, b, bn.module, bn.where)
        elif b is None:
            b = np.zeros(w.shape[0])
        shape, _ = _graph_shape(_meta_shape(last), info.where)
        assert shape[1:3] == conv_output_hw(x.shape[1], x.shape[2], *as_pair(m.kernel_size), attrs), info.where
        w, b, act, fixed = _fold_hsigmoid(w, b, act)
        self._emit(kind, info, [x], [node] + fused, shape, "nchw", attrs, w, b, act, fixed=fixed)

    def _linear(self, node: fx.Node, info: NodeInfo) -> None:
        m: nn.Linear = info.module
        x = self.value_of(node.args[0], info.where)
        if len(x.shape) != 2:
            raise self._unsupported(info, f"Linear needs an (N, F) input, gets graph shape {x.shape}; flatten first")
        w = m.weight.detach().double().numpy()
        if x.layout == "chw_flat":  # graph holds the flattened map in HWC order: reorder the weight columns
            c, h, wd = x.chw
            w = w[:, np.arange(c * h * wd).reshape(c, h, wd).transpose(1, 2, 0).reshape(-1)]
        b = np.zeros(w.shape[0]) if m.bias is None else m.bias.detach().double().numpy()
        last, fused, _, act = self._fuse(node, allow_bn=False, allow_hsigmoid=True)
        w, b, act, fixed = _fold_hsigmoid(w, b, act)
        self._emit("fully_connected_s8", info, [x], [node] + fused, (1, w.shape[0]), "flat", {}, w, b, act,
                   fixed=fixed)

    def _add(self, node: fx.Node, info: NodeInfo) -> None:
        if len(node.args) < 2 or not all(isinstance(a, fx.Node) for a in node.args[:2]):
            raise self._unsupported(info, "add of a constant is not supported; only tensor + tensor")
        a, b = (self.value_of(arg, info.where) for arg in node.args[:2])
        if a.shape != b.shape or a.chw != b.chw:
            raise self._unsupported(info, f"add of shapes {a.shape} and {b.shape}: no broadcasting")
        last, fused, _, act = self._fuse(node, allow_bn=False)
        self._emit("add_s8", info, [a, b], [node] + fused, a.shape, a.layout, {}, act=act, chw=a.chw)

    def _pool(self, node: fx.Node, info: NodeInfo) -> None:
        x = self._map_input(node, info)
        _, h, w, c = x.shape
        p = info.params
        keep = True
        if info.kind in ("avgpool", "maxpool"):
            attrs = pool_geometry(p, info.where)
        else:
            if info.kind == "mean":
                dims = p["dim"] if isinstance(p["dim"], (tuple, list)) else [p["dim"]]
                if sorted(int(d) % 4 for d in dims) != [2, 3]:
                    raise self._unsupported(info, f"mean over dims {p['dim']}; only over H and W (2, 3)")
                oh = ow = 1
                keep = p["keepdim"]
            else:
                osz = p["output_size"]
                oh, ow = (osz, osz) if isinstance(osz, int) else (osz[0] or h, osz[1] or w)
            if h % oh or w % ow:
                raise self._unsupported(info, f"adaptive pooling of {h}x{w} to {oh}x{ow} is not a fixed window")
            attrs = {"filter_h": h // oh, "filter_w": w // ow, "stride_h": h // oh, "stride_w": w // ow,
                     "pad_top": 0, "pad_bottom": 0, "pad_left": 0, "pad_right": 0}
        last, fused, _, act = self._fuse(node, allow_bn=False)
        kind = "max_pool2d_s8" if info.kind == "maxpool" else "avg_pool2d_s8"
        oh, ow = conv_output_hw(h, w, attrs["filter_h"], attrs["filter_w"], attrs, dilation=(1, 1))
        if keep:
            assert _graph_shape(_meta_shape(last), info.where)[0] == (1, oh, ow, c), info.where
            self._emit(kind, info, [x], [node] + fused, (1, oh, ow, c), "nchw", attrs, act=act, share=x.name)
            return
        # mean without keepdim: a whole-map pool, then a reshape to (1, C); both equal the mean's output
        pooled = self._emit(kind, info, [x], [node] + fused, (1, 1, 1, c), "flat", attrs, act=act, share=x.name)
        flat = NodeInfo("reshape", f"{info.where}.reshape", info.type_name)
        self._emit("reshape", flat, [pooled], [last], (1, c), "flat", {"shape": [1, c]}, share=pooled.name)

    def _pad(self, node: fx.Node, info: NodeInfo) -> None:
        x = self._map_input(node, info)
        pad = as_pair(info.params["pad"]) * 2 if isinstance(info.params["pad"], int) else tuple(info.params["pad"])
        if len(pad) == 2:
            pad = (*pad, 0, 0)
        if len(pad) != 4 or min(pad) < 0 or info.params["value"] != 0.0:
            raise self._unsupported(info, f"padding {info.params['pad']} with value {info.params['value']}; only "
                                          f"non-negative zero padding of H and W is supported")
        left, right, top, bottom = (int(v) for v in pad)
        attrs = {"pad_top": top, "pad_bottom": bottom, "pad_left": left, "pad_right": right, "pad_value": None}
        shape = (1, x.shape[1] + top + bottom, x.shape[2] + left + right, x.shape[3])
        self._emit("pad_s8", info, [x], [node], shape, "nchw", attrs, share=x.name)

    def _reshape(self, node: fx.Node, info: NodeInfo) -> None:
        x = self.value_of(node.args[0], info.where)
        tin, tout = _meta_shape(node.args[0]), _meta_shape(node)
        if tout == tin:
            self.alias[node.name] = x.name
            return
        if len(tout) != 2 or tout[0] != tin[0] or len(x.shape) != 4:
            raise self._unsupported(info, f"reshape from {tin} to {tout}; only flattening an (N, C, H, W) map to "
                                          f"(N, C*H*W) is supported")
        _, h, w, c = x.shape
        layout, chw = ("flat", None) if h * w == 1 else ("chw_flat", (c, h, w))
        self._emit("reshape", info, [x], [node], (1, h * w * c), layout, {"shape": [1, h * w * c]}, chw=chw,
                   share=x.name)

    # ---- MobileNetV3 / detection layers: sigmoid, hard swish, gating multiply, nearest up-sampling
    def _detection_op(self, node: fx.Node, info: NodeInfo) -> None:
        if info.kind == "mul":
            self._mul(node, info)
            return
        x = self.value_of(node.args[0], info.where)
        if info.kind == "sigmoid":
            self._emit("logistic_s8", info, [x], [node], x.shape, x.layout, {}, chw=x.chw, fixed=(1.0 / 256, -128))
        elif info.kind == "hardswish":
            self._emit("hard_swish_s8", info, [x], [node], x.shape, x.layout, {}, chw=x.chw)
        else:
            self._resize(node, info)

    def _mul(self, node: fx.Node, info: NodeInfo) -> None:
        if len(node.args) < 2 or not all(isinstance(a, fx.Node) for a in node.args[:2]):
            raise self._unsupported(info, "multiply by a constant is not supported; only tensor * tensor")
        a, b = (self.value_of(arg, info.where) for arg in node.args[:2])
        try:
            shape = SCHEMAS["mul_s8"].infer([a.shape, b.shape], {})
        except GraphValidationError as e:
            raise self._unsupported(info, str(e)) from None
        big = a if a.shape == shape else b
        if a.shape == b.shape and a.chw != b.chw:
            raise self._unsupported(info, "multiply of two flattened maps in different layouts")
        last, fused, _, act = self._fuse(node, allow_bn=False)
        self._emit("mul_s8", info, [a, b], [node] + fused, shape, big.layout, {}, act=act, chw=big.chw)

    def _resize(self, node: fx.Node, info: NodeInfo) -> None:
        x = self._map_input(node, info)
        if info.params["mode"] != "nearest":
            raise self._unsupported(info, f"interpolation mode {info.params['mode']!r}; only 'nearest' maps to "
                                          f"TFLite's RESIZE_NEAREST_NEIGHBOR")
        shape, _ = _graph_shape(_meta_shape(node), info.where)
        for axis in (1, 2):  # torch's nearest source index is floor(o * in / out): must equal TFLite's
            n_in, n_out = x.shape[axis], shape[axis]
            torch_idx = [min(o * n_in // n_out, n_in - 1) for o in range(n_out)]
            if nearest_indices(n_in, n_out, 0, 0).tolist() != torch_idx:
                raise self._unsupported(info, f"nearest resize {n_in} -> {n_out} picks other pixels in TFLite's "
                                              f"float32 arithmetic than in torch")
        attrs = {"out_h": shape[1], "out_w": shape[2], "align_corners": 0, "half_pixel_centers": 0}
        self._emit("resize_nearest_s8", info, [x], [node], shape, "nchw", attrs, share=x.name)

    def _cat(self, node: fx.Node, info: NodeInfo) -> None:
        """Each input is first requantized to the output's calibrated quantization (TFLite's CONCATENATION needs one
        quantization), then copied along the axis."""
        parts = node.args[0] if node.args else node.kwargs.get("tensors")
        if not isinstance(parts, (list, tuple)) or len(parts) < 2:
            raise self._unsupported(info, "torch.cat needs a list of two or more tensors")
        xs = [self.value_of(p, info.where) for p in parts]
        shape, layout = _graph_shape(_meta_shape(node), info.where)
        rank = len(shape)
        dim = int(info.params["dim"]) % rank
        if any(x.layout not in ("nchw", "flat") or len(x.shape) != rank for x in xs) or dim == 0:
            raise self._unsupported(info, f"torch.cat along dim {info.params['dim']} of {[x.shape for x in xs]}: "
                                          f"only maps along C, H or W, or vectors along features")
        axis = {1: 3, 2: 1, 3: 2}[dim] if rank == 4 else dim
        name = self._unique(info.where)
        requantized = []
        for k, x in enumerate(xs):
            qname = self._unique(f"{name}.requantize{k}")
            self.cap.values[qname] = Value(qname, x.node, x.shape, x.layout, x.chw, share=name)
            self.cap.layers.append(Layer("quantize_s8", qname, [info.where], [x.name], qname, {}))
            requantized.append(self.cap.values[qname])
        self._emit("concatenation_s8", info, requantized, [node], shape, layout, {"axis": axis})
