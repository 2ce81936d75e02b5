"""Train one candidate with the user's model as teacher, finish with QAT, quantize and score it in int8.

Distillation runs on the shared loop (`tinycore.train.fit`, KL on logits softened by a temperature, weight
`distill_weight`). Image inputs (pixels in [0, 1]) are flipped, shifted and relit per batch
(`tinycore.vision.augment`), the targets kept: without it a candidate memorises the train split (inspect full case,
R128: train loss 0.20 at val 0.85; with it val 0.89 by epoch 10, README). A candidate at a lower input resolution
sees its own resized inputs; the teacher gets them resized back to its own input size (bilinear), so both read the
same pixels. The teacher's logits are computed once per input size (teacher.py) on the unaugmented frames and carried
in the targets, for the distillation epochs and QAT alike.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tinycore.ir.graph import Graph
from tinycore.optimize.teacher import TeacherOutputs, kd_loss
from tinycore.quant import quantize, quantize_input
from tinycore.quant.qat import fake_quant_finetune
from tinycore.runtime import run as run_graph
from tinycore.spec.build import build_model
from tinycore.spec.layers import ModelSpec
from tinycore.task import TaskData
from tinycore.train import fit
from tinycore.vision.augment import augmented_loader

CALIBRATION_SAMPLES = 256
PIXEL_SLACK = 1e-3  # resizing may leave pixels a rounding error outside [0, 1]


@dataclass(frozen=True)
class DistillConfig:
    epochs: int = 10          # fine-tuning inherited weights (from scratch a MobileNet needs ~80 on the inspect set)
    lr: float = 1e-3
    batch_size: int = 64
    temperature: float = 4.0
    distill_weight: float = 0.7
    qat_epochs: int = 2
    qat_lr: float = 2e-4
    inherit: bool = True      # start each candidate from the user's weights (inherit.py), not from scratch
    augment: bool = True      # flip / shift / relight image inputs in [0, 1] per batch (other inputs: never)

    def to_dict(self) -> dict:
        return asdict(self)


def resize(x: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """(N, C, H, W) float images to (H', W') (bilinear with antialiasing when shrinking)."""
    if tuple(x.shape[-2:]) == tuple(hw):
        return x
    t = F.interpolate(torch.from_numpy(x), size=hw, mode="bilinear", align_corners=False, antialias=True)
    return t.numpy().astype(np.float32)


def data_at(data: TaskData, hw: tuple[int, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {s: (resize(x, hw), y) for s, (x, y) in (("train", data.train), ("val", data.val), ("test", data.test))}


def int8_accuracy(graph: Graph, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of the integer graph (numpy runtime) on float inputs x (N, C, H, W)."""
    if len(x) == 0:
        return float("nan")
    q = quantize_input(graph, x)
    pred = np.array([int(np.argmax(np.asarray(run_graph(graph, s)).reshape(-1))) for s in q])
    return float((pred == y).mean())


def float_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(torch.from_numpy(x[i:i + 256])) for i in range(0, len(x), 256)])
    return float((out.argmax(1).numpy() == y).mean())


def calibration(x: np.ndarray, seed: int, n: int = CALIBRATION_SAMPLES, batch: int = 64) -> list[torch.Tensor]:
    pick = np.random.default_rng(seed).choice(len(x), size=min(n, len(x)), replace=False)
    return [torch.from_numpy(x[pick[i:i + batch]]) for i in range(0, len(pick), batch)]


def augments(x: np.ndarray, cfg: DistillConfig) -> bool:
    """Whether the candidate's train inputs are augmented: images (N, C, H, W) of pixels in [0, 1] under cfg.augment."""
    return cfg.augment and x.ndim == 4 and float(x.min()) >= -PIXEL_SLACK and float(x.max()) <= 1.0 + PIXEL_SLACK


def train_data(x: torch.Tensor, targets: torch.Tensor, cfg: DistillConfig):
    """What `fit` trains on: the tensors, or a loader that augments x per batch (`augments`)."""
    return augmented_loader(x, targets, cfg.batch_size) if augments(x.numpy(), cfg) else (x, targets)


Init = Callable[[nn.Module, np.ndarray], object]  # (fresh candidate module, its train inputs) -> fills its weights


def _start(spec: ModelSpec, init: Init | None, x: np.ndarray) -> nn.Module:
    model = build_model(spec)
    if init is not None:
        init(model, x)
    return model


def proxy_accuracy(spec: ModelSpec, teacher: TeacherOutputs, data: TaskData, cfg: DistillConfig, epochs: int,
                   seed: int, init: Init | None = None) -> float:
    """Float val accuracy of `spec` after `epochs` of distillation from the teacher: the search's cheap estimate of
    how well a candidate learns the task (MACs alone say how much it computes, not what it gets right)."""
    torch.manual_seed(seed)
    _, h, w = spec.input.shape()
    d = data_at(data, (h, w))
    model = _start(spec, init, d["train"][0])
    xt, yt = (torch.from_numpy(a) for a in d["train"])
    fit(model, train_data(xt, teacher.targets(xt, yt), cfg), tuple(torch.from_numpy(a) for a in d["val"]),
        epochs=epochs, lr=cfg.lr, loss=kd_loss(cfg.distill_weight, cfg.temperature),
        batch_size=cfg.batch_size, progress=False, seed=seed)
    return float_accuracy(model, *d["val"])


def train_candidate(spec: ModelSpec, teacher: TeacherOutputs, data: TaskData, cfg: DistillConfig, out_dir: Path,
                    seed: int, progress: bool = True, init: Init | None = None) -> tuple[nn.Module, Graph, dict]:
    """(QAT float model, int8 graph, metrics {float_val, float_test, int8_val, int8_test, best_epoch, augmented})."""
    torch.manual_seed(seed)
    _, h, w = spec.input.shape()
    d = data_at(data, (h, w))
    model = _start(spec, init, d["train"][0])
    xt, yt = (torch.from_numpy(a) for a in d["train"])
    targets, loss = teacher.targets(xt, yt), kd_loss(cfg.distill_weight, cfg.temperature)
    train = train_data(xt, targets, cfg)
    res = fit(model, train, tuple(torch.from_numpy(a) for a in d["val"]),
              epochs=cfg.epochs, lr=cfg.lr, loss=loss, batch_size=cfg.batch_size, out_dir=out_dir,
              progress=progress, seed=seed)
    calib = calibration(d["train"][0], seed)
    if cfg.qat_epochs > 0:
        g = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(xt), generator=g)
        batches = [(xt[p], targets[p]) for p in (order[i:i + cfg.batch_size] for i in range(0, len(xt), cfg.batch_size))]
        model = fake_quant_finetune(model, batches, calib, epochs=cfg.qat_epochs, lr=cfg.qat_lr, loss_fn=loss)
    graph = quantize(model, calib)
    metrics = {"best_epoch": res.best_epoch, "augmented": not isinstance(train, tuple),
               "float_val": float_accuracy(model, *d["val"]), "float_test": float_accuracy(model, *d["test"]),
               "int8_val": int8_accuracy(graph, *d["val"]), "int8_test": int8_accuracy(graph, *d["test"])}
    return model, graph, metrics
