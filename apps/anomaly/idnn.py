"""IDNN (interpolation DNN, Suefusa et al., ICASSP 2020) for non-stationary machines, with per-bin standardisation
folded into the int8 graph.

An autoencoder reconstructs every frame of the 5-frame vector, edges included, so an intermittent sound (a valve's
actuation, a slider's stroke) that starts or stops inside the vector is hard for it and its error on normal clips
is high. The IDNN predicts the centre frame from its two neighbours on each side; the score is the error on the
centre frame only. Both the inputs and the target are standardised per mel bin with the mean and standard deviation
of the model's own training frames (`BinStats`), so a quiet bin counts as much as a loud one.

The network trains on standardised inputs with the centre frame zeroed; `fold_standardization` then folds the
standardisation and the centre mask into the first fully connected layer (W' = W * mask / sd, b' = b - W' mu), so
the saved model and its int8 graph take the raw 640 log-mel values the front end gives: no float work on the MCU
before the network. The output stays in standardised units; the clip score compares it with the standardised
centre frame of the input, (deq(x_c) - mu) / sd (apps/anomaly/firmware/main.c does the same in double).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from apps.anomaly.frontend import ANOMALY_FRONTEND
from tinycore.errors import DataError, TinycoreError
from tinycore.spec import ModelSpec
from tinycore.task import TaskData

N_MELS = ANOMALY_FRONTEND.n_mels  # 128
FRAMES = ANOMALY_FRONTEND.frames_stacked  # 5
CENTRE = FRAMES // 2  # frame 2 of 0..4
CENTRE_SLICE = slice(CENTRE * N_MELS, (CENTRE + 1) * N_MELS)  # its values in the 640-value vector
MIN_SD = 1e-2  # dB: a constant bin must not divide by zero
STATS_FILE = "standardization.json"


@dataclasses.dataclass(frozen=True)
class BinStats:
    """Per-mel-bin mean and standard deviation (float32, N_MELS each) of a model's training frames."""
    mean: NDArray[np.float32]
    sd: NDArray[np.float32]

    @staticmethod
    def fit(vectors: NDArray) -> BinStats:
        """From (N, 640) training vectors: every frame of every vector (neighbouring vectors share frames)."""
        if len(vectors) == 0:
            raise DataError("IDNN standardisation: no training vectors to take the per-bin statistics from")
        frames = np.asarray(vectors, np.float64).reshape(-1, N_MELS)
        return BinStats(frames.mean(0).astype(np.float32), np.maximum(frames.std(0), MIN_SD).astype(np.float32))

    def save(self, run_dir: Path) -> None:
        (Path(run_dir) / STATS_FILE).write_text(json.dumps(
            {"mean": [float(v) for v in self.mean], "sd": [float(v) for v in self.sd]}))

    @staticmethod
    def load(run_dir: Path) -> BinStats:
        path = Path(run_dir) / STATS_FILE
        if not path.exists():
            raise DataError(f"{path}: missing; the IDNN model's per-bin statistics are written by `train`")
        d = json.loads(path.read_text())
        return BinStats(np.array(d["mean"], np.float32), np.array(d["sd"], np.float32))

    @property
    def inv_sd(self) -> NDArray[np.float32]:
        return (np.float32(1.0) / self.sd).astype(np.float32)


def is_idnn(spec: ModelSpec) -> bool:
    """An IDNN spec maps the 640-value vector to the 128 values of its centre frame."""
    return spec.input.features == FRAMES * N_MELS and spec.head[-1].out == N_MELS


def centre_target(x: NDArray, stats: BinStats) -> NDArray[np.float32]:
    """(N, 640) raw vectors -> (N, 128) standardised centre frames: what the IDNN predicts."""
    return ((np.asarray(x, np.float32)[:, CENTRE_SLICE] - stats.mean) * stats.inv_sd).astype(np.float32)


