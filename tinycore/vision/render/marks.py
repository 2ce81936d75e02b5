"""Surface marks an inspection camera looks for, drawn on a float RGB image inside a part's mask: scratches,
cracks, dents, stains and holes. Each returns the mask of the pixels it changed, so a caller can measure the
defect's size and drop one that the part's outline hid.

Sizes are in working pixels; shading is multiplicative (a scratch on a dark part stays dark-relative), so the same
mark reads on metal, plastic, fabric or a board under any light the photo step adds afterwards.
"""
from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

Mask = NDArray[np.bool_]


def _apply(img: NDArray[np.float32], part: Mask, mark: NDArray[np.float32], gain: NDArray | float) -> Mask:
    """Blend img towards img * gain where the soft `mark` (0..1) is, inside `part`; the changed pixels."""
    m = (mark * part)[..., None].astype(np.float32)
    img *= 1 + m * (np.asarray(gain, np.float32) - 1)
    np.clip(img, 0, 1, out=img)
    return m[..., 0] > 0.25


def _polyline(rng: np.random.Generator, start: NDArray, length: float, wiggle: float, steps: int) -> NDArray[np.int32]:
    angle = rng.uniform(0, 2 * np.pi)
    pts = [np.asarray(start, np.float64)]
    for _ in range(steps):
        angle += rng.normal(0, wiggle)
        pts.append(pts[-1] + length / steps * np.array([np.cos(angle), np.sin(angle)]))
    return np.round(np.array(pts)).astype(np.int32)


def scratch(rng: np.random.Generator, img: NDArray[np.float32], part: Mask, at: NDArray, length: float,
            width: float) -> Mask:
    """A thin, nearly straight line, brighter (a fresh cut in metal) or darker than the surface."""
    canvas = np.zeros(part.shape, np.float32)
    cv2.polylines(canvas, [_polyline(rng, at, length, 0.05, 4)], False, 1.0, max(1, int(round(width))), cv2.LINE_AA)
    return _apply(img, part, canvas, rng.choice([rng.uniform(1.5, 2.2), rng.uniform(0.3, 0.55)]))


def crack(rng: np.random.Generator, img: NDArray[np.float32], part: Mask, at: NDArray, length: float,
          width: float) -> Mask:
    """A dark jagged line with a branch: a fracture in a casting, a moulding or a board."""
    canvas = np.zeros(part.shape, np.float32)
    main = _polyline(rng, at, length, 0.6, 8)
    cv2.polylines(canvas, [main], False, 1.0, max(1, int(round(width))), cv2.LINE_AA)
    branch = _polyline(rng, main[len(main) // 2], length * 0.4, 0.6, 4)
    cv2.polylines(canvas, [branch], False, 1.0, 1, cv2.LINE_AA)
    return _apply(img, part, canvas, rng.uniform(0.08, 0.3))


def blob(rng: np.random.Generator, shape: tuple[int, int], at: NDArray, radius: float) -> NDArray[np.float32]:
    """An irregular soft blob (0..1) of about `radius` working pixels: a stain, a dent, a hole."""
    n = 12
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = radius * np.exp(rng.normal(0, 0.25, n))
    pts = np.stack([at[0] + r * np.cos(a), at[1] + r * np.sin(a)], 1).round().astype(np.int32)
    canvas = np.zeros(shape, np.float32)
    cv2.fillPoly(canvas, [pts], 1.0, cv2.LINE_AA)
    return cv2.GaussianBlur(canvas, (0, 0), max(radius * 0.2, 0.6))


def stain(rng: np.random.Generator, img: NDArray[np.float32], part: Mask, at: NDArray, radius: float) -> Mask:
    """Oil, rust or ink: a tinted blob (a colour cast, darker on the whole)."""
    tint = np.array([rng.uniform(0.35, 0.9), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.5)], np.float32)
    return _apply(img, part, blob(rng, part.shape, at, radius), tint[rng.permutation(3)] if rng.random() < 0.3
                  else tint)


def dent(rng: np.random.Generator, img: NDArray[np.float32], part: Mask, at: NDArray, radius: float) -> Mask:
    """A shallow pit: lit on one side, shadowed on the other (a dark and a bright half-blob)."""
    a = rng.uniform(0, 2 * np.pi)
    off = np.array([np.cos(a), np.sin(a)]) * radius * 0.35
    dark = _apply(img, part, blob(rng, part.shape, np.asarray(at) + off, radius * 0.8), 0.45)
    lit = _apply(img, part, blob(rng, part.shape, np.asarray(at) - off, radius * 0.6), 1.6)
    return dark | lit


def hole(rng: np.random.Generator, img: NDArray[np.float32], part: Mask, at: NDArray, radius: float) -> Mask:
    """A hole or a torn spot: the part's surface replaced by deep shadow."""
    return _apply(img, part, blob(rng, part.shape, at, radius), 0.08)


MARKS = {"scratch": scratch, "crack": crack, "stain": stain, "dent": dent, "hole": hole}
LINE_MARKS = ("scratch", "crack")  # take (length, width); the others take a radius
