"""The built-in VWW set: labels follow the 0.5 % visible-area rule, splits share no scene, the cache is reused, and
MLPerf's VWW model (trained on real photos) recognises its people."""
import json
from pathlib import Path

import numpy as np
import pytest

from apps.vww import data
from apps.vww.__main__ import main
from apps.vww.data import DatasetSize
from tinycore.errors import DataError

FIXTURE = Path("/work/shared/fixtures/tflite/vww_96_int8.tflite")
TINY = DatasetSize(train=2, val=24, test=6)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("vww")
    data.build(root, seed=3, size=TINY, progress=False, workers=2)
    return root


def test_labels_follow_the_visible_area_rule_and_are_balanced(tiny_set):
    sets = data.load(tiny_set)
    for split in data.SPLITS:
        labels, area = sets.labels[split], sets.person_area[split]
        assert len(labels) == getattr(TINY, split)
        np.testing.assert_array_equal(labels, (area >= 0.005).astype(np.uint8))
        np.testing.assert_array_equal(labels, (np.arange(len(labels)) % 2 == 0).astype(np.uint8))
    assert sets.images["val"].shape == (24, 96, 96, 3) and sets.images["val"].dtype == np.uint8


def test_splits_share_no_scene_and_a_seed_gives_the_same_image():
    a = data._render_one((3, data.SPLITS.index("val"), 0, 96, 96))
    b = data._render_one((3, data.SPLITS.index("val"), 0, 96, 96))
    c = data._render_one((3, data.SPLITS.index("test"), 0, 96, 96))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_cache_is_reused_and_rebuilt_for_another_seed(tiny_set, tmp_path):
    before = (tiny_set / "val.npz").stat().st_mtime_ns
    meta = data.build(tiny_set, seed=3, size=TINY, progress=False)
    assert (tiny_set / "val.npz").stat().st_mtime_ns == before
    assert meta["counts"]["val"] == {"images": 24, "person": 12, "non_person": 12}
    other = data.build(tmp_path, seed=4, size=DatasetSize(0, 2, 0), progress=False, workers=1, splits=("val",))
    assert set(other["counts"]) == {"val"}
    assert not np.array_equal(data.load(tmp_path, ("val",)).images["val"], data.load(tiny_set).images["val"][:2])


def test_missing_set_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no usable built-in VWW set"):
        data.load(tmp_path / "nothing")


@pytest.mark.slow
def test_mlperf_vww_model_sees_the_rendered_people(tiny_set, monkeypatch, capsys):
    """The realism check in small: `eval --tflite` with MLPerf's real-photo model on 24 validation images.
    (The full figures, on 400 / 1000 images, are in apps/vww/README.md.)"""
    monkeypatch.setattr(data, "QUICK", TINY)
    rc = main(["eval", "--tflite", str(FIXTURE), "--cache-dir", str(tiny_set), "--seed", "3", "--quick",
               "--split", "val", "--json", "--quiet"])
    assert rc == 0
    m = json.loads(capsys.readouterr().out)
    assert m["n"] == 24
    assert m["accuracy"] >= 0.75 and m["auc"] >= 0.85


def test_eval_names_a_missing_model(tiny_set, monkeypatch, capsys):
    monkeypatch.setattr(data, "QUICK", TINY)
    rc = main(["eval", "--tflite", "/nonexistent.tflite", "--cache-dir", str(tiny_set), "--seed", "3", "--quick",
               "--quiet"])
    assert rc == 2 and "/nonexistent.tflite" in capsys.readouterr().err
