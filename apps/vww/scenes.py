"""What the built-in VWW set shows: how many people, how large, which distractors (the sampling policy).

The renderer (tinycore.vision.render) draws; this module decides the content of image i of a split, from a seed
of its own, so that no scene or person instance is shared between splits.
"""
from __future__ import annotations

import numpy as np

from tinycore.vision.render import Item, Rendered, render_scene

PERSON_MIN_AREA = 0.005  # VWW: person if a person's visible area covers >= 0.5 % of the image
DISTRACTORS = ("dog", "cat", "car", "bicycle", "chair", "table", "sofa", "plant", "pole", "lamp", "tripod", "bin",
               "hydrant", "bench")
INDOOR = ("dog", "cat", "chair", "table", "sofa", "plant", "lamp", "tripod", "bin")


def _distractors(rng: np.random.Generator, scene: str, n: int) -> list[Item]:
    pool = INDOOR if scene in ("room", "wall", "floor") else DISTRACTORS
    return [Item(str(rng.choice(pool)), float(np.exp(rng.uniform(np.log(0.08), np.log(0.9))))) for _ in range(n)]


def _people(rng: np.random.Generator) -> list[Item]:
    """One person (most images), a group, or a crowd; the main person from 0.5 % of the frame to a close-up."""
    lo = 0.2 if rng.random() < 0.15 else 0.45  # most main people at least ~4 % of the frame
    main = Item("person", float(np.exp(rng.uniform(np.log(lo), np.log(1.6)))), x_frac=float(rng.uniform(0.15, 0.85)))
    r = rng.random()
    extra = 0 if r < 0.5 else int(rng.integers(1, 4)) if r < 0.9 else int(rng.integers(4, 9))
    return [main] + [Item("person", float(main.height_frac * rng.uniform(0.5, 1.3))) for _ in range(extra)]


def render_vww(seed_seq: np.random.SeedSequence, person: bool, size: tuple[int, int] = (96, 96)) -> Rendered:
    """Render one image whose VWW label is `person`: the content is redrawn (from the same seed sequence) until
    the visible-mask rule gives the intended label, so labels always follow the rule, never the intent."""
    rng = np.random.default_rng(seed_seq)
    from tinycore.vision.render import SCENES

    for _ in range(8):
        scene = str(rng.choice(SCENES, p=[0.34, 0.2, 0.15, 0.12, 0.14, 0.05]))
        items = _people(rng) if person else []
        if not person and rng.random() < 0.05:  # a person too small to count
            items.append(Item("person", float(rng.uniform(0.06, 0.12))))
        items += _distractors(rng, scene, int(rng.integers(0, 4)))
        out = render_scene(rng, items, size[0], size[1], scene)
        if (out.area_frac("person") >= PERSON_MIN_AREA) == person:
            return out
    return out