def standardized_inputs(x: NDArray, stats: BinStats) -> NDArray[np.float32]:
    """(N, 640) raw vectors -> standardised per bin, centre frame zeroed: what the network trains on."""
    z = (np.asarray(x, np.float32).reshape(len(x), FRAMES, N_MELS) - stats.mean) * stats.inv_sd
    z[:, CENTRE] = 0.0
    return np.ascontiguousarray(z.reshape(len(x), FRAMES * N_MELS), dtype=np.float32)


def scoring_data(data: TaskData, stats: BinStats) -> TaskData:
    """Raw vectors as inputs (the folded model's and the int8 graph's), standardised centre frames as targets."""
    return dataclasses.replace(data, **{s: (x, centre_target(x, stats)) for s in ("train", "val", "test")
                                        for x in [getattr(data, s)[0]]})


def training_data(data: TaskData, stats: BinStats) -> TaskData:
    """Standardised, centre-zeroed inputs and standardised centre targets (before the fold)."""
    return dataclasses.replace(data, **{s: (standardized_inputs(x, stats), centre_target(x, stats))
                                        for s in ("train", "val", "test") for x in [getattr(data, s)[0]]})


def _first_linear(model: torch.nn.Module) -> torch.nn.Linear:
    for m in model.modules():
        if isinstance(m, torch.nn.Linear):
            return m
    raise TinycoreError("IDNN fold: the model has no fully connected layer")


@torch.no_grad()
def fold_standardization(model: torch.nn.Module, stats: BinStats) -> torch.nn.Module:
    """In place: the first Linear takes raw vectors: W' = W * mask / sd, b' = b - W' mu (mask zeroes the centre
    frame), so model(x) == unfolded model(standardized_inputs(x)) up to float rounding."""
    fc = _first_linear(model)
    if fc.in_features != FRAMES * N_MELS:
        raise TinycoreError(f"IDNN fold: first layer takes {fc.in_features} values, expected {FRAMES * N_MELS}")
    mask = np.ones((FRAMES, N_MELS), np.float32)
    mask[CENTRE] = 0.0
    scale = torch.from_numpy((mask * stats.inv_sd).reshape(-1))
    mean = torch.from_numpy(np.tile(stats.mean, FRAMES))
    fc.weight.mul_(scale)
    fc.bias.sub_(fc.weight @ mean)
    return model


@torch.no_grad()
def unfold_standardization(model: torch.nn.Module, stats: BinStats) -> torch.nn.Module:
    """In place, the inverse of fold_standardization: the first Linear takes standardised, centre-zeroed inputs
    again (b = b' + W' mu, W = W' * sd; the centre frame's weights, which its zeroed inputs never reach, are 0), so a
    trained model can start another model's training (a per-machine model from the pooled one)."""
    fc = _first_linear(model)
    mean = torch.from_numpy(np.tile(stats.mean, FRAMES))
    fc.bias.add_(fc.weight @ mean)
    fc.weight.mul_(torch.from_numpy(np.tile(stats.sd, FRAMES)))
    return model


FOLDED_KEY = "idnn_standardization_folded"


def fold_checkpoint(run_dir: Path, model: torch.nn.Module, stats: BinStats) -> None:
    """Load the best weights of run_dir/checkpoint.pt into `model`, fold, and save them back (flagged, so that a
    second fold is refused)."""
    path = Path(run_dir) / "checkpoint.pt"
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if ckpt.get("meta", {}).get(FOLDED_KEY):
        raise TinycoreError(f"{path}: the IDNN standardisation is already folded in; train into a new --out")
    model.load_state_dict(ckpt["model"])
    fold_standardization(model, stats)
    ckpt["model"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    ckpt.pop("last_model", None)  # unfolded: resuming from it would mix the two input spaces
    ckpt.setdefault("meta", {})[FOLDED_KEY] = True
    torch.save(ckpt, path)


def is_folded(run_dir: Path) -> bool:
    path = Path(run_dir) / "checkpoint.pt"
    return path.exists() and bool(torch.load(path, map_location="cpu", weights_only=False)
                                  .get("meta", {}).get(FOLDED_KEY))
