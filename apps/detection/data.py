"""The built-in detection set: rendered scenes (tinycore.vision.render) with several objects of several classes,
written in the COCO layout that `--data-dir` also reads (sources.load_data_dir).

Layout under the cache folder (default data/detection/{quick,full}):
    meta.json                                 stamp (version, seed, sizes), counts, build seconds, rules
    annotations/instances_{train,val,test}.json   COCO instances (bbox [x, y, w, h] px of the visible part)
    {train,val,test}/00000.png ...            RGB pictures, height x width of DatasetSize
Picture i of a split draws everything from SeedSequence(seed, spawn_key=(split, i)), so no scene is shared by two
splits and a rebuild gives the same bytes. Objects span about 10 px to half the frame's height, overlap and are
cut by the borders; one whose visible box is under MIN_SIDE_PX on a side is marked iscrowd (ignored by COCOeval).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from apps.detection.dataset import DetectionSet, from_records, load_coco_json
from tinycore.errors import DataError
from tinycore.pool import map_in_processes
from tinycore.vision.render import Item, render_scene

DATASET_VERSION = 3  # 2: the shared renderer's person palette changed (VWW realism); 3: rendered without
# supersampling and with 2,000 quick training pictures (the model overfit 400)
SPLITS = ("train", "val", "test")
CLASSES = ("person", "car", "bicycle", "dog", "chair")
MIN_SIDE_PX = 6  # smaller visible boxes are ignored (iscrowd): too few pixels to score fairly
HEIGHT_FRAC = (0.05, 0.5)  # object standing height / image height, log-uniform: ~10 px to half the frame


@dataclass(frozen=True)
class DatasetSize:
    train: int
    val: int
    test: int
    height: int = 240
    width: int = 320
    supersample: int = 1  # renderer oversampling: 2 smooths edges but costs 3.3x (0.10 s against 0.03 s CPU a
    # picture), and more pictures buy more than smoother ones
    max_objects: int = 5


FULL = DatasetSize(train=10000, val=500, test=500)
QUICK = DatasetSize(train=2000, val=100, test=100)


def scene_items(rng: np.random.Generator, max_objects: int) -> list[Item]:
    """1..max_objects objects of the detection classes, sizes log-uniform in HEIGHT_FRAC, anywhere along x (the
    renderer lets x run past the borders, so some are cut)."""
    n = int(rng.integers(1, max_objects + 1))
    lo, hi = np.log(HEIGHT_FRAC[0]), np.log(HEIGHT_FRAC[1])
    return [Item(str(rng.choice(CLASSES)), float(np.exp(rng.uniform(lo, hi)))) for _ in range(n)]


def render_picture(seed: int, split_id: int, index: int, size: DatasetSize) -> tuple[np.ndarray, list]:
    """One picture and its [(class, [x, y, w, h], ignore)] records; other kinds the renderer adds (a seat under a
    sitting person that is not a chair) stay unlabelled background."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(split_id, index)))
    out = render_scene(rng, scene_items(rng, size.max_objects), size.height, size.width,
                       supersample=size.supersample)
    objects = [(o.kind, list(o.bbox_xywh), min(o.bbox_xywh[2:]) < MIN_SIDE_PX)
               for o in out.objects if o.kind in CLASSES]
    return out.image, objects


def _render_and_save(seed: int, split_id: int, index: int, size: DatasetSize, path: str) -> list:
    image, objects = render_picture(seed, split_id, index, size)
    cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return objects


def _stamp(size: DatasetSize, seed: int) -> dict:
    return {"version": DATASET_VERSION, "seed": seed, "size": asdict(size), "classes": list(CLASSES)}


def cached_meta(cache_dir: Path, seed: int) -> dict | None:
    """meta.json of a set built in cache_dir by this version with this seed (of any size), else None."""
    path = Path(cache_dir) / "meta.json"
    if not path.exists():
        return None
    meta = json.loads(path.read_text())
    stamp = meta.get("stamp", {})
    return meta if (stamp.get("version"), stamp.get("seed")) == (DATASET_VERSION, seed) else None


def build(cache_dir: Path, *, seed: int = 0, quick: bool = False, progress: bool = True,
          size: DatasetSize | None = None, workers: int = 2) -> dict:
    """Render the set into cache_dir unless meta.json there already has the same stamp; returns meta."""
    size = size or (QUICK if quick else FULL)
    cache_dir = Path(cache_dir)
    meta_path = cache_dir / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("stamp") == _stamp(size, seed):
            return meta
    t0 = time.time()
    (cache_dir / "annotations").mkdir(parents=True, exist_ok=True)
    counts = {}
    for split_id, split in enumerate(SPLITS):
        n = getattr(size, split)
        (cache_dir / split).mkdir(exist_ok=True)
        names = [f"{i:05d}.png" for i in range(n)]
        jobs = [(seed, split_id, i, size, str(cache_dir / split / names[i])) for i in range(n)]
        objects = map_in_processes(_render_and_save, jobs, workers=workers, desc=f"render {split}",
                                   progress=progress, chunksize=4)
        records = [(name, size.height, size.width, objs) for name, objs in zip(names, objects)]
        ds = from_records(records, CLASSES, cache_dir / split, name=f"builtin_detection:{split}")
        ds.write_json(cache_dir / "annotations" / f"instances_{split}.json")
        counts[split] = {"images": n, "objects": sum(len(o) for o in objects),
                         "ignored": sum(ig for o in objects for *_, ig in o)}
    meta = {"name": f"builtin_detection_v{DATASET_VERSION}", "stamp": _stamp(size, seed), "counts": counts,
            "build_seconds": round(time.time() - t0, 1),
            "split_rule": "picture i of split s drawn from SeedSequence(seed, spawn_key=(s, i))",
            "label_rule": f"visible-part boxes; min side < {MIN_SIDE_PX} px -> iscrowd (ignored)"}
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def load_split(cache_dir: Path, split: str) -> DetectionSet:
    """The COCO set of one built split (pictures in cache_dir/split)."""
    path = Path(cache_dir) / "annotations" / f"instances_{split}.json"
    if not path.exists():
        raise DataError(f"{path}: missing; build the set first with `python -m apps.detection data`")
    return load_coco_json(path, Path(cache_dir) / split)
