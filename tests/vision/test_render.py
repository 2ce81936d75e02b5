"""The scene renderer: deterministic, any output size, labels (class, box, visible area) that match the pixels."""
import numpy as np
import pytest

from tinycore.errors import DataError
from tinycore.vision.render import OBJECT_KINDS, SCENES, Item, render_scene
from tinycore.vision.render.canvas import Layer, Light, composite


def test_same_seed_same_image_and_labels():
    items = [Item("person", 0.6, x_frac=0.4), Item("dog", 0.2)]
    a = render_scene(np.random.default_rng(7), items)
    b = render_scene(np.random.default_rng(7), items)
    np.testing.assert_array_equal(a.image, b.image)
    assert [(o.kind, o.bbox_xywh, o.visible_area_px) for o in a.objects] == \
           [(o.kind, o.bbox_xywh, o.visible_area_px) for o in b.objects]
    c = render_scene(np.random.default_rng(8), items)
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("scene", SCENES)
def test_non_square_output_and_boxes_inside_the_frame(scene):
    r = render_scene(np.random.default_rng(1), [Item("person", 0.5, x_frac=0.5), Item("car", 0.3),
                                                Item("chair", 0.25)], height=240, width=320, scene=scene,
                     supersample=1)
    assert r.image.shape == (240, 320, 3) and r.image.dtype == np.uint8
    for o in r.objects:
        x, y, w, h = o.bbox_xywh
        assert 0 <= x and 0 <= y and x + w <= 320 and y + h <= 240
        assert o.mask.shape == (240, 320)
        ys, xs = np.nonzero(o.mask)  # the mask lies inside the box
        assert len(xs) == 0 or (xs.min() >= x and xs.max() < x + w and ys.min() >= y and ys.max() < y + h)


@pytest.mark.parametrize("kind", OBJECT_KINDS)
def test_every_kind_draws_something_of_its_size(kind):
    r = render_scene(np.random.default_rng(3), [Item(kind, 0.5, x_frac=0.5)], scene="wall")
    (obj,) = r.objects
    assert obj.kind == kind
    x, y, w, h = obj.bbox_xywh
    assert h >= 0.25 * 96 or y + h == 96  # half of its 0.5 H height shows, or the frame's bottom cuts it
    assert h <= 0.5 * 96 + 2 or y == 0
    assert obj.visible_area_px > 20


def test_a_person_cut_by_the_border_counts_only_its_visible_part():
    inside = render_scene(np.random.default_rng(5), [Item("person", 0.6, x_frac=0.5)], scene="wall")
    edge = render_scene(np.random.default_rng(5), [Item("person", 0.6, x_frac=1.0)], scene="wall")
    assert 0.3 < edge.area_frac("person") / inside.area_frac("person") < 0.7


def test_visible_coverage_removes_what_the_front_layers_hide():
    light = Light()
    back, front = Layer(4, 4, light), Layer(4, 4, light)
    back.alpha[:] = 1.0
    front.alpha[:, :2] = 1.0
    front.alpha[:, 2] = 0.5
    base = np.zeros((4, 4, 3), np.float32)
    vis_back, vis_front = composite(base, [back, front])
    np.testing.assert_array_equal(vis_back.sum(axis=0), [0, 0, 2, 4])
    np.testing.assert_array_equal(vis_front, front.alpha)


def test_unknown_kind_or_scene_is_a_data_error():
    with pytest.raises(DataError, match="unknown object kind 'unicorn'"):
        render_scene(np.random.default_rng(0), [Item("unicorn", 0.5)])
    with pytest.raises(DataError, match="unknown scene 'moon'"):
        render_scene(np.random.default_rng(0), [], scene="moon")
