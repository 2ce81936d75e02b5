"""The data `optimize` measures and trains on: an image folder or an app's built-in set, as `tinycore.task.TaskData`.

`--data DIR`: `DIR/<class>/*.png|jpg|jpeg|bmp`, classes in sorted folder order (the output index of the user's
model must follow it). Each image goes to a split by a seeded hash of its path relative to DIR: sha256 of
"<seed>:<path>" read as a number u in [0, 1): test when u < 0.2, val when u < 0.3, else train. The split depends on
the file name and the seed only, so it does not move when images are added. Pixels are RGB (or grey for a
1-channel model) scaled to [0, 1], resized to the model's input (H, W): the user's model must take that input.

`--data NAME`: the built-in set of the app `apps.NAME` through its Task's load_data (cached under
data/NAME/<quick|full>, as the app's own commands do).
"""
from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

import numpy as np

from tinycore.errors import DataError
from tinycore.task import DataOptions, TaskData, load_task_data

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
TEST_SHARE, VAL_SHARE = 0.2, 0.1


def split_of(rel_path: str, seed: int) -> str:
    """'train', 'val' or 'test' for one file, from sha256("<seed>:<rel_path>")."""
    u = int.from_bytes(hashlib.sha256(f"{seed}:{rel_path}".encode()).digest()[:8], "big") / 2.0**64
    return "test" if u < TEST_SHARE else "val" if u < TEST_SHARE + VAL_SHARE else "train"


def _read_image(path: Path, channels: int, hw: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB").resize((hw[1], hw[0]), Image.BILINEAR)
            a = np.asarray(im, dtype=np.float32) / 255.0
    except OSError as e:
        raise DataError(f"{path}: cannot read the image ({e})") from None
    return a[None] if channels == 1 else a.transpose(2, 0, 1)


def load_image_folder(root: str | Path, input_shape: tuple[int, int, int], seed: int = 0) -> TaskData:
    """TaskData of `root/<class>/<image>`; input_shape (C, H, W) is the model's."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder; --data takes an image folder <class>/*.png|jpg or an app name")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(classes) < 2:
        raise DataError(f"{root}: found {len(classes)} class folders; the layout is {root}/<class>/<image>.png|jpg "
                        f"with at least two classes")
    parts: dict[str, tuple[list, list]] = {s: ([], []) for s in ("train", "val", "test")}
    c, h, w = input_shape
    for k, name in enumerate(classes):
        files = sorted(p for p in (root / name).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"{root / name}: no images ({', '.join(IMAGE_SUFFIXES)})")
        for f in files:
            xs, ys = parts[split_of(f.relative_to(root).as_posix(), seed)]
            xs.append(_read_image(f, c, (h, w)))
            ys.append(k)
    empty = [s for s, (xs, _) in parts.items() if not xs]
    if empty:
        raise DataError(f"{root}: the {', '.join(empty)} split(s) got no image (split by hash: test 20 %, val 10 %); "
                        f"give more images per class")
    arrays = {s: (np.stack(xs).astype(np.float32), np.asarray(ys, dtype=np.int64)) for s, (xs, ys) in parts.items()}
    return TaskData(arrays["train"], arrays["val"], arrays["test"], input_shape, tuple(classes),
                    {"name": root.name, "source": str(root), "split": f"sha256(seed:path): test {TEST_SHARE:g}, "
                     f"val {VAL_SHARE:g}, train the rest; seed {seed}",
                     **{f"n_{s}": len(a[1]) for s, a in arrays.items()}})


def load_app_data(name: str, quick: bool, seed: int, progress: bool = True) -> tuple[TaskData, object]:
    """(data, task) of app `apps.<name>`'s built-in set."""
    try:
        task = importlib.import_module(f"apps.{name}.task").TASK
    except ModuleNotFoundError:
        raise DataError(f"--data {name}: neither a folder nor an app (apps/{name}/task.py)") from None
    cache = Path("data") / name / ("quick" if quick else "full")
    opts = DataOptions(cache_dir=cache, seed=seed, quick=quick, progress=progress)
    return load_task_data(task, opts, build=True), task


def load_data(spec_or_dir: str, input_shape: tuple[int, int, int], *, quick: bool, seed: int,
              progress: bool = True) -> TaskData:
    """An existing folder is an image folder; anything else names an app."""
    if Path(spec_or_dir).is_dir():
        return load_image_folder(spec_or_dir, input_shape, seed)
    data, _ = load_app_data(spec_or_dir, quick, seed, progress)
    if tuple(data.input_shape) != tuple(input_shape):
        raise DataError(f"--data {spec_or_dir}: the app's inputs are {tuple(data.input_shape)}, the model takes "
                        f"{tuple(input_shape)}")
    return data
