"""Visual Wake Words on disk -> image records (path, label, split); no pixels are read here (real_data.py reads them).

Two layouts (/work/shared/notes/datasets.md section 2):
- MLPerf Tiny `vw_coco2014_96/{non_person,person}/*.jpg`: label = folder (non_person = 0, person = 1). The folder
  has no split lists, so the split comes from a hash of the file name (as Speech Commands' `which_set`): the
  SHA-1 of the name, as a number mod 100, below VAL_PERCENT -> val, below VAL_PERCENT + TEST_PERCENT -> test,
  else train. A file keeps its split when others are added or removed.
- A COCO-2014 instances JSON (raw COCO, pyvww's `instances_{train,val}.json`, or TF-slim's
  `instances_visualwakewords_*.json` whose `annotations` is a dict by image id): label 1 iff some `person`
  annotation has area / (height * width) > 0.005 (COCO `area` is the segment area; crowd annotations count),
  the rule of pyvww and TF-slim (a TF-slim file states each label; a stated label that differs from the rule,
  from a file made with another threshold, is kept with a notice). Split: with a minival id list (pyvww's
  `scripts/mscoco_minival_ids.txt`, also tensorflow/models `research/object_detection/data/`; one id a line; we
  do not ship it), listed ids -> test and the others hash into train / val; without one, the file-name hash.
- The EEMBC / MLPerf Tiny runner's evaluation folder (benchmark/evaluation/datasets/vww01): `y_labels.csv`
  ("file name,number of classes,class" lines) beside raw `.bin` files of U8C3 RGB (96x96x3 bytes, row-major
  from the upper left); evaluation-only, so every image is in "test".
Split "all" is every image (an evaluation-only folder).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from tinycore.errors import DataError

CLASSES = ("non_person", "person")
AREA_FRACTION = 0.005   # person area / image area must exceed this for label 1
VAL_PERCENT = 10
TEST_PERCENT = 10
ALL = "all"
SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
EEMBC_LABELS = "y_labels.csv"
HASH_RULE = (f"sha1(file name) mod 100: < {VAL_PERCENT} val, < {VAL_PERCENT + TEST_PERCENT} test, else train")


@dataclass(frozen=True)
class ImageRecord:
    """One image of the set: its file, its VWW label (0 non-person, 1 person) and its split."""
    path: Path
    label: int
    split: str


@dataclass(frozen=True)
class VwwSource:
    """The records of a folder or JSON and how they were labelled and split (for report.json "dataset")."""
    root: Path
    records: tuple[ImageRecord, ...]
    meta: dict

    def select(self, split: str) -> list[ImageRecord]:
        if split != ALL and split not in SPLITS:
            raise DataError(f"split {split!r}: use one of {SPLITS} or {ALL!r}")
        return [r for r in self.records if split in (ALL, r.split)]


def hash_split(name: str, with_test: bool = True) -> str:
    """Deterministic split of a file name (the name only, so a moved folder keeps its splits)."""
    bucket = int(hashlib.sha1(name.encode()).hexdigest(), 16) % 100
    if bucket < VAL_PERCENT:
        return "val"
    if with_test and bucket < VAL_PERCENT + TEST_PERCENT:
        return "test"
    return "train"


def is_person(areas: list[float], height: int, width: int) -> int:
    """The VWW label rule: 1 iff some person annotation covers more than AREA_FRACTION of the image."""
    return int(any(a / (height * width) > AREA_FRACTION for a in areas))


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def is_mlperf_folder(root: Path) -> bool:
    return root.is_dir() and any((root / c).is_dir() for c in CLASSES)  # load_mlperf names a missing one


def load_mlperf(root: str | Path) -> VwwSource:
    """An MLPerf `vw_coco2014_96` folder: person/ and non_person/ hold the images."""
    root = Path(root)
    records: list[ImageRecord] = []
    for label, cls in enumerate(CLASSES):
        folder = root / cls
        if not folder.is_dir():
            raise DataError(f"{folder}: class folder missing (an MLPerf VWW folder holds {' and '.join(CLASSES)}/)")
        files = image_files(folder)
        if not files:
            raise DataError(f"{folder}: empty class folder (no {'/'.join(IMAGE_SUFFIXES)} files)")
        records += [ImageRecord(p, label, hash_split(p.name)) for p in files]
    return VwwSource(root, tuple(records), {
        "name": "vww_mlperf_folder", "source": str(root.resolve()), "label_rule": "folder: non_person=0, person=1",
        "split_rule": HASH_RULE})


def load_eembc(root: str | Path) -> VwwSource:
    """An EEMBC runner folder: y_labels.csv names each .bin file and its class (2 classes, 1 = person)."""
    root = Path(root)
    path = root / EEMBC_LABELS
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read the label list ({e})") from None
    records = []
    for n, ln in enumerate(lines, 1):
        if not ln.strip():
            continue
        parts = [p.strip() for p in ln.split(",")]
        if len(parts) != 3 or parts[1] != "2" or parts[2] not in ("0", "1"):
            raise DataError(f"{path}:{n}: {ln!r} is not 'file name,2,0|1' (VWW has 2 classes, 1 = person)")
        records.append(ImageRecord(root / parts[0], int(parts[2]), "test"))
    if not records:
        raise DataError(f"{path}: lists no images")
    return VwwSource(root, tuple(records), {
        "name": "vww_eembc_eval_folder", "source": str(root.resolve()), "label_rule": f"{EEMBC_LABELS} class",
        "split_rule": "evaluation-only folder: every image is test"})


def read_minival_ids(path: str | Path) -> set[int]:
    """Image ids, one a line (pyvww scripts/mscoco_minival_ids.txt); blank lines and '#' comments skipped."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise DataError(f"{path}: cannot read the minival id list ({e})") from None
    ids = set()
    for n, ln in enumerate(lines, 1):
        ln = ln.split("#")[0].strip()
        if ln:
            if not ln.isdigit():
                raise DataError(f"{path}:{n}: {ln!r} is not an image id")
            ids.add(int(ln))
    if not ids:
        raise DataError(f"{path}: the minival id list is empty")
    return ids


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable COCO instances JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or "annotations" not in data:
        raise DataError(f"{path}: a COCO instances JSON needs an 'images' list and 'annotations'")
    return data


