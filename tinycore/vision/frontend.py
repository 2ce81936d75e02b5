"""Camera frame -> the model's int8 input, in integers only; C twin: c/tc_vision.c, equal byte for byte.

Steps (the same in numpy and C):
1. Colour: each source pixel is read in its frame format and converted to the output colour space, uint8:
   RGB565 -> RGB888 by bit replication (r8 = r5 << 3 | r5 >> 2, g8 = g6 << 2 | g6 >> 4); grayscale -> RGB by
   copying; RGB -> gray as BT.601 luma (77 R + 150 G + 29 B + 128) >> 8.
2. Resize to out_h x out_w (R x R or R x R') by bilinear interpolation with half-pixel centres (as TF's
   resize_bilinear(half_pixel_centers=True) and OpenCV INTER_LINEAR), in fixed point: source position in Q8,
   pos = ((2 d + 1) * in * 256 + out) // (2 * out) - 128, clamped to [0, (in - 1) * 256]; i0 = pos >> 8, i1 =
   min(i0 + 1, in - 1), weight f = pos & 255 (the division rounds to nearest: + out in the numerator); value = (top * (256 - fy) + bottom * fy + 32768) >> 16, where
   top = p00 * (256 - fx) + p01 * fx. Every intermediate fits int32. No anti-aliasing on downscale.
3. Normalise and quantize through a 256-entry table per channel, made here in float from (mean, std, scale,
   zero_point): q = quantize_float_s8((p / 255 - mean) / std, scale, zero_point), the one float -> int8 rule. A table makes
   any normalisation exact in C (prepare in Python, evaluate in C).
Layout: frames are (H, W, 3) uint8 for rgb888, (H, W) uint16 for rgb565 (little-endian in memory, as most
camera DMA writes it), (H, W) uint8 for gray8; the output is (out_h, out_w, channels) int8, NHWC.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tinycore.runtime.fixedpoint import quantize_float_s8
from tinycore.errors import DataError, UnsupportedError

FORMATS = ("rgb888", "rgb565", "gray8")
FORMAT_CODES = {name: i for i, name in enumerate(FORMATS)}  # the C API's format numbers
Q = 8  # fractional bits of source positions and interpolation weights


@dataclass(frozen=True)
class VisionConfig:
    """Model input geometry and its float normalisation; the int8 (scale, zero_point) come from the model."""

    out_h: int = 96
    out_w: int = 96
    channels: int = 3                       # 3 = RGB, 1 = gray
    mean: tuple[float, ...] = (0.0,)        # per channel (or one for all), on pixels scaled to [0, 1]
    std: tuple[float, ...] = (1.0,)
    scale: float = 1.0 / 255.0              # the model input's int8 scale ...
    zero_point: int = -128                  # ... and zero point

    def __post_init__(self) -> None:
        if self.out_h < 1 or self.out_w < 1 or self.out_h > 4096 or self.out_w > 4096:
            raise UnsupportedError(f"output size {self.out_h}x{self.out_w}: each side must be in 1..4096")
        if self.channels not in (1, 3):
            raise UnsupportedError(f"channels {self.channels}: use 3 (RGB) or 1 (gray)")
        for name in ("mean", "std"):
            v = getattr(self, name)
            if len(v) not in (1, self.channels):
                raise UnsupportedError(f"{name} has {len(v)} values; give 1 or channels ({self.channels})")
        if not all(s > 0 for s in self.std) or not self.scale > 0:
            raise UnsupportedError(f"std {self.std} and scale {self.scale} must be > 0")
        if not -128 <= self.zero_point <= 127:
            raise UnsupportedError(f"zero_point {self.zero_point} outside int8 range")

    def to_dict(self) -> dict:
        return asdict(self)


def config_for_model(graph, mean: tuple[float, ...] = (0.0,), std: tuple[float, ...] = (1.0,)) -> VisionConfig:
    """The front end a model's int8 NHWC input asks for: size, channels, scale and zero point from the graph (any
    int8 .tflite through tinycore.tflite.load_model); mean/std are how the model was trained, not in the file."""
    t = graph.input_tensor()
    if len(t.shape) != 4 or t.shape[3] not in (1, 3):
        raise UnsupportedError(f"input '{t.name}' has shape {tuple(t.shape)}; an image model takes (1, H, W, 1 or 3)")
    if len(t.scale) != 1:
        raise UnsupportedError(f"input '{t.name}' has {len(t.scale)} scales; the front end needs one per tensor")
    return VisionConfig(out_h=int(t.shape[1]), out_w=int(t.shape[2]), channels=int(t.shape[3]), mean=tuple(mean),
                        std=tuple(std), scale=float(t.scale[0]), zero_point=int(t.zero_point))


def quant_table(config: VisionConfig) -> NDArray[np.int8]:
    """(channels, 256) int8: the model input value of each uint8 pixel value, per channel."""
    c = config
    p = np.arange(256, dtype=np.float32)[None, :] / np.float32(255.0)
    mean = np.resize(np.float32(c.mean), c.channels)[:, None]
    std = np.resize(np.float32(c.std), c.channels)[:, None]
    return quantize_float_s8(((p - mean) / std).astype(np.float32), c.scale, c.zero_point)


def frame_hw(frame: NDArray, fmt: str) -> tuple[int, int]:
    """(H, W) of a frame, checking its dtype and shape against the format."""
    want = {"rgb888": (np.uint8, 3), "rgb565": (np.uint16, 2), "gray8": (np.uint8, 2)}
    if fmt not in want:
        raise UnsupportedError(f"frame format {fmt!r}: use one of {FORMATS}")
    dtype, ndim = want[fmt]
    if frame.dtype != dtype or frame.ndim != ndim or (fmt == "rgb888" and frame.shape[2] != 3):
        raise DataError(f"{fmt} frame must be {'(H, W, 3)' if fmt == 'rgb888' else '(H, W)'} {np.dtype(dtype)}, "
                        f"got {frame.shape} {frame.dtype}")
    if frame.shape[0] < 1 or frame.shape[1] < 1 or frame.shape[0] > 65535 or frame.shape[1] > 65535:
        raise DataError(f"{fmt} frame of {frame.shape[:2]}: each side must be in 1..65535")
    return int(frame.shape[0]), int(frame.shape[1])


def to_colour(frame: NDArray, fmt: str, channels: int) -> NDArray[np.int32]:
    """Step 1: (H, W, channels) int32 in 0..255, the frame in the output colour space."""
    frame_hw(frame, fmt)
    if fmt == "rgb565":
        v = frame.astype(np.int32)
        r5, g6, b5 = v >> 11, (v >> 5) & 63, v & 31
        rgb = np.stack([(r5 << 3) | (r5 >> 2), (g6 << 2) | (g6 >> 4), (b5 << 3) | (b5 >> 2)], axis=-1)
    elif fmt == "gray8":
        g = frame.astype(np.int32)[..., None]
        return g if channels == 1 else np.repeat(g, 3, axis=-1)
    else:
        rgb = frame.astype(np.int32)
    if channels == 1:
        return ((77 * rgb[..., 0] + 150 * rgb[..., 1] + 29 * rgb[..., 2] + 128) >> 8)[..., None]
    return rgb


def source_positions(n_in: int, n_out: int) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int32]]:
    """(i0, i1, weight of i1 in Q8) of each output index along one axis (step 2)."""
    d = np.arange(n_out, dtype=np.int64)
    pos = np.clip(((2 * d + 1) * n_in * (1 << Q) + n_out) // (2 * n_out) - (1 << (Q - 1)), 0,
                  (n_in - 1) << Q)
    i0 = pos >> Q
    return i0.astype(np.int32), np.minimum(i0 + 1, n_in - 1).astype(np.int32), (pos & ((1 << Q) - 1)).astype(np.int32)


def _resize_batch(img: NDArray[np.int32], out_h: int, out_w: int) -> NDArray[np.int32]:
    """Step 2 on (N, H, W, C) values 0..255 -> (N, out_h, out_w, C) values 0..255."""
    y0, y1, fy = source_positions(img.shape[1], out_h)
    x0, x1, fx = source_positions(img.shape[2], out_w)
    one = 1 << Q
    fx_, fy_ = fx[None, None, :, None], fy[None, :, None, None]
    rows0, rows1 = img[:, y0], img[:, y1]
    top = rows0[:, :, x0] * (one - fx_) + rows0[:, :, x1] * fx_
    bottom = rows1[:, :, x0] * (one - fx_) + rows1[:, :, x1] * fx_
    return (top * (one - fy_) + bottom * fy_ + (1 << (2 * Q - 1))) >> (2 * Q)


def resize_bilinear(img: NDArray[np.int32], out_h: int, out_w: int) -> NDArray[np.int32]:
    """Step 2 on (H, W, C) values 0..255 -> (out_h, out_w, C) values 0..255."""
    return _resize_batch(np.asarray(img)[None], out_h, out_w)[0]


def resize_images(images: NDArray[np.uint8], out_h: int, out_w: int, chunk: int = 256) -> NDArray[np.uint8]:
    """(N, H, W, C) uint8 -> (N, out_h, out_w, C) uint8 by step 2, as the C front end resizes a frame: a model
    searched at another resolution R is trained on exactly what the firmware makes of a camera frame. Chunked so
    that the int32 intermediates of a large set stay small."""
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise DataError(f"resize_images: expected (N, H, W, C) uint8, got {images.shape} {images.dtype}")
    if out_h < 1 or out_w < 1:
        raise UnsupportedError(f"resize_images: output size {out_h}x{out_w} must be positive")
    out = np.empty((len(images), out_h, out_w, images.shape[3]), np.uint8)
    for i in range(0, len(images), chunk):
        out[i:i + chunk] = _resize_batch(images[i:i + chunk].astype(np.int32), out_h, out_w)
    return out


def preprocess(frame: NDArray, fmt: str, config: VisionConfig) -> NDArray[np.int8]:
    """A camera frame -> (out_h, out_w, channels) int8 model input (steps 1-3)."""
    img = resize_bilinear(to_colour(frame, fmt, config.channels), config.out_h, config.out_w)
    table = quant_table(config)
    return np.stack([table[c][img[..., c]] for c in range(config.channels)], axis=-1)


def read_image(path: str | Path) -> NDArray[np.uint8]:
    """Decode an image file (JPEG, PNG, ...) to an (H, W, 3) uint8 RGB888 frame; a clear error if it is not one."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"{path}: not a readable image ({e})") from None


def rgb888_to_rgb565(rgb: NDArray[np.uint8]) -> NDArray[np.uint16]:
    """What a camera in RGB565 mode would deliver for this picture (top bits of each channel)."""
    v = rgb.astype(np.uint16)
    return ((v[..., 0] >> 3) << 11 | (v[..., 1] >> 2) << 5 | (v[..., 2] >> 3)).astype(np.uint16)
