"""Shape inference, validation and analytic cost of a `ModelSpec` (no torch).

Counting convention (what an int8 export holds, BatchNorm folded into the conv or fc before it):
- params: every conv/fc weight plus ONE bias per output channel, whether the float model has a bias or a BN
  (a BN after a conv becomes that conv's bias). Pools, activations, dropout and residual adds hold nothing.
- macs: multiply-accumulates of conv and fc layers only: out_h * out_w * out_c * (kh * kw * in_c / groups), and
  in * out for fc. Pools, BN, activations and adds are not counted (the MLPerf Tiny figures count the same way).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from tinycore.spec.layers import (ACTS, FC, SE, SE_GATES, Act, AvgPool, ClassToken, Conv, Dropout, DWConv, DWSep,
                                  Flatten, GlobalPool, Layer, MaxPool, MBConv, ModelSpec, PatchEmbed, Residual,
                                  SpecError, TokenPool, TransformerBlock)

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LayerInfo:
    name: str        # module name in the built model, e.g. 'blocks.3' or 'head.fc'
    kind: str
    in_shape: Shape  # (C, H, W) or (N,), no batch
    out_shape: Shape
    params: int
    macs: int


@dataclass(frozen=True)
class ConvGeometry:
    kh: int
    kw: int
    sh: int
    sw: int
    pads: tuple[int, int, int, int]  # top, bottom, left, right
    oh: int
    ow: int

    @property
    def symmetric(self) -> bool:
        t, b, l, r = self.pads
        return t == b and l == r


def _pair(v: Any, what: str, where: str, minimum: int = 1) -> tuple[int, int]:
    pair = (v, v) if isinstance(v, int) and not isinstance(v, bool) else v
    if (not isinstance(pair, tuple) or len(pair) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= minimum for x in pair)):
        raise SpecError(f"{where}: {what} must be an int >= {minimum} or a pair [h, w] of them, got {v!r}")
    return pair


def _same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    """'same' = output ceil(size / stride).

    Odd kernels pad k // 2 on both sides (torch/torchvision convention); even kernels pad symmetrically when that
    still gives ceil(size / stride) (10x4 stride 2 on 49x10 -> 5, 1), else TF-style with the extra row at the end.
    """
    if k % 2 == 1:
        return k // 2, k // 2
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    p = (total + 1) // 2
    if (size + 2 * p - k) // s + 1 == out:
        return p, p
    return total // 2, total - total // 2


def conv_geometry(where: str, in_shape: Shape, kernel: Any, stride: Any, padding: Any) -> ConvGeometry:
    """Resolve kernel, stride and padding of a conv or pool on a (C, H, W) input; error if the map vanishes."""
    if len(in_shape) != 3:
        raise SpecError(f"{where}: needs a (C, H, W) input, got shape {in_shape}")
    _, h, w = in_shape
    kh, kw = _pair(kernel, "kernel", where)
    sh, sw = _pair(stride, "stride", where)
    if padding == "same":
        pads = (*_same_pads(h, kh, sh), *_same_pads(w, kw, sw))
    elif padding == "valid":
        pads = (0, 0, 0, 0)
    elif isinstance(padding, tuple) and len(padding) == 4:
        if not all(isinstance(p, int) and p >= 0 for p in padding):
            raise SpecError(f"{where}: padding values must be ints >= 0, got {list(padding)}")
        pads = padding
    else:
        try:
            ph, pw = _pair(padding, "padding", where, minimum=0)
        except SpecError:
            raise SpecError(f"{where}: padding must be 'same', 'valid', p, [ph, pw] or [top, bottom, left, right], "
                            f"got {padding!r}") from None
        pads = (ph, ph, pw, pw)
    oh = (h + pads[0] + pads[1] - kh) // sh + 1
    ow = (w + pads[2] + pads[3] - kw) // sw + 1
    if oh < 1 or ow < 1:
        raise SpecError(f"{where}: kernel {kh}x{kw} stride {sh}x{sw} padding {list(pads)} on input {in_shape} "
                        f"leaves a {oh}x{ow} map; use a smaller stride/kernel, more padding or a larger input")
    return ConvGeometry(kh, kw, sh, sw, tuple(pads), oh, ow)


def _channels(n: Any, where: str) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise SpecError(f"{where}: channels/out must be a positive int, got {n!r}")
    return n


def _act(a: Any, where: str) -> None:
    if a not in ACTS:
        raise SpecError(f"{where}: act {a!r} is not one of {', '.join(ACTS)}")


def mbconv_hidden(cin: int, expand: float) -> int:
    """Expanded width as torchvision computes it: round(cin * expand)."""
    return int(round(cin * expand))


def infer_layer(layer: Layer, in_shape: Shape, where: str) -> tuple[Shape, int, int]:
    """(out_shape, params, macs) of one layer; raises SpecError naming `where` on any invalid setting."""
    kind = getattr(layer, "kind", None)
    loc = f"{where} ({kind})"
    if isinstance(layer, Conv):
        _act(layer.act, loc)
        g = conv_geometry(loc, in_shape, layer.kernel, layer.stride, layer.padding)
        cin, cout = in_shape[0], _channels(layer.out, loc)
        return (cout, g.oh, g.ow), g.kh * g.kw * cin * cout + cout, g.oh * g.ow * cout * g.kh * g.kw * cin
    if isinstance(layer, DWConv):
        _act(layer.act, loc)
        g = conv_geometry(loc, in_shape, layer.kernel, layer.stride, layer.padding)
        c = in_shape[0]
        return (c, g.oh, g.ow), g.kh * g.kw * c + c, g.oh * g.ow * c * g.kh * g.kw
    if isinstance(layer, Act):
        _act(layer.act, loc)
        return in_shape, 0, 0
    if isinstance(layer, SE):
        _act(layer.act, loc)
        if layer.gate not in SE_GATES:
            raise SpecError(f"{loc}: gate {layer.gate!r} is not one of {', '.join(SE_GATES)}")
        if len(in_shape) != 3:
            raise SpecError(f"{loc}: needs a (C, H, W) input, got shape {in_shape}")
        c, sq = in_shape[0], _channels(layer.squeeze, loc)
        return in_shape, 2 * c * sq + c + sq, 2 * c * sq  # the two 1x1 convs; mean and multiply not counted
    if isinstance(layer, DWSep):
        _act(layer.act, loc)
        g = conv_geometry(loc, in_shape, layer.kernel, layer.stride, layer.padding)
        cin, cout = in_shape[0], _channels(layer.out, loc)
        params = g.kh * g.kw * cin + cin + cin * cout + cout
        return (cout, g.oh, g.ow), params, g.oh * g.ow * cin * (g.kh * g.kw + cout)
    if isinstance(layer, MBConv):
        _act(layer.act, loc)
        if not isinstance(layer.kernel, int) or layer.kernel < 1 or layer.kernel % 2 == 0:
            raise SpecError(f"{loc}: kernel must be an odd int (3, 5, 7), got {layer.kernel!r}")
        if not isinstance(layer.expand, (int, float)) or layer.expand < 1:
            raise SpecError(f"{loc}: expand ratio must be a number >= 1, got {layer.expand!r}")
        if not isinstance(layer.stride, int) or layer.stride < 1:
            raise SpecError(f"{loc}: stride must be an int >= 1, got {layer.stride!r}")
        cin, cout = in_shape[0], _channels(layer.out, loc)
        g = conv_geometry(loc, in_shape, layer.kernel, layer.stride, "same")
        hidden = mbconv_hidden(cin, layer.expand)
        h, w = in_shape[1], in_shape[2]
        params = macs = 0
        if layer.expand != 1:
            params, macs = cin * hidden + hidden, h * w * cin * hidden
        k2 = layer.kernel * layer.kernel
        params += k2 * hidden + hidden + hidden * cout + cout
        macs += g.oh * g.ow * hidden * (k2 + cout)
        return (cout, g.oh, g.ow), params, macs
    if isinstance(layer, Residual):
        if not layer.body:
            raise SpecError(f"{loc}: body is empty")
        shape, params, macs = in_shape, 0, 0
        for i, sub in enumerate(layer.body):
            shape, p, m = infer_layer(sub, shape, f"{where}.body.{i}")
            params, macs = params + p, macs + m
        short = in_shape
        for i, sub in enumerate(layer.shortcut):
            short, p, m = infer_layer(sub, short, f"{where}.shortcut.{i}")
            params, macs = params + p, macs + m
        if shape != short:
            what = "the shortcut's" if layer.shortcut else "the input"
            raise SpecError(f"{loc}: body maps {in_shape} to {shape}, but {what} shape is {short}; "
                            f"a residual add needs the same shape")
        return shape, params, macs
    if isinstance(layer, (AvgPool, MaxPool)):
        stride = layer.kernel if layer.stride is None else layer.stride
        g = conv_geometry(loc, in_shape, layer.kernel, stride, layer.padding)
        if not g.symmetric or 2 * g.pads[0] > g.kh or 2 * g.pads[2] > g.kw:
            raise SpecError(f"{loc}: pool padding {list(g.pads)} must be symmetric and at most half the kernel "
                            f"{g.kh}x{g.kw}")
        return (in_shape[0], g.oh, g.ow), 0, 0
    if isinstance(layer, GlobalPool):
        if len(in_shape) != 3:
            raise SpecError(f"{loc}: needs a (C, H, W) input, got shape {in_shape}")
        return (in_shape[0], 1, 1), 0, 0
    if isinstance(layer, Flatten):
        return (math.prod(in_shape),), 0, 0
    if isinstance(layer, FC):
        _act(layer.act, loc)
        if len(in_shape) != 1:
            raise SpecError(f"{loc}: needs a 1-D input, got shape {in_shape}; add a 'flatten' "
                            f"(or 'globalpool' then 'flatten') before it")
        cout = _channels(layer.out, loc)
        return (cout,), in_shape[0] * cout + cout, in_shape[0] * cout
    if isinstance(layer, Dropout):
        if not isinstance(layer.p, (int, float)) or not 0 <= layer.p < 1:
            raise SpecError(f"{loc}: dropout p must be in [0, 1), got {layer.p!r}")
        return in_shape, 0, 0
    if isinstance(layer, (PatchEmbed, ClassToken, TransformerBlock, TokenPool)):
        return infer_vit_layer(layer, in_shape, loc)
    raise SpecError(f"{where}: {layer!r} is not a layer")


# ---- ViT layers (MCUFormer, issue #14) ----
def low_rank(n_in: int, n_out: int, rank_ratio: float) -> int | None:
    """The rank of a factorized linear layer, or None when it stays full (rank_ratio >= 1 or no saving)."""
    if rank_ratio >= 1:
        return None
    r = max(1, int(round(rank_ratio * min(n_in, n_out))))
    return r if r * (n_in + n_out) < n_in * n_out else None


def linear_cost(n_in: int, n_out: int, rank_ratio: float) -> tuple[int, int]:
    """(params, macs per token) of a linear layer with bias, low-rank when `low_rank` says so."""
    r = low_rank(n_in, n_out, rank_ratio)
    macs = n_in * n_out if r is None else r * (n_in + n_out)
    return macs + n_out, macs


def mlp_hidden(dim: int, mlp_ratio: float) -> int:
    return max(1, int(round(dim * mlp_ratio)))


def _tokens(shape: Shape, loc: str) -> tuple[int, int]:
    if len(shape) != 2:
        raise SpecError(f"{loc}: needs tokens (T, D), got shape {shape}; start with a 'patch_embed'")
    return shape[0], shape[1]


def infer_vit_layer(layer: Layer, in_shape: Shape, loc: str) -> tuple[Shape, int, int]:
    """(out_shape, params, macs) of a ViT layer. MACs include attention's Q K^T and A V (T * T * D each); LayerNorm,
    softmax, GELU and adds are not counted, as for the CNN layers; each LayerNorm holds 2 D params."""
    if isinstance(layer, PatchEmbed):
        d = _channels(layer.dim, loc)
        g = conv_geometry(loc, in_shape, layer.patch, layer.patch, "valid")
        t, taps = g.oh * g.ow, g.kh * g.kw * in_shape[0]
        return (t, d), taps * d + d + (t * d if layer.pos_embed else 0), t * taps * d
    t, d = _tokens(in_shape, loc)
    if isinstance(layer, ClassToken):
        return (t + 1, d), d * (2 if layer.pos_embed else 1), 0
    if isinstance(layer, TokenPool):
        if layer.mode not in ("mean", "cls"):
            raise SpecError(f"{loc}: mode must be 'mean' or 'cls', got {layer.mode!r}")
        return (d,), 2 * d if layer.norm else 0, 0
    if not isinstance(layer.heads, int) or layer.heads < 1 or d % layer.heads:
        raise SpecError(f"{loc}: heads must be a positive int dividing the width {d}, got {layer.heads!r}")
    if not isinstance(layer.mlp_ratio, (int, float)) or layer.mlp_ratio <= 0:
        raise SpecError(f"{loc}: mlp_ratio must be a number > 0, got {layer.mlp_ratio!r}")
    if not isinstance(layer.rank_ratio, (int, float)) or not 0 < layer.rank_ratio:
        raise SpecError(f"{loc}: rank_ratio must be a number > 0 (1 = full rank), got {layer.rank_ratio!r}")
    hidden = mlp_hidden(d, layer.mlp_ratio)
    params, macs = 4 * d, 2 * t * t * d
    for n_in, n_out in [(d, d)] * 4 + [(d, hidden), (hidden, d)]:
        p, m = linear_cost(n_in, n_out, layer.rank_ratio)
        params, macs = params + p, macs + t * m
    return (t, d), params, macs


def child_names(section: str, layers: tuple[Layer, ...]) -> list[str]:
    """Module names inside a section: blocks by index ('3'), stem/head by kind ('fc', or 'fc0', 'fc1')."""
    if section == "blocks":
        return [str(i) for i in range(len(layers))]
    kinds = [layer.kind for layer in layers]
    seen: dict[str, int] = {}
    names = []
    for k in kinds:
        if kinds.count(k) == 1:
            names.append(k)
        else:
            names.append(f"{k}{seen.get(k, 0)}")
            seen[k] = seen.get(k, 0) + 1
    return names


def analyze(spec: ModelSpec) -> list[LayerInfo]:
    """Validate the spec and return per-layer shapes and costs for the top-level layers, in run order."""
    if not isinstance(spec, ModelSpec):
        raise SpecError(f"expected a ModelSpec, got {type(spec).__name__}")
    shape = spec.input.shape()
    if len(shape) == 3:
        _channels(shape[0], "input")
    infos = []
    for section, layers in spec.sections():
        for name, layer in zip(child_names(section, layers), layers):
            where = f"{section}.{name}"
            out, params, macs = infer_layer(layer, shape, where)
            infos.append(LayerInfo(where, layer.kind, shape, out, params, macs))
            shape = out
    if not infos:
        raise SpecError("spec has no layers")
    return infos


def validate(spec: ModelSpec) -> None:
    """Raise SpecError (naming the layer and shape) if the spec cannot be built."""
    analyze(spec)


def model_stats(spec: ModelSpec) -> dict[str, Any]:
    """{'params', 'macs', 'shapes': [out shape per top-level layer], 'layers': [per-layer dicts]} (see module doc)."""
    infos = analyze(spec)
    return {"params": sum(i.params for i in infos), "macs": sum(i.macs for i in infos),
            "input_shape": spec.input.shape(), "shapes": [i.out_shape for i in infos],
            "layers": [asdict(i) for i in infos]}
