"""The built-in inspection set: deterministic, balanced, every kind and defect drawn, splits by part instance,
the cache reused; defects change the part they are on."""
import json

import numpy as np
import pytest

from apps.inspect import data, parts
from apps.inspect.data import DatasetSize
from tinycore.errors import DataError

TINY = DatasetSize(train=8, val=4, test=4, height=32, width=32)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("inspect")
    data.build(root, seed=3, size=TINY, progress=False, workers=1)
    return root


def test_labels_are_balanced_and_views_share_their_instance(tiny_set):
    sets = data.load(tiny_set)
    for split in data.SPLITS:
        labels = sets.labels[split]
        assert len(labels) == getattr(TINY, split)
        z = np.load(tiny_set / f"{split}.npz")
        np.testing.assert_array_equal(z["instance"], np.arange(len(labels)) // data.VIEWS)
        np.testing.assert_array_equal(labels, (z["instance"] % 2 == 1).astype(np.uint8))
        assert ((z["defect"] >= 0) == (labels == 1)).all()
        assert (sets.defect_px[split][labels == 1] >= parts.min_visible_px(TINY.height)).all()
    assert sets.images["val"].shape == (4, 32, 32, 3) and sets.images["val"].dtype == np.uint8


def test_a_seed_gives_the_same_images_and_splits_share_no_part():
    a = data._render_one((3, data.SPLITS.index("val"), 1, 48, 48))
    b = data._render_one((3, data.SPLITS.index("val"), 1, 48, 48))
    c = data._render_one((3, data.SPLITS.index("test"), 1, 48, 48))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x[0], y[0])
        assert x[1:] == y[1:]
    assert not any(np.array_equal(x[0], y[0]) for x in a for y in c)
    two, _ = parts.render_instance_views(np.random.SeedSequence(3, spawn_key=(1, 1)), True, 2, 48)
    assert not np.array_equal(two[0], two[1])  # two views of one part differ in pose and light
    # the part itself (drawn before any view) differs between splits: split by instance, not by frame
    pa = parts.render_instance_views(np.random.SeedSequence(3, spawn_key=(1, 1)), True, 1, 48)[1]
    pc = parts.render_instance_views(np.random.SeedSequence(3, spawn_key=(2, 1)), True, 1, 48)[1]
    assert not np.array_equal(pa.image, pc.image)


@pytest.mark.parametrize("kind", parts.KINDS)
def test_every_defect_of_every_kind_changes_the_part(kind):
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(40):
        good = parts.make_instance(np.random.default_rng(7), kind, False, 96)
        bad = parts.make_instance(rng, kind, True, 96)
        assert bad.defect in parts.DEFECTS[kind] and bad.defect_px >= parts.MIN_DEFECT_PX
        seen.add(bad.defect)
        assert good.defect is None and good.defect_px == 0
    assert seen == set(parts.DEFECTS[kind])


def test_a_labelled_defect_shows_in_every_view():
    """The label rule: the frames of a defective part differ from the same views of the part without its defect in
    at least min_visible_px pixels, each view; a good part's views are its clean views."""
    for k in range(6):
        ss = np.random.SeedSequence(5, spawn_key=(0, k))
        frames, part = parts.render_instance_views(ss, True, 2, 48)
        ss2 = np.random.SeedSequence(5, spawn_key=(0, k)).spawn(3)[1:]
        for f, v in zip(frames, ss2):
            clean = parts.render_view(np.random.default_rng(v), part, 48, clean=True)
            assert parts.visible_px(f, clean) >= max(part.defect_px, parts.min_visible_px(48))
        good_frames, good = parts.render_instance_views(np.random.SeedSequence(5, spawn_key=(0, k)), False, 2, 48)
        assert good.defect is None and good_frames[0].shape == (48, 48, 3)


def test_cache_is_reused_and_a_missing_set_is_a_clear_error(tiny_set, tmp_path):
    meta = json.loads((tiny_set / "meta.json").read_text())
    again = data.build(tiny_set, seed=3, size=TINY, progress=False, workers=1)
    assert again["build_seconds"] == meta["build_seconds"]
    with pytest.raises(DataError, match="python -m apps.inspect data"):
        data.load(tmp_path / "nothing")
