"""`--data-dir` for VWW: read the images a source lists, to (N, size, size, 3) uint8 RGB, cached.

Entry point: `load_data_dir(root, split, ...)` -> VwwImages (images, labels, file names, meta for report.json).
Each image goes through the integer front end's colour and resize steps (tinycore.vision.frontend: grayscale is
replicated to RGB, bilinear half-pixel resize, no aspect keep, as the MLPerf set was made), so the arrays are what
the firmware's front end would produce from the same RGB888 frame.
Bad files never stop a run half-way and never reach the cache: an unreadable or truncated file is skipped with a
notice naming it; a grayscale or palette file is converted (notice); an alpha channel is dropped (notice); an
image under MIN_SIDE_PX on a side is skipped (notice); if nothing is left, DataError. The cache file (npz under
cache_dir, key = split, size, source rules and every file's name, size and mtime) is written whole, then renamed.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from apps.vww.sources import ALL, CLASSES, ImageRecord, VwwSource, find_source
from tinycore.errors import DataError
from tinycore.progress import log
from tinycore.vision.frontend import resize_bilinear, to_colour

MIN_SIDE_PX = 8  # smaller images are skipped: upscaling 7 pixels to 96 invents the picture


@dataclass(frozen=True)
class VwwImages:
    """Decoded images of one split, in the model's input size, with their VWW labels."""
    images: NDArray[np.uint8]   # (N, size, size, 3) RGB
    labels: NDArray[np.int64]   # (N,) 0 non-person, 1 person
    names: tuple[str, ...]      # file paths relative to the source root
    meta: dict = field(default_factory=dict)  # report.json "dataset": name, source, rules, counts, notices


def decode(path: Path) -> tuple[NDArray[np.uint8] | None, str | None]:
    """(RGB888 frame or None if unusable, what was done to it): 'gray', 'alpha', 'palette' or a skip reason."""
    from PIL import Image, UnidentifiedImageError

    if path.suffix.lower() == ".bin":
        return _decode_raw(path)
    try:
        with Image.open(path) as im:
            im.load()  # decode now: a truncated JPEG fails here, not later
            mode = im.mode
            if min(im.size) < MIN_SIDE_PX:
                return None, f"tiny ({im.size[0]}x{im.size[1]} px, under {MIN_SIDE_PX} px a side)"
            if mode in ("L", "1", "F") or mode.startswith("I"):
                return to_colour(_gray8(im), "gray8", 3).astype(np.uint8), "gray"
            how = "alpha" if mode in ("RGBA", "LA", "PA") or "transparency" in im.info else \
                "palette" if mode == "P" else "cmyk" if mode == "CMYK" else None
            return np.asarray(im.convert("RGB"), dtype=np.uint8), how
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        return None, f"unreadable ({e})"


