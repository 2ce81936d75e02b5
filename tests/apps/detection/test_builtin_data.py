"""The built-in rendered detection set: COCO layout, several classes and objects, deterministic, cached."""
import json

import numpy as np

from apps.detection import data
from apps.detection.metrics import coco_gt

TINY = data.DatasetSize(train=6, val=2, test=2, height=96, width=128, supersample=1)


def test_build_writes_coco_splits_and_is_deterministic(tmp_path):
    meta = data.build(tmp_path / "a", seed=3, size=TINY, progress=False, workers=1)
    assert {s: meta["counts"][s]["images"] for s in data.SPLITS} == {"train": 6, "val": 2, "test": 2}
    train = data.load_split(tmp_path / "a", "train")
    coco_gt(train.coco)  # pycocotools accepts it
    assert train.class_names == list(data.CLASSES)
    n_objects = [len(train.boxes_of(i)[0]) for i in train.image_ids]
    assert sum(n_objects) >= 6 and max(n_objects) >= 2
    boxes = np.concatenate([train.boxes_of(i)[0] for i in train.image_ids])
    assert (boxes[:, 2:] > 0).all() and (boxes[:, 0] + boxes[:, 2] <= 128).all()
    assert train.read_rgb(train.image_ids[0]).shape == (96, 128, 3)
    data.build(tmp_path / "b", seed=3, size=TINY, progress=False, workers=1)
    for split in data.SPLITS:
        a = json.loads((tmp_path / "a" / "annotations" / f"instances_{split}.json").read_text())
        b = json.loads((tmp_path / "b" / "annotations" / f"instances_{split}.json").read_text())
        assert a == b
    png = "train/00003.png"
    assert (tmp_path / "a" / png).read_bytes() == (tmp_path / "b" / png).read_bytes()


def test_splits_differ_and_cache_is_reused(tmp_path):
    data.build(tmp_path, seed=0, size=TINY, progress=False, workers=1)
    val = data.load_split(tmp_path, "val").read_rgb(1)
    test = data.load_split(tmp_path, "test").read_rgb(1)
    assert not np.array_equal(val, test)
    stamp = (tmp_path / "meta.json").stat().st_mtime_ns
    data.build(tmp_path, seed=0, size=TINY, progress=False, workers=1)
    assert (tmp_path / "meta.json").stat().st_mtime_ns == stamp


def test_cached_meta_names_version_and_seed(tmp_path):
    assert data.cached_meta(tmp_path, 0) is None
    data.build(tmp_path, seed=0, size=TINY, progress=False, workers=1)
    assert data.cached_meta(tmp_path, 0)["stamp"]["size"]["train"] == 6
    assert data.cached_meta(tmp_path, 1) is None
