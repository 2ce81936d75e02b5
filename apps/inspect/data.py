"""The built-in inspection set: parts on a conveyor line, good or defective, rendered offline (apps/inspect/parts.py).

Layout under the cache folder (default data/inspect/{quick,full}):
    meta.json                      stamp (version, seed, sizes), counts, build seconds, label and split rules
    {train,val,test}.npz           images uint8 (N, H, W, 3) RGB, labels uint8 (0 good, 1 defect),
                                   instance (part instance id), kind and defect (indices into parts.KINDS and
                                   DEFECT_NAMES, -1 = none), defect_px (frame pixels the defect visibly
                                   changes, fewest over the part's views; 0 when good)
Part instance k of a split draws the part (kind, geometry, colours, its defect) from SeedSequence(seed,
spawn_key=(split, k)) and VIEWS frames of it (pose, belt, light, camera) from child seeds: images are split by part
instance, so no part is seen in two splits. Half the instances of each split are defective.
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

from apps.inspect.parts import DEFECTS, KINDS, min_visible_px, render_instance_views
from apps.vww.data import _read_meta
from tinycore.errors import DataError

DATASET_VERSION = 3  # 3: products (fixed designs), a defect is labelled only when every view shows it
SPLITS = ("train", "val", "test")
CLASSES = ("good", "defect")
VIEWS = 1  # frames of each part instance (more instances teach more than more views of one)
DEFECT_NAMES = tuple(sorted({d for ds in DEFECTS.values() for d in ds}))


@dataclass(frozen=True)
class DatasetSize:
    train: int
    val: int
    test: int
    height: int = 96
    width: int = 96


FULL = DatasetSize(train=3000, val=500, test=1000, height=224, width=224)  # 6,000/1,000 cost 13 CPU h in all (README)
QUICK = DatasetSize(train=3000, val=400, test=400, height=64, width=64)


@dataclass(frozen=True)
class InspectSplits:
    images: dict[str, NDArray[np.uint8]]  # split -> (N, H, W, 3)
    labels: dict[str, NDArray[np.uint8]]
    defect_px: dict[str, NDArray[np.int32]]
    meta: dict


def _render_one(job: tuple[int, int, int, int, int]) -> list[tuple[NDArray[np.uint8], int, int, int, int, int]]:
    """The VIEWS frames of part instance `index`: (image, label, instance, kind, defect, defect_px) each."""
    seed, split_id, index, height, _ = job
    ss = np.random.SeedSequence(seed, spawn_key=(split_id, index))
    views, part = render_instance_views(ss, defective=index % 2 == 1, views=VIEWS, size=height)
    d = -1 if part.defect is None else DEFECT_NAMES.index(part.defect)
    return [(v, int(part.defect is not None), index, KINDS.index(part.kind), d, part.defect_px) for v in views]


def _stamp(seed: int, size: DatasetSize) -> dict:
    return {"version": DATASET_VERSION, "seed": seed, "size": asdict(size)}


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
        jobs = [(seed, SPLITS.index(split), i, size.height, size.width) for i in range(-(-n // VIEWS))]
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            rows = [r for views in tqdm(pool.imap(_render_one, jobs, chunksize=8), total=len(jobs), file=sys.stderr,
                                        desc=f"inspect {split} (render)", disable=not progress) for r in views][:n]
        images = np.stack([r[0] for r in rows]) if rows else np.zeros((0, size.height, size.width, 3), np.uint8)
        columns = {k: np.array([r[i] for r in rows], t) for i, k, t in
                   ((1, "labels", np.uint8), (2, "instance", np.int32), (3, "kind", np.int8), (4, "defect", np.int8),
                    (5, "defect_px", np.int32))}
        labels = columns["labels"]
        tmp = root / f"{split}.tmp.npz"
        np.savez_compressed(tmp, images=images, **columns)
        tmp.replace(root / f"{split}.npz")
        meta["counts"][split] = {"images": n, "defect": int(labels.sum()), "good": int(n - labels.sum()),
                                 "instances": len(jobs)}
        meta["build_seconds"][split] = round(time.perf_counter() - t0, 1)
        meta.update({"name": "inspect_rendered", "source": "built-in: apps/inspect/parts.py", "classes": list(CLASSES),
                     "workers": workers, "kinds": list(KINDS), "defects": list(DEFECT_NAMES), "views": VIEWS,
                     "label_rule": "defect iff the part instance carries a defect that every view shows: >= "
                                   f"{min_visible_px(size.height)} frame pixels differ by >= 40/255 from the same "
                                   "view of the part without it",
                     "split_rule": "by part instance: instance (seed, split, k) draws the product, its tolerance and "
                                   "its defect, its "
                                   f"{VIEWS} views draw pose and light; no part instance is shared between splits"})
        tmp = root / "meta.tmp.json"
        tmp.write_text(json.dumps(meta, indent=1))
        tmp.replace(root / "meta.json")
    return meta


def load(cache_dir: str | Path, splits: tuple[str, ...] = SPLITS) -> InspectSplits:
    """Read built splits; DataError naming the folder when one is missing or damaged."""
    root = Path(cache_dir)
    try:
        meta = json.loads((root / "meta.json").read_text())
        arrays = {s: np.load(root / f"{s}.npz") for s in splits}
        return InspectSplits(images={s: a["images"] for s, a in arrays.items()},
                             labels={s: a["labels"] for s, a in arrays.items()},
                             defect_px={s: a["defect_px"] for s, a in arrays.items()}, meta=meta)
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{root}: no usable built-in inspection set ({e}); run `python -m apps.inspect data` "
                        f"(with the same --quick/--seed/--cache-dir)") from e