def _decode_raw(path: Path) -> tuple[NDArray[np.uint8] | None, str | None]:
    """An EEMBC runner .bin: U8C3 RGB bytes of a square image, row-major from the upper left."""
    raw = np.fromfile(path, dtype=np.uint8)
    side = math.isqrt(raw.size // 3)
    if raw.size == 0 or side * side * 3 != raw.size:
        return None, f"raw U8C3 file of {raw.size} bytes is not a square RGB image (truncated?)"
    if side < MIN_SIDE_PX:
        return None, f"tiny ({side}x{side} px, under {MIN_SIDE_PX} px a side)"
    return raw.reshape(side, side, 3), None


def _gray8(im) -> NDArray[np.uint8]:
    """8-bit gray of a gray image; 16-bit files (PIL modes I, I;16) keep their top 8 bits, as convert("L")
    would clip them to white."""
    if not im.mode.startswith("I"):
        return np.asarray(im.convert("L"), dtype=np.uint8)
    v = np.clip(np.asarray(im, dtype=np.int64), 0, 65535)
    return (v >> 8 if v.max() > 255 else v).astype(np.uint8)


MAX_LISTED = 20  # skipped files named one by one; the rest are counted


CONVERSIONS = {"gray": "grayscale, replicated to RGB", "alpha": "with alpha, alpha dropped",
               "palette": "palette, converted to RGB", "cmyk": "CMYK, converted to RGB"}


def _read_all(records: list[ImageRecord], root: Path, size: int, progress: bool):
    images, labels, names, converted, skipped = [], [], [], {}, []
    for r in tqdm(records, desc="read images", disable=not progress, leave=False, file=sys.stderr):
        rgb, how = decode(r.path) if r.path.exists() else (None, "missing")
        if rgb is None:
            skipped.append(f"{r.path}: {how}")
            continue
        if how:
            converted.setdefault(how, []).append(r.path)
        images.append(resize_bilinear(rgb.astype(np.int32), size, size).astype(np.uint8))
        labels.append(r.label)
        names.append(_rel(r.path, root))
    notices = [f"skipped {s}" for s in skipped[:MAX_LISTED]]
    if len(skipped) > MAX_LISTED:
        notices.append(f"skipped {len(skipped) - MAX_LISTED} more unusable or missing image(s)")
    notices += [f"{len(v)} image(s) {CONVERSIONS[k]} (first: {v[0]})" for k, v in converted.items()]
    return images, labels, names, notices


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def cache_key(source: VwwSource, records: list[ImageRecord], split: str, size: int) -> str:
    """Changes when any listed file is added, removed, relabelled, resplit, replaced or touched."""
    h = hashlib.sha1(json.dumps([split, size, MIN_SIDE_PX, source.meta], sort_keys=True).encode())
    for r in records:
        st = r.path.stat() if r.path.exists() else None
        h.update(f"{r.path}|{r.label}|{r.split}|{st and st.st_size}|{st and st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def eval_split(root: str | Path, trained_on: str | None = None, image_dir: str | Path | None = None,
               minival_ids: str | Path | None = None) -> str:
    """The split `eval --data-dir root` scores: "all" (every image: an evaluation-only folder such as MLPerf's
    500 + 500 vww01 set) unless the run was trained on this same source (trained_on = its report.json
    dataset.source), then "test", so no training image is scored."""
    source = find_source(root, image_dir, minival_ids)
    return "test" if trained_on is not None and str(trained_on) == source.meta["source"] else ALL


def load_data_dir(root: str | Path, split: str = ALL, size: int = 96, cache_dir: str | Path | None = None,
                  image_dir: str | Path | None = None, minival_ids: str | Path | None = None,
                  progress: bool = True, quiet: bool = False) -> VwwImages:
    """Images and labels of one split ("train", "val", "test" or "all") of an MLPerf VWW folder or a COCO-2014
    instances JSON (see apps/vww/sources.py for the label and split rules); cached under cache_dir if given."""
    if size < MIN_SIDE_PX:
        raise DataError(f"image size {size}: must be at least {MIN_SIDE_PX}")
    source = find_source(root, image_dir, minival_ids)
    records = source.select(split)
    if not records:
        raise DataError(f"{source.root}: split '{split}' holds no images ({source.meta['split_rule']})")
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"vww_real_{cache_key(source, records, split, size)}.npz"
        if cache.exists():
            z = np.load(cache, allow_pickle=False)
            meta = json.loads(str(z["meta"]))
            for n in meta["notices"]:  # the same notices as the run that filled the cache
                log(f"notice: {n}", quiet)
            return VwwImages(z["images"], z["labels"], tuple(z["names"].tolist()), meta)
    for n in source.meta.get("notices", []):
        log(f"notice: {n}", quiet)
    images, labels, names, notices = _read_all(records, source.root, size, progress)
    for n in notices:
        log(f"notice: {n}", quiet)
    if not images:
        raise DataError(f"{source.root}: none of the {len(records)} images of split '{split}' could be used "
                        f"(first: {notices[0] if notices else '?'})")
    y = np.asarray(labels, np.int64)
    meta = dict(source.meta, split=split, image_size=size, n_images=len(images),
                per_class={c: int((y == i).sum()) for i, c in enumerate(CLASSES)}, n_skipped=len(records) - len(images),
                notices=source.meta.get("notices", []) + notices)
    out = VwwImages(np.stack(images), y, tuple(names), meta)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, images=out.images, labels=out.labels, names=np.asarray(names), meta=json.dumps(meta))
        os.replace(tmp, cache)
    return out
