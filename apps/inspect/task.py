"""The visual inspection Task: good / defect part at 224x224 RGB (64x64 with --quick), MobileNetV1, accuracy.

Made from apps/vww/task.py (see the README for what changed). Features are pixels / 255 in the torch layout
(N, 3, H, W), mean 0 and std 1: the int8 model's input is what tinycore.vision.frontend makes from a camera frame
with config_for_model(graph), in Python and in C (the VWW firmware runs it unchanged).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

from apps.inspect import data as builtin
from apps.inspect.mvtec import load_mvtec
from apps.vww.augment import augmented_train_loader
from apps.vww.plots import prediction_grid
from apps.vww.task import to_features, to_images  # pixels / 255 in the torch layout, and back
from tinycore.metrics import classification_metrics, plot_confusion
from tinycore.spec import mobilenet_v1
from apps.inspect.demo import add_arguments, cmd_demo
from tinycore.task import DataOptions, Task, TaskData, TrainSettings
from tinycore.train import accuracy

DESCRIPTION = """Visual inspection: a camera frame of a part -> int8 CNN -> good / defect.

The built-in set renders washers, caps, connectors, fabric and PCB patches on a conveyor line with scratches,
cracks, dents, stains, missing / extra features and misprints (apps/inspect/parts.py), split by part instance.
--data-dir reads the MVTec AD layout (a category folder or the root; apps/inspect/mvtec.py) as a binary task.
`demo` trains a MobileNetV1 alpha 1.0 as "the user's model" and fits it to an STM32F412 with tinycore.optimize.
The firmware takes RGB888 camera frames, runs the integer front end in C (tc_vision) and then the model."""

GRID_IMAGES = 48  # test images in the prediction grid
GRID_LEGEND = "frame = prediction: green defect, grey good"


def image_size(quick: bool) -> int:
    """224 (the user's MobileNetV1 input), 64 with --quick."""
    return builtin.QUICK.height if quick else builtin.FULL.height


def build_data(opts: DataOptions) -> dict:
    """Render (or reuse) the built-in set; with --data-dir, count the images of each split of the folder."""
    if opts.data_dir is not None:
        sets = {s: load_mvtec(opts.data_dir, s, image_size(opts.quick), opts.seed, opts.cache_dir, opts.progress)
                for s in opts.splits}
        return {"name": next(iter(sets.values()))[2]["name"], "root": str(opts.data_dir),
                "images_per_split": {s: len(v[1]) for s, v in sets.items()}}
    meta = builtin.build(opts.cache_dir, seed=opts.seed, quick=opts.quick, progress=opts.progress, splits=opts.splits)
    summary = {k: meta.get(k) for k in ("name", "counts", "build_seconds", "label_rule", "split_rule")}
    return {**summary, "cache_dir": str(opts.cache_dir)}


def load_data(opts: DataOptions) -> TaskData:
    """The splits opts asks for (the others empty) as features."""
    size = image_size(opts.quick)
    splits = {s: (np.zeros((0, 3, size, size), np.float32), np.zeros(0, np.int64)) for s in builtin.SPLITS}
    if opts.data_dir is not None:
        meta: dict = {}
        for s in opts.splits:
            images, labels, meta = load_mvtec(opts.data_dir, s, size, opts.seed, opts.cache_dir, opts.progress)
            splits[s] = (to_features(images), labels)
        dataset = {"name": meta.get("name"), "source": meta.get("source"), "split": meta.get("split_rule"),
                   "categories": meta.get("categories")}
    else:
        meta = builtin.build(opts.cache_dir, seed=opts.seed, quick=opts.quick, progress=opts.progress,
                             splits=opts.splits)
        sets = builtin.load(opts.cache_dir, splits=opts.splits)
        for s in opts.splits:
            splits[s] = (to_features(sets.images[s]), sets.labels[s].astype(np.int64))
        dataset = {"name": meta.get("name"), "source": meta.get("source"), "split": meta.get("split_rule"),
                   "label_rule": meta.get("label_rule"), "kinds": meta.get("kinds"), "defects": meta.get("defects"),
                   "noise": "light, blur and sensor noise rendered in (raw frames, no JPEG)"}
    dataset.update({f"n_{s}": len(splits[s][1]) for s in builtin.SPLITS})
    return TaskData(splits["train"], splits["val"], splits["test"], (3, size, size), builtin.CLASSES, dataset)


def user_alpha(quick: bool) -> float:
    """The user's MobileNetV1 width: 1.0 as in the Deeplite case, 0.25 with --quick (minutes on 2 cores)."""
    return 0.25 if quick else 1.0


def default_spec(data: TaskData):
    """The user's model of the demo: MobileNetV1 alpha 1.0 at the data's resolution (0.25 at the quick 64x64)."""
    return mobilenet_v1(user_alpha(data.input_shape[1] < builtin.FULL.height), resolution=data.input_shape[1],
                        classes=len(data.classes))


def train_settings(quick: bool) -> TrainSettings:
    """--quick: 80 epochs at batch 32. MobileNetV1 alpha 0.25 from scratch sits on the ln 2 plateau for ~25 epochs on
    this set, then learns (80 epochs: test 0.905; 15: chance; bench/inspect_fit.py, README)."""
    return TrainSettings(epochs=80 if quick else 30, lr=3e-3, batch_size=32)


def evaluate(predict, data: TaskData, split: str, run_dir: Path, tag: str) -> dict:
    """Accuracy, confusion, AUC on output[defect] - output[good]; confusion plot and a prediction grid."""
    x, y = getattr(data, split)
    out = np.asarray(predict(x), np.float64)
    metrics = classification_metrics(out, y, data.classes)
    score = out[:, 1] - out[:, 0]
    metrics["auc"] = float(roc_auc_score(y, score)) if 0 < int(y.sum()) < len(y) else None
    name = data.dataset.get("name")
    plot_confusion(np.array(metrics["confusion"]), data.classes, Path(run_dir) / f"confusion_{tag}.png",
                   f"inspect {tag} model, {split} split of {name}\naccuracy {metrics['accuracy']:.3f} on {len(y)} images")
    n = min(GRID_IMAGES, len(y))
    prediction_grid(to_images(x[:n]), y[:n], out[:n].argmax(axis=1), Path(run_dir) / f"predictions_{tag}.png",
                    legend=GRID_LEGEND)
    return metrics


def _firmware(req):
    from apps.vww.firmware_run import run_vww_firmware  # a binary image classifier's firmware: used unchanged

    return run_vww_firmware(req)


TASK = Task(
    name="inspect",
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
    default_budget=("256KB", "1MB"),  # the STM32F412 of the Deeplite case
    default_threads=2,  # 224x224 training: 1.9x faster steps than one thread on 2 idle cores
    firmware=_firmware,
    firmware_checks=("frontend_match", "outputs_match_runtime", "outputs_match_python"),
    model_labels=builtin.CLASSES,
    commands={"demo": cmd_demo},
    extra_arguments=add_arguments,
)
