"""Reference architectures as specs: the MLPerf Tiny models, TC-ResNet (KWS) and torchvision's MobileNetV2.

Counts below use the convention of `tinycore.spec.shapes` (BN folded: weights + one bias per output channel;
MACs of conv and fc only); tests/spec/test_zoo.py asserts each of them.
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Callable

from tinycore.spec.layers import (FC, Act, ClassToken, Conv, Dropout, DWSep, Flatten, GlobalPool, InputSpec, MBConv,
                                  ModelSpec, PatchEmbed, Residual, SpecError, TokenPool, TransformerBlock)


def ds_cnn(width: int = 64, classes: int = 12, frames: int = 49, coeffs: int = 10, name: str | None = None,
           dropout: tuple[float, float] = (0.2, 0.4), blocks: int = 4, time_stride: int = 2,
           dw_kernel: tuple[int, int] = (3, 3)) -> ModelSpec:
    """The DS-CNN family of the MLPerf Tiny KWS reference: a 10x4 stride-2 conv, then `blocks` depthwise-separable
    blocks (4 in the reference), all `width` channels wide (64 is the reference, `ds_cnn_s`); dropout after the stem
    and before the pooled head (the reference's 0.2 and 0.4 by default). time_stride 1 keeps every frame after the
    first conv: the blocks run on a feature map twice as long (twice the MACs and activations, same params).
    dw_kernel (time, frequency) of the depthwise convs: (5, 3) sees 5 frames per block instead of 3 for 6 * width
    more weights per block, where a wider net costs of the order of width^2 more (measured on KWS: apps/kws/README)."""
    dw = 3 if tuple(dw_kernel) == (3, 3) else tuple(dw_kernel)  # the reference's square 3 stays an int in the spec
    return ModelSpec(
        name=name or f"ds_cnn_w{width}" + (f"_b{blocks}" if blocks != 4 else "") +
        (f"_t{time_stride}" if time_stride != 2 else "") + (f"_k{dw[0]}{dw[1]}" if dw != 3 else ""),
        input=InputSpec(channels=1, height=frames, width=coeffs),
        stem=(Conv(width, kernel=(10, 4), stride=2 if time_stride == 2 else (time_stride, 2), padding=(5, 1),
                   act="relu"), Dropout(dropout[0])),
        blocks=tuple(DWSep(width, kernel=dw, act="relu") for _ in range(blocks)),
        head=(Dropout(dropout[1]), GlobalPool(), Flatten(), FC(classes)),
    )


def ds_cnn_s(classes: int = 12, frames: int = 49, coeffs: int = 10) -> ModelSpec:
    """MLPerf Tiny KWS reference DS-CNN (mlcommons/tiny keyword_spotting/keras_model.py): 22,604 params, 2,656,768
    MACs at 49x10 input (design.md: 22.6k, 2.66M).

    Differences from the Keras model, none of which changes a count: Keras pads the 10x4 stride-2 conv 'same'
    as top 4 / bottom 5 / left 1 / right 1; we pad 5 / 1 symmetrically (same 25x5 output, one nn.Conv2d, no
    ZeroPad2d). Keras ends with AveragePooling2D((24, 5)), which skips the 25th row; we use a global average.
    """
    return ds_cnn(64, classes, frames, coeffs, name="ds_cnn_s")


# TC-ResNet channels (Choi et al. 2019, table 1): the first conv's, then each residual block's
TC_RESNET_CHANNELS = {8: (16, 24, 32, 48), 14: (16, 24, 24, 32, 32, 48, 48)}


def tc_resnet(depth: int = 8, width: float = 1.0, classes: int = 12, frames: int = 49, coeffs: int = 10,
              dropout: float = 0.2, name: str | None = None) -> ModelSpec:
    """Temporal-convolution ResNet (TC-ResNet8 / TC-ResNet14, Choi et al. 2019): each frame's `coeffs` features are
    the channels of 1-D convs over time, so a filter sees the whole spectrum at once and a formant shift (another
    voice) moves energy between channels rather than across a 2-D map. A (3, coeffs) conv without padding across
    features makes the (C, frames, 1) map; then residual blocks of two (9, 1) convs, the first of each channel change
    with stride 2 and a strided 1x1 projection shortcut (TC-ResNet8: three such blocks; 14: pairs of a strided and
    an identity block), ReLU after the add. `width` scales every channel count (the paper's -1.5 is width 1.5).
    With the paper's 40 MFCC input TC-ResNet8 has 65,180 torch parameters, 64,852 with BN folded
    (tests/spec/test_zoo.py)."""
    if depth not in TC_RESNET_CHANNELS:
        raise SpecError(f"tc_resnet depth {depth}: the family has depths {sorted(TC_RESNET_CHANNELS)}")
    base = TC_RESNET_CHANNELS[depth]
    chans = [max(1, round(c * width)) for c in base]
    blocks = []
    for k in range(1, len(base)):
        stride = 2 if base[k] != base[k - 1] else 1  # by the paper's channels: a narrow width may round two equal
        body = (Conv(chans[k], kernel=(9, 1), stride=(stride, 1), padding=(4, 0), act="relu"),
                Conv(chans[k], kernel=(9, 1), padding=(4, 0), act="none"))
        shortcut = (Conv(chans[k], kernel=1, stride=(stride, 1), padding=0, act="relu"),) if stride != 1 else ()
        blocks += [Residual(body=body, shortcut=shortcut), Act("relu")]
    return ModelSpec(
        name=name or f"tc_resnet{depth}" + (f"_w{width:g}" if width != 1 else ""),
        input=InputSpec(channels=1, height=frames, width=coeffs),
        stem=(Conv(chans[0], kernel=(3, coeffs), padding=(1, 0), act="relu"),),
        blocks=tuple(blocks),
        head=(Dropout(dropout), GlobalPool(), Flatten(), FC(classes)),
    )


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round a width to a multiple of `divisor`, never dropping more than 10% (torchvision's _make_divisible)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


# MobileNetV2 stages: expand ratio t, channels c, repeats n, first stride s (Sandler et al., table 2)
MOBILENET_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1))


def mobilenet_v2(width: float = 1.0, resolution: int = 224, classes: int = 1000, in_channels: int = 3,
                 dropout: float = 0.2) -> ModelSpec:
    """torchvision's MobileNetV2 (widths rounded to multiples of 8; last conv 1280 * max(1, width)).

    At width 1.0, 224x224, 1000 classes the built float model has torchvision's 3,504,872 parameters.
    """
    stem_c = make_divisible(32 * width)
    last_c = make_divisible(1280 * max(1.0, width))
    blocks = []
    for t, c, n, s in MOBILENET_V2_STAGES:
        out = make_divisible(c * width)
        blocks += [MBConv(out, expand=t, kernel=3, stride=s if i == 0 else 1) for i in range(n)]
    return ModelSpec(
        name=f"mobilenet_v2_w{width:g}_r{resolution}",
        input=InputSpec(channels=in_channels, height=resolution, width=resolution),
        stem=(Conv(stem_c, kernel=3, stride=2, act="relu6"),),
        blocks=tuple(blocks),
        head=(Conv(last_c, kernel=1, act="relu6"), GlobalPool(), Flatten(), Dropout(dropout), FC(classes)),
    )


# MobileNetV1 depthwise-separable blocks: (channels at alpha 1, stride)
MOBILENET_V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
                       (512, 1), (512, 1), (1024, 2), (1024, 1))


def mobilenet_v1(alpha: float = 0.25, resolution: int = 96, classes: int = 2, in_channels: int = 3) -> ModelSpec:
    """MobileNetV1 with widths int(c * alpha) as Keras computes them, ReLU as the MLPerf Tiny VWW reference.

    alpha 0.25 at 96x96, 2 classes: 210,850 params and 7,489,664 MACs (MLPerf Tiny: 211k, 7.5M).
    """
    def w(c: int) -> int:
        n = int(c * alpha)
        if n < 1:
            raise SpecError(f"mobilenet_v1: alpha {alpha} leaves {c} channels at {n}; use alpha >= {1 / c:g}")
        return n
    return ModelSpec(
        name=f"mobilenet_v1_a{alpha:g}_r{resolution}",
        input=InputSpec(channels=in_channels, height=resolution, width=resolution),
        stem=(Conv(w(32), kernel=3, stride=2, act="relu"),),
        blocks=tuple(DWSep(w(c), kernel=3, stride=s, act="relu") for c, s in MOBILENET_V1_BLOCKS),
        head=(GlobalPool(), Flatten(), FC(classes)),
    )


def mobilenet_v1_025(classes: int = 2, resolution: int = 96, in_channels: int = 3) -> ModelSpec:
    """The MLPerf Tiny VWW reference by its usual name: MobileNetV1 alpha 0.25 at 96x96."""
    return mobilenet_v1(0.25, resolution, classes, in_channels)


def dense_autoencoder(sizes: tuple[int, ...] | list[int] = (640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640),
                      bn: bool = False) -> ModelSpec:
    """MLPerf Tiny anomaly-detection reference: Dense (+ BN) + ReLU for every hidden size, a linear output layer.

    The reference has BN after every hidden Dense (bn=True, nn.BatchNorm1d). The default leaves it out because
    tinycore.quant folds BatchNorm2d after convs only; the int8 model is the same size either way: default sizes
    hold 265,864 params (folded) and take 264,192 MACs.
    """
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise SpecError(f"dense_autoencoder: sizes needs an input and an output size, got {list(sizes)}")
    return ModelSpec(
        name="dense_autoencoder",
        input=InputSpec(features=sizes[0]),
        blocks=tuple(FC(s, act="relu", bn=bn) for s in sizes[1:-1]),
        head=(FC(sizes[-1]),),
    )


def idnn(sizes: tuple[int, ...] | list[int] = (640, 128, 64, 32, 64, 128, 128)) -> ModelSpec:
    """Interpolation DNN (Suefusa et al., ICASSP 2020): the dense autoencoder's layers, but the output is the
    centre frame of the stacked input (128 of 640 values), predicted from its neighbours; the anomaly app zeroes
    the centre's input weights and folds its per-bin standardisation into the first layer (apps/anomaly/idnn.py).
    Default sizes: 109,568 MACs."""
    return dataclasses.replace(dense_autoencoder(sizes), name="idnn")


def vit(dim: int = 64, depth: int = 4, heads: int = 2, patch: int | tuple[int, int] = 8, resolution: int = 64,
        classes: int = 2, mlp_ratio: float = 2, rank_ratio: float = 1.0, class_token: bool = False,
        in_channels: int = 3, height: int | None = None, pos_embed: bool = True, name: str | None = None) -> ModelSpec:
    """A ViT (MCUFormer's search space): patch embedding, `depth` pre-norm blocks, mean pooling (or a class
    token), classifier; `height` makes the input rectangular (width = resolution)."""
    return ModelSpec(
        name=name or f"vit_d{dim}_l{depth}_r{resolution}",
        input=InputSpec(channels=in_channels, height=height or resolution, width=resolution),
        stem=(PatchEmbed(dim, patch=patch, pos_embed=pos_embed),) + ((ClassToken(),) if class_token else ()),
        blocks=tuple(TransformerBlock(heads, mlp_ratio, rank_ratio) for _ in range(depth)),
        head=(TokenPool("cls" if class_token else "mean"), FC(classes)),
    )


def deit_tiny(classes: int = 1000, resolution: int = 224) -> ModelSpec:
    """DeiT-Tiny (Touvron et al. 2021): 16x16 patches, 192 wide, 12 blocks of 3 heads, MLP 4x, class token;
    5,717,416 params at 224x224 and 1000 classes, the count of the public reference implementation."""
    return vit(192, 12, 3, 16, resolution, classes, 4, 1.0, True, name="deit_tiny")


ZOO: dict[str, Callable[..., ModelSpec]] = {  # CNNs that tinycore.quant converts; ViTs (vit, deit_tiny) not yet
    "ds_cnn_s": ds_cnn_s,
    "ds_cnn": ds_cnn,
    "tc_resnet": tc_resnet,
    "mobilenet_v1": mobilenet_v1,
    "mobilenet_v1_025": mobilenet_v1_025,
    "mobilenet_v2": mobilenet_v2,
    "dense_autoencoder": dense_autoencoder,
    "idnn": idnn,
}


def zoo_spec(name: str, **kwargs) -> ModelSpec:
    """A zoo spec by name; an unknown name lists close matches and every known name."""
    fn = ZOO.get(name)
    if fn is None:
        close = difflib.get_close_matches(name, ZOO, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise SpecError(f"unknown zoo model {name!r}; {hint}known: {', '.join(ZOO)}")
    return fn(**kwargs)