def _person_areas(data: dict, path: Path) -> tuple[dict[int, list[float]], dict[int, int], str | None]:
    """{image id: areas of its person annotations}, {image id: label the file states} (TF-slim only), and a
    notice when the file has no person at all."""
    anns = data["annotations"]
    cats = data.get("categories") or []
    cats = list(cats.values()) if isinstance(cats, dict) else cats
    areas: dict[int, list[float]] = {}
    stated: dict[int, int] = {}
    where = "categories"
    try:
        names = [c.get("name") for c in cats]
        if isinstance(anns, dict):  # TF-slim: {"<image id>": {"objects": [{"area", "bbox"}], "label": 0|1}}
            if names and "person" not in names:
                return {}, {}, f"{path}: its foreground class is {names}, not person; every image is non-person"
            for key, entry in anns.items():
                where = f"annotations[{key!r}]"
                areas[int(key)] = [float(o["area"]) for o in entry.get("objects", ())]
                if "label" in entry:
                    stated[int(key)] = int(entry["label"])
        else:
            person = {int(c["id"]) for c in cats if c.get("name") == "person"}
            if not person:
                return {}, {}, f"{path}: no 'person' category; every image is labelled non-person"
            for a in anns:
                where = f"annotation {a.get('id') if isinstance(a, dict) else a!r}"
                if int(a.get("category_id", -1)) in person:
                    areas.setdefault(int(a["image_id"]), []).append(float(a["area"]))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise DataError(f"{path}: {where} is malformed ({type(e).__name__}: {e}); "
                        f"person annotations need image_id and area") from None
    if not any(areas.values()) and not any(stated.values()):
        return areas, stated, f"{path}: no person annotations; every image is labelled non-person"
    return areas, stated, None


