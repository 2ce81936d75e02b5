"""Compose a scene: a background, objects standing on its ground plane in depth order, the camera's effects;
return the image and, per object, its class, bounding box and visible mask (the labels VWW and detection use).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from tinycore.errors import DataError
from tinycore.vision.render import photo
from tinycore.vision.render.backgrounds import SCENES, background
from tinycore.vision.render.canvas import Layer, Light, composite
from tinycore.vision.render.objects import DRAW, REAL_HEIGHT_M
from tinycore.vision.render.person import POSES, VIEWS, draw_person, random_look, random_pose

PERSON_HEIGHT_M = 1.72


@dataclass(frozen=True)
class Item:
    """One thing to place: `kind` is "person" or a name in objects.DRAW; `height_frac` is its standing height
    over the image height (> 1 for close-ups cut by the frame); `x_frac` its horizontal centre (None: random);
    for people `view` / `pose` (None: random)."""
    kind: str
    height_frac: float
    x_frac: float | None = None
    view: str | None = None
    pose: str | None = None


@dataclass(frozen=True)
class RenderedObject:
    kind: str
    bbox_xywh: tuple[float, float, float, float]  # output pixels, top-left origin, of the visible part
    visible_area_px: float  # visible coverage summed over output pixels
    mask: NDArray[np.bool_] = field(repr=False)  # (H, W) visible coverage >= 0.5


@dataclass(frozen=True)
class Rendered:
    image: NDArray[np.uint8]  # (H, W, 3) RGB
    objects: tuple[RenderedObject, ...]
    scene: str

    def area_frac(self, kind: str) -> float:
        """Largest visible area of an object of `kind` as a fraction of the image (VWW's 0.5 % rule)."""
        h, w = self.image.shape[:2]
        return max((o.visible_area_px / (h * w) for o in self.objects if o.kind == kind), default=0.0)


def render_scene(rng: np.random.Generator, items: list[Item], height: int = 96, width: int = 96,
                 scene: str | None = None, supersample: int = 3) -> Rendered:
    """Render `items` into a random scene of kind `scene` (one of backgrounds.SCENES; None: random) at
    (height, width) output pixels, drawn at `supersample` times that size and area-averaged down."""
    if scene is not None and scene not in SCENES:
        raise DataError(f"render_scene: unknown scene '{scene}'; known: {', '.join(SCENES)}")
    for it in items:
        if it.kind != "person" and it.kind not in DRAW:
            raise DataError(f"render_scene: unknown object kind '{it.kind}'; known: person, {', '.join(DRAW)}")
    scene = scene or str(rng.choice(SCENES))
    H, W = height * supersample, width * supersample
    img, cam = background(rng, H, W, scene)
    lit = Light(dx=rng.uniform(-0.8, 0.8), dy=rng.uniform(-0.9, -0.2), ambient=rng.uniform(0.08, 0.3))
    if rng.random() < 0.4:  # depth of field: a camera focused on the subjects blurs the background
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.5) * supersample)
    placed = []
    for it in items:
        size = it.height_frac * H
        real = PERSON_HEIGHT_M if it.kind == "person" else REAL_HEIGHT_M[it.kind]
        row = cam.row_for(size, real)
        if it.kind == "person" and size > 0.6 * H:  # a close-up: framed by its head, feet below the frame
            row = H * rng.uniform(-0.02, 0.3) + size
        elif it.x_frac is not None:  # a framed subject: its upper part (a person's head and torso) in the frame
            row = float(np.clip(row, size + 0.02 * H, H + 0.3 * size))
        if row < 0 and scene == "floor":  # floor views have no far ground in frame: stand it in the frame
            row = rng.uniform(0.3, 1.0) * H
        x = (it.x_frac if it.x_frac is not None else rng.uniform(-0.05, 1.05)) * W
        placed.append((row, x, size, it))
    placed.sort(key=lambda p: p[0])  # far (higher in the image) first
    layers, kinds = [], []
    pitch = float(np.clip(-cam.horizon / H, 0, 0.6)) if scene == "floor" else 0.0
    for row, x, size, it in placed:
        _shadow(img, x, row, size, it.kind, lit)
        layer = Layer(H, W, lit)
        facing = 1 if rng.random() < 0.5 else -1
        if it.kind == "person":
            view = it.view or str(rng.choice(VIEWS, p=[0.45, 0.2, 0.35]))
            pose_kind = it.pose or str(rng.choice(POSES, p=[0.25, 0.4, 0.12, 0.08, 0.08, 0.07]))
            pose = random_pose(rng, pose_kind)
            if pose_kind == "sit":  # a seat under the hips, drawn behind the person as an object of its own
                seat = str(rng.choice(["chair", "bench", "sofa"]))
                seat_layer = Layer(H, W, lit)
                DRAW[seat](seat_layer, rng, (x - facing * size * 0.05, row), size * REAL_HEIGHT_M[seat] /
                           PERSON_HEIGHT_M, -facing)
                layers.append(seat_layer)
                kinds.append(seat)
            draw_person(layer, rng, (x, row), size, view, pose, random_look(rng), facing, pitch)
        else:
            DRAW[it.kind](layer, rng, (x, row), size, facing)
        layers.append(layer)
        kinds.append(it.kind)
    visible = composite(img, layers)
    img = photo.blur(rng, photo.light(rng, img), supersample)
    out = photo.finish(rng, img, (height, width))
    objects = []
    for kind, vis in zip(kinds, visible):
        small = cv2.resize(vis, (width, height), interpolation=cv2.INTER_AREA)
        area = float(small.sum())
        mask = small >= 0.5
        ys, xs = np.nonzero(small > 0.05)
        if len(xs) == 0:
            continue
        bbox = (float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))
        objects.append(RenderedObject(kind, bbox, area, mask))
    return Rendered(out, tuple(objects), scene)


def _shadow(img: NDArray[np.float32], x: float, row: float, size: float, kind: str, lit: Light) -> None:
    """A soft contact shadow on the ground under an object, offset away from the light."""
    h, w = img.shape[:2]
    rx = size * (0.25 if kind == "person" else 0.5)
    ry = max(size * 0.05, 1.0)
    cx = x - lit.dx * size * 0.15
    a, b = int(max(cx - rx * 2, 0)), int(min(cx + rx * 2, w))
    c, d = int(max(row - ry * 3, 0)), int(min(row + ry * 3, h))
    if a >= b or c >= d:
        return
    ys, xs = np.mgrid[c:d, a:b].astype(np.float32)
    q = ((xs - cx) / rx) ** 2 + ((ys - row) / ry) ** 2
    img[c:d, a:b] *= (1 - 0.45 * np.exp(-q * 1.5))[..., None]
