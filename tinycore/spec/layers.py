"""Architecture as data: frozen layer dataclasses that (de)serialize to plain JSON.

A `ModelSpec` is an input description plus three layer lists, `stem`, `blocks` and `head`. The split only
names things (module names `stem.conv`, `blocks.3.dw`, `head.fc`) and tells search code which part it may
deepen; the layers run in order stem -> blocks -> head. Tensors are channels-first (C, H, W) without batch,
or (N,) for a 1-D `features` input.

`spec_from_json(spec_to_json(s)) == s` holds exactly: values keep the form they were written in (a kernel
given as 3 stays 3, one given as [10, 4] stays a pair), lists become tuples inside the dataclasses.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field, fields
from typing import Any, Union

from tinycore.errors import SpecError

SPEC_VERSION = 1
ACTS = ("none", "relu", "relu6", "hswish", "hsigmoid", "sigmoid")  # the last three: MobileNetV3 / SE
SE_GATES = ("hsigmoid", "sigmoid")

IntPair = Union[int, tuple[int, int]]
Padding = Union[str, int, tuple[int, ...]]  # 'same' | 'valid' | p | (ph, pw) | (top, bottom, left, right)


@dataclass(frozen=True)
class InputSpec:
    """Image/spectrogram input (channels, height, width) or, for fc-only models, a vector of `features`."""
    channels: int | None = None
    height: int | None = None
    width: int | None = None
    features: int | None = None

    def shape(self) -> tuple[int, ...]:
        """The per-sample tensor shape the model takes: (C, H, W) or (N,)."""
        if self.features is not None:
            if self.channels is not None or self.height is not None or self.width is not None:
                raise SpecError("input: give either features=N or channels/height/width, not both")
            dims: tuple[int | None, ...] = (self.features,)
        else:
            dims = (self.channels, self.height, self.width)
        if any(d is None or not isinstance(d, int) or d <= 0 for d in dims):
            raise SpecError(f"input: every dimension must be a positive int, got {self.to_dict()}")
        return tuple(int(d) for d in dims)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class Conv:
    """Standard convolution + optional BatchNorm (then no bias) + activation."""
    out: int
    kernel: IntPair = 3
    stride: IntPair = 1
    padding: Padding = "same"
    act: str = "relu"
    bn: bool = True
    kind: str = field(default="conv", init=False)


@dataclass(frozen=True)
class DWSep:
    """Depthwise-separable block: dw kxk + BN + act, then pw 1x1 to `out` + BN + act (MobileNetV1, DS-CNN)."""
    out: int
    kernel: IntPair = 3
    stride: IntPair = 1
    padding: Padding = "same"
    act: str = "relu"
    kind: str = field(default="dwsep", init=False)


@dataclass(frozen=True)
class DWConv:
    """Depthwise convolution alone (channels kept) + optional BatchNorm + activation: what an imported graph has
    when its depthwise and pointwise layers are not a `dwsep` pair (MobileNetV2/V3 bodies, EfficientNet-lite)."""
    kernel: IntPair = 3
    stride: IntPair = 1
    padding: Padding = "same"
    act: str = "relu"
    bn: bool = True
    kind: str = field(default="dwconv", init=False)


@dataclass(frozen=True)
class Act:
    """An activation on its own, e.g. the ReLU after a ResNet residual add."""
    act: str = "relu"
    kind: str = field(default="act", init=False)


@dataclass(frozen=True)
class SE:
    """Squeeze-and-excitation (MobileNetV3): x * gate(expand(act(reduce(mean_hw(x))))), reduce and expand 1x1 convs
    with bias, `squeeze` channels in the middle, gate 'hsigmoid' or 'sigmoid'."""
    squeeze: int
    act: str = "relu"
    gate: str = "hsigmoid"
    kind: str = field(default="se", init=False)


@dataclass(frozen=True)
class MBConv:
    """MobileNetV2 inverted residual: 1x1 expand (skipped when expand == 1), dw kxk, 1x1 linear projection.

    The residual add is present when stride is 1 and input channels == out.
    """
    out: int
    expand: float = 6
    kernel: int = 3
    stride: int = 1
    act: str = "relu6"
    kind: str = field(default="mbconv", init=False)


@dataclass(frozen=True)
class Residual:
    """shortcut(x) + body(x): the shortcut is the identity when empty (body must keep the shape), else a layer
    list such as ResNet's strided 1x1 projection, whose output shape must equal the body's."""
    body: tuple["Layer", ...] = ()
    shortcut: tuple["Layer", ...] = ()
    kind: str = field(default="residual", init=False)


@dataclass(frozen=True)
class AvgPool:
    kernel: IntPair = 2
    stride: IntPair | None = None  # None = kernel, as torch and Keras do
    padding: Padding = 0
    kind: str = field(default="avgpool", init=False)


@dataclass(frozen=True)
class MaxPool:
    kernel: IntPair = 2
    stride: IntPair | None = None
    padding: Padding = 0
    kind: str = field(default="maxpool", init=False)


@dataclass(frozen=True)
class GlobalPool:
    """Average over H and W: (C, H, W) -> (C, 1, 1)."""
    kind: str = field(default="globalpool", init=False)


@dataclass(frozen=True)
class Flatten:
    kind: str = field(default="flatten", init=False)


@dataclass(frozen=True)
class FC:
    """Fully connected on a 1-D input; `bn` adds BatchNorm1d (then no bias), folded at quantization."""
    out: int
    act: str = "none"
    bn: bool = False
    kind: str = field(default="fc", init=False)


@dataclass(frozen=True)
class Dropout:
    p: float = 0.5
    kind: str = field(default="dropout", init=False)


# ---- ViT layers (MCUFormer, issue #14): tokens are (T, D) tensors, T tokens of D values, no batch ----
@dataclass(frozen=True)
class PatchEmbed:
    """(C, H, W) -> (T, D): a conv with kernel = stride = patch (p or [ph, pw]; rectangular inputs and patches
    allowed, a remainder row/column is dropped as the conv does), tokens in row-major patch order, plus a learned
    position embedding when `pos_embed`."""
    dim: int
    patch: IntPair = 4
    pos_embed: bool = True
    kind: str = field(default="patch_embed", init=False)


@dataclass(frozen=True)
class ClassToken:
    """(T, D) -> (T + 1, D): a learned token prepended (read back by token_pool mode 'cls'), with its own learned
    position embedding when `pos_embed` (as DeiT: positions for all T + 1 tokens)."""
    pos_embed: bool = True
    kind: str = field(default="class_token", init=False)


@dataclass(frozen=True)
class TransformerBlock:
    """Pre-norm ViT block on (T, D): x + MHSA(LN(x)), then x + MLP(LN(x)) with MLP = fc(D -> mlp_ratio D), GELU,
    fc(-> D). Every linear layer W (out x in) is low-rank when rank_ratio < 1: W = U V with rank
    r = max(1, round(rank_ratio * min(in, out))) (V: in -> r without bias, U: r -> out)."""
    heads: int = 3
    mlp_ratio: float = 4
    rank_ratio: float = 1.0
    kind: str = field(default="transformer", init=False)


@dataclass(frozen=True)
class TokenPool:
    """(T, D) -> (D,): a final LayerNorm when `norm` (as ViT), then the mean over tokens ('mean') or the class
    token ('cls', token 0)."""
    mode: str = "mean"
    norm: bool = True
    kind: str = field(default="token_pool", init=False)


Layer = Union[Conv, DWSep, DWConv, Act, SE, MBConv, Residual, AvgPool, MaxPool, GlobalPool, Flatten, FC, Dropout,
              PatchEmbed, ClassToken, TransformerBlock, TokenPool]
_LAYER_CLASSES = (Conv, DWSep, DWConv, Act, SE, MBConv, Residual, AvgPool, MaxPool, GlobalPool, Flatten, FC, Dropout,
                  PatchEmbed, ClassToken, TransformerBlock, TokenPool)
LAYER_KINDS: dict[str, type] = {c.__dataclass_fields__["kind"].default: c for c in _LAYER_CLASSES}


@dataclass(frozen=True)
class ModelSpec:
    """A whole network: input, then stem, blocks and head layers in that order."""
    input: InputSpec
    stem: tuple[Layer, ...] = ()
    blocks: tuple[Layer, ...] = ()
    head: tuple[Layer, ...] = ()
    name: str = ""

    def sections(self) -> list[tuple[str, tuple[Layer, ...]]]:
        return [("stem", self.stem), ("blocks", self.blocks), ("head", self.head)]

    def to_dict(self) -> dict[str, Any]:
        return {"version": SPEC_VERSION, "name": self.name, "input": self.input.to_dict(),
                **{sec: [layer_to_dict(l) for l in layers] for sec, layers in self.sections()}}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "ModelSpec":
        if not isinstance(d, dict):
            raise SpecError(f"a model spec must be a JSON object, got {type(d).__name__}")
        version = d.get("version", SPEC_VERSION)
        if version != SPEC_VERSION:
            raise SpecError(f"spec version {version} is not supported (this code reads version {SPEC_VERSION})")
        unknown = set(d) - {"version", "name", "input", "stem", "blocks", "head"}
        if unknown:
            raise SpecError(f"unknown spec keys {sorted(unknown)}; known: version, name, input, stem, blocks, head")
        if "input" not in d:
            raise SpecError("spec has no 'input' (channels/height/width or features)")
        inp = d["input"]
        bad = set(inp) - {"channels", "height", "width", "features"}
        if bad:
            raise SpecError(f"input: unknown keys {sorted(bad)}; known: channels, height, width, features")
        return ModelSpec(input=InputSpec(**inp), name=d.get("name", ""),
                         **{sec: tuple(layer_from_dict(x, f"{sec}[{i}]") for i, x in enumerate(d.get(sec, [])))
                            for sec in ("stem", "blocks", "head")})


def _to_json_value(v: Any) -> Any:
    if isinstance(v, tuple):
        return [layer_to_dict(x) if hasattr(x, "kind") else _to_json_value(x) for x in v]
    return v


def _from_json_value(v: Any) -> Any:
    return tuple(_from_json_value(x) for x in v) if isinstance(v, list) else v


def layer_to_dict(layer: Layer) -> dict[str, Any]:
    """{'kind': ..., field: value, ...} with every field written out, tuples as lists."""
    out: dict[str, Any] = {"kind": layer.kind}
    for f in fields(layer):
        if f.name != "kind":
            out[f.name] = _to_json_value(getattr(layer, f.name))
    return out


def layer_from_dict(d: dict[str, Any], where: str = "layer") -> Layer:
    """Parse one layer; `where` (e.g. 'blocks[3]') names it in errors."""
    if not isinstance(d, dict) or "kind" not in d:
        raise SpecError(f"{where}: a layer must be an object with a 'kind', got {d!r}")
    kind = d["kind"]
    cls = LAYER_KINDS.get(kind)
    if cls is None:
        close = difflib.get_close_matches(str(kind), LAYER_KINDS, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise SpecError(f"{where}: unknown layer kind {kind!r}{hint}; known kinds: {', '.join(LAYER_KINDS)}")
    names = {f.name for f in fields(cls) if f.name != "kind"}
    extra = set(d) - names - {"kind"}
    if extra:
        raise SpecError(f"{where} ({kind}): unknown fields {sorted(extra)}; known: {sorted(names)}")
    kwargs: dict[str, Any] = {}
    for k, v in d.items():
        if k == "kind":
            continue
        if k in ("body", "shortcut"):
            kwargs[k] = tuple(layer_from_dict(x, f"{where}.body[{i}]") for i, x in enumerate(v))
        else:
            kwargs[k] = _from_json_value(v)
    try:
        return cls(**kwargs)
    except TypeError as e:  # a required field such as 'out' is missing
        raise SpecError(f"{where} ({kind}): {e}") from None


def spec_to_json(spec: ModelSpec, indent: int | None = 2) -> str:
    return json.dumps(spec.to_dict(), indent=indent)


def spec_from_json(text: str) -> ModelSpec:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"spec is not valid JSON: {e}") from None
    return ModelSpec.from_dict(data)
