"""The built-in Visual Wake Words set: person / no-person images rendered offline (tinycore.vision.render).

Layout under the cache folder (default data/vww/{quick,full}):
    meta.json                      stamp (version, seed, sizes), counts, build seconds, label rule
    {train,val,test}.npz           images uint8 (N, H, W, 3) RGB, labels uint8 (0 no person, 1 person),
                                   person_area (largest visible person area / image area)
Image i of a split draws everything (scene, people, objects, camera) from SeedSequence(seed, spawn_key=(split, i)):
no background or person instance appears in two splits. Labels follow VWW's rule on the rendered visible masks
(person iff a person covers >= 0.5 % of the image), half the images of each split of each kind.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from apps.vww.scenes import PERSON_MIN_AREA, render_vww
from tinycore.errors import DataError

DATASET_VERSION = 1
SPLITS = ("train", "val", "test")
CLASSES = ("non_person", "person")  # the MLPerf Tiny VWW label order


@dataclass(frozen=True)
class DatasetSize:
    train: int
    val: int
    test: int
    height: int = 96
    width: int = 96


FULL = DatasetSize(train=8000, val=1000, test=1000)
QUICK = DatasetSize(train=1200, val=400, test=400)


@dataclass(frozen=True)
class VwwSplits:
    images: dict[str, NDArray[np.uint8]]  # split -> (N, H, W, 3)
    labels: dict[str, NDArray[np.uint8]]
    person_area: dict[str, NDArray[np.float32]]
    meta: dict


def _render_one(job: tuple[int, int, int, int, int]) -> tuple[NDArray[np.uint8], int, float]:
    seed, split_id, index, height, width = job
    ss = np.random.SeedSequence(seed, spawn_key=(split_id, index))
    out = render_vww(ss, person=index % 2 == 0, size=(height, width))
    area = out.area_frac("person")
    return out.image, int(area >= PERSON_MIN_AREA), area


def _stamp(seed: int, size: DatasetSize) -> dict:
    return {"version": DATASET_VERSION, "seed": seed, "size": asdict(size)}


def _read_meta(root: Path, stamp: dict) -> dict:
    """The meta of the splits already built with this stamp (an empty one when the stamp changed)."""
    try:
        meta = json.loads((root / "meta.json").read_text())
    except (OSError, ValueError):
        meta = {}
    if meta.get("stamp") != stamp:
        meta = {"stamp": stamp, "counts": {}, "build_seconds": {}}
    meta["counts"] = {s: c for s, c in meta["counts"].items() if (root / f"{s}.npz").is_file()}
    return meta


def build(cache_dir: str | Path, seed: int = 0, quick: bool = False, progress: bool = True,
          workers: int | None = None, size: DatasetSize | None = None, splits: tuple[str, ...] = SPLITS) -> dict:
    """Render (or reuse) `splits` of the set under cache_dir; returns its meta (counts, build seconds per split,
    label rule). `size` overrides the FULL / QUICK sizes (tests); `eval` builds only the split it scores."""
    root = Path(cache_dir)
    size = size or (QUICK if quick else FULL)
    meta = _read_meta(root, _stamp(seed, size))
    root.mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    for split in splits:
        if split in meta["counts"]:
            continue
        t0 = time.perf_counter()
        n = getattr(size, split)
        jobs = [(seed, SPLITS.index(split), i, size.height, size.width) for i in range(n)]
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            rows = list(tqdm(pool.imap(_render_one, jobs, chunksize=8), total=n, file=sys.stderr,
                             desc=f"vww {split} (render)", disable=not progress))
        images = np.stack([r[0] for r in rows]) if rows else np.zeros((0, size.height, size.width, 3), np.uint8)
        labels = np.array([r[1] for r in rows], np.uint8)
        area = np.array([r[2] for r in rows], np.float32)
        tmp = root / f"{split}.tmp.npz"
        np.savez_compressed(tmp, images=images, labels=labels, person_area=area)
        tmp.replace(root / f"{split}.npz")
        meta["counts"][split] = {"images": n, "person": int(labels.sum()), "non_person": int(n - labels.sum())}
        meta["build_seconds"][split] = round(time.perf_counter() - t0, 1)
        meta.update({"name": "vww_rendered", "source": "built-in: tinycore.vision.render", "classes": list(CLASSES),
                     "workers": workers,
                     "label_rule": f"person iff a person's visible mask covers >= {PERSON_MIN_AREA:.1%} of the image",
                     "split_rule": "each image has its own scene seed (seed, split, index): no scene or person "
                                   "instance is shared between splits"})
        tmp = root / "meta.tmp.json"
        tmp.write_text(json.dumps(meta, indent=1))
        tmp.replace(root / "meta.json")
    return meta


def load(cache_dir: str | Path, splits: tuple[str, ...] = SPLITS) -> VwwSplits:
    """Read built splits; DataError naming the folder when one is missing or damaged."""
    root = Path(cache_dir)
    try:
        meta = json.loads((root / "meta.json").read_text())
        arrays = {s: np.load(root / f"{s}.npz") for s in splits}
        return VwwSplits(images={s: a["images"] for s, a in arrays.items()},
                         labels={s: a["labels"] for s, a in arrays.items()},
                         person_area={s: a["person_area"] for s, a in arrays.items()}, meta=meta)
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{root}: no usable built-in VWW set ({e}); run `python -m apps.vww data` "
                        f"(with the same --quick/--seed/--cache-dir)") from e


def save_grid(images: NDArray[np.uint8], labels: NDArray, path: Path, cols: int = 8, rows: int = 6) -> Path:
    """A contact sheet of images (person: green frame, no person: grey frame) as a PNG."""
    import cv2

    n = min(len(images), cols * rows)
    h, w = images.shape[1:3]
    sheet = np.full((rows * (h + 4), cols * (w + 4), 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        tile = np.full((h + 4, w + 4, 3), (40, 200, 40) if labels[i] else (150, 150, 150), np.uint8)
        tile[2:-2, 2:-2] = images[i]
        sheet[r * (h + 4):(r + 1) * (h + 4), c * (w + 4):(c + 1) * (w + 4)] = tile
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])  # used for .jpg only
    return path
