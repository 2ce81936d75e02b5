"""The Visual Wake Words Task: person / no person at 96x96 RGB, MobileNetV1 alpha 0.25 (MLPerf Tiny), accuracy.

Features are pixels / 255 in the torch layout (N, 3, 96, 96), mean 0 and std 1: the int8 model's input is then
what tinycore.vision.frontend makes from a camera frame with config_for_model(graph), in Python and in C.
"""
from __future__ import annotations

from dataclasses import replace
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
from tinycore.former.pipeline import image_setup
from tinycore.metrics import classification_metrics, plot_confusion
from tinycore.spec import mobilenet_v1
from tinycore.errors import UnsupportedError
from tinycore.task import DataOptions, Task, TaskData, TrainSettings
from tinycore.train import accuracy
from tinycore.vision.frontend import resize_images

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


RESOLUTIONS = (64, 80, 96, 112, 128, 144, 160, 176)  # TinyNAS stage 1's R grid (MCUNet's VWW range)
WIDTHS = (0.25, 0.35, 0.5, 0.75)
PATCH_STAGES = 3  # stem + stages 0-2 (down to R/8) may run by patches: the split can pass the R/4 bottleneck


def _search_patches():
    """The joint search's patch choices: the camera streams rows into the patch stage (tc_read_input_rows, as the
    firmware does), grids up to 6 x 6, halo recomputation capped at the method's 20 % of the MACs."""
    from tinycore.nas import JointConfig

    return JointConfig(grids=(None, (2, 2), (3, 3), (4, 4), (5, 5), (6, 6)), input_mode="stream",
                       max_mac_overhead_pct=20.0)


def search_space(data: TaskData):
    """MBConv space for RGB images at R x R: a stride-2 stem, then six stages (MobileNetV2's layout, strides
    1, 2, 2, 2, 1, 2) with per-block kernel {3, 5, 7} and expand ratio {3, 4, 6} and per-stage depth; stage 1 picks
    W and R (64..176) by the MACs of the subnets that fit. The stem and first three stages (down to R/8) are the
    patch stages, their receptive field moved to the later stages (MCUNetV2's redistribution: kernel 3, at most
    2 blocks), and the search plans patches with the network (Task.search_patches, tinycore.nas.joint), so
    resolutions whose early activations exceed the SRAM budget remain reachable."""
    from tinycore.nas import Redistribution, SearchSpace, StageSpec, redistribute
    from tinycore.spec import Conv

    if data.input_shape[0] != 3:
        raise UnsupportedError(f"vww search space: RGB input needed, the data have {data.input_shape[0]} channels")
    base = SearchSpace(stages=(StageSpec(16, 1, (1,)), StageSpec(24, 2, (1, 2)), StageSpec(40, 2, (1, 2, 3)),
                               StageSpec(80, 2, (1, 2, 3)), StageSpec(96, 1, (1, 2)), StageSpec(160, 2, (1, 2))),
                       head_classes=len(data.classes), input_shape=lambda r: (3, r, r),
                       widths=WIDTHS, resolutions=RESOLUTIONS,
                       stem=Conv(16, kernel=3, stride=2, act="relu6"), dropout=0.1, name="vww_tinynas")
    return redistribute(base, Redistribution(PATCH_STAGES, patch_kernels=(3,), patch_max_depth=2,
                                             late_kernels=(3, 5, 7), late_extra_depth=0))


def data_at_shape(data: TaskData, shape: tuple[int, ...]) -> TaskData:
    """The splits at (3, H, W): each image resized from the stored one by the front end's integer bilinear rule
    (tinycore.vision.frontend.resize_images), so training sees what the firmware's front end makes of a frame.
    Above the stored 96 x 96 this interpolates (no new detail). Cached in data.extra per size."""
    c, h, w = (int(v) for v in shape)
    if c != data.input_shape[0]:
        raise UnsupportedError(f"vww: a model input of {c} channels, the data have {data.input_shape[0]}")
    cache = data.extra.setdefault("at_shape", {})
    if (h, w) not in cache:
        def at(pair):
            return to_features(resize_images(to_images(pair[0]), h, w)), pair[1]
        cache[(h, w)] = replace(data, train=at(data.train), val=at(data.val), test=at(data.test),
                                input_shape=(c, h, w), extra={},
                                dataset={**data.dataset, "input_resize": f"{data.input_shape[1]}x"
                                         f"{data.input_shape[2]} -> {h}x{w} (tinycore.vision.frontend, bilinear)"})
    return cache[(h, w)]


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
    search_space=search_space,
    data_at_shape=data_at_shape,
    search_patches=_search_patches(),
    train_loader=augmented_train_loader,
    default_budget=("64KB", "256KB"),
    firmware=_firmware,
    firmware_checks=("frontend_match", "outputs_match_runtime", "outputs_match_python"),
    # main.c + tc_vision.c beside the arena: 14 B static + 456 B stack frames (tests/apps/vww/test_firmware_ram.py)
    firmware_ram_bytes=1024,
    model_labels=builtin.CLASSES,
    commands=COMMANDS,
    former_choices=image_setup,  # `search --family former` (MCUFormer, tinycore.former.pipeline)
)
