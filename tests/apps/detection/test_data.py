"""Pascal VOC and COCO land in the same DetectionSet: boxes [x, y, w, h] px, category ids, difficult/crowd ->
ignored; splits, "all" for evaluation-only folders, class subsets; typed errors name the file."""
from __future__ import annotations

import numpy as np
import pytest

from apps.detection.dataset import from_records, load_coco_json
from apps.detection.sources import load_data_dir
from apps.detection.voc import VOC_CLASSES
from tests.apps.detection.fake_trees import make_coco, make_voc
from tinycore.errors import DataError


def test_voc_boxes_difficult_and_splits(tmp_path):
    make_voc(tmp_path)
    train = load_data_dir(tmp_path, "train")
    assert [im["file_name"] for im in train.coco["images"]] == ["VOC2007/JPEGImages/000001.jpg",
                                                                 "VOC2007/JPEGImages/000002.jpg"]
    assert train.class_names == list(VOC_CLASSES) and train.coco["info"] == {}
    boxes, classes, ignore = train.boxes_of(1)
    np.testing.assert_array_equal(boxes, [[0, 0, 20, 10], [29, 4, 31, 36]])  # 1-based inclusive -> COCO px
    assert classes.tolist() == [VOC_CLASSES.index("dog"), VOC_CLASSES.index("person")]
    assert ignore.tolist() == [False, True]
    assert [a["id"] for a in train.coco["annotations"]] == [1, 2, 3]
    assert train.read_rgb(2).shape == (40, 40, 3)
    assert len(load_data_dir(tmp_path / "VOCdevkit", "test").image_ids) == 1
    with pytest.raises(DataError, match="no such VOC split.*'test', 'train', 'trainval', 'val'"):
        load_data_dir(tmp_path, "minival")


def test_voc_all_covers_an_evaluation_only_folder(tmp_path):
    make_voc(tmp_path, splits={"test": ["000004", "000002"]})  # a VOC2007-test-like tree
    data = load_data_dir(tmp_path)
    assert len(data.image_ids) == 2 and len(data.coco["annotations"]) == 3
    make_voc(tmp_path / "full")
    assert len(load_data_dir(tmp_path / "full").image_ids) == 4  # union of the split files, once each


def test_class_subset_keeps_images_and_names_unknown_classes(tmp_path):
    make_voc(tmp_path)
    dogs = load_data_dir(tmp_path, "trainval", classes=["dog"])
    assert dogs.class_names == ["dog"] and len(dogs.image_ids) == 3
    assert [a["category_id"] for a in dogs.coco["annotations"]] == [VOC_CLASSES.index("dog") + 1]
    with pytest.raises(DataError, match="'dgo': \\['dog'"):
        load_data_dir(tmp_path, classes=["dgo"])


def test_coco_folder_splits_all_and_subset(tmp_path):
    make_coco(tmp_path)
    val = load_data_dir(tmp_path, "val2017")
    assert val.category_ids == [1, 3, 18] and val.class_names == ["person", "car", "dog"]
    assert val.read_rgb(1).shape == (30, 30, 3)
    both = load_data_dir(tmp_path)  # "all": both splits, ids renumbered, file names keep their folder
    assert both.image_ids == [1, 2, 3]
    assert [im["file_name"] for im in both.coco["images"]] == ["train2017/a.jpg", "train2017/b.jpg", "val2017/c.jpg"]
    assert [a["id"] for a in both.coco["annotations"]] == [1, 2, 3, 4]
    assert both.read_rgb(3).shape == (30, 30, 3)
    boxes, classes, ignore = both.boxes_of(2)
    assert boxes.tolist() == [[0, 0, 20, 20]] and classes.tolist() == [1] and ignore.tolist() == [True]
    people = load_data_dir(tmp_path, "train2017", classes=["person"])
    assert people.category_ids == [1] and len(people.coco["annotations"]) == 1


def test_coco_json_with_zero_ids_is_renumbered_and_errors_are_typed(tmp_path):
    (tmp_path / "r.json").write_text('{"images": [{"id": 5, "file_name": "x.jpg", "width": 4, "height": 4}], '
                                     '"annotations": [{"id": 0, "image_id": 5, "category_id": 1, "bbox": [0,0,2,2]}],'
                                     ' "categories": [{"id": 1, "name": "thing"}]}')
    data = load_coco_json(tmp_path / "r.json")
    assert data.coco["annotations"][0]["id"] == 1 and data.coco["annotations"][0]["area"] == 4
    assert data.coco["info"] == {}
    with pytest.raises(DataError, match="x.jpg: cannot read"):
        data.read_rgb(5)
    (tmp_path / "bad.json").write_text('{"images": []}')
    with pytest.raises(DataError, match="bad.json: COCO instances JSON lacks"):
        load_coco_json(tmp_path / "bad.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: neither a Pascal VOC tree"):
        load_data_dir(tmp_path / "empty")
    with pytest.raises(DataError, match="nowhere: no such data folder"):
        load_data_dir(tmp_path / "nowhere")


def test_records_round_trip_through_coco_json(tmp_path):
    """Rendered pictures (file, size, objects) -> DetectionSet -> JSON -> the same set, as VOC/COCO give."""
    records = [("0.png", 240, 320, [("person", (10.0, 20.0, 30.0, 60.0), False), ("chair", (5, 5, 4, 4), True)]),
               ("1.png", 240, 320, [])]
    data = from_records(records, ["person", "chair"], tmp_path, "rendered")
    again = load_coco_json(data.write_json(tmp_path / "instances.json"))
    assert again.coco == data.coco and again.image_dir == tmp_path
    boxes, classes, ignore = again.boxes_of(1)
    assert boxes.tolist() == [[10, 20, 30, 60], [5, 5, 4, 4]] and classes.tolist() == [0, 1]
    assert ignore.tolist() == [False, True] and again.image_ids == [1, 2]
    with pytest.raises(DataError, match="0.png has class 'dog'"):
        from_records([("0.png", 1, 1, [("dog", (0, 0, 1, 1), False)])], ["person"], tmp_path)



def test_evaluation_only_folder_is_scored_whole_and_refused_for_training(tmp_path):
    """A VOC tree without ImageSets (or a lone COCO JSON) names no splits: eval's one split is all of it; asking
    for train / val / test raises a DataError naming the folder."""
    from apps.detection.task import load_data
    from tinycore.task import DataOptions

    root = make_voc(tmp_path / "voc", splits={})
    data = load_data(DataOptions(cache_dir=tmp_path, data_dir=root, splits=("test",), progress=False))
    assert len(data.test[0]) == 4 and len(data.train[0]) == 0 and len(data.extra["sets"]["test"].image_ids) == 4
    with pytest.raises(DataError, match="names no splits"):
        load_data(DataOptions(cache_dir=tmp_path, data_dir=root, progress=False))
    split_root = make_voc(tmp_path / "voc2")  # with splits: the named split only
    assert len(load_data(DataOptions(cache_dir=tmp_path, data_dir=split_root, splits=("test",),
                                     progress=False)).test[0]) == 1
