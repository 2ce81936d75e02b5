"""`--data-dir` for detection: recognise a Pascal VOC tree or a COCO folder / instances JSON and load one split
(or "all": every image, for an evaluation-only folder such as VOC2007 test)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from apps.detection.dataset import DetectionSet, load_coco_json
from apps.detection.voc import ALL, find_year_dirs, load_voc
from tinycore.errors import DataError


def coco_files(root: Path) -> dict[str, Path]:
    """{split: instances JSON} in a COCO folder (annotations/instances_<split>.json) or a lone JSON file."""
    if root.is_file():
        return {ALL: root}
    return {p.stem.removeprefix("instances_"): p for p in sorted((root / "annotations").glob("instances_*.json"))}


def load_coco(root: str | Path, split: str = ALL, classes: Sequence[str] | None = None) -> DetectionSet:
    """COCO 2017 layout: root/annotations/instances_<split>.json with images in root/<split>/ ("all" joins splits)."""
    root = Path(root)
    files = coco_files(root)
    if not files:
        raise DataError(f"{root}: no COCO instances JSON (expected annotations/instances_<split>.json)")
    if root.is_file():
        return load_coco_json(root).subset(classes)
    if split != ALL and split not in files:
        raise DataError(f"{root}: no split '{split}'; have {sorted(files)} (or '{ALL}')")
    parts = [load_coco_json(files[s], root / s) for s in (files if split == ALL else [split])]
    if len(parts) == 1:
        return parts[0].subset(classes)
    images, anns = [], []
    for s, part in zip(files, parts):  # one image folder: file names gain the split folder, ids are renumbered
        new_id = {im["id"]: len(images) + i + 1 for i, im in enumerate(part.coco["images"])}
        images += [dict(im, id=new_id[im["id"]], file_name=f"{s}/{im['file_name']}") for im in part.coco["images"]]
        anns += [dict(a, image_id=new_id[a["image_id"]]) for a in part.coco["annotations"]]
    coco = dict(parts[0].coco, images=images, annotations=[dict(a, id=i + 1) for i, a in enumerate(anns)])
    return DetectionSet(coco, root, f"COCO {root} ({split})").subset(classes)


def has_splits(root: str | Path) -> bool:
    """Whether the folder names its splits (VOC ImageSets/Main/<split>.txt, COCO annotations/instances_<split>.json);
    a folder that does not (VOC annotations alone, one instances JSON file) is evaluation-only: all of it is one
    split."""
    root = Path(root)
    years = find_year_dirs(root)
    if years:
        return any(p for y in years for p in (y / "ImageSets" / "Main").glob("*.txt") if "_" not in p.stem)
    return not root.is_file() and bool(coco_files(root))


def load_data_dir(root: str | Path, split: str = ALL, classes: Sequence[str] | None = None) -> DetectionSet:
    """VOC if root holds a VOC tree, else COCO (a folder or an instances JSON)."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such data folder")
    if find_year_dirs(root):
        return load_voc(root, split, classes)
    if coco_files(root):
        return load_coco(root, split, classes)
    raise DataError(f"{root}: neither a Pascal VOC tree (VOCdevkit/VOC20xx/Annotations) nor a COCO folder "
                    f"(annotations/instances_<split>.json) nor a COCO JSON file")
