"""`--data-dir` for inspection: the MVTec AD layout read as a binary good / defect task.

    <category>/train/good/*.png            good parts (MVTec's training images)
    <category>/test/good/*.png             good parts
    <category>/test/<defect>/*.png         defective parts, one folder per defect type
    <category>/ground_truth/...            pixel masks: ignored (the task is image-level)
DIR is one category folder (it has train/ and test/) or the data set root (every category folder under it).
MVTec's own train split holds good parts only, so a classifier could never see a defect: all images of a category
are pooled and each goes to a split by sha256("<seed>:<path relative to DIR>") read as u in [0, 1): test when
u < 0.2, val when u < 0.3, else train. Images are RGB (grey categories replicated), resized to size x size with
PIL's antialiased bilinear filter; arrays are cached under cache_dir, keyed by every file's name, size and mtime.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from tinycore.errors import DataError
from tinycore.optimize.data import TEST_SHARE, VAL_SHARE, split_of  # the one seeded path-hash split

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
SPLIT_RULE = (f"MVTec images pooled per category, split by sha256(seed:path): test {TEST_SHARE:g}, val "
              f"{VAL_SHARE:g}, train the rest")


@dataclass(frozen=True)
class MvtecRecord:
    path: Path
    rel: str          # path relative to the root given
    label: int        # 0 good, 1 defect
    defect: str       # "good" or the defect folder's name
    category: str


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def category_dirs(root: Path) -> list[Path]:
    """The category folders of `root`: itself when it has train/ and test/, else its subfolders that do."""
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (--data-dir takes an MVTec AD category folder or the data set root)")
    if (root / "train").is_dir() or (root / "test").is_dir():
        return [root]
    cats = sorted(d for d in root.iterdir() if d.is_dir() and ((d / "train").is_dir() or (d / "test").is_dir()))
    if not cats:
        raise DataError(f"{root}: neither an MVTec AD category (train/good, test/<defect>) nor a folder of them")
    return cats


def list_records(root: str | Path) -> list[MvtecRecord]:
    """Every image of every category under root, with its label; DataError naming what is missing."""
    root = Path(root)
    records: list[MvtecRecord] = []
    for cat in category_dirs(root):
        good_train = cat / "train" / "good"
        if not good_train.is_dir() or not _images(good_train):
            raise DataError(f"{good_train}: missing or without images ({', '.join(SUFFIXES)}); an MVTec AD category "
                            f"has train/good/*.png")
        test = cat / "test"
        defects = sorted(d for d in test.iterdir() if d.is_dir() and d.name != "good") if test.is_dir() else []
        if not defects:
            raise DataError(f"{test}: no defect folders (test/<defect>/*.png); the binary task needs defective parts")
        folders = [(good_train, "good")] + ([(test / "good", "good")] if (test / "good").is_dir() else [])
        folders += [(d, d.name) for d in defects]
        for folder, defect in folders:
            files = _images(folder)
            if not files and defect != "good":
                raise DataError(f"{folder}: a defect folder without images ({', '.join(SUFFIXES)})")
            records += [MvtecRecord(f, f.relative_to(root).as_posix(), int(defect != "good"), defect, cat.name)
                        for f in files]
    return records


def read_image(path: Path, size: int) -> NDArray[np.uint8]:
    """(size, size, 3) RGB of one file; DataError naming it when it cannot be decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read the image ({e})") from None


def _cache_key(records: list[MvtecRecord], size: int, seed: int) -> str:
    h = hashlib.sha1(json.dumps([size, seed, TEST_SHARE, VAL_SHARE]).encode())
    for r in records:
        st = r.path.stat()
        h.update(f"{r.rel}|{r.label}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def load_mvtec(root: str | Path, split: str, size: int, seed: int = 0, cache_dir: str | Path | None = None,
               progress: bool = True) -> tuple[NDArray[np.uint8], NDArray[np.int64], dict]:
    """(images (N, size, size, 3) uint8, labels 0 good / 1 defect, meta) of one split of an MVTec AD tree."""
    records = list_records(root)
    picked = [r for r in records if split_of(r.rel, seed) == split]
    if not picked:
        raise DataError(f"{root}: split '{split}' got no image of {len(records)} ({SPLIT_RULE})")
    cats = sorted({r.category for r in records})
    meta = {"name": f"mvtec_ad:{','.join(cats)}", "source": str(Path(root).resolve()), "split_rule": SPLIT_RULE,
            "categories": cats, "defects": sorted({r.defect for r in picked} - {"good"}),
            "n_good": sum(1 for r in picked if not r.label), "n_defect": sum(r.label for r in picked)}
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"mvtec_{split}_{_cache_key(picked, size, seed)}.npz"
        if cache.exists():
            z = np.load(cache)
            return z["images"], z["labels"], meta
    images = np.stack([read_image(r.path, size) for r in tqdm(picked, desc=f"mvtec {split}", file=sys.stderr,
                                                               disable=not progress, leave=False)])
    labels = np.array([r.label for r in picked], np.int64)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, images=images, labels=labels)
        os.replace(tmp, cache)
    return images, labels, meta