def _find_image(image_dir: Path, file_name: str) -> Path:
    """COCO names say their folder (COCO_val2014_...jpg -> val2014/); pyvww links both into all2014/."""
    direct = image_dir / file_name
    if direct.exists():
        return direct
    parts = Path(file_name).name.split("_")
    for sub in ([parts[1]] if len(parts) > 2 else []) + ["all2014"]:
        p = image_dir / sub / Path(file_name).name
        if p.exists():
            return p
    return direct  # missing: real_data reports it with the unreadable files


def load_coco_vww(json_path: str | Path, image_dir: str | Path | None = None,
                  minival_ids: str | Path | None = None) -> VwwSource:
    """A COCO-2014 instances JSON -> VWW records; images in image_dir (default: the JSON's folder and its parent)."""
    path = Path(json_path)
    data = _read_json(path)
    areas, stated, notice = _person_areas(data, path)
    disagree = 0
    minival = read_minival_ids(minival_ids) if minival_ids is not None else None
    dirs = [Path(image_dir)] if image_dir is not None else [path.parent, path.parent.parent]
    records = []
    for im in data["images"]:
        try:
            iid, name, h, w = int(im["id"]), str(im["file_name"]), int(im["height"]), int(im["width"])
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{path}: image entry {im!r:.120} lacks id, file_name, height or width") from None
        if h < 1 or w < 1:
            raise DataError(f"{path}: image {iid} has size {h}x{w}")
        found = [p for p in (_find_image(d, name) for d in dirs) if p.exists()]
        split = hash_split(Path(name).name) if minival is None else \
            "test" if iid in minival else hash_split(Path(name).name, with_test=False)
        label = is_person(areas.get(iid, []), h, w)
        if iid in stated and stated[iid] != label:  # a TF-slim file made with another threshold: its label wins
            disagree, label = disagree + 1, stated[iid]
        records.append(ImageRecord(found[0] if found else dirs[0] / name, label, split))
    if not records:
        raise DataError(f"{path}: the JSON lists no images")
    split_rule = HASH_RULE if minival is None else \
        f"ids in {minival_ids} -> test; others sha1(file name) mod 100 < {VAL_PERCENT} val, else train"
    meta = {"name": "vww_coco2014_json", "source": str(path.resolve()), "split_rule": split_rule,
            "label_rule": f"1 iff a person annotation has area/(H*W) > {AREA_FRACTION} (crowd included)"}
    notices = [notice] if notice else []
    if disagree:
        notices.append(f"{path}: {disagree} image(s) state a label that differs from the {AREA_FRACTION} area "
                       f"rule (made with another threshold?); the stated labels are used")
    if notices:
        meta["notices"] = notices
    return VwwSource(dirs[0], tuple(records), meta)


def find_source(root: str | Path, image_dir: str | Path | None = None,
                minival_ids: str | Path | None = None) -> VwwSource:
    """An EEMBC runner folder, an MLPerf folder, a COCO instances JSON, or a folder with
    annotations/instances_*.json (one JSON only)."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such data folder or file")
    if root.is_file():
        return load_coco_vww(root, image_dir, minival_ids)
    if (root / EEMBC_LABELS).is_file():
        return load_eembc(root)
    if is_mlperf_folder(root):
        return load_mlperf(root)
    jsons = sorted((root / "annotations").glob("instances_*.json")) if (root / "annotations").is_dir() else []
    if len(jsons) == 1:
        return load_coco_vww(jsons[0], image_dir or root, minival_ids)
    if jsons:
        raise DataError(f"{root}/annotations holds {len(jsons)} instances JSONs ({', '.join(p.name for p in jsons)}); "
                        f"pass the one to read as --data-dir")
    have = sorted(p.name for p in root.iterdir())[:8]
    raise DataError(f"{root}: neither an MLPerf VWW folder ({'/ and '.join(CLASSES)}/), an EEMBC runner folder "
                    f"({EEMBC_LABELS}) nor a COCO instances JSON (annotations/instances_*.json); it holds {have}")
