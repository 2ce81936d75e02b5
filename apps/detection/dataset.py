"""The one form every detection source lands in: a COCO instances dict (images, annotations, categories, info)
plus the folder the image file names are relative to.

VOC, COCO and the built-in renderer's JSON all become a `DetectionSet`; metrics read `.coco` directly
(pycocotools), training reads boxes through `boxes_of`. Boxes are [x, y, w, h] in pixels from the top-left corner;
ground truth to be ignored (COCO iscrowd, VOC difficult) has iscrowd = 1, which COCOeval neither counts as a miss nor
lets match as a false positive.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from tinycore.errors import DataError


@dataclass(frozen=True)
class DetectionSet:
    """A COCO instances dict and the folder its `file_name`s are relative to."""
    coco: dict
    image_dir: Path
    name: str = ""

    @property
    def category_ids(self) -> list[int]:
        """Category ids in ascending order; the model's class index c is category_ids[c]."""
        return sorted(c["id"] for c in self.coco["categories"])

    @property
    def class_names(self) -> list[str]:
        names = {c["id"]: c["name"] for c in self.coco["categories"]}
        return [names[i] for i in self.category_ids]

    @property
    def image_ids(self) -> list[int]:
        return [im["id"] for im in self.coco["images"]]

    @cached_property
    def _annotations_by_image(self) -> dict[int, list[dict]]:
        """Annotations grouped by image id, built once (a scan per picture made loading quadratic)."""
        by: dict[int, list[dict]] = {}
        for a in self.coco["annotations"]:
            by.setdefault(a["image_id"], []).append(a)
        return by

    @cached_property
    def _images_by_id(self) -> dict[int, dict]:
        return {im["id"]: im for im in self.coco["images"]}

    def boxes_of(self, image_id: int) -> tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.bool_]]:
        """(boxes (N, 4) [x, y, w, h] px, class indices (N,), ignore flags (N,)) of one image."""
        index = {cid: i for i, cid in enumerate(self.category_ids)}
        anns = self._annotations_by_image.get(image_id, [])
        return (np.array([a["bbox"] for a in anns], np.float32).reshape(-1, 4),
                np.array([index[a["category_id"]] for a in anns], np.int64),
                np.array([bool(a.get("iscrowd", 0)) for a in anns], bool))

    def read_rgb(self, image_id: int) -> NDArray[np.uint8]:
        """The picture as (H, W, 3) uint8 RGB."""
        im = self._images_by_id[image_id]
        path = self.image_dir / im["file_name"]
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise DataError(f"{path}: cannot read this image (missing or not a picture); listed as image id "
                            f"{image_id} in {self.name or 'the data set'}")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def subset(self, classes: Sequence[str] | None) -> DetectionSet:
        """Keep only the named classes (their annotations; every image stays, as a negative if it has none)."""
        if not classes:
            return self
        by_name = {c["name"]: c for c in self.coco["categories"]}
        unknown = [c for c in classes if c not in by_name]
        if unknown:
            close = {u: difflib.get_close_matches(u, list(by_name), n=3) for u in unknown}
            raise DataError(f"{self.name}: unknown class(es) {close} (name: close matches); "
                            f"the set has {sorted(by_name)}")
        keep = {by_name[c]["id"] for c in classes}
        coco = dict(self.coco, categories=[c for c in self.coco["categories"] if c["id"] in keep],
                    annotations=[a for a in self.coco["annotations"] if a["category_id"] in keep])
        return DetectionSet(coco, self.image_dir, self.name)

    def select(self, image_ids: Sequence[int]) -> DetectionSet:
        """The same set restricted to these images (a split)."""
        ids = set(image_ids)
        coco = dict(self.coco, images=[i for i in self.coco["images"] if i["id"] in ids],
                    annotations=[a for a in self.coco["annotations"] if a["image_id"] in ids])
        return DetectionSet(coco, self.image_dir, self.name)

    def write_json(self, path: str | Path) -> Path:
        """Save the COCO dict (readable by pycocotools.coco.COCO) and return the path."""
        path = Path(path)
        path.write_text(json.dumps(self.coco))
        return path


def coco_dict(images: list[dict], annotations: list[dict], categories: list[dict]) -> dict:
    """A COCO instances dict with the fields pycocotools needs: annotation ids from 1 (0 means unmatched), area,
    and an "info" entry (pycocotools 2.0.9+ reads it)."""
    anns = [dict(a, id=i + 1, area=a.get("area", float(a["bbox"][2] * a["bbox"][3])), iscrowd=a.get("iscrowd", 0))
            for i, a in enumerate(annotations)]
    return {"info": {}, "licenses": [], "images": images, "annotations": anns, "categories": categories}


def from_records(records: Sequence[tuple[str, int, int, Sequence[tuple[str, Sequence[float], bool]]]],
                 class_names: Sequence[str], image_dir: str | Path, name: str = "") -> DetectionSet:
    """Build a set from (file_name, height, width, [(class name, [x, y, w, h] px, ignore), ...]) per picture, e.g.
    the built-in renderer's pictures and their objects' boxes; category ids are 1.. in class_names order."""
    ids = {n: i + 1 for i, n in enumerate(class_names)}
    images, anns = [], []
    for k, (file_name, h, w, objects) in enumerate(records):
        images.append({"id": k + 1, "file_name": file_name, "height": int(h), "width": int(w)})
        for cls, bbox, ignore in objects:
            if cls not in ids:
                raise DataError(f"{name or image_dir}: {file_name} has class '{cls}', not one of {list(class_names)}")
            anns.append({"image_id": k + 1, "category_id": ids[cls], "bbox": [float(v) for v in bbox],
                         "iscrowd": int(bool(ignore))})
    cats = [{"id": i, "name": n, "supercategory": ""} for n, i in ids.items()]
    return DetectionSet(coco_dict(images, anns, cats), Path(image_dir), name)


def load_coco_json(json_path: str | Path, image_dir: str | Path | None = None) -> DetectionSet:
    """A COCO instances file (the built-in renderer writes the same form); images beside it unless image_dir."""
    path = Path(json_path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable COCO instances JSON ({e})") from e
    missing = [k for k in ("images", "annotations", "categories") if k not in data]
    if missing:
        raise DataError(f"{path}: COCO instances JSON lacks {missing}")
    for a in data["annotations"]:
        if len(a.get("bbox", ())) != 4:
            raise DataError(f"{path}: annotation {a.get('id')} has no [x, y, w, h] bbox")
    data.setdefault("info", {})
    data.setdefault("licenses", [])
    if any(a.get("id", 0) < 1 for a in data["annotations"]):  # renumber so COCOeval's 0 = unmatched holds
        data = coco_dict(data["images"], data["annotations"], data["categories"]) | {"info": data["info"]}
    return DetectionSet(data, Path(image_dir) if image_dir else path.parent, str(path))
