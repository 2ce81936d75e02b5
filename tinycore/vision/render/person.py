"""Articulated people: a skeleton posed by joint angles, fleshed out by shaded capsules and ellipsoids.

Proportions follow the usual figure-drawing canon (a head is ~1/7.5 of the height, shoulders at ~0.82 H, hips at
~0.52 H, knees at ~0.28 H). Views: front, back, side (left or right), and `pitch` for a camera looking down.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinycore.vision.render.canvas import Layer
from tinycore.vision.render.textures import grain, stripes

VIEWS = ("front", "back", "side")
POSES = ("stand", "walk", "sit", "wave", "phone", "run")

SKIN = np.array([[0.98, 0.84, 0.72], [0.94, 0.76, 0.62], [0.86, 0.64, 0.5], [0.72, 0.5, 0.36],
                 [0.55, 0.37, 0.26], [0.4, 0.27, 0.19], [0.3, 0.2, 0.14]], np.float32)
HAIR = np.array([[0.08, 0.06, 0.05], [0.2, 0.13, 0.08], [0.35, 0.22, 0.12], [0.62, 0.48, 0.28],
                 [0.85, 0.72, 0.45], [0.55, 0.53, 0.5], [0.85, 0.85, 0.82], [0.45, 0.18, 0.08]], np.float32)
HAIR_P = [0.3, 0.25, 0.15, 0.08, 0.08, 0.06, 0.04, 0.04]  # dark hair is the most common
CLOTH = np.array([[0.1, 0.1, 0.12], [0.9, 0.9, 0.88], [0.15, 0.2, 0.4], [0.6, 0.1, 0.1], [0.2, 0.35, 0.2],
                  [0.5, 0.5, 0.52], [0.85, 0.75, 0.55], [0.9, 0.5, 0.1], [0.3, 0.5, 0.75], [0.55, 0.25, 0.45],
                  [0.95, 0.85, 0.2], [0.35, 0.25, 0.2], [0.75, 0.3, 0.4],
                  # street clothing is mostly dark, grey, white, navy, khaki and brown (repeated to weight them)
                  [0.06, 0.06, 0.07], [0.14, 0.14, 0.16], [0.3, 0.3, 0.32], [0.12, 0.14, 0.25], [0.8, 0.8, 0.78],
                  [0.55, 0.5, 0.38], [0.3, 0.22, 0.16], [0.08, 0.08, 0.1], [0.2, 0.2, 0.22],
                  [0.05, 0.05, 0.06], [0.18, 0.17, 0.17], [0.4, 0.4, 0.42], [0.1, 0.12, 0.2], [0.7, 0.7, 0.68],
                  [0.45, 0.4, 0.3], [0.25, 0.18, 0.12], [0.12, 0.1, 0.1], [0.25, 0.25, 0.28]], np.float32)
DENIM = np.array([[0.2, 0.27, 0.42], [0.12, 0.15, 0.25], [0.32, 0.4, 0.55]], np.float32)


@dataclass(frozen=True)
class Look:
    skin: np.ndarray
    hair: np.ndarray
    hair_style: str  # short, long, bald, cap
    cap: np.ndarray
    top: np.ndarray
    top_pattern: str  # plain, hstripes, vstripes
    sleeves: str  # long, short
    bottom: np.ndarray
    bottom_kind: str  # pants, shorts, skirt
    shoes: np.ndarray
    build: float  # width factor


def random_look(rng: np.random.Generator) -> Look:
    def jitter(c):
        return np.clip(c * rng.uniform(0.75, 1.2) * rng.uniform(0.94, 1.06, 3), 0, 1).astype(np.float32)
    bottom_kind = rng.choice(["pants", "pants", "pants", "shorts", "skirt"])
    bottom = DENIM[rng.integers(len(DENIM))] if rng.random() < 0.5 else CLOTH[rng.integers(len(CLOTH))]
    skin = (SKIN[rng.integers(len(SKIN))] * rng.uniform(0.92, 1.05)).clip(0, 1).astype(np.float32)
    hair = jitter(HAIR[rng.choice(len(HAIR), p=HAIR_P)])
    style = str(rng.choice(["short", "short", "long", "long", "bald", "cap"], p=[.3, .1, .25, .15, .05, .15]))
    return Look(skin=skin, hair=hair, hair_style=style,
                cap=jitter(CLOTH[rng.integers(len(CLOTH))]), top=jitter(CLOTH[rng.integers(len(CLOTH))]),
                top_pattern=str(rng.choice(["plain", "plain", "hstripes", "vstripes"])),
                sleeves=str(rng.choice(["long", "short"])), bottom=jitter(bottom), bottom_kind=str(bottom_kind),
                shoes=jitter(CLOTH[rng.integers(len(CLOTH))] * 0.6), build=float(rng.uniform(0.95, 1.3)))


@dataclass(frozen=True)
class Pose:
    """Joint angles in radians, measured from straight down; positive swings toward the way the person faces."""
    thigh: tuple[float, float]  # near, far
    knee: tuple[float, float]  # shin bend backwards (>= 0)
    upper_arm: tuple[float, float]
    elbow: tuple[float, float]  # forearm bend forwards
    spread: float  # legs and arms apart in a front view (radians)
    hip_drop: float  # sitting: hips lowered by this fraction of H


def random_pose(rng: np.random.Generator, kind: str) -> Pose:
    u = rng.uniform
    if kind == "walk":
        s = u(0.25, 0.5)
        return Pose((s, -s), (u(0, .3), u(.2, .6)), (-s * .7, s * .7), (u(.1, .5), u(.1, .5)), u(0, .08), 0)
    if kind == "run":
        s = u(0.5, 0.8)
        return Pose((s, -s * .6), (u(.5, 1.2), u(1, 1.6)), (-s, s), (u(1.2, 1.6), u(1.2, 1.6)), u(0, .1), 0)
    if kind == "sit":
        return Pose((u(1.3, 1.7),) * 2, (u(1.2, 1.7),) * 2, (u(0, .5), u(0, .5)), (u(.5, 1.3), u(.5, 1.3)),
                    u(0, .2), u(0.2, 0.26))
    if kind == "wave":
        return Pose((0, 0), (0, 0), (u(2.3, 3.0), u(-.1, .2)), (u(0.3, 1.0), u(0, .4)), u(.05, .15), 0)
    if kind == "phone":
        return Pose((u(-.1, .1), 0), (0, 0), (u(.2, .5), u(-.1, .1)), (u(2.2, 2.6), u(0, .3)), u(0, .08), 0)
    return Pose((u(-.1, .1), u(-.1, .1)), (0, u(0, .15)), (u(-.15, .15), u(-.15, .15)), (u(0, .4), u(0, .4)),
                u(0.06, 0.2), 0)


def draw_person(layer: Layer, rng: np.random.Generator, foot: tuple[float, float], height: float, view: str,
                pose: Pose, look: Look, facing: int = 1, pitch: float = 0.0) -> None:
    """Paint one person whose feet touch `foot` (pixels) and who is `height` pixels tall standing.

    `facing` (+1 right, -1 left) matters for side views; `pitch` in [0, 0.6] foreshortens the body below the head
    as a camera looking down sees it.
    """
    fx, fy = foot
    H = height
    k = 1 - 0.6 * pitch  # vertical foreshortening of the body
    b = look.build
    side = view == "side"
    tex = grain(rng, *layer.shape, 0.12)
    top_tex = tex * (stripes(rng, *layer.shape, max(H * 0.035, 2), vertical=look.top_pattern == "vstripes")
                     if look.top_pattern != "plain" else 1)
    hip_y = fy - (0.52 - pose.hip_drop) * H * k
    sh_y = hip_y - 0.30 * H * k
    head_r = 0.067 * H
    head_c = (fx, sh_y - 0.115 * H * (k * 0.5 + 0.5))
    if side:
        sh_x = np.array([0.0, 0.0]) + fx
        hip_x = np.array([0.012, -0.012]) * H * facing + fx
    else:
        sh_x = fx + np.array([0.128, -0.128]) * H * b
        hip_x = fx + np.array([0.055, -0.055]) * H * b
    arm_r, leg_r = 0.028 * H * b, 0.042 * H * b

    def limb_end(x, y, angle, length, sign):
        if side:
            return x + facing * np.sin(angle) * length, y + np.cos(angle) * length * k
        ang = sign * pose.spread + 0.25 * sign * max(angle - 1.2, 0)
        return x + np.sin(ang) * length, y + abs(np.cos(angle)) * length * k * (0.55 + 0.45 * abs(np.cos(angle)))

    def leg(i, shade):
        sign = 1 if i == 0 else -1
        knee = limb_end(hip_x[i], hip_y, pose.thigh[i], 0.25 * H, sign)
        ankle = limb_end(*knee, pose.thigh[i] - pose.knee[i], 0.24 * H, sign)
        lower = look.skin if look.bottom_kind in ("shorts", "skirt") else look.bottom
        layer.capsule((hip_x[i], hip_y), knee, leg_r * 1.15, leg_r * 0.9, look.bottom * shade, texture=tex)
        layer.capsule(knee, ankle, leg_r * 0.9, leg_r * 0.6, lower * shade, texture=tex)
        toe = (ankle[0] + (facing * 0.05 * H if side else 0), ankle[1] + 0.015 * H)
        layer.capsule(ankle, toe, leg_r * 0.65, leg_r * 0.55, look.shoes * shade, gloss=0.2)

    def arm(i, shade):
        sign = 1 if i == 0 else -1
        x = sh_x[i]
        y = sh_y + 0.02 * H
        elbow = limb_end(x, y, pose.upper_arm[i], 0.17 * H, sign)
        wrist = limb_end(*elbow, pose.upper_arm[i] + pose.elbow[i], 0.15 * H, sign)
        sleeve_lo = look.top if look.sleeves == "long" else look.skin
        layer.capsule((x, y), elbow, arm_r * 1.1, arm_r * 0.9, look.top * shade, texture=top_tex)
        layer.capsule(elbow, wrist, arm_r * 0.9, arm_r * 0.7, sleeve_lo * shade, texture=tex)
        layer.ellipse(wrist, arm_r * 0.85, arm_r * 1.0, look.skin * shade)

    order = (1, 0) if side else (0, 1)
    if side:
        arm(order[0], 0.78)
        leg(order[0], 0.8)
    if look.hair_style == "long" and view != "side":
        layer.capsule((head_c[0], head_c[1]), (head_c[0], sh_y + 0.06 * H), head_r * 1.1, head_r * 1.15,
                      look.hair * 0.9, texture=tex)
    for i in (order[1:] if side else order):
        leg(i, 1.0)
    if look.bottom_kind == "skirt":
        w = 0.16 * H * b
        layer.polygon([(fx - w * 0.55, hip_y - 0.03 * H), (fx + w * 0.55, hip_y - 0.03 * H),
                       (fx + w * (0.6 if side else 0.95), hip_y + 0.2 * H * k),
                       (fx - w * (0.6 if side else 0.95), hip_y + 0.2 * H * k)], look.bottom, 1.0, 0.8, texture=tex)
    # torso: shoulders taper to the waist, then the hips in the trousers' colour
    shoulder_half = (0.07 if side else 0.118) * H * b
    waist_half = (0.065 if side else 0.088) * H * b
    waist_y = hip_y - 0.07 * H * k
    if look.bottom_kind != "skirt":
        layer.trapezoid((fx, waist_y - 0.01 * H), waist_half, (fx, hip_y + 0.05 * H * k), waist_half * 1.08,
                        look.bottom, texture=tex)
    layer.trapezoid((fx, sh_y + 0.02 * H), shoulder_half, (fx, waist_y + 0.01 * H), waist_half, look.top,
                    texture=top_tex)
    if not side:  # sloping shoulders from the neck to rounded deltoids
        layer.trapezoid((fx, sh_y - 0.025 * H), 0.05 * H, (fx, sh_y + 0.025 * H), shoulder_half * 1.05, look.top,
                        texture=top_tex)
        for i in (0, 1):
            layer.ellipse((sh_x[i], sh_y + 0.035 * H), arm_r * 1.2, arm_r * 1.5, look.top, texture=top_tex)
    else:
        layer.ellipse((fx, sh_y + 0.03 * H), shoulder_half, 0.045 * H, look.top, texture=top_tex)
    layer.capsule((fx, sh_y), (fx, head_c[1] + head_r * 0.6), 0.024 * H, 0.022 * H, look.skin * 0.85)
    for i in (order[1:] if side else order):
        arm(i, 1.0)
    _head(layer, head_c, head_r, view, look, facing, tex)


def _head(layer: Layer, c, r: float, view: str, look: Look, facing: int, tex) -> None:
    cx, cy = c
    hair = look.hair
    if view == "back":
        layer.ellipse((cx, cy), r * 0.95, r * 1.08, look.skin * 0.9)
        if look.hair_style != "bald":
            layer.ellipse((cx, cy - r * 0.05), r, r * 1.05, hair, gloss=0.15, texture=tex)
    elif view == "side":
        layer.ellipse((cx, cy), r * 0.95, r * 1.08, look.skin, texture=tex)
        layer.ellipse((cx + facing * r * 0.92, cy + r * 0.12), r * 0.18, r * 0.22, look.skin)  # nose
        layer.ellipse((cx + facing * r * 0.55, cy - r * 0.05), r * 0.1, r * 0.08, (0.1, 0.07, 0.06), flat=0.8)
        if look.hair_style != "bald":
            layer.ellipse((cx - facing * r * 0.2, cy - r * 0.25), r * 0.85, r * 0.85, hair, gloss=0.15, texture=tex)
        layer.ellipse((cx - facing * r * 0.05, cy + r * 0.05), r * 0.18, r * 0.25, look.skin * 0.85)  # ear
    else:
        if look.hair_style != "bald":
            layer.ellipse((cx, cy - r * 0.12), r * 1.05, r * 1.0, hair, gloss=0.15, texture=tex)
        layer.ellipse((cx - r * 0.93, cy + r * 0.08), r * 0.17, r * 0.26, look.skin * 0.85)
        layer.ellipse((cx + r * 0.93, cy + r * 0.08), r * 0.17, r * 0.26, look.skin * 0.85)
        layer.ellipse((cx, cy + r * 0.1), r * 0.88, r * 0.98, look.skin, texture=tex)
        if look.hair_style != "bald":  # fringe
            layer.ellipse((cx, cy - r * 0.62), r * 0.85, r * 0.38, hair, texture=tex)
        for s in (-1, 1):
            layer.ellipse((cx + s * r * 0.36, cy + r * 0.08), r * 0.14, r * 0.07, (0.85, 0.82, 0.8), flat=0.7)
            layer.ellipse((cx + s * r * 0.36, cy + r * 0.08), r * 0.07, r * 0.07, (0.12, 0.08, 0.06), flat=0.8)
            layer.capsule((cx + s * r * 0.2, cy - r * 0.12), (cx + s * r * 0.55, cy - r * 0.15), r * 0.05, r * 0.04,
                          hair * 0.8)
        layer.ellipse((cx, cy + r * 0.35), r * 0.12, r * 0.2, look.skin * 0.9)
        layer.ellipse((cx, cy + r * 0.63), r * 0.28, r * 0.08, look.skin * np.array([1.0, 0.6, 0.6]) * 0.75, flat=0.5)
    if look.hair_style == "cap":
        layer.ellipse((cx, cy - r * 0.45), r * 1.02, r * 0.6, look.cap, gloss=0.1)
        if view == "front":
            layer.ellipse((cx, cy - r * 0.25), r * 0.9, r * 0.18, look.cap * 0.8)
        elif view == "side":
            layer.ellipse((cx + facing * r * 0.9, cy - r * 0.25), r * 0.6, r * 0.12, look.cap * 0.8)
