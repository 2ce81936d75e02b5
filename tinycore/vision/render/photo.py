"""What a cheap camera does to a scene: uneven light, colour cast, blur, sensor noise, downsampling, JPEG."""
from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray


def light(rng: np.random.Generator, img: NDArray[np.float32]) -> NDArray[np.float32]:
    """Multiply by a linear light gradient, a vignette and a white-balance cast; apply an exposure gamma."""
    h, w = img.shape[:2]
    ys, xs = np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]
    a = rng.uniform(0, 2 * np.pi)
    g = ((xs / w - 0.5) * np.cos(a) + (ys / h - 0.5) * np.sin(a)) * rng.uniform(0, 0.6)
    r2 = ((xs / w - 0.5) ** 2 + (ys / h - 0.5) ** 2)
    vign = 1 - rng.uniform(0, 0.5) * r2
    cast = rng.uniform(0.88, 1.12, 3).astype(np.float32)
    out = img * (1 + g)[..., None] * vign[..., None] * cast * rng.uniform(0.7, 1.25)
    out = np.clip(out, 0, 1) ** np.float32(rng.uniform(0.8, 1.25))
    mid = out.mean()
    return np.clip(mid + (out - mid) * rng.uniform(1.1, 1.5), 0, 1)  # camera tone curves add contrast


def blur(rng: np.random.Generator, img: NDArray[np.float32], scale: float) -> NDArray[np.float32]:
    """Defocus (Gaussian) and sometimes motion blur; `scale` = working pixels per output pixel."""
    s = rng.uniform(0.0, 0.5) * scale  # photos downsampled to the sensor size stay sharp
    if s > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), s)
    if rng.random() < 0.08:
        n = int(rng.integers(2, 5) * scale)
        k = np.zeros((n, n), np.float32)
        k[n // 2] = 1 / n
        m = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), rng.uniform(0, 180), 1)
        img = cv2.filter2D(img, -1, cv2.warpAffine(k, m, (n, n)))
    return img


def finish(rng: np.random.Generator, img: NDArray[np.float32], out_hw: tuple[int, int],
           jpeg: bool = True) -> NDArray[np.uint8]:
    """Downsample (area average = anti-aliasing), add sensor noise, quantize to uint8 and (most of the time) JPEG
    round-trip; `jpeg=False` for cameras that stream raw frames (machine vision)."""
    h, w = out_hw
    small = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    sigma = rng.uniform(0.003, 0.03)
    small = small + rng.normal(0, sigma, small.shape).astype(np.float32) * (0.5 + small)
    u8 = np.clip(small * 255 + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.8 and jpeg:
        ok, buf = cv2.imencode(".jpg", u8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 95))])
        u8 = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(u8)
