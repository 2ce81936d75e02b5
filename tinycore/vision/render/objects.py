"""Non-person objects: the detection classes (car, bicycle, dog, chair) and distractors a person detector must
not fire on (cat, table, sofa, plant, pole, lamp, tripod, bin, hydrant, bench).

Each `draw_<name>(layer, rng, foot, height, facing)` paints an object standing on the ground at `foot` (pixels)
with its real height scaled to `height` pixels; `REAL_HEIGHT_M` gives the heights the perspective uses.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from tinycore.vision.render.canvas import Layer
from tinycore.vision.render.textures import grain

REAL_HEIGHT_M = {"car": 1.45, "bicycle": 1.05, "dog": 0.6, "chair": 0.9, "cat": 0.3, "table": 0.75, "sofa": 0.85,
                 "plant": 1.0, "pole": 3.5, "lamp": 1.6, "tripod": 1.5, "bin": 1.0, "hydrant": 0.7, "bench": 0.8}

PAINT = np.array([[0.7, 0.1, 0.1], [0.1, 0.2, 0.5], [0.85, 0.85, 0.85], [0.1, 0.1, 0.1], [0.55, 0.55, 0.58],
                  [0.9, 0.8, 0.2], [0.2, 0.4, 0.25], [0.6, 0.45, 0.3], [0.35, 0.22, 0.12]], np.float32)
FUR = np.array([[0.1, 0.08, 0.06], [0.45, 0.3, 0.15], [0.8, 0.65, 0.4], [0.9, 0.88, 0.82], [0.5, 0.5, 0.5]],
               np.float32)


def _pick(rng, table) -> np.ndarray:
    return np.clip(table[rng.integers(len(table))] * rng.uniform(0.85, 1.15, 3), 0, 1).astype(np.float32)


def draw_car(layer: Layer, rng, foot, h, facing):
    x, y = foot
    col = _pick(rng, PAINT)
    front_view = rng.random() < 0.35
    L = h * (1.3 if front_view else rng.uniform(2.6, 3.0))
    wheel = h * 0.22
    body_top, roof = y - h * 0.62, y - h
    layer.polygon([(x - L / 2, y - wheel * 0.6), (x + L / 2, y - wheel * 0.6), (x + L / 2, body_top),
                   (x - L / 2, body_top)], col, 1.05, 0.7)
    rl = L * (0.45 if not front_view else 0.8)
    off = facing * L * 0.05
    glass = np.array([0.25, 0.3, 0.35]) * rng.uniform(0.6, 1.4)
    layer.polygon([(x - L * 0.42 + off, body_top), (x + L * 0.42 + off, body_top), (x + rl / 2 + off, roof),
                   (x - rl / 2 + off, roof)], col * 0.95, 1.0, 0.9)
    m = h * 0.06
    layer.polygon([(x - L * 0.38 + off + m, body_top - m * 0.3), (x + L * 0.38 + off - m, body_top - m * 0.3),
                   (x + rl / 2 + off - m, roof + m), (x - rl / 2 + off + m, roof + m)], np.clip(glass, 0, 1), 1.2, 0.7)
    if front_view:
        for s in (-1, 1):
            layer.ellipse((x + s * L * 0.36, y - h * 0.45), L * 0.08, h * 0.05, (0.95, 0.95, 0.85), flat=0.6)
            layer.polygon([(x + s * L * 0.42, y), (x + s * L * 0.3, y), (x + s * L * 0.3, y - wheel * 0.9),
                           (x + s * L * 0.42, y - wheel * 0.9)], (0.05, 0.05, 0.05))
        layer.polygon([(x - L * 0.2, y - h * 0.3), (x + L * 0.2, y - h * 0.3), (x + L * 0.2, y - h * 0.4),
                       (x - L * 0.2, y - h * 0.4)], (0.15, 0.15, 0.15))
    else:
        for s in (-1, 1):
            c = (x + s * L * 0.32, y - wheel)
            layer.ellipse(c, wheel, wheel, (0.06, 0.06, 0.06))
            layer.ellipse(c, wheel * 0.55, wheel * 0.55, (0.6, 0.6, 0.62), gloss=0.3)


def draw_bicycle(layer: Layer, rng, foot, h, facing):
    x, y = foot
    r = h * 0.34
    col = _pick(rng, PAINT)
    w = max(h * 0.025, 0.8)
    back, front = (x - facing * h * 0.55, y - r), (x + facing * h * 0.55, y - r)
    for c in (back, front):
        for t in range(36):
            a0, a1 = t * np.pi / 18, (t + 1) * np.pi / 18
            layer.line((c[0] + r * np.cos(a0), c[1] + r * np.sin(a0)), (c[0] + r * np.cos(a1), c[1] + r * np.sin(a1)),
                       w * 1.6, (0.05, 0.05, 0.05))
        for t in range(0, 8):
            a = t * np.pi / 4
            layer.line(c, (c[0] + r * np.cos(a), c[1] + r * np.sin(a)), w * 0.4, (0.6, 0.6, 0.6))
    crank = (x - facing * h * 0.05, y - r)
    seat = (x - facing * h * 0.18, y - h * 0.88)
    bar = (x + facing * h * 0.42, y - h * 0.95)
    for a, b in ((back, crank), (crank, seat), (seat, back), (crank, bar), (seat, (bar[0], bar[1] + h * 0.1)),
                 (bar, front)):
        layer.line(a, b, w * 1.5, col)
    layer.capsule((seat[0] - facing * h * 0.08, seat[1]), (seat[0] + facing * h * 0.06, seat[1]), w * 1.5, w,
                  (0.1,) * 3)
    layer.line(bar, (bar[0] - facing * h * 0.1, bar[1] - h * 0.03), w * 1.5, (0.1,) * 3)


def _quadruped(layer: Layer, rng, foot, h, facing, cat: bool):
    x, y = foot
    fur = _pick(rng, FUR)
    tex = grain(rng, *layer.shape, 0.2)
    L = h * (1.2 if cat else rng.uniform(1.1, 1.5))
    body_y = y - h * 0.6
    leg_r = h * (0.06 if cat else 0.075)
    for s, shade in ((-1, 0.8), (1, 1.0)):
        for end in (-1, 1):
            hx = x + end * L * 0.32 + s * leg_r * 0.5
            layer.capsule((hx, body_y), (hx + facing * h * 0.03, y - leg_r), leg_r, leg_r * 0.8, fur * shade,
                          texture=tex)
    layer.ellipse((x, body_y), L * 0.45, h * 0.2, fur, texture=tex)
    neck = (x + facing * L * 0.4, body_y - h * 0.15)
    head = (x + facing * L * 0.52, body_y - h * 0.35)
    layer.capsule((x + facing * L * 0.3, body_y), neck, h * 0.14, h * 0.1, fur, texture=tex)
    layer.capsule((x - facing * L * 0.42, body_y - h * 0.05), (x - facing * L * 0.62, body_y - h * (0.4 if cat else
                  0.2)), h * 0.04, h * 0.025, fur, texture=tex)
    hr = h * (0.17 if cat else 0.15)
    layer.ellipse(head, hr, hr * 0.9, fur, texture=tex)
    if not cat:  # muzzle and floppy or pointed ears
        layer.ellipse((head[0] + facing * hr * 0.9, head[1] + hr * 0.3), hr * 0.6, hr * 0.4, fur * 0.9)
        layer.ellipse((head[0] + facing * hr * 1.4, head[1] + hr * 0.2), hr * 0.15, hr * 0.12, (0.05,) * 3)
        layer.ellipse((head[0] - facing * hr * 0.3, head[1] + hr * 0.2), hr * 0.3, hr * 0.6, fur * 0.7)
    else:
        for s in (-1, 1):
            layer.polygon([(head[0] + s * hr * 0.7, head[1] - hr * 0.3), (head[0] + s * hr * 0.2, head[1] - hr * 0.6),
                           (head[0] + s * hr * 0.6, head[1] - hr * 1.3)], fur)
    layer.ellipse((head[0] + facing * hr * 0.4, head[1] - hr * 0.15), hr * 0.1, hr * 0.1, (0.05,) * 3, flat=0.8)


def draw_dog(layer, rng, foot, h, facing):
    _quadruped(layer, rng, foot, h, facing, cat=False)


def draw_cat(layer, rng, foot, h, facing):
    _quadruped(layer, rng, foot, h, facing, cat=True)


def draw_chair(layer: Layer, rng, foot, h, facing):
    x, y = foot
    col = _pick(rng, PAINT[5:] if rng.random() < 0.6 else PAINT)
    w, seat_y = h * 0.5, y - h * 0.5
    lw = h * 0.05
    for s, shade in ((-1, 0.75), (1, 0.9)):
        layer.line((x + s * w * 0.45, seat_y), (x + s * w * 0.45, y), lw, col * shade)
        layer.line((x + s * w * 0.3 - facing * w * 0.2, seat_y), (x + s * w * 0.3 - facing * w * 0.2, y - h * 0.05),
                   lw, col * shade * 0.8)
    layer.polygon([(x - w / 2, seat_y), (x + w / 2, seat_y), (x + w / 2 - facing * w * 0.2, seat_y - h * 0.08),
                   (x - w / 2 - facing * w * 0.2, seat_y - h * 0.08)], col, 1.1, 0.9)
    bx = x - facing * w * 0.35
    layer.polygon([(bx - w * 0.4, seat_y - h * 0.06), (bx + w * 0.4, seat_y - h * 0.06), (bx + w * 0.42, y - h),
                   (bx - w * 0.42, y - h)], col * 0.92, 1.0, 0.8)


def draw_table(layer: Layer, rng, foot, h, facing):
    x, y = foot
    col = _pick(rng, PAINT[7:]) * grain(rng, 1, 1, 0)[0, 0]
    w = h * rng.uniform(1.2, 2.0)
    for s in (-1, 1):
        layer.line((x + s * w * 0.42, y - h * 0.9), (x + s * w * 0.42, y), h * 0.06, col * 0.7)
    layer.polygon([(x - w / 2, y - h * 0.92), (x + w / 2, y - h * 0.92), (x + w * 0.45, y - h), (x - w * 0.45, y - h)],
                  col, 1.1, 0.95)
    layer.polygon([(x - w / 2, y - h * 0.92), (x + w / 2, y - h * 0.92), (x + w / 2, y - h * 0.84),
                   (x - w / 2, y - h * 0.84)], col * 0.75)


def draw_sofa(layer: Layer, rng, foot, h, facing):
    x, y = foot
    col = _pick(rng, PAINT) * 0.9
    tex = grain(rng, *layer.shape, 0.1)
    w = h * rng.uniform(2.0, 2.8)
    layer.capsule((x - w * 0.4, y - h * 0.75), (x + w * 0.4, y - h * 0.75), h * 0.25, h * 0.25, col * 0.9, texture=tex)
    layer.capsule((x - w * 0.42, y - h * 0.35), (x + w * 0.42, y - h * 0.35), h * 0.27, h * 0.27, col, texture=tex)
    for s in (-1, 1):
        layer.capsule((x + s * w * 0.48, y - h * 0.55), (x + s * w * 0.48, y - h * 0.25), h * 0.14, h * 0.14,
                      col * 0.95,
                      texture=tex)


def draw_plant(layer: Layer, rng, foot, h, facing):
    x, y = foot
    pot = _pick(rng, PAINT)
    layer.polygon([(x - h * 0.15, y - h * 0.3), (x + h * 0.15, y - h * 0.3), (x + h * 0.11, y), (x - h * 0.11, y)],
                  pot, 1.0, 0.75)
    green = np.array([0.15, 0.4, 0.12]) * rng.uniform(0.6, 1.4)
    for _ in range(int(rng.integers(8, 18))):
        a = rng.uniform(-1.3, 1.3)
        ln = h * rng.uniform(0.3, 0.7)
        tip = (x + np.sin(a) * ln, y - h * 0.3 - np.cos(a) * ln)
        layer.capsule((x, y - h * 0.3), tip, h * 0.015, h * rng.uniform(0.04, 0.09),
                      np.clip(green * rng.uniform(.7, 1.3),
                      0, 1))


def draw_pole(layer: Layer, rng, foot, h, facing):
    x, y = foot
    col = _pick(rng, PAINT[2:5])
    layer.capsule((x, y), (x, y - h), h * 0.02, h * 0.014, col, gloss=0.3)
    if rng.random() < 0.5:  # street lamp arm or sign
        layer.capsule((x, y - h), (x + facing * h * 0.15, y - h * 1.02), h * 0.012, h * 0.012, col)
        layer.ellipse((x + facing * h * 0.15, y - h), h * 0.05, h * 0.02, (0.9, 0.9, 0.8))
    else:
        layer.polygon([(x - h * 0.07, y - h * 0.75), (x + h * 0.07, y - h * 0.75), (x + h * 0.07, y - h * 0.9),
                       (x - h * 0.07, y - h * 0.9)], _pick(rng, PAINT))


def draw_lamp(layer: Layer, rng, foot, h, facing):
    x, y = foot
    layer.ellipse((x, y - h * 0.02), h * 0.12, h * 0.03, (0.2,) * 3)
    layer.line((x, y), (x, y - h * 0.8), h * 0.025, (0.3, 0.3, 0.3))
    shade = _pick(rng, PAINT[2:])
    layer.polygon([(x - h * 0.1, y - h), (x + h * 0.1, y - h), (x + h * 0.16, y - h * 0.78),
                   (x - h * 0.16, y - h * 0.78)],
                  shade, 1.2, 0.9)


def draw_tripod(layer: Layer, rng, foot, h, facing):
    x, y = foot
    top = (x, y - h * 0.85)
    for dx in (-0.25, 0.05, 0.22):
        layer.line(top, (x + dx * h, y), h * 0.018, (0.15, 0.15, 0.15))
    layer.line(top, (x, y - h * 0.95), h * 0.03, (0.2, 0.2, 0.2))
    layer.polygon([(x - h * 0.08, y - h), (x + h * 0.08, y - h), (x + h * 0.08, y - h * 0.92),
                   (x - h * 0.08, y - h * 0.92)], (0.08, 0.08, 0.08))


def draw_bin(layer: Layer, rng, foot, h, facing):
    x, y = foot
    col = _pick(rng, PAINT)
    layer.capsule((x, y - h * 0.45), (x, y - h * 0.5), h * 0.3, h * 0.32, col, gloss=0.2)
    layer.polygon([(x - h * 0.3, y - h * 0.5), (x + h * 0.3, y - h * 0.5), (x + h * 0.28, y), (x - h * 0.28, y)], col)
    layer.ellipse((x, y - h * 0.95), h * 0.33, h * 0.07, col * 0.8)


def draw_hydrant(layer: Layer, rng, foot, h, facing):
    x, y = foot
    col = np.array([0.75, 0.1, 0.08]) if rng.random() < 0.7 else np.array([0.85, 0.75, 0.15])
    layer.capsule((x, y), (x, y - h * 0.75), h * 0.16, h * 0.14, col, gloss=0.3)
    layer.ellipse((x, y - h * 0.8), h * 0.16, h * 0.16, col, gloss=0.3)
    layer.capsule((x - h * 0.25, y - h * 0.5), (x + h * 0.25, y - h * 0.5), h * 0.06, h * 0.06, col * 0.9)


def draw_bench(layer: Layer, rng, foot, h, facing):
    x, y = foot
    col = _pick(rng, PAINT[6:])
    w = h * 2.5
    for s in (-1, 1):
        layer.line((x + s * w * 0.4, y), (x + s * w * 0.4, y - h * 0.5), h * 0.06, (0.15,) * 3)
    for k in range(2):
        layer.polygon([(x - w / 2, y - h * (0.5 + k * 0.06)), (x + w / 2, y - h * (0.5 + k * 0.06)),
                       (x + w / 2, y - h * (0.55 + k * 0.06)), (x - w / 2, y - h * (0.55 + k * 0.06))], col)
    for k in range(2):
        layer.polygon([(x - w / 2, y - h * (0.75 + k * 0.15)), (x + w / 2, y - h * (0.75 + k * 0.15)),
                       (x + w / 2, y - h * (0.85 + k * 0.15)), (x - w / 2, y - h * (0.85 + k * 0.15))], col * 0.9)


DRAW: dict[str, Callable] = {name: globals()[f"draw_{name}"] for name in REAL_HEIGHT_M}
