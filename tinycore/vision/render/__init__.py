"""Offline scene renderer for the built-in image data sets (VWW, detection).

    render_scene(rng, items, height, width, scene) -> Rendered(image, objects, scene)
    Item(kind, height_frac, x_frac, view, pose)     one person or object to place on the ground plane
    RenderedObject(kind, bbox_xywh, visible_area_px, mask)

Modules: canvas (shaded soft shapes, compositing), textures, backgrounds (rooms, streets, lawns; the camera),
person (articulated figures), objects (cars, bicycles, dogs, chairs and distractors), photo (light, blur, noise,
JPEG), scene (composition and labels).
"""
from tinycore.vision.render.backgrounds import SCENES
from tinycore.vision.render.objects import DRAW, REAL_HEIGHT_M
from tinycore.vision.render.scene import Item, Rendered, RenderedObject, render_scene

OBJECT_KINDS = ("person",) + tuple(DRAW)

__all__ = ["render_scene", "Item", "Rendered", "RenderedObject", "SCENES", "OBJECT_KINDS", "REAL_HEIGHT_M"]
