"""Metrics and their plots shared by the apps: classification accuracy and confusion matrix."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tinycore.plots import save_figure


def confusion_matrix(y_true: NDArray, y_pred: NDArray, n_classes: int) -> NDArray[np.int64]:
    """Rows: true class, columns: predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return cm


def classification_metrics(logits: NDArray, y_true: NDArray, classes: tuple[str, ...]) -> dict:
    pred = np.asarray(logits).argmax(axis=1)
    cm = confusion_matrix(y_true, pred, len(classes))
    per_class = {c: float(cm[i, i] / cm[i].sum()) if cm[i].sum() else float("nan") for i, c in enumerate(classes)}
    return {"accuracy": float((pred == np.asarray(y_true)).mean()), "n": int(len(pred)),
            "per_class_recall": per_class, "confusion": cm.tolist()}


def plot_confusion(cm: NDArray, classes: tuple[str, ...], path: str | Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(cm)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(classes), 0.8 + 0.5 * len(classes)))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)
