"""Procedural textures (H, W) multipliers around 1 and colour fields: fractal noise, bricks, planks, tiles, grass.

Real photos are never flat; textured surfaces are what separate a photo background from a cartoon one.
"""
from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray


def axes(h: int, w: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Row and column coordinates as (h, 1) and (1, w) float32 arrays: what np.mgrid gives, broadcast instead of
    materialised, so per-row and per-column terms are computed once (elementwise the same numbers)."""
    return np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]


def fractal_noise(rng: np.random.Generator, h: int, w: int, scale: float = 0.25, octaves: int = 4,
                  persistence: float = 0.55) -> NDArray[np.float32]:
    """Sum of upsampled random grids, zero mean, unit-ish std; `scale` is the coarsest cell size / image size."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    cells = max(1.0 / max(scale, 1e-3), 1.0)
    for _ in range(octaves):
        gh, gw = max(int(cells * h / max(h, w)) + 2, 2), max(int(cells * w / max(h, w)) + 2, 2)
        grid = rng.standard_normal((gh, gw)).astype(np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= persistence
        cells *= 2
    return out / total


def grain(rng: np.random.Generator, h: int, w: int, strength: float) -> NDArray[np.float32]:
    """A multiplier 1 ± strength of fractal noise (paint, plaster, fabric, skin)."""
    return 1 + strength * fractal_noise(rng, h, w, scale=rng.uniform(0.05, 0.4))


def bricks(rng: np.random.Generator, h: int, w: int, brick_h: float) -> NDArray[np.float32]:
    """Running-bond brick pattern with darker mortar and per-brick tone changes."""
    ys, xs = axes(h, w)
    row = np.floor(ys / brick_h)
    bw = brick_h * 2.2
    xo = xs + (row % 2) * bw / 2
    col = np.floor(xo / bw)
    tone = 0.85 + 0.3 * _hash(row, col, rng.integers(1 << 20))
    mortar = ((ys % brick_h) < max(brick_h * 0.12, 1)) | ((xo % bw) < max(brick_h * 0.12, 1))
    return np.where(mortar, 1.25, tone).astype(np.float32) * grain(rng, h, w, 0.08)


def planks(rng: np.random.Generator, h: int, w: int, plank_w: float, vertical: bool = False) -> NDArray[np.float32]:
    """Wood planks: streaky grain along the plank, a dark seam between planks, a tone per plank."""
    ys, xs = axes(h, w)
    a, b = (xs, ys) if vertical else (ys, xs)
    idx = np.floor(a / plank_w)  # along one axis only: (1, w) or (h, 1)
    streak = cv2.resize(rng.standard_normal((max(h // 8, 2), 3)).astype(np.float32), (w, h),
                        interpolation=cv2.INTER_CUBIC)
    tone = 0.8 + 0.35 * _hash(idx, idx * 0 + 1, rng.integers(1 << 20))
    seam = (a % plank_w) < max(plank_w * 0.08, 1)
    t = tone * (1 + 0.08 * np.sin(b * 0.05 + idx * 3 + 0.8 * streak))
    return np.where(seam, 0.6, t).astype(np.float32)


def tiles(rng: np.random.Generator, h: int, w: int, tile: float) -> NDArray[np.float32]:
    ys, xs = axes(h, w)
    grout = ((ys % tile) < max(tile * 0.06, 1)) | ((xs % tile) < max(tile * 0.06, 1))
    tone = 0.92 + 0.16 * _hash(np.floor(ys / tile), np.floor(xs / tile), rng.integers(1 << 20))
    return np.where(grout, 0.75, tone).astype(np.float32) * grain(rng, h, w, 0.05)


def grass(rng: np.random.Generator, h: int, w: int) -> NDArray[np.float32]:
    """Blade-like high-frequency noise stretched vertically over patchy low-frequency tone."""
    fine = cv2.resize(rng.standard_normal((h // 3 + 2, w + 2)).astype(np.float32), (w, h))
    return (1 + 0.18 * fine + 0.2 * fractal_noise(rng, h, w, 0.3)).astype(np.float32)


def stripes(rng: np.random.Generator, h: int, w: int, period: float, vertical: bool = True) -> NDArray[np.float32]:
    ys, xs = axes(h, w)
    a = xs if vertical else ys
    return (1 + 0.12 * np.sign(np.sin(a * 2 * np.pi / period))).astype(np.float32)


def _hash(a: NDArray, b: NDArray, salt: int) -> NDArray[np.float32]:
    """A deterministic value in [0, 1) per integer cell (a, b): per-brick, per-plank tones without loops."""
    v = np.sin(a * 12.9898 + b * 78.233 + salt * 0.001) * 43758.5453
    return (v - np.floor(v)).astype(np.float32)
