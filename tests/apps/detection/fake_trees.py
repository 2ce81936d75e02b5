"""Small fake VOC trees and COCO folders written by the tests: a few JPEGs (OpenCV) with XML / JSON annotations."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np


def write_jpeg(path: Path, h: int, w: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), img)


def voc_xml(stem: str, w: int, h: int, objects: list[tuple[str, int, int, int, int, int]]) -> str:
    """objects: (name, xmin, ymin, xmax, ymax, difficult), 1-based inclusive."""
    objs = "".join(f"<object><name>{n}</name><pose>Unspecified</pose><truncated>0</truncated>"
                   f"<difficult>{d}</difficult><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
                   f"<ymax>{y1}</ymax></bndbox></object>" for n, x0, y0, x1, y1, d in objects)
    return (f"<annotation><folder>VOC2007</folder><filename>{stem}.jpg</filename>"
            f"<size><width>{w}</width><height>{h}</height><depth>3</depth></size>{objs}</annotation>")


VOC_IMAGES = {  # stem: (w, h, objects)
    "000001": (64, 48, [("dog", 1, 1, 20, 10, 0), ("person", 30, 5, 60, 40, 1)]),
    "000002": (40, 40, [("car", 11, 21, 30, 40, 0)]),
    "000003": (50, 30, []),
    "000004": (32, 32, [("dog", 2, 2, 31, 31, 0), ("cat", 5, 5, 9, 9, 0)]),
}
VOC_SPLITS = {"train": ["000001", "000002"], "val": ["000003"], "trainval": ["000001", "000002", "000003"],
              "test": ["000004"]}


def make_voc(root: Path, splits: dict[str, list[str]] = VOC_SPLITS) -> Path:
    year = root / "VOCdevkit" / "VOC2007"
    for i, (stem, (w, h, objs)) in enumerate(VOC_IMAGES.items()):
        write_jpeg(year / "JPEGImages" / f"{stem}.jpg", h, w, seed=i)
        (year / "Annotations").mkdir(parents=True, exist_ok=True)
        (year / "Annotations" / f"{stem}.xml").write_text(voc_xml(stem, w, h, objs))
    main = year / "ImageSets" / "Main"
    main.mkdir(parents=True, exist_ok=True)
    for split, stems in splits.items():
        (main / f"{split}.txt").write_text("".join(s + "\n" for s in stems))
        (main / f"dog_{split}.txt").write_text("".join(f"{s} -1\n" for s in stems))  # class files: not splits
    return root


COCO_CATS = [{"id": 1, "name": "person", "supercategory": "person"}, {"id": 3, "name": "car", "supercategory": "v"},
             {"id": 18, "name": "dog", "supercategory": "animal"}]


def make_coco(root: Path) -> Path:
    """root/annotations/instances_{train,val}2017.json and root/{train,val}2017/*.jpg; ann ids from 1."""
    parts = {"train2017": [(1, "a.jpg", 40, 30, [(1, [2, 3, 10, 12], 0), (18, [20, 5, 15, 15], 0)]),
                           (2, "b.jpg", 20, 20, [(3, [0, 0, 20, 20], 1)])],
             "val2017": [(1, "c.jpg", 30, 30, [(18, [5, 5, 10, 10], 0)])]}
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for split, images in parts.items():
        anns = []
        for image_id, name, w, h, objs in images:
            write_jpeg(root / split / name, h, w, seed=image_id)
            anns += [{"id": len(anns) + 1, "image_id": image_id, "category_id": c, "bbox": b, "area": b[2] * b[3],
                      "iscrowd": crowd, "segmentation": []} for c, b, crowd in objs]
        data = {"info": {}, "licenses": [], "categories": COCO_CATS, "annotations": anns,
                "images": [{"id": i, "file_name": n, "width": w, "height": h} for i, n, w, h, _ in images]}
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(data))
    return root
