"""Clip scores, AUC / pAUC per machine type and ID, the alarm threshold, and the ROC plot.

Score of a clip = mean over its scored vectors of the mean squared reconstruction error (MLPerf Tiny / DCASE
baseline). AUC and pAUC are scikit-learn's roc_auc_score(y, s) and roc_auc_score(y, s, max_fpr=0.1) (McClish
standardized, chance 0.5) computed per machine ID, then averaged per machine type; `auc` / `pauc` of a table are
the means over machine types (the DCASE evaluator averages per type the same way). The threshold is the
(1 - false_alarm_rate) quantile of the scores of normal validation clips, set per machine ID on that ID's own
clips (machine_thresholds): on normal machines the alarm fires on about that fraction of clips.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score, roc_curve

from tinycore.errors import DataError
from tinycore.plots import save_figure

PAUC_MAX_FPR = 0.1
FALSE_ALARM_RATE = 0.1
CLIP_SCORES = ("mean", "p90", "max_ma")  # how a clip's vector errors become its score; "mean" is the alarm's
MA_VECTORS = 16  # moving-average window of max_ma: 16 scored vectors at stride 2 = 32 hops, about 1 s


def vector_errors(x: NDArray, y: NDArray) -> NDArray[np.float64]:
    """mean((x - y)**2) over the 640 values of each row."""
    return np.mean((np.asarray(x, np.float64) - np.asarray(y, np.float64)) ** 2, axis=1)


def clip_scores(x: NDArray, y: NDArray, clip_index: NDArray[np.int64], n_clips: int) -> NDArray[np.float64]:
    """Mean over each clip's vectors of mean((x - y)**2) over the 640 values; x, y (N, 640), clip_index (N,)."""
    return aggregate(vector_errors(x, y), clip_index, n_clips, "mean")


def aggregate(err: NDArray, clip_index: NDArray[np.int64], n_clips: int, how: str = "mean") -> NDArray[np.float64]:
    """Clip scores from vector errors: `mean`, `p90` (90th percentile: a fault heard in a tenth of the clip) or
    `max_ma` (maximum of a MA_VECTORS moving average: one loud second)."""
    counts = np.bincount(clip_index, minlength=n_clips)
    if np.any(counts == 0):
        raise DataError(f"{int(np.sum(counts == 0))} clip(s) have no scored vectors")
    if how == "mean":
        return np.bincount(clip_index, weights=err, minlength=n_clips) / counts
    out = np.empty(n_clips)
    order = np.argsort(clip_index, kind="stable")
    for k, e in enumerate(np.split(np.asarray(err, np.float64)[order], np.cumsum(counts)[:-1])):
        if how == "p90":
            out[k] = np.percentile(e, 90)
        elif how == "max_ma":
            w = min(MA_VECTORS, len(e))
            out[k] = np.max(np.convolve(e, np.ones(w) / w, mode="valid"))
        else:
            raise DataError(f"unknown clip score {how!r}; known: {CLIP_SCORES}")
    return out


def hop_mask(clip_index: NDArray[np.int64], k: int) -> NDArray[np.bool_]:
    """Every k-th of each clip's scored vectors (from its first): scoring at a k times longer hop."""
    clip_index = np.asarray(clip_index)
    starts = np.flatnonzero(np.r_[True, clip_index[1:] != clip_index[:-1]])
    pos = np.arange(len(clip_index)) - np.repeat(starts, np.diff(np.r_[starts, len(clip_index)]))
    return pos % k == 0


def threshold_at(normal_scores: NDArray, false_alarm_rate: float = FALSE_ALARM_RATE) -> float:
    """Score above which a clip raises the alarm: the (1 - rate) quantile of normal validation scores
    (numpy 'higher' method, so at most rate * n normal clips lie strictly above it)."""
    s = np.asarray(normal_scores, np.float64)
    if len(s) == 0:
        raise DataError("no normal validation clips to set the alarm threshold on")
    if not 0.0 <= false_alarm_rate < 1.0:
        raise DataError(f"false-alarm rate {false_alarm_rate} must be in [0, 1)")
    return float(np.quantile(s, 1.0 - false_alarm_rate, method="higher"))


