"""The Visual Wake Words Task: person / no person at 96x96 RGB, MobileNetV1 alpha 0.25 (MLPerf Tiny), accuracy.

Features are pixels / 255 in the torch layout (N, 3, 96, 96), mean 0 and std 1: the int8 model's input is then
what tinycore.vision.frontend makes from a camera frame with config_for_model(graph), in Python and in C.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch.nn.functional as F
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

from apps.vww import data as builtin
from apps.vww.augment import augmented_train_loader
from apps.vww.patches import COMMANDS
from apps.vww.plots import prediction_grid
from apps.vww.real_data import load_data_dir
from tinycore.metrics import classification_metrics, plot_confusion
from tinycore.spec import mobilenet_v1
from tinycore.task import DataOptions, Task, TaskData, TrainSettings
from tinycore.train import accuracy

DESCRIPTION = """Visual Wake Words: a 96x96 RGB image -> int8 CNN -> person / no person (MLPerf Tiny VWW).

The built-in data set is rendered offline (apps/vww/data.py); no scene or person is shared between splits.
--data-dir reads an MLPerf VWW folder, an EEMBC runner folder or a COCO-2014 instances JSON (apps/vww/sources.py).
The firmware takes RGB888 camera frames, runs the integer front end in C (tc_vision) and then the model."""

SIZE = 96
GRID_IMAGES = 48  # test images in the prediction grid


def build_data(opts: DataOptions) -> dict:
    """Render (or reuse) the built-in set; with --data-dir, count the images of each split of the folder."""
    if opts.data_dir is not None:
        sets = {s: load_data_dir(opts.data_dir, s, SIZE, opts.cache_dir, progress=opts.progress)
                for s in opts.splits}
        return {"name": next(iter(sets.values())).meta.get("name"), "root": str(opts.data_dir),
                "images_per_split": {s: len(v.labels) for s, v in sets.items()}}
    meta = builtin.build(opts.cache_dir, seed=opts.seed, quick=opts.quick, progress=opts.progress, splits=opts.splits)
    summary = {k: meta.get(k) for k in ("name", "counts", "build_seconds", "label_rule", "split_rule")}
    return {**summary, "cache_dir": str(opts.cache_dir)}


def to_features(images: NDArray[np.uint8]) -> NDArray[np.float32]:
    """(N, H, W, 3) uint8 RGB -> (N, 3, H, W) float pixels / 255."""
    return (np.asarray(images, np.float32) / np.float32(255.0)).transpose(0, 3, 1, 2).copy()


def to_images(features: NDArray[np.float32]) -> NDArray[np.uint8]:
    """The inverse of to_features (exact for features made by it)."""
    return np.clip(np.rint(features.transpose(0, 2, 3, 1) * 255.0), 0, 255).astype(np.uint8)


def _empty() -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    return np.zeros((0, 3, SIZE, SIZE), np.float32), np.zeros(0, np.int64)


def load_data(opts: DataOptions) -> TaskData:
    """The splits opts asks for (the others empty) as features; an evaluation-only folder (no train/val/test
    rule, e.g. MLPerf's vww01 500 + 500) gives all its images as the test split."""
    splits = {s: _empty() for s in builtin.SPLITS}
    if opts.data_dir is not None:
        meta: dict = {}
        for s in opts.splits:
            v = load_data_dir(opts.data_dir, _real_split(opts.data_dir, s), SIZE, opts.cache_dir,
                              progress=opts.progress)
            splits[s], meta = (to_features(v.images), v.labels.astype(np.int64)), v.meta
        dataset = {"name": meta.get("name"), "source": meta.get("source"), "split": meta.get("split_rule"),
                   "notices": meta.get("notices", [])}
    else:
        meta = builtin.build(opts.cache_dir, seed=opts.seed, quick=opts.quick, progress=opts.progress,
                             splits=opts.splits)
        sets = builtin.load(opts.cache_dir, splits=opts.splits)
        for s in opts.splits:
            splits[s] = (to_features(sets.images[s]), sets.labels[s].astype(np.int64))
        dataset = {"name": meta.get("name"), "source": meta.get("source"), "split": meta.get("split_rule"),
                   "label_rule": meta.get("label_rule"), "noise": "sensor noise, blur and JPEG rendered in"}
    dataset.update({f"n_{s}": len(splits[s][1]) for s in builtin.SPLITS})
    return TaskData(splits["train"], splits["val"], splits["test"], (3, SIZE, SIZE), builtin.CLASSES, dataset)


def _real_split(root: Path, split: str) -> str:
    """`split` itself, or "all" for the test split of a folder that has no split rule (evaluation only)."""
    from apps.vww.sources import ALL, find_source

    if split != "test":
        return split
    return split if find_source(root).select("test") else ALL


def default_spec(data: TaskData):
    """MobileNetV1 alpha 0.25 at 96x96, the MLPerf Tiny VWW reference (`--model mobilenet_v1_025`)."""
    return mobilenet_v1(0.25, resolution=data.input_shape[1], classes=len(data.classes))


def train_settings(quick: bool) -> TrainSettings:
    return TrainSettings(epochs=20 if quick else 40, lr=3e-3, batch_size=32)


def evaluate(predict, data: TaskData, split: str, run_dir: Path, tag: str) -> dict:
    """Accuracy, confusion, AUC on output[person] - output[non_person]; confusion plot and a prediction grid."""
    x, y = getattr(data, split)
    out = np.asarray(predict(x), np.float64)
    metrics = classification_metrics(out, y, data.classes)
    score = out[:, 1] - out[:, 0]
    metrics["auc"] = float(roc_auc_score(y, score)) if 0 < int(y.sum()) < len(y) else None
    name = data.dataset.get("name")
    plot_confusion(np.array(metrics["confusion"]), data.classes, Path(run_dir) / f"confusion_{tag}.png",
                   f"VWW {tag} model, {split} split of {name}\naccuracy {metrics['accuracy']:.3f} on {len(y)} images")
    n = min(GRID_IMAGES, len(y))
    prediction_grid(to_images(x[:n]), y[:n], out[:n].argmax(axis=1), Path(run_dir) / f"predictions_{tag}.png")
    return metrics


def _firmware(req):
    from apps.vww.firmware_run import run_vww_firmware

    return run_vww_firmware(req)


TASK = Task(
    name="vww",
    description=DESCRIPTION,
    build_data=build_data,
    load_data=load_data,
    default_spec=default_spec,
    train_settings=train_settings,
    loss=F.cross_entropy,
    metric=accuracy,
    evaluate=evaluate,
    metric_name="accuracy",
    train_loader=augmented_train_loader,
    default_budget=("64KB", "256KB"),
    firmware=_firmware,
    firmware_checks=("frontend_match", "outputs_match_runtime", "outputs_match_python"),
    model_labels=builtin.CLASSES,
    commands=COMMANDS,
)
