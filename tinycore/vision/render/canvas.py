"""Soft-edged, shaded shapes painted into one object's RGBA layer at the working (supersampled) resolution.

Every primitive computes its coverage only inside its bounding box and shades itself like a lit solid (a
cylinder for limbs, a sphere for heads and bodies), because flat-filled shapes are what a CNN trained on photos
refuses to call a person.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

Color = tuple[float, float, float] | NDArray[np.float32]  # RGB in [0, 1]


@dataclass(frozen=True)
class Light:
    """Direction the light comes from in the image plane (x right, y down) and how much of it is ambient."""
    dx: float = -0.5
    dy: float = -0.6
    ambient: float = 0.55


class Layer:
    """One object's pixels: premultiplied-free colour (H, W, 3) and coverage alpha (H, W), both float32 in [0, 1]."""

    def __init__(self, height: int, width: int, light: Light):
        self.rgb = np.zeros((height, width, 3), np.float32)
        self.alpha = np.zeros((height, width), np.float32)
        self.light = light

    @property
    def shape(self) -> tuple[int, int]:
        return self.alpha.shape

    def _box(self, x0: float, y0: float, x1: float, y1: float):
        h, w = self.shape
        a, b = max(int(np.floor(x0)) - 1, 0), min(int(np.ceil(x1)) + 2, w)
        c, d = max(int(np.floor(y0)) - 1, 0), min(int(np.ceil(y1)) + 2, h)
        if a >= b or c >= d:
            return None
        ys, xs = np.mgrid[c:d, a:b].astype(np.float32)
        return (slice(c, d), slice(a, b)), xs + 0.5, ys + 0.5

    def _put(self, sl, cov: NDArray, rgb: NDArray) -> None:
        cov = np.clip(cov, 0.0, 1.0)[..., None]
        self.rgb[sl] = self.rgb[sl] * (1 - cov) + rgb * cov
        self.alpha[sl] = np.maximum(self.alpha[sl], cov[..., 0])

    def capsule(self, p0, p1, r0: float, r1: float, color: Color, gloss: float = 0.0,
                texture: NDArray | None = None) -> None:
        """A tapered limb from p0 (radius r0) to p1 (radius r1) with round ends, shaded as a lit cylinder."""
        (x0, y0), (x1, y1) = p0, p1
        r = max(r0, r1)
        box = self._box(min(x0, x1) - r, min(y0, y1) - r, max(x0, x1) + r, max(y0, y1) + r)
        if box is None:
            return
        sl, xs, ys = box
        vx, vy = x1 - x0, y1 - y0
        ll = vx * vx + vy * vy + 1e-6
        t = np.clip(((xs - x0) * vx + (ys - y0) * vy) / ll, 0, 1)
        px, py = xs - (x0 + t * vx), ys - (y0 + t * vy)
        rad = r0 + (r1 - r0) * t
        d = np.sqrt(px * px + py * py)
        cov = np.clip(rad - d + 0.5, 0, 1)
        n = np.sqrt(ll)
        s = np.clip((px * -vy + py * vx) / n / np.maximum(rad, 0.5), -1, 1)  # signed across-axis position
        nx, ny = -vy / n, vx / n  # unit normal of positive s
        lam = self.light
        nz = np.sqrt(np.clip(1 - s * s, 0, 1))
        diffuse = np.clip(s * (nx * lam.dx + ny * lam.dy) + nz * 0.7, 0, 1)
        shade = lam.ambient + (1 - lam.ambient) * diffuse + gloss * diffuse ** 12
        self._put(sl, cov, _tinted(color, shade, texture, sl))

    def ellipse(self, c, rx: float, ry: float, color: Color, angle: float = 0.0, gloss: float = 0.0,
                texture: NDArray | None = None, flat: float = 0.0) -> None:
        """A shaded ellipsoid (head, body, wheel, leaf); `flat` mixes in unshaded colour (0 = fully round)."""
        cx, cy = c
        r = max(rx, ry)
        box = self._box(cx - r, cy - r, cx + r, cy + r)
        if box is None:
            return
        sl, xs, ys = box
        ca, sa = np.cos(angle), np.sin(angle)
        u = ((xs - cx) * ca + (ys - cy) * sa) / max(rx, 0.5)
        v = (-(xs - cx) * sa + (ys - cy) * ca) / max(ry, 0.5)
        rr = np.sqrt(u * u + v * v)
        cov = np.clip((1 - rr) * min(rx, ry) + 0.5, 0, 1)
        wx, wy = u * ca - v * sa, u * sa + v * ca
        nz = np.sqrt(np.clip(1 - rr * rr, 0, 1))
        lam = self.light
        diffuse = np.clip(wx * lam.dx + wy * lam.dy + nz * 0.7, 0, 1)
        shade = lam.ambient + (1 - lam.ambient) * diffuse + gloss * diffuse ** 12
        shade = flat + (1 - flat) * shade
        self._put(sl, cov, _tinted(color, shade, texture, sl))

    def polygon(self, pts, color: Color, shade_top: float = 1.0, shade_bottom: float = 0.85,
                texture: NDArray | None = None) -> None:
        """A filled polygon with anti-aliased edges and a vertical light gradient (walls, car bodies, posters)."""
        pts = np.asarray(pts, np.float32)
        box = self._box(pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
        if box is None:
            return
        sl, xs, ys = box
        mask = np.zeros(xs.shape, np.uint8)
        off = np.array([sl[1].start, sl[0].start], np.float32)
        cv2.fillPoly(mask, [np.round((pts - off) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        cov = mask.astype(np.float32) / 255
        y0, y1 = pts[:, 1].min(), pts[:, 1].max()
        g = np.clip((ys - y0) / max(y1 - y0, 1), 0, 1)
        self._put(sl, cov, _tinted(color, shade_top + (shade_bottom - shade_top) * g, texture, sl))

    def trapezoid(self, top, top_half: float, bottom, bottom_half: float, color: Color,
                  texture: NDArray | None = None, round_top: float = 0.0) -> None:
        """A tapered slab between two horizontal edges (torso, skirt), shaded as a lit cylinder across its width;
        `round_top` rounds the upper corners (shoulders) by that fraction of the top half-width."""
        (tx, ty), (bx, by) = top, bottom
        r = max(top_half, bottom_half)
        box = self._box(min(tx, bx) - r, ty, max(tx, bx) + r, by)
        if box is None or by <= ty:
            return
        sl, xs, ys = box
        t = np.clip((ys - ty) / (by - ty), 0, 1)
        cx = tx + (bx - tx) * t
        half = top_half + (bottom_half - top_half) * t
        if round_top > 0:  # shrink the width near the top edge: round shoulders
            rr = round_top * top_half
            dy = np.clip((ty + rr - ys) / max(rr, 1e-3), 0, 1)
            half = half - rr * (1 - np.sqrt(np.clip(1 - dy * dy, 0, 1)))
        s = (xs - cx) / np.maximum(half, 0.5)
        cov = np.clip(half - np.abs(xs - cx) + 0.5, 0, 1) * np.clip(ys - ty + 0.5, 0, 1) * np.clip(by - ys + 0.5, 0, 1)
        lam = self.light
        nz = np.sqrt(np.clip(1 - s * s, 0, 1))
        shade = lam.ambient + (1 - lam.ambient) * np.clip(s * lam.dx + nz * 0.7, 0, 1)
        self._put(sl, cov, _tinted(color, shade, texture, sl))

    def line(self, p0, p1, width: float, color: Color) -> None:
        """A thin rod (pole, spoke, tripod leg): a capsule of constant radius."""
        self.capsule(p0, p1, width / 2, width / 2, color)


def _tinted(color: Color, shade: NDArray, texture: NDArray | None, sl) -> NDArray:
    rgb = np.asarray(color, np.float32).reshape(1, 1, 3) * shade[..., None]
    if texture is not None:
        rgb = rgb * texture[sl][..., None] if texture.ndim == 2 else rgb * texture[sl]
    return np.clip(rgb, 0, 1)


def composite(base: NDArray[np.float32], layers: list[Layer]) -> list[NDArray[np.float32]]:
    """Paint layers back to front over `base` (in place) and return each layer's visible coverage.

    The visible coverage of a layer is its alpha times what the layers in front of it leave uncovered: the
    quantity VWW's 0.5 % rule and detection boxes are measured on.
    """
    visible = []
    cover_front = np.zeros(base.shape[:2], np.float32)
    for layer in reversed(layers):  # front to back for visibility
        visible.append(layer.alpha * (1 - cover_front))
        cover_front = 1 - (1 - cover_front) * (1 - layer.alpha)
    visible.reverse()
    for layer in layers:
        a = layer.alpha[..., None]
        base *= 1 - a
        base += layer.rgb * a
    return visible
