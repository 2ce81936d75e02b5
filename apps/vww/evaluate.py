"""Score an int8 person/no-person model (a .tflite or graph file) on a split of the built-in set.

The model runs in tinycore.runtime (the integer reference). Images are quantized with the model's own input
scale and zero point (for MLPerf's VWW model, scale 1/255 and zero point -128: int8 = pixel - 128). Outputs are
read in MLPerf's label order (0 non_person, 1 person); the decision is output[1] > output[0] and the AUC ranks
images by output[1] - output[0].
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from tinycore.runtime import quantize_float_s8
from tinycore.errors import UnsupportedError
from tinycore.ir import Graph
from tinycore.runtime import run
from tinycore.tflite import load_model


def model_input(graph: Graph, images: NDArray[np.uint8]) -> NDArray[np.int8]:
    """RGB uint8 images (N, H, W, 3) -> the model's int8 input (N, h, w, c): resized (area) and, for a 1-channel
    model, converted to grey, then quantized as TFLite's QUANTIZE does on pixel / 255."""
    t = graph.input_tensor()
    if len(t.shape) != 4 or t.shape[3] not in (1, 3):
        raise UnsupportedError(f"input '{t.name}' has shape {t.shape}; an image model takes (1, H, W, 1 or 3)")
    _, h, w, c = t.shape
    out = []
    for im in images:
        if im.shape[:2] != (h, w):
            im = cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA)
        if c == 1:
            im = cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)[..., None]
        out.append(im)
    return quantize_float_s8(np.stack(out).astype(np.float32) / 255, t.scale[0], t.zero_point)


def person_scores(graph: Graph, images: NDArray[np.uint8], progress: bool = True) -> NDArray[np.int32]:
    """output[1] - output[0] per image (int8 steps): > 0 means the model says person."""
    out_t = graph.tensors[graph.outputs[0]]
    if int(np.prod(out_t.shape)) != 2:
        raise UnsupportedError(f"output '{out_t.name}' has shape {out_t.shape}; expected 2 classes "
                               "(non_person, person)")
    xs = model_input(graph, images)
    scores = np.empty(len(xs), np.int32)
    for i in tqdm(range(len(xs)), file=sys.stderr, desc="eval (int8 runtime)", disable=not progress):
        y = run(graph, xs[i:i + 1]).reshape(-1).astype(np.int32)
        scores[i] = y[1] - y[0]
    return scores


def evaluate_model(path: str | Path, images: NDArray[np.uint8], labels: NDArray, progress: bool = True) -> dict:
    """{"accuracy", "auc", "n", "ms_per_image"} of the model in `path` on these images."""
    graph = load_model(path)
    t0 = time.perf_counter()
    s = person_scores(graph, images, progress)
    y = np.asarray(labels).astype(int)
    return {"accuracy": float(np.mean((s > 0) == (y == 1))),
            "auc": float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else None,
            "recall_person": float(np.mean(s[y == 1] > 0)), "recall_non_person": float(np.mean(s[y == 0] <= 0)),
            "n": int(len(y)), "ms_per_image": round(1000 * (time.perf_counter() - t0) / max(len(y), 1), 2)}
