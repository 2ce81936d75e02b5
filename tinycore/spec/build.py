"""Build a torch model from a `ModelSpec`, using only modules that tinycore.quant folds and converts.

Modules used: nn.Conv2d (groups 1 or depthwise), nn.BatchNorm2d, nn.ReLU / nn.ReLU6, nn.Linear (+ nn.BatchNorm1d
for `fc` with bn), nn.AdaptiveAvgPool2d(1), nn.AvgPool2d (count_include_pad=False, as TFLite), nn.MaxPool2d,
nn.Flatten, nn.Dropout, nn.ZeroPad2d (only for asymmetric explicit or even-kernel 'same' padding), and the two
residual modules below whose forward is `x + body(x)` (fx-traceable).

Names follow the spec: `stem.conv.conv`, `blocks.3.dw.bn`, `blocks.5.expand.conv`, `head.fc`; errors and
traces use them.
"""
from __future__ import annotations

import torch
from torch import nn

from tinycore.spec.layers import (FC, SE, Act, AvgPool, ClassToken, Conv, Dropout, DWConv, DWSep, Flatten, GlobalPool,
                                  Layer, MaxPool, MBConv, ModelSpec, PatchEmbed, Residual, TokenPool, TransformerBlock)
from tinycore.spec.shapes import Shape, analyze, child_names, conv_geometry, infer_layer, mbconv_hidden
from tinycore.spec.vit_build import build_vit_layer


def _act(name: str) -> nn.Module | None:
    return {"none": None, "relu": nn.ReLU(), "relu6": nn.ReLU6(), "hswish": nn.Hardswish(),
            "hsigmoid": nn.Hardsigmoid(), "sigmoid": nn.Sigmoid()}[name]


class ConvBNAct(nn.Sequential):
    """[pad] conv [bn] [act]; children are named pad, conv, bn, act so quant can find conv+bn pairs by name."""

    def __init__(self, cin: int, cout: int, in_shape: Shape, kernel, stride, padding, act: str, bn: bool = True,
                 depthwise: bool = False, where: str = "conv") -> None:
        super().__init__()
        g = conv_geometry(where, in_shape, kernel, stride, padding)
        if g.symmetric:
            pad = (g.pads[0], g.pads[2])
        else:
            t, b, l, r = g.pads
            self.add_module("pad", nn.ZeroPad2d((l, r, t, b)))
            pad = (0, 0)
        self.add_module("conv", nn.Conv2d(cin, cout, (g.kh, g.kw), (g.sh, g.sw), pad,
                                          groups=cin if depthwise else 1, bias=not bn))
        if bn:
            self.add_module("bn", nn.BatchNorm2d(cout))
        a = _act(act)
        if a is not None:
            self.add_module("act", a)


class DWSepBlock(nn.Sequential):
    """dw (depthwise ConvBNAct) then pw (1x1 ConvBNAct)."""

    def __init__(self, layer: DWSep, in_shape: Shape, where: str) -> None:
        super().__init__()
        cin = in_shape[0]
        self.add_module("dw", ConvBNAct(cin, cin, in_shape, layer.kernel, layer.stride, layer.padding, layer.act,
                                        depthwise=True, where=where))
        g = conv_geometry(where, in_shape, layer.kernel, layer.stride, layer.padding)
        self.add_module("pw", ConvBNAct(cin, layer.out, (cin, g.oh, g.ow), 1, 1, 0, layer.act, where=where))


class MBConvBlock(nn.Module):
    """MobileNetV2 inverted residual: [expand] dw project, plus x when stride 1 and cin == out."""

    def __init__(self, layer: MBConv, in_shape: Shape, where: str) -> None:
        super().__init__()
        cin = in_shape[0]
        hidden = mbconv_hidden(cin, layer.expand)
        shape = in_shape
        self.has_expand = layer.expand != 1
        if self.has_expand:
            self.expand = ConvBNAct(cin, hidden, shape, 1, 1, 0, layer.act, where=where)
            shape = (hidden, *shape[1:])
        self.dw = ConvBNAct(hidden, hidden, shape, layer.kernel, layer.stride, "same", layer.act, depthwise=True,
                            where=where)
        g = conv_geometry(where, shape, layer.kernel, layer.stride, "same")
        self.project = ConvBNAct(hidden, layer.out, (hidden, g.oh, g.ow), 1, 1, 0, "none", where=where)
        self.use_residual = layer.stride == 1 and cin == layer.out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.has_expand else x
        y = self.project(self.dw(y))
        return x + y if self.use_residual else y


