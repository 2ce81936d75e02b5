"""A decision bias for one class, chosen on validation data and folded into the classifier's last bias.

A classifier's operating point is a threshold: adding c to one class's logit trades that class's recall against
the others' (a keyword spotter that calls too many keywords `_unknown_`, or too few). The offset is picked on
the validation split only (the grid value of highest accuracy, ties to the smallest |c|, so 0 wins a tie) and
added to the bias of the model's last linear layer, before quantization: the integer graph, its C code and the
firmware stay what they were in kind, and bit-exact with each other.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tinycore.errors import TinycoreError

GRID = tuple(round(float(c), 2) for c in np.arange(-3.0, 3.0001, 0.25))


def predict_logits(model: nn.Module, x: np.ndarray, batch: int = 256) -> np.ndarray:
    """The model's outputs on float features x (eval mode, no gradients)."""
    model.eval()
    with torch.no_grad():
        return np.concatenate([model(torch.from_numpy(x[i:i + batch])).numpy() for i in range(0, len(x), batch)])


def accuracy_with_offset(logits: np.ndarray, y: np.ndarray, index: int, offset: float) -> float:
    shifted = np.array(logits, dtype=np.float64)
    shifted[:, index] += offset
    return float((shifted.argmax(axis=1) == np.asarray(y)).mean())


def choose_offset(logits: np.ndarray, y: np.ndarray, index: int, grid: tuple[float, ...] = GRID
                  ) -> tuple[float, dict[float, float]]:
    """(offset of highest accuracy, {offset: accuracy}) over grid; ties go to the smallest |offset|."""
    table = {float(c): accuracy_with_offset(logits, y, index, c) for c in grid}
    best = max(table.items(), key=lambda kv: (kv[1], -abs(kv[0])))
    return best[0], table


def last_linear(model: nn.Module) -> tuple[str, nn.Linear]:
    """(name, module) of the last nn.Linear with a bias: the classifier whose outputs are the logits."""
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear) and m.bias is not None]
    if not found:
        raise TinycoreError(f"logit offset: {type(model).__name__} has no nn.Linear with a bias to fold it into")
    return found[-1]


def fold_offset(model: nn.Module, index: int, offset: float, probe: np.ndarray | None = None) -> str:
    """Add offset to output `index` of the last linear layer's bias; returns the layer's name.

    Checked on probe inputs when given: the model's outputs must move by exactly offset in column `index` and
    stay put elsewhere (the last linear layer feeds the output directly), else TinycoreError and the model is
    restored. Without probe (reloading an offset checked when it was chosen) it is only added."""
    name, layer = last_linear(model)
    if not 0 <= index < layer.bias.numel():
        raise TinycoreError(f"logit offset: class index {index} outside layer {name!r} ({layer.bias.numel()} outputs)")
    before = None if probe is None else predict_logits(model, probe)
    old = layer.bias.detach().clone()
    with torch.no_grad():
        layer.bias[index] += offset
    if before is None:
        return name
    moved = predict_logits(model, probe) - before
    expect = np.zeros_like(moved)
    expect[:, index] = offset
    if not np.allclose(moved, expect, atol=1e-4):
        with torch.no_grad():
            layer.bias.copy_(old)
        raise TinycoreError(f"logit offset: layer {name!r} does not feed the outputs directly (an offset of "
                            f"{offset} moved them by up to {np.abs(moved - expect).max():.3g} elsewhere)")
    return name


CHECKPOINT_KEY = "logit_offset"  # in checkpoint.pt beside the (unshifted) best weights: {"index", "offset"}


def calibrate(model: nn.Module, classes: tuple[str, ...], name: str, val: tuple[np.ndarray, np.ndarray],
              test: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Choose the offset of class `name` on val and fold it into model; report.json's "logit_offset" section.

    Test accuracy with and without is reported beside (never used for the choice)."""
    if name not in classes:
        raise TinycoreError(f"logit offset: class {name!r} is not one of the task's classes {list(classes)}")
    index = classes.index(name)
    logits = predict_logits(model, val[0])
    offset, table = choose_offset(logits, val[1], index)
    section = {"class": name, "index": index, "offset": offset, "grid": [min(table), max(table), len(table)],
               "val_accuracy_without": table[0.0], "val_accuracy_with": table[offset]}
    if test is not None and len(test[0]):
        t = predict_logits(model, test[0])
        section.update(test_float_accuracy_without=accuracy_with_offset(t, test[1], index, 0.0),
                       test_float_accuracy_with=accuracy_with_offset(t, test[1], index, offset))
    section["layer"] = fold_offset(model, index, offset, val[0][:64])
    return section


def apply_recorded(model: nn.Module, checkpoint: dict) -> None:
    """Fold the offset a checkpoint records (calibrate's choice) into a model loaded from its weights."""
    rec = checkpoint.get(CHECKPOINT_KEY)
    if rec:
        fold_offset(model, int(rec["index"]), float(rec["offset"]))
