"""VWW real-data loaders on small fake trees: MLPerf folder, COCO JSON variants, label rule, splits, bad input."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.vww.real_data import MIN_SIDE_PX, eval_split, load_data_dir
from apps.vww.sources import AREA_FRACTION, ALL, SPLITS, find_source, hash_split, is_person, load_coco_vww
from tinycore.errors import DataError


def _save(path: Path, size=(20, 16), mode="RGB", value=100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = value if mode in ("L", "P") else (value,) * len(mode)
    Image.new(mode, size, colour).save(path)
    return path


def _mlperf(root: Path, n: int = 12) -> Path:
    for i in range(n):
        _save(root / "person" / f"COCO_val2014_{i:012d}.jpg", value=200)
        _save(root / "non_person" / f"COCO_train2014_{i:012d}.png", value=30)
    return root


# --- splits and label rule --------------------------------------------------------------------------------------

def test_hash_split_is_deterministic_and_roughly_10_10_80():
    names = [f"COCO_train2014_{i:012d}.jpg" for i in range(4000)]
    splits = [hash_split(n) for n in names]
    assert splits == [hash_split(n) for n in names]
    frac = {s: splits.count(s) / len(names) for s in SPLITS}
    assert 0.08 < frac["val"] < 0.12 and 0.08 < frac["test"] < 0.12 and 0.76 < frac["train"] < 0.84
    assert "test" not in {hash_split(n, with_test=False) for n in names}


def test_label_rule_at_the_half_percent_edge():
    h, w = 100, 200  # 20,000 px: the edge is 100 px of area
    edge = AREA_FRACTION * h * w
    assert is_person([edge], h, w) == 0        # equal is not more
    assert is_person([edge + 0.01], h, w) == 1
    assert is_person([edge - 1, edge - 1], h, w) == 0  # the largest person counts, not the sum
    assert is_person([], h, w) == 0


def test_mlperf_splits_are_disjoint_and_cover_the_folder(tmp_path):
    root = _mlperf(tmp_path / "vw_coco2014_96", n=30)
    src = find_source(root)
    parts = {s: {r.path for r in src.select(s)} for s in SPLITS}
    assert all(parts[a].isdisjoint(parts[b]) for a in SPLITS for b in SPLITS if a < b)
    assert set().union(*parts.values()) == {r.path for r in src.select(ALL)}
    assert len(src.select(ALL)) == 60
    assert all(r.label == (r.path.parent.name == "person") for r in src.records)


def test_mlperf_all_reads_every_image_with_labels(tmp_path):
    root = _mlperf(tmp_path / "vww", n=4)
    d = load_data_dir(root, ALL, size=24, progress=False, quiet=True)
    assert d.images.shape == (8, 24, 24, 3) and d.images.dtype == np.uint8
    assert d.meta["per_class"] == {"non_person": 4, "person": 4}
    person = np.asarray([n.startswith("person") for n in d.names])
    assert (d.labels == person).all()
    assert (d.images[person] > 150).all() and (d.images[~person] < 60).all()  # the right pixels with each label


# --- COCO JSON variants ------------------------------------------------------------------------------------------

def _coco(tmp_path: Path, person_areas: dict[int, list[float]], cats=None, size=(40, 50)) -> Path:
    """Images 1..n of size (h, w) = size in tmp/val2014/, person annotations of the given areas."""
    h, w = size
    images, anns = [], []
    for iid in range(1, 7):
        name = f"COCO_val2014_{iid:012d}.jpg"
        _save(tmp_path / "val2014" / name, size=(w, h))
        images.append({"id": iid, "file_name": name, "height": h, "width": w})
    for iid, areas in person_areas.items():
        anns += [{"id": len(anns) + 1, "image_id": iid, "category_id": 1, "area": a, "iscrowd": int(a > 50),
                  "bbox": [0, 0, 1, 1]} for a in areas]
    anns.append({"id": 99, "image_id": 6, "category_id": 18, "area": 1000.0, "bbox": [0, 0, 9, 9]})  # a dog
    cats = [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}] if cats is None else cats
    path = tmp_path / "annotations" / "instances_val2014.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path


def test_coco_json_labels_follow_the_area_rule_crowd_included(tmp_path):
    edge = AREA_FRACTION * 40 * 50  # 10 px
    path = _coco(tmp_path, {1: [edge], 2: [edge + 0.5], 3: [3.0, 400.0], 5: [60.0]})
    src = find_source(tmp_path)  # the folder form: annotations/instances_*.json, images in val2014/
    labels = {r.path.name: r.label for r in src.records}
    assert [labels[f"COCO_val2014_{i:012d}.jpg"] for i in range(1, 7)] == [0, 1, 1, 0, 1, 0]  # 5 is crowd, 6 a dog
    assert all(r.path.exists() for r in src.records)
    assert load_coco_vww(path).records == src.records


def test_tf_slim_json_variant(tmp_path):
    path = _coco(tmp_path, {})
    data = json.loads(path.read_text())
    data["annotations"] = {"1": {"objects": [{"area": 500.0, "bbox": [0, 0, 20, 25]}], "label": 1},
                           "2": {"objects": [{"area": 5.0, "bbox": [0, 0, 2, 2]}], "label": 0}}
    data["categories"] = {"1": {"id": 1, "name": "person"}}
    path.write_text(json.dumps(data))
    labels = [r.label for r in load_coco_vww(path).records]
    assert labels == [1, 0, 0, 0, 0, 0]
    data["annotations"]["4"] = {"objects": [], "label": 1}  # made with another threshold: the stated label wins
    path.write_text(json.dumps(data))
    src = load_coco_vww(path)
    assert [r.label for r in src.records] == [1, 0, 0, 1, 0, 0] and "1 image(s) state a label" in src.meta["notices"][0]
    data["categories"] = {"16": {"id": 16, "name": "bird"}}
    path.write_text(json.dumps(data))
    src = load_coco_vww(path)
    assert not any(r.label for r in src.records) and "not person" in src.meta["notices"][0]
    data["categories"] = {"1": {"id": 1, "name": "person"}}
    data["annotations"]["3"] = {"objects": [{"bbox": [0, 0, 2, 2]}]}
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"annotations\['3'\]"):
        load_coco_vww(path)


def test_pyvww_json_variant(tmp_path):
    cats = [{"id": 0, "name": "not-person"}, {"id": 1, "name": "person"}]
    path = _coco(tmp_path, {4: [300.0]}, cats=cats)
    assert [r.label for r in load_coco_vww(path).records] == [0, 0, 0, 1, 0, 0]


def test_minival_ids_make_the_test_split(tmp_path):
    path = _coco(tmp_path, {1: [500.0]})
    ids = tmp_path / "mscoco_minival_ids.txt"
    ids.write_text("# minival\n2\n5\n")
    src = load_coco_vww(path, minival_ids=ids)
    test = sorted(int(r.path.stem.split("_")[-1]) for r in src.select("test"))
    assert test == [2, 5]
    assert {r.split for r in src.records} - {"test"} <= {"train", "val"}
    ids.write_text("2\nfive\n")
    with pytest.raises(DataError, match="five"):
        load_coco_vww(path, minival_ids=ids)


@pytest.mark.parametrize("cats", [[{"id": 18, "name": "dog"}], None])
def test_json_without_persons_gives_a_notice(tmp_path, capsys, cats):
    path = _coco(tmp_path, {}, cats=cats)
    d = load_data_dir(path, ALL, size=16, progress=False)
    assert (d.labels == 0).all() and len(d.labels) == 6
    err = capsys.readouterr().err
    assert "every image is labelled non-person" in err and str(path) in err
    assert any("non-person" in n for n in d.meta["notices"])


# --- bad input ---------------------------------------------------------------------------------------------------

def test_bad_files_are_skipped_or_converted_with_notices(tmp_path, capsys):
    root = _mlperf(tmp_path / "vww", n=2)
    good = _save(root / "person" / "full.jpg", size=(64, 64), value=180)
    trunc = root / "person" / "truncated.jpg"
    trunc.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    (root / "person" / "text.jpg").write_text("not an image")
    _save(root / "non_person" / "gray.png", mode="L", value=77)
    _save(root / "non_person" / "rgba.png", mode="RGBA", value=50)
    _save(root / "non_person" / "tiny.png", size=(MIN_SIDE_PX - 1, 30))
    d = load_data_dir(root, ALL, size=16, cache_dir=tmp_path / "cache", progress=False)
    err = capsys.readouterr().err
    load_data_dir(root, ALL, size=16, cache_dir=tmp_path / "cache", progress=False)
    assert capsys.readouterr().err == err  # a cache hit repeats the notices
    for name in ("truncated.jpg", "text.jpg", "tiny.png"):
        assert name in err and not any(n.endswith(name) for n in d.names)
    assert "replicated to RGB" in err and "alpha dropped" in err
    gray = d.images[d.names.index("non_person/gray.png")]
    assert (gray == 77).all()  # replicated, not luma-weighted
    assert d.meta["n_skipped"] == 3 and len(d.names) == 4 + 3


def test_nothing_usable_fails_and_writes_no_cache(tmp_path):
    root = tmp_path / "vww"
    for c in ("person", "non_person"):
        (root / c).mkdir(parents=True)
        (root / c / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    with pytest.raises(DataError, match="none of the 2 images"):
        load_data_dir(root, ALL, cache_dir=tmp_path / "cache", progress=False, quiet=True)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_empty_or_missing_class_folder_is_named(tmp_path):
    root = _mlperf(tmp_path / "vww", n=2)
    for p in (root / "non_person").iterdir():
        p.unlink()
    with pytest.raises(DataError, match=r"non_person: empty class folder"):
        load_data_dir(root, ALL, progress=False)
    (root / "non_person").rmdir()
    with pytest.raises(DataError, match=r"non_person: class folder missing"):
        load_data_dir(root, ALL, progress=False)


def test_unknown_folder_and_bad_json(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(DataError, match="neither an MLPerf VWW folder"):
        find_source(tmp_path / "x")
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [')
    with pytest.raises(DataError, match="bad.json: not a readable COCO"):
        find_source(bad)
    bad.write_text(json.dumps({"images": [], "annotations": [{"id": 7, "category_id": 1, "image_id": 1}],
                               "categories": [{"id": 1, "name": "person"}]}))
    with pytest.raises(DataError, match=r"bad.json: annotation 7 is malformed .*area"):
        find_source(bad)


# --- cache -------------------------------------------------------------------------------------------------------

def test_cache_is_reused_and_follows_the_folder(tmp_path):
    root = _mlperf(tmp_path / "vww", n=3)
    cache = tmp_path / "cache"
    a = load_data_dir(root, ALL, size=16, cache_dir=cache, progress=False, quiet=True)
    files = list(cache.glob("*.npz"))
    assert len(files) == 1
    b = load_data_dir(root, ALL, size=16, cache_dir=cache, progress=False, quiet=True)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.names == b.names and a.meta == b.meta and list(cache.glob("*.npz")) == files  # read, not rewritten
    _save(root / "person" / "new.jpg")
    c = load_data_dir(root, ALL, size=16, cache_dir=cache, progress=False, quiet=True)
    assert len(c.names) == len(a.names) + 1 and len(list(cache.glob("*.npz"))) == 2


def test_eval_split_scores_every_image_unless_trained_on_the_same_folder(tmp_path):
    root = _mlperf(tmp_path / "vww", n=2)
    assert eval_split(root) == ALL
    assert eval_split(root, trained_on=str(tmp_path / "other")) == ALL
    src = find_source(root)
    assert eval_split(root, trained_on=src.meta["source"]) == "test"


def test_pyvww_all2014_links_and_missing_images(tmp_path, capsys):
    path = _coco(tmp_path, {1: [500.0]})
    (tmp_path / "all2014").mkdir()
    for p in sorted((tmp_path / "val2014").iterdir()):
        p.rename(tmp_path / "all2014" / p.name)
    (tmp_path / "all2014" / "COCO_val2014_000000000003.jpg").unlink()
    src = load_coco_vww(path, image_dir=tmp_path)
    assert sum(r.path.exists() for r in src.records) == 5
    d = load_data_dir(path, ALL, size=16, image_dir=tmp_path, progress=False)
    assert len(d.labels) == 5 and d.labels.tolist() == [1, 0, 0, 0, 0]
    assert "COCO_val2014_000000000003.jpg: missing" in capsys.readouterr().err


def test_loaded_images_give_the_front_end_input_of_the_original_frame(tmp_path):
    """The cached 96x96 arrays are step 1-2 of tinycore.vision.frontend, so the model input made from them equals
    the one the firmware makes from the full-size frame."""
    from tinycore.vision.frontend import VisionConfig, preprocess

    rng = np.random.default_rng(0)
    root = tmp_path / "vww"
    for cls, shape in (("person", (120, 90)), ("non_person", (61, 200))):
        (root / cls).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(root / cls / "a.png")
    d = load_data_dir(root, ALL, size=96, progress=False, quiet=True)
    cfg = VisionConfig(out_h=96, out_w=96, scale=1 / 255, zero_point=-128)
    for name, img in zip(d.names, d.images):
        frame = np.asarray(Image.open(root / name).convert("RGB"))
        np.testing.assert_array_equal(preprocess(img, "rgb888", cfg), preprocess(frame, "rgb888", cfg))


def test_16_bit_grayscale_keeps_its_top_bits(tmp_path):
    root = _mlperf(tmp_path / "vww", n=1)
    Image.fromarray(np.full((12, 12), 300 * 64, np.uint16)).save(root / "person" / "deep.png")  # 19200 >> 8 = 75
    assert Image.open(root / "person" / "deep.png").mode.startswith("I")
    d = load_data_dir(root, ALL, size=12, progress=False, quiet=True)
    assert (d.images[d.names.index("person/deep.png")] == 75).all()


def test_many_skipped_files_are_counted_not_all_listed(tmp_path):
    root = _mlperf(tmp_path / "vww", n=1)
    for i in range(25):
        (root / "person" / f"bad{i:02d}.jpg").write_text("x")
    d = load_data_dir(root, ALL, size=12, progress=False, quiet=True)
    assert d.meta["n_skipped"] == 25 and len(d.labels) == 2
    assert sum(n.startswith("skipped /") for n in d.meta["notices"]) == 20
    assert "skipped 5 more" in d.meta["notices"][20]


def test_eembc_runner_folder_is_evaluation_only(tmp_path, capsys):
    root = tmp_path / "vww01"
    root.mkdir()
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, (3, 96, 96, 3), dtype=np.uint8)
    for i, img in enumerate(imgs):
        img.tofile(root / f"{i:012d}.bin")
    (root / "000000000009.bin").write_bytes(imgs[0].tobytes()[:1000])  # truncated
    (root / "y_labels.csv").write_text("000000000000.bin,2,1\n000000000001.bin,2,0\n000000000002.bin,2,1\n"
                                       "000000000009.bin,2,0\n000000000404.bin,2,1\n")
    assert eval_split(root, trained_on=str(root.resolve())) == "test"  # every image is test anyway
    d = load_data_dir(root, "test", size=96, progress=False)
    assert d.labels.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(d.images, imgs)  # raw bytes, upper-left first, unchanged at 96x96
    err = capsys.readouterr().err
    assert "000000000009.bin: raw U8C3 file of 1000 bytes" in err and "000000000404.bin: missing" in err
    with pytest.raises(DataError, match="split 'train' holds no images"):
        load_data_dir(root, "train", progress=False)
    (root / "y_labels.csv").write_text("000000000000.bin,3,1\n")
    with pytest.raises(DataError, match=r"y_labels.csv:1: .*2 classes"):
        find_source(root)