class ResidualBlock(nn.Module):
    """x + body(x) around an arbitrary layer list."""

    def __init__(self, body: nn.Sequential) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ProjectedResidualBlock(nn.Module):
    """shortcut(x) + body(x): ResNet's downsampling block (a separate class so the identity one stays as it was)."""

    def __init__(self, body: nn.Sequential, shortcut: nn.Sequential) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.body(x)


class SEBlock(nn.Module):
    """Squeeze-and-excitation: x * gate(expand(act(reduce(mean_hw(x))))); children pool, reduce, act, expand, gate."""

    def __init__(self, layer: SE, channels: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, layer.squeeze, 1)
        self.act = _act(layer.act) or nn.Identity()
        self.expand = nn.Conv2d(layer.squeeze, channels, 1)
        self.gate = _act(layer.gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


def build_layer(layer: Layer, in_shape: Shape, where: str) -> tuple[nn.Module, Shape]:
    """One spec layer as a module, and its output shape."""
    out_shape, _, _ = infer_layer(layer, in_shape, where)  # validates first
    loc = f"{where} ({layer.kind})"
    if isinstance(layer, Conv):
        return ConvBNAct(in_shape[0], layer.out, in_shape, layer.kernel, layer.stride, layer.padding, layer.act,
                         bn=layer.bn, where=loc), out_shape
    if isinstance(layer, DWSep):
        return DWSepBlock(layer, in_shape, loc), out_shape
    if isinstance(layer, MBConv):
        return MBConvBlock(layer, in_shape, loc), out_shape
    if isinstance(layer, DWConv):
        return ConvBNAct(in_shape[0], in_shape[0], in_shape, layer.kernel, layer.stride, layer.padding, layer.act,
                         bn=layer.bn, depthwise=True, where=loc), out_shape
    if isinstance(layer, Act):
        return _act(layer.act) or nn.Identity(), out_shape
    if isinstance(layer, SE):
        return SEBlock(layer, in_shape[0]), out_shape
    if isinstance(layer, Residual):
        body = _build_list(layer.body, in_shape, f"{where}.body")
        if not layer.shortcut:
            return ResidualBlock(body), out_shape
        return ProjectedResidualBlock(body, _build_list(layer.shortcut, in_shape, f"{where}.shortcut")), out_shape
    if isinstance(layer, (AvgPool, MaxPool)):
        g = conv_geometry(loc, in_shape, layer.kernel, layer.kernel if layer.stride is None else layer.stride,
                          layer.padding)
        args = ((g.kh, g.kw), (g.sh, g.sw), (g.pads[0], g.pads[2]))
        pool = nn.AvgPool2d(*args, count_include_pad=False) if isinstance(layer, AvgPool) else nn.MaxPool2d(*args)
        return pool, out_shape
    if isinstance(layer, GlobalPool):
        return nn.AdaptiveAvgPool2d(1), out_shape
    if isinstance(layer, Flatten):
        return nn.Flatten(), out_shape
    if isinstance(layer, FC):
        lin = nn.Linear(in_shape[0], layer.out, bias=not layer.bn)
        act = _act(layer.act)
        if not layer.bn and act is None:
            return lin, out_shape
        seq = nn.Sequential()
        seq.add_module("fc", lin)
        if layer.bn:
            seq.add_module("bn", nn.BatchNorm1d(layer.out))
        if act is not None:
            seq.add_module("act", act)
        return seq, out_shape
    if isinstance(layer, Dropout):
        return nn.Dropout(layer.p), out_shape
    if isinstance(layer, (PatchEmbed, ClassToken, TransformerBlock, TokenPool)):  # ViT layers (MCUFormer)
        return build_vit_layer(layer, in_shape, loc), out_shape
    raise AssertionError(f"infer_layer accepted an unknown layer {layer!r}")


def _build_list(layers: tuple[Layer, ...], in_shape: Shape, where: str) -> nn.Sequential:
    seq, shape = nn.Sequential(), in_shape
    for i, sub in enumerate(layers):
        m, shape = build_layer(sub, shape, f"{where}.{i}")
        seq.add_module(str(i), m)
    return seq


class SpecModel(nn.Module):
    """stem -> blocks -> head, each an nn.Sequential; `spec` is kept for reports and export."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        analyze(spec)  # whole-spec validation with layer names before any module is made
        self.spec = spec
        shape = spec.input.shape()
        for section, layers in spec.sections():
            seq = nn.Sequential()
            for name, layer in zip(child_names(section, layers), layers):
                m, shape = build_layer(layer, shape, f"{section}.{name}")
                seq.add_module(name, m)
            self.add_module(section, seq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def build_model(spec: ModelSpec) -> SpecModel:
    """A freshly initialised float model for `spec` (input batch x C x H x W, or batch x N for features)."""
    return SpecModel(spec)
