"""Pascal VOC (VOCdevkit/VOC20xx/{Annotations, JPEGImages, ImageSets/Main}) -> DetectionSet.

VOC boxes are 1-based inclusive pixel indices; pixel i covers [i - 1, i), so the COCO box is
[xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]. `difficult` objects become iscrowd = 1 (ignored by the
evaluation, as VOC's own protocol does). Category ids are 1..20 in the usual VOC order; unknown names extend it.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

from apps.detection.dataset import DetectionSet, coco_dict
from tinycore.errors import DataError

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
               "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor")
ALL = "all"  # every image listed by a split file (or every annotation when there is no ImageSets folder)


def find_year_dirs(root: str | Path) -> list[Path]:
    """The VOC20xx folders under root, which may be the parent of VOCdevkit, VOCdevkit, or VOC20xx itself."""
    root = Path(root)
    for base in (root, root / "VOCdevkit"):
        if (base / "Annotations").is_dir():
            return [base]
        years = sorted(p for p in base.glob("VOC*") if (p / "Annotations").is_dir())
        if years:
            return years
    return []


def split_ids(year_dir: Path, split: str) -> list[str]:
    """Image ids of a split (ImageSets/Main/<split>.txt); for "all", the union of every split file in order."""
    main = year_dir / "ImageSets" / "Main"
    if split != ALL:
        f = main / f"{split}.txt"
        if not f.is_file():
            have = sorted(p.stem for p in main.glob("*.txt") if "_" not in p.stem)
            raise DataError(f"{f}: no such VOC split; {year_dir} has {have} (or use '{ALL}')")
        return [ln.split()[0] for ln in f.read_text().splitlines() if ln.strip()]
    files = sorted(p for p in main.glob("*.txt") if "_" not in p.stem)  # aeroplane_train.txt etc. repeat ids
    if not files:
        return sorted(p.stem for p in (year_dir / "Annotations").glob("*.xml"))
    ids: dict[str, None] = {}
    for f in files:
        ids |= {ln.split()[0]: None for ln in f.read_text().splitlines() if ln.strip()}
    return list(ids)


def _int(node: ET.Element, tag: str, path: Path) -> int:
    text = node.findtext(tag)
    if text is None:
        raise DataError(f"{path}: <{tag}> missing in <{node.tag}>")
    return int(float(text))


def load_voc(root: str | Path, split: str = ALL, classes: Sequence[str] | None = None) -> DetectionSet:
    """Read a VOC tree (one or several years; image ids are numbered 1.. in reading order)."""
    years = find_year_dirs(root)
    if not years:
        raise DataError(f"{root}: no VOC tree (expected VOCdevkit/VOC20xx/Annotations/*.xml)")
    names = list(VOC_CLASSES)
    images, anns = [], []
    for year in years:
        for stem in split_ids(year, split):
            path = year / "Annotations" / f"{stem}.xml"
            try:
                tree = ET.parse(path).getroot()
            except (OSError, ET.ParseError) as e:
                raise DataError(f"{path}: unreadable VOC annotation ({e})") from e
            size = tree.find("size")
            if size is None:
                raise DataError(f"{path}: <size> missing")
            image_id = len(images) + 1
            file_name = f"{year.name}/JPEGImages/{tree.findtext('filename') or stem + '.jpg'}"
            images.append({"id": image_id, "file_name": file_name, "width": _int(size, "width", path),
                           "height": _int(size, "height", path)})
            for obj in tree.iter("object"):
                name = (obj.findtext("name") or "").strip()
                bb = obj.find("bndbox")
                if bb is None:
                    raise DataError(f"{path}: object '{name}' has no <bndbox>")
                if name not in names:
                    names.append(name)
                x0, y0, x1, y1 = (_int(bb, t, path) for t in ("xmin", "ymin", "xmax", "ymax"))
                anns.append({"image_id": image_id, "category_id": names.index(name) + 1,
                             "bbox": [x0 - 1, y0 - 1, x1 - x0 + 1, y1 - y0 + 1],
                             "iscrowd": int(obj.findtext("difficult", "0").strip() == "1")})
    cats = [{"id": i + 1, "name": n, "supercategory": "voc"} for i, n in enumerate(names)]
    base = years[0].parent
    return DetectionSet(coco_dict(images, anns, cats), base, f"VOC {base} ({split})").subset(classes)
