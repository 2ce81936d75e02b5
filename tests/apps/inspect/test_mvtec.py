"""The MVTec AD loader on a fake tree the test writes: labels from folders, ground_truth ignored, every image in
exactly one split, grey images as RGB, the cache, and clear errors for a wrong layout or a broken file."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.inspect.mvtec import SPLIT_RULE, list_records, load_mvtec
from tinycore.errors import DataError


def _png(path: Path, value: int, mode: str = "RGB", size: int = 40) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (size, size, 3) if mode == "RGB" else (size, size)
    Image.fromarray(np.full(shape, value, np.uint8), mode).save(path)


def fake_mvtec(root: Path, category: str = "bottle", n: int = 12, mode: str = "RGB") -> Path:
    for i in range(n):
        _png(root / category / "train" / "good" / f"{i:03d}.png", 100, mode)
        _png(root / category / "test" / "good" / f"{i:03d}.png", 110, mode)
        _png(root / category / "test" / "broken_large" / f"{i:03d}.png", 200, mode)
        _png(root / category / "test" / "contamination" / f"{i:03d}.png", 220, mode)
        _png(root / category / "ground_truth" / "broken_large" / f"{i:03d}_mask.png", 255, "L")
    return root


def test_labels_splits_and_ground_truth_ignored(tmp_path):
    root = fake_mvtec(tmp_path / "mvtec")
    fake_mvtec(root, "grid", n=6, mode="L")
    records = list_records(root)
    assert len(records) == 4 * 12 + 4 * 6 and not any("ground_truth" in r.rel for r in records)
    total, seen = 0, set()
    for split in ("train", "val", "test"):
        x, y, meta = load_mvtec(root, split, 16, seed=0, progress=False)
        assert x.shape[1:] == (16, 16, 3) and x.dtype == np.uint8 and len(x) == len(y)
        # label 1 exactly for the defect folders (pixel values 200 / 220), 0 for good (100 / 110)
        np.testing.assert_array_equal(y, (x[:, 0, 0, 0] > 150).astype(np.int64))
        assert meta["categories"] == ["bottle", "grid"] and meta["split_rule"] == SPLIT_RULE
        total += len(y)
    assert total == len(records)
    x, y, _ = load_mvtec(root / "grid", "train", 16, seed=0, progress=False)  # one category folder works too
    assert set(np.unique(x[:, 0, 0, 0])) <= {100, 110, 200, 220}
    assert (x[..., 0] == x[..., 2]).all()  # grey replicated to RGB


def test_cache_is_used(tmp_path):
    root = fake_mvtec(tmp_path / "mvtec")
    a = load_mvtec(root, "train", 16, cache_dir=tmp_path / "cache", progress=False)
    assert len(list((tmp_path / "cache").glob("mvtec_train_*.npz"))) == 1
    b = load_mvtec(root, "train", 16, cache_dir=tmp_path / "cache", progress=False)
    np.testing.assert_array_equal(a[0], b[0])


def test_bad_layouts_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_mvtec(tmp_path / "absent", "train", 16)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="neither an MVTec AD category"):
        load_mvtec(tmp_path / "empty", "train", 16)
    _png(tmp_path / "nodefect" / "cap" / "train" / "good" / "0.png", 1)
    with pytest.raises(DataError, match="no defect folders"):
        load_mvtec(tmp_path / "nodefect", "train", 16)
    (tmp_path / "nogood" / "cap" / "test" / "crack").mkdir(parents=True)
    with pytest.raises(DataError, match="train/good"):
        load_mvtec(tmp_path / "nogood", "train", 16)
    root = fake_mvtec(tmp_path / "broken")
    bad = root / "bottle" / "test" / "contamination" / "000.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DataError, match="000.png: cannot read"):
        for split in ("train", "val", "test"):
            load_mvtec(root, split, 16, progress=False)