def machine_thresholds(scores: NDArray, labels: NDArray, groups: list[str],
                       false_alarm_rate: float = FALSE_ALARM_RATE) -> dict:
    """Alarm thresholds from validation clip scores: {"model": over all the model's normal clips, "per_id":
    {machine ID: over that ID's own normal clips}}. One sensor watches one machine, and units of one model differ
    in how loud their normal error is, so each ID's alarm is set on its own normal clips."""
    normal = np.asarray(labels) == 0
    s = np.asarray(scores, np.float64)
    ids = sorted({g for g, n in zip(groups, normal) if n})
    return {"model": threshold_at(s[normal], false_alarm_rate),
            "per_id": {i: threshold_at(s[normal & np.array([g == i for g in groups])], false_alarm_rate)
                       for i in ids}}


def clip_thresholds(thresholds: dict, groups: list[str]) -> NDArray[np.float64]:
    """Each clip's alarm threshold: its machine ID's, or the model's for an ID without normal validation clips."""
    return np.array([thresholds["per_id"].get(g, thresholds["model"]) for g in groups], np.float64)


def auc_table(scores: NDArray, labels: NDArray, groups: list[str]) -> dict:
    """{"per_id": {"fan/id_00": {auc, pauc, n_normal, n_anomaly}}, "per_type": {...}, "auc", "pauc"}.
    groups[i] = "<type>/id_XX" of clip i; IDs whose clips are all one label are left out."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, np.int64)
    per_id: dict[str, dict] = {}
    for g in sorted(set(groups)):
        sel = np.array([x == g for x in groups])
        y, s = labels[sel], scores[sel]
        if len(set(y.tolist())) < 2:
            continue
        per_id[g] = {"auc": float(roc_auc_score(y, s)), "pauc": float(roc_auc_score(y, s, max_fpr=PAUC_MAX_FPR)),
                     "n_normal": int(np.sum(y == 0)), "n_anomaly": int(np.sum(y == 1))}
    if not per_id:
        raise DataError("no machine ID has both normal and anomalous test clips: AUC is not defined")
    per_type: dict[str, dict] = {}
    for t in sorted({g.split("/")[0] for g in per_id}):
        rows = [v for g, v in per_id.items() if g.split("/")[0] == t]
        per_type[t] = {"auc": float(np.mean([r["auc"] for r in rows])),
                       "pauc": float(np.mean([r["pauc"] for r in rows]))}
    return {"auc": float(np.mean([v["auc"] for v in per_type.values()])),
            "pauc": float(np.mean([v["pauc"] for v in per_type.values()])), "per_type": per_type,
            "per_id": per_id}


def severity_table(scores: NDArray, labels: NDArray, groups: list[str], severities: list[str]) -> dict:
    """{severity: auc_table of normal clips vs that severity's anomalies} (built-in set; empty when unlabelled)."""
    out = {}
    for sev in sorted({s for s in severities if s}):
        keep = np.array([lab == 0 or s == sev for lab, s in zip(labels, severities)])
        try:
            t = auc_table(np.asarray(scores)[keep], np.asarray(labels)[keep], [g for g, k in zip(groups, keep) if k])
        except DataError:
            continue
        out[sev] = {"auc": t["auc"], "pauc": t["pauc"], "per_type": t["per_type"]}
    return out


def alarm_stats(scores: NDArray, labels: NDArray, threshold: float | NDArray) -> dict:
    """Detection rate and false-alarm rate of `score > threshold` (one, or one per clip) on labelled clips."""
    alarm = np.asarray(scores) > threshold
    labels = np.asarray(labels)
    return {"detection_rate": float(alarm[labels == 1].mean()) if (labels == 1).any()
            else float("nan"), "false_alarm_rate": float(alarm[labels == 0].mean()) if (labels == 0).any()
            else float("nan")}


def plot_roc(curves: dict[str, tuple[NDArray, NDArray]], path: str | Path, title: str) -> Path:
    """One ROC curve per entry (name -> (labels, scores)), with the pAUC region shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.axvspan(0, PAUC_MAX_FPR, color="0.92", label=f"pAUC region (FPR <= {PAUC_MAX_FPR})")
    for name, (y, s) in curves.items():
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, lw=1.4, label=f"{name} (AUC {roc_auc_score(y, s):.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("false-positive rate (normal clips flagged)")
    ax.set_ylabel("true-positive rate (anomalous clips flagged)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, path)
