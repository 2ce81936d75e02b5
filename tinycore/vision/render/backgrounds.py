"""Backgrounds seen by a wake-word camera: rooms (wall, floor, windows, pictures) and outdoor scenes (sky,
buildings, trees, lawns, streets, paths), with a ground plane in perspective so that objects can stand on it.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from tinycore.vision.render import textures as tx

SCENES = ("room", "street", "lawn", "path", "wall", "floor")


@dataclass(frozen=True)
class Camera:
    """Pinhole camera over a flat ground: the horizon row (pixels, may lie above the frame when looking down), the
    camera height in metres and the focal length in pixels. An object of real height h metres standing on row y
    is h * (y - horizon) / height_m pixels tall."""
    horizon: float
    height_m: float
    focal: float

    def row_for(self, size_px: float, real_m: float) -> float:
        return self.horizon + size_px * self.height_m / real_m


def _col(rng, base, spread=0.15) -> NDArray[np.float32]:
    tint = rng.uniform(1 - spread / 3, 1 + spread / 3, 3)  # mostly brightness, a little hue
    return np.clip(np.asarray(base, np.float32) * rng.uniform(1 - spread, 1 + spread) * tint, 0, 1).astype(np.float32)


def _ground(rng, cam: Camera, h: int, w: int, kind: str) -> tuple[NDArray, NDArray]:
    """A ground texture in perspective: (colour (h, w, 3), mask of rows below the horizon)."""
    size = 512
    if kind == "planks":
        t, base = tx.planks(rng, size, size, rng.uniform(20, 50), vertical=True), _col(rng, (0.55, 0.38, 0.22), 0.3)
    elif kind == "tiles":
        t, base = tx.tiles(rng, size, size, rng.uniform(40, 90)), _col(rng, (0.75, 0.72, 0.68), 0.2)
    elif kind == "carpet":
        t, base = tx.grain(rng, size, size, 0.12), _col(rng, (0.5, 0.4, 0.35), 0.5)
    elif kind == "grass":
        t, base = tx.grass(rng, size, size), _col(rng, (0.3, 0.5, 0.18), 0.25)
    elif kind == "asphalt":
        t, base = tx.grain(rng, size, size, 0.15), _col(rng, (0.33, 0.33, 0.34), 0.15)
    elif kind == "paving":
        t, base = tx.bricks(rng, size, size, rng.uniform(25, 50)), _col(rng, (0.6, 0.55, 0.5), 0.25)
    else:  # dirt, sand
        t, base = tx.grain(rng, size, size, 0.25), _col(rng, (0.6, 0.5, 0.35), 0.2)
    tex = base[None, None] * t[..., None]
    if kind == "asphalt" and rng.random() < 0.7:  # lane marking along the depth axis
        lane = (np.abs(np.arange(size) - size * rng.uniform(0.3, 0.7)) < size * 0.01)
        tex[:, lane] = _col(rng, (0.9, 0.9, 0.85), 0.05)
    ys, xs = tx.axes(h, w)
    dy = np.maximum(ys + 0.5 - cam.horizon, 0.5)
    z = cam.focal * cam.height_m / dy  # metres ahead, per row (h, 1)
    gx = (xs - w / 2) * z / cam.focal
    scale = size / rng.uniform(4, 10)  # texture pixels per metre
    map_x = (gx * scale + size * 10).astype(np.float32) % size
    map_y = np.ascontiguousarray(np.broadcast_to((z * scale * 1.0).astype(np.float32) % size, (h, w)))
    out = cv2.remap(tex, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)  # tex is float32
    haze = np.clip(z / 60, 0, 0.6)[..., None]  # far ground fades to the horizon colour
    out = out * (1 - haze) + out.mean((0, 1)) * haze
    return out, np.broadcast_to(ys + 0.5 > cam.horizon, (h, w))


def _sky(rng, h: int, w: int) -> NDArray:
    top = _col(rng, (0.35, 0.55, 0.85), 0.25) if rng.random() < 0.65 else _col(rng, (0.7, 0.72, 0.75), 0.15)
    bottom = np.clip(top * 1.25 + 0.1, 0, 1)
    g = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    sky = top * (1 - g) + bottom * g + np.zeros((1, w, 1), np.float32)
    clouds = np.clip(tx.fractal_noise(rng, h, w, 0.4) * rng.uniform(0.5, 1.2) - 0.2, 0, 1)[..., None]
    return sky * (1 - clouds) + np.float32(0.95) * clouds


def _rect(img, x0, y0, x1, y1, color) -> None:
    h, w = img.shape[:2]
    a, b, c, d = (int(np.clip(v, 0, m)) for v, m in ((x0, w), (x1, w), (y0, h), (y1, h)))
    if a < b and c < d:
        img[c:d, a:b] = color


def _skyline(rng, img, base_row: float) -> None:
    """Buildings with window grids and tree crowns standing on `base_row`."""
    h, w = img.shape[:2]
    x = -rng.uniform(0, w * 0.2)
    while x < w:
        bw = w * rng.uniform(0.1, 0.35)
        if rng.random() < 0.6:
            top = base_row - h * rng.uniform(0.1, 0.7)
            c = _col(rng, rng.choice([(0.7, 0.65, 0.6), (0.55, 0.35, 0.28), (0.8, 0.8, 0.78), (0.45, 0.45, 0.5)]))
            _rect(img, x, top, x + bw, base_row, c)
            win = _col(rng, (0.25, 0.3, 0.38), 0.3)
            step = max(h * rng.uniform(0.03, 0.07), 3)
            for wy in np.arange(top + step * 0.5, base_row - step, step * 1.6):
                for wx in np.arange(x + step * 0.5, x + bw - step, step * 1.4):
                    _rect(img, wx, wy, wx + step * 0.8, wy + step, win)
        else:
            n = tx.fractal_noise(rng, h, w, 0.15)
            cy, r = base_row - h * rng.uniform(0.1, 0.3), h * rng.uniform(0.08, 0.2)
            ys, xs = np.mgrid[0:h, 0:w]
            blob = ((xs - x - bw / 2) ** 2 + (ys - cy) ** 2) < (r * (1 + 0.3 * n)) ** 2
            _rect(img, x + bw / 2 - r * 0.1, cy, x + bw / 2 + r * 0.1, base_row, _col(rng, (0.3, 0.2, 0.12)))
            green = _col(rng, (0.2, 0.38, 0.15), 0.3)
            img[blob] = green * (0.8 + 0.3 * n[blob, None])
        x += bw + w * rng.uniform(0, 0.1)


def _wall(rng, h: int, w: int) -> NDArray:
    kind = rng.choice(["paint", "paint", "bricks", "wallpaper", "planks"])
    if kind == "bricks":
        t, c = tx.bricks(rng, h, w, h * rng.uniform(0.02, 0.06)), _col(rng, (0.6, 0.33, 0.25), 0.2)
    elif kind == "wallpaper":
        t = tx.stripes(rng, h, w, w * rng.uniform(0.02, 0.08)) * tx.grain(rng, h, w, 0.05)
        c = _col(rng, (0.8, 0.75, 0.65), 0.25)
    elif kind == "planks":
        t, c = tx.planks(rng, h, w, w * rng.uniform(0.05, 0.12), vertical=True), _col(rng, (0.6, 0.45, 0.3), 0.25)
    else:
        t = tx.grain(rng, h, w, 0.04)
        c = _col(rng, [(0.92, 0.9, 0.85), (0.8, 0.85, 0.9), (0.85, 0.78, 0.6), (0.6, 0.7, 0.6),
                       (0.75, 0.72, 0.7)][rng.integers(5)], 0.12)
    return c[None, None] * t[..., None]


def _wall_things(rng, img, floor_row: float) -> None:
    """Windows (with sky), doors, framed pictures and posters on a back wall above `floor_row`."""
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(0, 4))):
        kind = rng.choice(["window", "door", "picture", "picture", "shelf"])
        cx = rng.uniform(0, w)
        if kind == "window":
            ww, wh = w * rng.uniform(0.15, 0.4), h * rng.uniform(0.2, 0.45)
            y0 = floor_row - h * rng.uniform(0.35, 0.8)
            _rect(img, cx - ww / 2 - 4, y0 - 4, cx + ww / 2 + 4, y0 + wh + 4, _col(rng, (0.9, 0.9, 0.88), 0.05))
            sky = _sky(rng, max(int(wh), 1), max(int(ww), 1)) * 1.15
            a, c = int(max(cx - ww / 2, 0)), int(max(y0, 0))
            sub = img[c:c + sky.shape[0], a:a + sky.shape[1]]
            sub[:] = np.clip(sky[:sub.shape[0], :sub.shape[1]], 0, 1)
            _rect(img, cx - 2, y0, cx + 2, y0 + wh, _col(rng, (0.9, 0.9, 0.88), 0.05))
        elif kind == "door":
            dw, dh = w * rng.uniform(0.12, 0.2), (floor_row - 0) * rng.uniform(0.5, 0.8)
            _rect(img, cx - dw / 2, floor_row - dh, cx + dw / 2, floor_row, _col(rng, (0.55, 0.4, 0.28), 0.3))
        elif kind == "picture":  # a framed abstract picture or poster
            pw, ph = w * rng.uniform(0.08, 0.3), h * rng.uniform(0.08, 0.3)
            y0 = floor_row - h * rng.uniform(0.3, 0.7)
            _rect(img, cx - pw / 2 - 3, y0 - 3, cx + pw / 2 + 3, y0 + ph + 3, _col(rng, (0.2, 0.15, 0.1), 0.5))
            art = _col(rng, (0.6, 0.6, 0.6), 0.6)[None, None] * (1 + 0.5 * tx.fractal_noise(
                rng, max(int(ph), 1), max(int(pw), 1), 0.5)[..., None])
            a, c = int(max(cx - pw / 2, 0)), int(max(y0, 0))
            sub = img[c:c + art.shape[0], a:a + art.shape[1]]
            sub[:] = np.clip(art[:sub.shape[0], :sub.shape[1]], 0, 1)
        else:
            y0 = floor_row - h * rng.uniform(0.3, 0.6)
            _rect(img, cx - w * 0.15, y0, cx + w * 0.15, y0 + h * 0.02, _col(rng, (0.5, 0.35, 0.2), 0.3))
            for k in range(int(rng.integers(2, 8))):
                bx = cx - w * 0.14 + k * w * 0.035
                _rect(img, bx, y0 - h * rng.uniform(0.04, 0.08), bx + w * 0.03, y0, _col(rng, (0.5, 0.4, 0.4), 0.6))


def background(rng: np.random.Generator, h: int, w: int, kind: str) -> tuple[NDArray[np.float32], Camera]:
    """A float RGB background (h, w, 3) of scene `kind` (one of SCENES) and the camera that sees it."""
    focal = w * rng.uniform(0.8, 1.4)
    if kind == "floor":  # looking down at a floor: the horizon is above the frame
        cam = Camera(horizon=-h * rng.uniform(0.2, 1.0), height_m=rng.uniform(2.0, 3.0), focal=focal)
    elif kind == "wall":
        cam = Camera(horizon=h * rng.uniform(0.2, 0.5), height_m=rng.uniform(1.2, 1.8), focal=focal)
    else:
        cam = Camera(horizon=h * rng.uniform(0.15, 0.6), height_m=rng.uniform(1.0, 2.5), focal=focal)
    if kind in ("room", "wall", "floor"):
        img = _wall(rng, h, w)
        ground_kind = rng.choice(["planks", "tiles", "carpet"])
        floor_row = cam.horizon + (cam.focal * cam.height_m / rng.uniform(2.5, 8) if kind != "wall" else
                                   h * rng.uniform(0.3, 0.6))
        _wall_things(rng, img, floor_row)
        ground, _ = _ground(rng, cam, h, w, ground_kind)
        below = np.arange(h)[:, None] + 0.5 > floor_row
        img = np.where(below[..., None], ground, img)
        _rect(img, 0, floor_row - h * 0.015, w, floor_row, _col(rng, (0.85, 0.85, 0.8), 0.2))  # skirting board
    else:
        img = _sky(rng, h, w)
        _skyline(rng, img, cam.horizon + h * rng.uniform(0, 0.05))
        ground_kind = {"street": rng.choice(["asphalt", "paving"]), "lawn": "grass",
                       "path": rng.choice(["dirt", "paving", "grass"])}[kind]
        ground, below = _ground(rng, cam, h, w, ground_kind)
        img = np.where(below[..., None], ground, img)
        if kind == "path":  # a path across the lawn, drawn in perspective
            strip, _ = _ground(rng, cam, h, w, rng.choice(["dirt", "paving"]))
            xs = np.arange(w)[None, :]
            ys = np.arange(h)[:, None] + 0.5
            half = np.maximum(ys - cam.horizon, 0) * rng.uniform(0.3, 1.0)
            on = below & (np.abs(xs - w * rng.uniform(0.2, 0.8)) < half)
            img = np.where(on[..., None], strip, img)
    return np.clip(img, 0, 1).astype(np.float32), cam
