"""Industrial parts on a conveyor line, with or without a defect: what one frame of an inspection camera shows.

A line makes a few *products* of each kind (DESIGNS per kind: a layout, colours, a print, drawn from a fixed seed,
the same in every split, as a factory's products are). A part *instance* is one manufactured part of a product: its
manufacturing tolerance (tone, colour) and its defect come from the instance's seed; each *view* of it (pose on the
belt, background, light, blur, noise) from another. The data set renders several views of every instance and
splits by instance, so a split never sees a part another split holds.

Kinds and the defects each can carry (surface marks from tinycore.vision.render.marks; missing, extra and misprint
are drawn here because they depend on the part's features):
    washer     scratch, crack, dent, stain
    cap        scratch, dent, stain, misprint (the centre print shifted, turned or half gone)
    connector  missing pin, extra (bent pin / solder blob), crack, scratch
    fabric     stain, hole, scratch (a pulled thread), missing (a missing weft thread)
    pcb        missing pad, extra (solder bridge), scratch (a cut trace), stain
Defect sizes are fractions of the part's diameter, log-uniform so most are small: lines 15-70 % long and 3-7 %
wide, blobs of radius 7-25 %. A defect is kept only when every view of the part shows it (>= 24 frame pixels at 64x64
differ by >= 40/255 from the same view of the good part), else another is drawn: a label says what the
camera can see, never a mark the resize or the noise erased (the pixel count scales with the frame's side:
min_visible_px).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from tinycore.vision.render import photo
from tinycore.vision.render.marks import LINE_MARKS, MARKS
from tinycore.vision.render.textures import grain, stripes

KINDS = ("washer", "cap", "connector", "fabric", "pcb")
DEFECTS = {"washer": ("scratch", "crack", "dent", "stain"), "cap": ("scratch", "dent", "stain", "misprint"),
           "connector": ("missing", "extra", "crack", "scratch"), "fabric": ("stain", "hole", "scratch", "missing"),
           "pcb": ("missing", "extra", "scratch", "stain")}
SUPERSAMPLE = 2
POSE_SCALE = (0.8, 0.95)  # the part's size in the frame: the camera is framed on the part, as on a line
POSE_SHIFT = 0.04  # where the trigger catches it, fraction of the frame
LIGHT_SPREAD = 0.12  # exposure spread of the station's lamps
DESIGNS = 1  # products of each kind on the line
DESIGN_SEED = 1801  # the products' drawings: fixed, the same for every data seed and split
TOLERANCE = (0.06, 0.03)  # a part's tone and per-channel colour spread around its product's (manufacturing)
MIN_DEFECT_PX = 4  # working pixels a mark must change inside the part, else it is drawn again elsewhere
LINE_LENGTH = (0.15, 0.7)  # scratches and cracks, fraction of the part diameter (log-uniform)
LINE_WIDTH = (0.03, 0.07)  # fraction of the part diameter
BLOB_RADIUS = (0.07, 0.25)  # stains, dents, holes, fraction of the part diameter (log-uniform)
VISIBLE_LEVEL = 40 / 255  # a frame pixel shows the defect when it differs from the good part's frame by this much
VISIBLE_PX_64 = 24  # ... and a defect is labelled only when every view shows this many such pixels at 64x64 (scaled)
DEFECT_TRIES = 12  # defects drawn on one part until one is visible in every view


@dataclass(frozen=True)
class Instance:
    """One part in its own frame (S x S working pixels): image, mask, kind and defect (None when good)."""
    image: NDArray[np.float32]
    mask: NDArray[np.bool_]
    kind: str
    defect: str | None
    defect_px: int  # working pixels the defect changed; after render_instance_views, visible frame pixels
    clean: NDArray[np.float32]  # the part before its defect (the same array when good)
    clean_mask: NDArray[np.bool_]  # its mask before the defect (a missing pin changes the outline)
    features: dict = field(default_factory=dict, compare=False)  # pins, pads, print: what feature defects change


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _disc(s: int, r: float) -> NDArray[np.bool_]:
    ys, xs = np.mgrid[0:s, 0:s]
    return (xs - s / 2 + 0.5) ** 2 + (ys - s / 2 + 0.5) ** 2 <= r * r


def _metal(rng: np.random.Generator, s: int) -> NDArray[np.float32]:
    """Brushed metal: grey with a cast, concentric brush lines and a light sweep."""
    ys, xs = np.mgrid[0:s, 0:s].astype(np.float32) - s / 2
    rad, ang = np.hypot(xs, ys), np.arctan2(ys, xs)
    brush = 1 + 0.06 * np.sin(rad * rng.uniform(0.8, 2.0)) * grain(rng, s, s, 0.5)
    sweep = 1 + 0.25 * np.cos(ang - rng.uniform(0, 2 * np.pi))
    base = rng.uniform(0.45, 0.75) * rng.uniform(0.92, 1.08, 3)
    return (base * (brush * sweep)[..., None]).astype(np.float32)


def _washer(rng, s):
    r_out = s * 0.45
    mask = _disc(s, r_out) & ~_disc(s, r_out * rng.uniform(0.35, 0.5))
    return _metal(rng, s), mask, {}


def _print_mark(img, s: int, colour, centre, angle: float, keep: float = 1.0) -> None:
    """The cap's print: a ring and a bar through it (a logo); `keep` < 1 leaves part of it out."""
    layer = np.zeros((s, s), np.float32)
    c = (int(centre[0]), int(centre[1]))
    cv2.ellipse(layer, c, (int(s * 0.2), int(s * 0.2)), 0, 0, 360 * keep, 1.0, max(2, s // 40), cv2.LINE_AA)
    d = np.array([np.cos(angle), np.sin(angle)]) * s * 0.16
    cv2.line(layer, (int(c[0] - d[0]), int(c[1] - d[1])), (int(c[0] + d[0]), int(c[1] + d[1])), 1.0,
             max(2, s // 30), cv2.LINE_AA)
    img += layer[..., None] * (np.asarray(colour, np.float32) - img)


def _cap(rng, s):
    r = s * 0.45
    mask = _disc(s, r)
    colour = rng.uniform(0.15, 0.9, 3)
    img = np.broadcast_to(colour, (s, s, 3)).astype(np.float32) * grain(rng, s, s, 0.04)[..., None]
    ys, xs = np.mgrid[0:s, 0:s].astype(np.float32) - s / 2
    rim = np.hypot(xs, ys) > r * 0.82
    knurl = 1 + 0.3 * np.sign(np.sin(np.arctan2(ys, xs) * int(rng.integers(30, 60))))
    img *= np.where(rim, knurl * 0.85, 1.0)[..., None].astype(np.float32)
    ink = 1 - colour if rng.random() < 0.5 else rng.uniform(0, 1, 3)
    return img, mask, {"ink": ink, "angle": rng.uniform(0, np.pi)}


def _connector(rng, s):
    img = np.zeros((s, s, 3), np.float32)
    mask = np.zeros((s, s), np.uint8)
    body = np.array([s * 0.08, s * 0.45, s * 0.92, s * 0.8]).astype(int)
    plastic = rng.uniform(0.05, 0.9) * rng.uniform(0.9, 1.1, 3)
    cv2.rectangle(img, tuple(body[:2]), tuple(body[2:]), tuple(float(v) for v in plastic), -1)
    cv2.rectangle(mask, tuple(body[:2]), tuple(body[2:]), 1, -1)
    n = int(rng.integers(4, 11))
    xs = np.linspace(body[0] + s * 0.06, body[2] - s * 0.06, n)
    pin_w, gold = max(2, int(s * 0.3 / n)), np.array([0.85, 0.7, 0.3]) * rng.uniform(0.8, 1.1)
    pins = [(int(x - pin_w / 2), int(s * 0.15), int(x + pin_w / 2), int(body[1])) for x in xs]
    for x in xs:  # the housing's cavities
        cv2.rectangle(img, (int(x - pin_w), int(s * 0.55)), (int(x + pin_w), int(s * 0.7)),
                      tuple(float(v) for v in plastic * 0.35), -1)
    for p in pins:
        cv2.rectangle(mask, p[:2], p[2:], 1, -1)
        cv2.rectangle(img, p[:2], p[2:], tuple(float(v) for v in gold), -1)
    return img * grain(rng, s, s, 0.05)[..., None], mask.astype(bool), {"pins": pins, "gold": gold}


def _fabric(rng, s):
    ys, xs = np.mgrid[0:s, 0:s].astype(np.float32)
    period = s * rng.uniform(0.035, 0.055)
    weave = 1 + 0.22 * np.sin(xs * 2 * np.pi / period) * np.sign(np.sin(ys * 2 * np.pi / period))
    colour = rng.uniform(0.2, 0.9, 3)
    img = (colour * (weave * grain(rng, s, s, 0.06))[..., None]).astype(np.float32)
    return img, np.ones((s, s), bool), {"period": period}


def _pcb(rng, s):
    img = np.zeros((s, s, 3), np.float32)
    board = np.array([0.1, 0.5, 0.2]) * rng.uniform(0.6, 1.3) if rng.random() < 0.8 else np.array([0.1, 0.2, 0.55])
    m = int(s * 0.06)
    img[m:s - m, m:s - m] = board
    mask = np.zeros((s, s), bool)
    mask[m:s - m, m:s - m] = True
    trace = tuple(float(v) for v in np.clip(board * 1.7, 0, 1))
    pads = []
    for _ in range(int(rng.integers(6, 12))):
        a, b = rng.integers(m + 6, s - m - 6, 2), rng.integers(m + 6, s - m - 6, 2)
        mid = (int(b[0]), int(a[1]))
        cv2.polylines(img, [np.array([a, mid, b], np.int32)], False, trace, max(2, s // 50))
        pads += [a, b]
    silver = (0.8, 0.8, 0.78)
    pad_r = max(2, round(s * 0.03))
    for p in pads:
        cv2.circle(img, (int(p[0]), int(p[1])), pad_r, silver, -1, cv2.LINE_AA)
    c0 = rng.integers(int(s * 0.3), int(s * 0.5), 2)
    cv2.rectangle(img, tuple(int(v) for v in c0), tuple(int(v + s * 0.22) for v in c0), (0.08, 0.08, 0.08), -1)
    return img * grain(rng, s, s, 0.04)[..., None], mask, {"pads": pads, "pad_r": pad_r, "board": board,
                                                           "silver": silver}


DRAW = {"washer": _washer, "cap": _cap, "connector": _connector, "fabric": _fabric, "pcb": _pcb}


def _feature_defect(rng, kind: str, defect: str, img, mask, feat, s: int) -> NDArray[np.bool_]:
    """missing / extra / misprint: changes to the part's own features; returns the changed pixels."""
    before = img.copy()
    if kind == "cap":
        _print_mark(img, s, feat["ink"], np.array([s / 2, s / 2]) + rng.uniform(-0.12, 0.12, 2) * s,
                    feat["angle"] + rng.uniform(0.4, 1.2), keep=rng.uniform(0.35, 0.8))
    elif kind == "connector" and defect == "missing":
        x0, y0, x1, y1 = feat["pins"][int(rng.integers(len(feat["pins"])))]
        img[y0:y1, x0:x1 + 1] = 0
        mask[y0:y1, x0:x1 + 1] = False
    elif kind == "connector":  # a bent pin
        x0, y0, x1, y1 = feat["pins"][int(rng.integers(len(feat["pins"])))]
        img[y0:y1, x0:x1 + 1] = 0
        tip = (int(x0 + rng.choice([-1, 1]) * (y1 - y0) * rng.uniform(0.4, 0.8)), y0)
        cv2.line(img, ((x0 + x1) // 2, y1), tip, tuple(float(v) for v in feat["gold"]), max(2, x1 - x0))
        cv2.line(mask.view(np.uint8), ((x0 + x1) // 2, y1), tip, 1, max(2, x1 - x0))
    elif kind == "fabric":
        y = int(rng.integers(s // 8, s - s // 8))
        band = max(2, int(feat["period"] / 2))
        x0 = int(rng.integers(0, s // 2))
        img[y:y + band, x0:x0 + int(s * _log_uniform(rng, 0.2, 0.8))] *= 0.55
    elif kind == "pcb" and defect == "missing":
        p = feat["pads"][int(rng.integers(len(feat["pads"])))]
        cv2.circle(img, (int(p[0]), int(p[1])), feat["pad_r"] + 1, tuple(float(v) for v in feat["board"]), -1)
    elif kind == "pcb":  # a solder bridge between a pad and its neighbour direction
        p = np.asarray(feat["pads"][int(rng.integers(len(feat["pads"])))], np.float64)
        q = p + rng.uniform(-1, 1, 2) * s * 0.1
        cv2.line(img, tuple(int(v) for v in p), tuple(int(v) for v in q), feat["silver"], feat["pad_r"] * 2)
    return np.abs(img - before).max(axis=2) > 0.03


def draw_part(rng: np.random.Generator, kind: str, s: int, design: int = 0) -> Instance:
    """A good part of product `design` of `kind` in its own S x S frame: the product's drawing (from DESIGN_SEED)
    within the manufacturing TOLERANCE drawn from rng; its features kept for the feature defects."""
    img, mask, feat = DRAW[kind](np.random.default_rng((DESIGN_SEED, KINDS.index(kind), design)), s)
    tone = rng.uniform(1 - TOLERANCE[0], 1 + TOLERANCE[0]) * rng.uniform(1 - TOLERANCE[1], 1 + TOLERANCE[1], 3)
    img = np.ascontiguousarray(np.clip(img * tone.astype(np.float32), 0, 1), np.float32)
    if kind == "cap":
        _print_mark(img, s, feat["ink"], (s / 2, s / 2), feat["angle"])
    return Instance(img, mask, kind, None, 0, img, mask, feat)


def add_defect(rng: np.random.Generator, part: Instance) -> Instance:
    """`part` with one defect of a kind it can carry that changed >= MIN_DEFECT_PX working pixels; each try draws
    the defect kind again, so a defect the part's geometry hides gives way to another."""
    s = part.image.shape[0]
    diameter = s * 0.9
    for _ in range(10):
        defect = str(rng.choice(DEFECTS[part.kind]))
        trial, mask = part.clean.copy(), part.clean_mask.copy()
        inside = np.argwhere(mask)
        at = inside[int(rng.integers(len(inside)))][::-1].astype(np.float64)
        if defect in MARKS and defect in LINE_MARKS:
            changed = MARKS[defect](rng, trial, mask, at, diameter * _log_uniform(rng, *LINE_LENGTH),
                                    diameter * rng.uniform(*LINE_WIDTH))
        elif defect in MARKS:
            changed = MARKS[defect](rng, trial, mask, at, diameter * _log_uniform(rng, *BLOB_RADIUS))
        else:
            changed = _feature_defect(rng, part.kind, defect, trial, mask, part.features, s)
        if changed.sum() >= MIN_DEFECT_PX:
            return Instance(trial, mask, part.kind, defect, int(changed.sum()), part.clean, part.clean_mask,
                            part.features)
    raise RuntimeError(f"{part.kind}: no visible defect in 10 tries")  # a renderer bug, not a data condition


def make_instance(rng: np.random.Generator, kind: str, defective: bool, s: int) -> Instance:
    """One part of `kind` in its own S x S frame; with a defect of a kind the part can carry when `defective`."""
    part = draw_part(rng, kind, s)
    return add_defect(rng, part) if defective else part


def _belt(rng: np.random.Generator, s: int) -> NDArray[np.float32]:
    """The line's belt: one dark rubber, worn a little differently under each part."""
    tone = rng.uniform(0.2, 0.26) * rng.uniform(0.97, 1.03, 3)
    tex = grain(rng, s, s, 0.08) * stripes(rng, s, s, rng.uniform(6, 20), vertical=False) ** 0.3
    return (tone * tex[..., None]).astype(np.float32)


def _line_light(rng: np.random.Generator, img: NDArray[np.float32]) -> NDArray[np.float32]:
    """An inspection station's controlled light: exposure within +-LIGHT_SPREAD, a faint gradient, a slight cast
    (not the free light of photo.light: the camera and lamps are fixed on the line, as in MVTec AD's images)."""
    h, w = img.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * np.pi)
    g = ((xs / w - 0.5) * np.cos(a) + (ys / h - 0.5) * np.sin(a)) * rng.uniform(0, LIGHT_SPREAD)
    cast = rng.uniform(1 - LIGHT_SPREAD / 4, 1 + LIGHT_SPREAD / 4, 3).astype(np.float32)
    return np.clip(img * (1 + g)[..., None] * cast * rng.uniform(1 - LIGHT_SPREAD, 1 + LIGHT_SPREAD), 0, 1)


def render_view(rng: np.random.Generator, part: Instance, size: int, clean: bool = False) -> NDArray[np.uint8]:
    """The part placed on the belt (rotation, scale, shift, shadow), lit, blurred, downsampled, noised; raw (no JPEG).
    `clean` draws the part as it was before its defect (the same view when rng starts from the same seed)."""
    s = part.image.shape[0]
    scale = rng.uniform(1.45, 1.6) if part.kind == "fabric" else rng.uniform(*POSE_SCALE)
    shift = rng.uniform(-POSE_SHIFT, POSE_SHIFT, 2) * s * (part.kind != "fabric")  # cloth fills the frame
    m = cv2.getRotationMatrix2D((s / 2, s / 2), rng.uniform(0, 360), scale)
    m[:, 2] += shift
    img = cv2.warpAffine(part.clean if clean else part.image, m, (s, s), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine((part.clean_mask if clean else part.mask).astype(np.float32), m, (s, s), flags=cv2.INTER_LINEAR)[..., None]
    belt = _belt(rng, s)
    shadow = cv2.GaussianBlur(np.roll(alpha[..., 0], (int(s * 0.02), int(s * 0.02)), (0, 1)), (0, 0), s * 0.02)
    belt *= (1 - 0.5 * shadow)[..., None]
    out = belt * (1 - alpha) + img * alpha
    out = photo.blur(rng, _line_light(rng, out), SUPERSAMPLE)
    return photo.finish(rng, out.astype(np.float32), (size, size), jpeg=False)  # line cameras stream raw frames


def visible_px(frame: NDArray[np.uint8], clean: NDArray[np.uint8]) -> int:
    """Frame pixels where the defect shows: any channel VISIBLE_LEVEL away from the good part's frame."""
    diff = np.abs(frame.astype(np.int16) - clean.astype(np.int16)).max(axis=2)
    return int((diff >= round(VISIBLE_LEVEL * 255)).sum())


def min_visible_px(size: int) -> int:
    """The visible pixels a defect needs in a size x size frame: VISIBLE_PX_64 scaled with the frame's side, at
    least 3. Not with its area: marks are mostly thin (scratches, cracks, a missing pin or pad), their width in
    pixels stays near the blur's at any size, so their pixel count grows with the side; scaled with the area, the
    rule asked 294 px at 224x224 and thin marks there showed 100-130 (the full set could not be rendered)."""
    return max(3, round(VISIBLE_PX_64 * size / 64))


def render_instance_views(seed_seq: np.random.SeedSequence, defective: bool, views: int, size: int,
                          kind: str | None = None) -> tuple[list[NDArray[np.uint8]], Instance]:
    """`views` frames of one part instance: its own seed draws the part, each view a child seed. A defective part's
    defect is drawn again until every view shows it (min_visible_px frame pixels against the same view of the good
    part): the label says what the camera can see. The returned part's defect_px is its fewest visible pixels."""
    inst_ss, *view_ss = seed_seq.spawn(1 + views)
    rng = np.random.default_rng(inst_ss)
    kind = kind or str(rng.choice(KINDS))
    part = draw_part(rng, kind, size * SUPERSAMPLE, int(rng.integers(DESIGNS)))
    if not defective:
        return [render_view(np.random.default_rng(v), part, size) for v in view_ss], part
    need = min_visible_px(size)
    for attempt in range(DEFECT_TRIES):
        if attempt and attempt % (DEFECT_TRIES // 3) == 0:  # this part hides its defects from these views: another
            part = draw_part(rng, kind, size * SUPERSAMPLE, int(rng.integers(DESIGNS)))
        bad = add_defect(rng, part)
        frames = [render_view(np.random.default_rng(v), bad, size) for v in view_ss]
        seen = min(visible_px(f, render_view(np.random.default_rng(v), bad, size, clean=True))
                   for f, v in zip(frames, view_ss))
        if seen >= need:
            return frames, replace(bad, defect_px=seen)
    raise RuntimeError(f"{kind}: no defect visible in {views} views of {size}x{size} after {DEFECT_TRIES} tries")
