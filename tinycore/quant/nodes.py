"""What a torch.fx node means for the integer graph: its kind and its parameters, from module or function call.

Every spelling of a supported layer (module, functional call, tensor method) is reduced here to one `NodeInfo`,
so the capture code deals with kinds, not with torch's many names for the same thing.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

SUPPORTED_LAYERS = (
    "Conv2d (groups 1, or groups == in_channels for depthwise)", "BatchNorm2d directly after a Conv2d",
    "ReLU / ReLU6 / Hardtanh / F.relu / clamp (fused into the op before)", "Linear",
    "AdaptiveAvgPool2d / global mean over H, W", "AvgPool2d", "MaxPool2d", "Flatten / flatten / view / reshape",
    "ZeroPad2d / F.pad with zeros", "residual add (+, torch.add)", "Dropout / Identity (ignored in eval)",
    "Sigmoid / torch.sigmoid", "Hardswish / F.hardswish",
    "Hardsigmoid / F.hardsigmoid directly after a Conv2d or Linear (folded into it)", "x * y (same shape, or an (N, C, 1, 1) gate)",
    "F.interpolate / Upsample, mode 'nearest'", "torch.cat of maps or vectors")

_IGNORED_MODULES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.Identity)
_IGNORED_FUNCTIONS = {F.dropout, F.dropout1d, F.dropout2d, F.alpha_dropout, torch.nn.functional.feature_alpha_dropout}
_IGNORED_METHODS = {"contiguous", "clone", "detach"}
_RESHAPE_FUNCTIONS = {torch.flatten, torch.reshape}
_RESHAPE_METHODS = {"flatten", "view", "reshape"}


@dataclass
class NodeInfo:
    kind: str  # conv bn act linear add avgpool adaptive mean maxpool reshape pad ignore | "" when unsupported
    where: str  # module path (or function name in its module) for messages and op names
    type_name: str  # e.g. "torch.nn.Conv2d" or "torch.add"
    module: nn.Module | None = None
    params: dict[str, Any] = field(default_factory=dict)


def _arg(node: fx.Node, index: int, name: str, default: Any = None) -> Any:
    """Positional-or-keyword argument of a call (for methods, index 0 is the tensor itself)."""
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def as_pair(v: int | tuple[int, ...] | list[int]) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def node_where(node: fx.Node) -> str:
    """Module path of a module call; for a function call, the path of the module whose forward made it."""
    if node.op == "call_module":
        return str(node.target)
    stack = node.meta.get("nn_module_stack") or {}
    if stack:
        last = list(stack.values())[-1]
        path = last[0] if isinstance(last, tuple) else str(last)
        return f"{path}.{node.name}" if path else node.name
    return node.name


def _type_name(node: fx.Node, module: nn.Module | None) -> str:
    if module is not None:
        return f"{type(module).__module__}.{type(module).__qualname__}"
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    mod = getattr(target, "__module__", None) or ""
    return f"{mod}.{getattr(target, '__name__', str(target))}".lstrip(".")


def _act(lo: float | None, hi: float | None) -> dict[str, Any]:
    lo = -math.inf if lo is None else float(lo)
    hi = math.inf if hi is None else float(hi)
    if lo == 0.0 and hi == math.inf:
        name = "relu"
    elif lo == 0.0 and hi == 6.0:
        name = "relu6"
    elif lo == -1.0 and hi == 1.0:
        name = "relu_n1_to_1"
    else:
        name = "clamp"
    return {"lo": lo, "hi": hi, "name": name}


def _module_info(node: fx.Node, m: nn.Module, info: NodeInfo) -> NodeInfo:
    if isinstance(m, nn.Conv2d):
        info.kind, info.params = "conv", {}
    elif isinstance(m, nn.BatchNorm2d):
        info.kind = "bn"
    elif isinstance(m, nn.ReLU):
        info.kind, info.params = "act", _act(0.0, None)
    elif isinstance(m, nn.ReLU6):
        info.kind, info.params = "act", _act(0.0, 6.0)
    elif isinstance(m, nn.Hardtanh):
        info.kind, info.params = "act", _act(m.min_val, m.max_val)
    elif isinstance(m, nn.Linear):
        info.kind = "linear"
    elif isinstance(m, nn.AdaptiveAvgPool2d):
        info.kind, info.params = "adaptive", {"output_size": m.output_size}
    elif isinstance(m, nn.AvgPool2d):
        info.kind, info.params = "avgpool", {"kernel": m.kernel_size, "stride": m.stride, "padding": m.padding,
                                             "ceil_mode": m.ceil_mode, "count_include_pad": m.count_include_pad,
                                             "divisor_override": m.divisor_override}
    elif isinstance(m, nn.MaxPool2d):
        info.kind, info.params = "maxpool", {"kernel": m.kernel_size, "stride": m.stride, "padding": m.padding,
                                             "dilation": m.dilation, "ceil_mode": m.ceil_mode,
                                             "return_indices": m.return_indices}
    elif isinstance(m, nn.Flatten):
        info.kind = "reshape"
    elif isinstance(m, (nn.ZeroPad2d, nn.ConstantPad2d)):
        info.kind, info.params = "pad", {"pad": m.padding, "value": float(getattr(m, "value", 0.0))}
    elif isinstance(m, _IGNORED_MODULES):
        info.kind = "ignore"
    elif isinstance(m, nn.Sigmoid):
        info.kind = "sigmoid"
    elif isinstance(m, nn.Hardswish):
        info.kind = "hardswish"
    elif isinstance(m, nn.Hardsigmoid):
        info.kind = "hardsigmoid"
    elif isinstance(m, nn.Upsample):
        info.kind, info.params = "resize", {"mode": m.mode, "align_corners": m.align_corners}
    return info


def _function_info(node: fx.Node, info: NodeInfo) -> NodeInfo:
    t = node.target
    method = node.op == "call_method"
    if t in (operator.add, torch.add, operator.iadd) or (method and t in ("add", "__add__")):
        alpha = node.kwargs.get("alpha", 1)
        info.kind, info.params = ("add", {}) if alpha == 1 else ("", {})
    elif t in (F.relu, torch.relu) or (method and t == "relu"):
        info.kind, info.params = "act", _act(0.0, None)
    elif t is F.relu6:
        info.kind, info.params = "act", _act(0.0, 6.0)
    elif t is F.hardtanh:
        info.kind, info.params = "act", _act(_arg(node, 1, "min_val", -1.0), _arg(node, 2, "max_val", 1.0))
    elif t in (torch.clamp, torch.clip) or (method and t in ("clamp", "clip")):
        lo, hi = _arg(node, 1, "min"), _arg(node, 2, "max")
        if all(v is None or isinstance(v, (int, float)) for v in (lo, hi)):
            info.kind, info.params = "act", _act(lo, hi)
    elif t is torch.clamp_min or (method and t == "clamp_min"):
        lo = _arg(node, 1, "min")
        if isinstance(lo, (int, float)):
            info.kind, info.params = "act", _act(lo, None)
    elif t is F.adaptive_avg_pool2d:
        info.kind, info.params = "adaptive", {"output_size": _arg(node, 1, "output_size")}
    elif t is torch.mean or (method and t == "mean"):
        info.kind, info.params = "mean", {"dim": _arg(node, 1, "dim"), "keepdim": bool(_arg(node, 2, "keepdim", False))}
    elif t is F.avg_pool2d:
        info.kind, info.params = "avgpool", {
            "kernel": _arg(node, 1, "kernel_size"), "stride": _arg(node, 2, "stride"),
            "padding": _arg(node, 3, "padding", 0), "ceil_mode": _arg(node, 4, "ceil_mode", False),
            "count_include_pad": _arg(node, 5, "count_include_pad", True),
            "divisor_override": _arg(node, 6, "divisor_override")}
    elif t is F.max_pool2d:
        info.kind, info.params = "maxpool", {
            "kernel": _arg(node, 1, "kernel_size"), "stride": _arg(node, 2, "stride"),
            "padding": _arg(node, 3, "padding", 0), "dilation": _arg(node, 4, "dilation", 1),
            "ceil_mode": _arg(node, 5, "ceil_mode", False), "return_indices": _arg(node, 6, "return_indices", False)}
    elif t is F.pad:
        mode, value = _arg(node, 2, "mode", "constant"), _arg(node, 3, "value", None)
        if mode == "constant":
            info.kind, info.params = "pad", {"pad": tuple(_arg(node, 1, "pad")), "value": float(value or 0.0)}
    elif t in _RESHAPE_FUNCTIONS or (method and t in _RESHAPE_METHODS):
        info.kind = "reshape"
    elif t in _IGNORED_FUNCTIONS or (method and t in _IGNORED_METHODS):
        info.kind = "ignore"
    elif t in (torch.sigmoid, F.sigmoid) or (method and t == "sigmoid"):
        info.kind = "sigmoid"
    elif t is F.hardswish:
        info.kind = "hardswish"
    elif t is F.hardsigmoid:
        info.kind = "hardsigmoid"
    elif t in (operator.mul, torch.mul, operator.imul) or (method and t in ("mul", "__mul__")):
        info.kind = "mul"
    elif t in (torch.cat, torch.concat):
        info.kind, info.params = "cat", {"dim": _arg(node, 1, "dim", 0)}
    elif t is F.interpolate:
        info.kind, info.params = "resize", {"mode": _arg(node, 3, "mode", "nearest"),
                                            "align_corners": _arg(node, 4, "align_corners")}
    return info


def describe(gm: fx.GraphModule, node: fx.Node) -> NodeInfo:
    """Classify a call node; kind "" means unsupported (the caller raises, naming `where` and `type_name`)."""
    module = gm.get_submodule(str(node.target)) if node.op == "call_module" else None
    info = NodeInfo(kind="", where=node_where(node), type_name=_type_name(node, module), module=module)
    if module is not None:
        return _module_info(node, module, info)
    return _function_info(node, info)


def pool_geometry(params: dict[str, Any], where: str) -> dict[str, int]:
    """AvgPool2d/MaxPool2d arguments -> explicit filter/stride/pad attributes (UnsupportedError otherwise)."""
    from tinycore.errors import UnsupportedError

    if params.get("ceil_mode"):
        raise UnsupportedError(f"{where}: pooling with ceil_mode=True is not supported; use ceil_mode=False")
    if params.get("return_indices"):
        raise UnsupportedError(f"{where}: max pooling with return_indices=True is not supported")
    if params.get("divisor_override"):
        raise UnsupportedError(f"{where}: average pooling with divisor_override is not supported")
    if as_pair(params.get("dilation", 1)) != (1, 1):
        raise UnsupportedError(f"{where}: dilated max pooling is not supported")
    fh, fw = as_pair(params["kernel"])
    sh, sw = as_pair(params["stride"] if params["stride"] not in (None, (), []) else params["kernel"])
    ph, pw = as_pair(params["padding"])
    if (ph or pw) and params.get("count_include_pad", False):
        raise UnsupportedError(
            f"{where}: average pooling with padding counts only valid pixels here (TFLite semantics); "
            f"set count_include_pad=False")
    return {"filter_h": fh, "filter_w": fw, "stride_h": sh, "stride_w": sw,
            "pad_top": ph, "pad_bottom": ph, "pad_left": pw, "pad_right": pw}


def conv_geometry(m: nn.Conv2d, where: str) -> dict[str, int]:
    """Conv2d padding/stride/dilation -> explicit attributes (torch 'same' puts the odd pixel at bottom/right)."""
    from tinycore.errors import UnsupportedError

    if m.padding_mode != "zeros":
        raise UnsupportedError(f"{where}: Conv2d padding_mode={m.padding_mode!r} is not supported; use 'zeros'")
    (sh, sw), (dh, dw), (kh, kw) = as_pair(m.stride), as_pair(m.dilation), as_pair(m.kernel_size)
    if isinstance(m.padding, str):
        if m.padding == "valid":
            pads = (0, 0, 0, 0)
        else:  # "same" (stride 1 only in torch)
            th, tw = dh * (kh - 1), dw * (kw - 1)
            pads = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    else:
        ph, pw = as_pair(m.padding)
        pads = (ph, ph, pw, pw)
    return {"stride_h": sh, "stride_w": sw, "dilation_h": dh, "dilation_w": dw, "pad_top": pads[0],
            "pad_bottom": pads[1], "pad_left": pads[2], "pad_right": pads[3]}
