"""The anomaly-detection Task: machine sounds -> 640-value log-mel vectors -> IDNN (or the dense autoencoder) -> clip
MSE score.

Train on normal clips only (target = the input, or its standardised centre frame for the IDNN, apps.anomaly.idnn);
a clip's score is its mean reconstruction MSE; metrics are AUC and
pAUC (p = 0.1) per machine type, ID and severity, with scikit-learn baselines on the same vectors for comparison.
The data here hold every machine; apps.anomaly.machines cuts out one machine's share for its own model, and
apps.anomaly.commands runs the shared pipeline steps once per model.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from apps.anomaly.baselines import baseline_scores
from apps.anomaly.data import build_dataset
from apps.anomaly.commands import COMMANDS, add_arguments
from apps.anomaly.dcase import load_dcase
from apps.anomaly.features import STRIDE, clip_logmel, read_clips, window_vectors
from apps.anomaly.frontend import ANOMALY_FRONTEND, VECTOR_SIZE, frame_window
from apps.anomaly.scoring import (CLIP_SCORES, FALSE_ALARM_RATE, aggregate, alarm_stats, auc_table, clip_thresholds,
                                  hop_mask, machine_thresholds, plot_roc, severity_table, vector_errors)
from tinycore.audio import Manifest
from tinycore.errors import DataError
from tinycore.spec import idnn
from tinycore.task import DataOptions, Task, TaskData, TrainSettings

DESCRIPTION = """Anomalous machine sound detection (MLPerf Tiny AD / DCASE 2020 Task 2): 10 s of 16 kHz audio ->
128 log-mel bins x 5 frames = 640 values -> int8 IDNN predicting the centre frame from its neighbours (per-bin
standardisation folded into its first layer; --model dense_autoencoder: MLPerf's reference) -> clip score = mean
squared error over the whole clip, alarm at each machine ID's own threshold. One model per machine type (default;
each fine-tuned from a model pooled over every machine, --init scratch: from scratch), per machine ID (--per id)
or one pooled model (--per pooled).

The built-in set is synthesized: fan, pump, slider and valve units (3 IDs each) in reverberant rooms over factory
noise at -6..6 dB SNR, with operating-point drift, and bearing, imbalance, speed-shift, rubbing and missing-stroke
faults at slight, subtle and obvious severities. Trained on normal clips only. --data-dir reads the DCASE 2020
Task 2 / MIMII / ToyADMOS layout <machine>/{train,test}/{normal,anomaly}_id_XX_*.wav."""


def _manifest(opts: DataOptions) -> Manifest:
    """The clips of the splits opts asks for (a test-only DCASE folder has no train/ to read)."""
    if opts.data_dir is not None:
        return load_dcase(opts.data_dir, splits=opts.splits)
    m = build_dataset(opts.cache_dir, seed=opts.seed, quick=opts.quick, progress=opts.progress)
    return dataclasses.replace(m, clips=tuple(c for c in m.clips if c.split in opts.splits))


def build_data(opts: DataOptions) -> dict:
    m = _manifest(opts)
    per_machine: dict[str, dict[str, int]] = {}
    for c in m.clips:
        key = f"{c.split}/{c.label}"
        per_machine.setdefault(c.voice, {}).setdefault(key, 0)
        per_machine[c.voice][key] += 1
    return {"name": m.meta.get("name"), "root": str(m.root), "clips_per_split": m.counts(),
            "clips_per_machine_id": per_machine,
            **{k: v for k, v in m.meta.items() if k in ("split_rule", "anomaly_kinds", "severities", "build_seconds")}}


def _cache_key(m: Manifest, opts: DataOptions) -> str:
    key = json.dumps({"frontend": ANOMALY_FRONTEND.to_dict(), "layout": "whole-v1", "root": str(m.root),
                      "clips": [c.path for c in m.clips], "meta": m.meta}, sort_keys=True, default=str)
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def _split_logmel(m: Manifest, opts: DataOptions) -> dict[str, tuple[np.ndarray, np.ndarray, list]]:
    """{split: ((N, 311, 128) log-mel, (N,) valid frames, kept records)}; cached as one npz beside the data
    (float16 would lose the exactness the firmware comparison needs, so float32)."""
    cache = Path(opts.cache_dir) / f"logmel_{_cache_key(m, opts)}.npz"
    if cache.exists():
        z = np.load(cache)
        by_path = {c.path: c for c in m.clips}
        return {s: (z[f"{s}_x"], z[f"{s}_frames"], [by_path[p] for p in z[f"{s}_paths"]])
                for s in ("train", "val", "test")}
    out = {}
    for s in ("train", "val", "test"):
        if s not in opts.splits:  # not asked for: empty, so a folder without it can still be read
            out[s] = (np.zeros((0, ANOMALY_FRONTEND.num_frames, ANOMALY_FRONTEND.n_mels), np.float32),
                      np.zeros(0, np.int64), [])
            continue
        waves, kept, frames = read_clips(m, m.split(s), opts.progress)
        if not kept:
            raise DataError(f"{m.root}: no usable {s} clips (all missing, silent or short)")
        out[s] = (clip_logmel(waves), frames, kept)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **{f"{s}_x": x for s, (x, _, _) in out.items()},
             **{f"{s}_frames": f for s, (_, f, _) in out.items()},
             **{f"{s}_paths": np.array([r.path for r in recs]) for s, (_, _, recs) in out.items()})
    return out


def _clip_info(records: list, counts: list[int], frames: np.ndarray) -> dict:
    n = len(records)
    return {"clip_index": np.repeat(np.arange(n), counts), "n_clips": n,
            "labels": np.array([1 if r.label == "anomaly" else 0 for r in records], np.int64),
            "groups": [r.voice for r in records], "paths": [r.path for r in records],
            "kinds": [(r.extra or {}).get("anomaly", "") for r in records],
            "severities": [(r.extra or {}).get("severity", "") for r in records],
            "frames": np.asarray(frames, np.int64)}


def load_data(opts: DataOptions) -> TaskData:
    """Vectors (N, 640): every STRIDE-th vector of each clip's frame window (whole clip; ToyCar: MLPerf's crop),
    clip-major; targets = inputs (an autoencoder). All machines: apps.anomaly.machines selects one."""
    m = _manifest(opts)
    logmel = _split_logmel(m, opts)
    splits, clips = {}, {}
    for s, (lm, frames, recs) in logmel.items():
        vecs = [window_vectors(lm[i], frame_window(r.voice.split("/")[0]), int(frames[i]))
                for i, r in enumerate(recs)]
        x = np.concatenate(vecs) if vecs else np.zeros((0, VECTOR_SIZE), np.float32)
        splits[s] = (x, x)
        clips[s] = _clip_info(recs, [len(v) for v in vecs], frames)
    dataset = {"name": m.meta.get("name"), "source": m.meta.get("source", str(m.root)),
               "data_dir": str(Path(opts.data_dir).resolve()) if opts.data_dir is not None else None,
               "quick": opts.quick, "seed": opts.seed,
               "n_train": clips["train"]["n_clips"], "n_val": clips["val"]["n_clips"],
               "n_test": clips["test"]["n_clips"], "n_train_vectors": len(splits["train"][0]),
               "split": m.meta.get("split_rule"), "machines": sorted(set(clips["test"]["groups"])),
               "frontend": ANOMALY_FRONTEND.to_dict(), "frame_window": "whole clip (ToyCar: frames 50..249)",
               "vector_stride": STRIDE, "splits_read": list(opts.splits)}
    return TaskData(splits["train"], splits["val"], splits["test"], (VECTOR_SIZE,), (), dataset,
                    {"manifest": m, "clips": clips, "logmel": {s: lm for s, (lm, _, _) in logmel.items()}})


IDNN_SIZES = (640, 256, 128, 64, 128, 256, 128)  # the default model (README: how it was chosen)


def default_spec(data: TaskData):
    """The IDNN (apps/anomaly/idnn.py); `--model dense_autoencoder` is the MLPerf Tiny reference."""
    return idnn(IDNN_SIZES)


def train_settings(quick: bool) -> TrainSettings:
    """AdamW at 1e-3 (the settings the IDNN was compared with, README) with the shared cosine decay of
    tinycore.train.fit; the full settings stop after 20 epochs without a better validation error."""
    return TrainSettings(epochs=40, lr=1e-3, batch_size=256, weight_decay=0.0) if quick else \
        TrainSettings(epochs=80, lr=1e-3, batch_size=256, weight_decay=0.0, patience=20)


def finetune_settings() -> TrainSettings:
    """A per-machine model's training from the pooled model (`train --init pooled`): 20 epochs at 3e-4 with the
    same cosine decay, best epoch by validation error (README: chosen on the validation split)."""
    return TrainSettings(epochs=20, lr=3e-4, batch_size=256, weight_decay=0.0)


def neg_mse(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Validation metric for tinycore.train.fit (higher is better): minus the mean reconstruction MSE."""
    return -float(F.mse_loss(outputs, targets))


HOP_CHOICES = (2 * STRIDE, 4 * STRIDE)  # hops (in frames) compared with the trained one, STRIDE, on the same errors


def scores_for(predict, data: TaskData, split: str, how: str = "mean") -> np.ndarray:
    """Clip scores of one split under `predict` (float or int8)."""
    return choice_scores(predict, data, split)[how]


def choice_scores(predict, data: TaskData, split: str) -> dict[str, np.ndarray]:
    """{clip score choice: clip scores} of one split, then {"hop_<h>": mean score over every (h / STRIDE)-th
    scored vector} for the longer hops HOP_CHOICES; the model runs once."""
    x, target = getattr(data, split)  # target: x itself (autoencoder) or the standardised centre frames (IDNN)
    info = data.extra["clips"][split]
    err = vector_errors(target, predict(x))
    out = {h: aggregate(err, info["clip_index"], info["n_clips"], h) for h in CLIP_SCORES}
    for hop in HOP_CHOICES:
        keep = hop_mask(info["clip_index"], hop // STRIDE)
        out[f"hop_{hop}"] = aggregate(err[keep], info["clip_index"][keep], info["n_clips"], "mean")
    return out


def evaluate(predict, data: TaskData, split: str, run_dir: Path, tag: str) -> dict:
    """AUC/pAUC table (clip score = mean vector error), the other clip-score and hop choices' AUC, per-severity
    AUC, alarm threshold (from the normal validation clips) and rates, per-clip scores csv, ROC plot; float on
    test also runs the baselines on the same vectors. The val split gets the same table when it holds anomalous
    clips (the built-in set's val/ folder: where the choices are made); a DCASE val split (normal only) gets its
    threshold alone."""
    run_dir = Path(run_dir)
    info = data.extra["clips"][split]
    if split == "val" and not np.any(info["labels"] == 1):
        return {"auc": float("nan"), "pauc": float("nan"), **_threshold_fields(_thresholds(predict, data, tag)),
                "note": "val holds normal clips only: AUC needs anomalous clips (test split)"}
    choices = choice_scores(predict, data, split)
    scores = choices["mean"]
    thresholds = _thresholds(predict, data, tag, scores if split == "val" else None)
    thr = clip_thresholds(thresholds, info["groups"])
    table = auc_table(scores, info["labels"], info["groups"])
    result = {**table, "false_alarm_target": FALSE_ALARM_RATE, **_threshold_fields(thresholds),
              **alarm_stats(scores, info["labels"], thr),
              "clip_score_choices": _choice_tables({h: choices[h] for h in CLIP_SCORES}, info),
              "hop_choices": _choice_tables({str(STRIDE): scores, **{str(h): choices[f"hop_{h}"]
                                                                     for h in HOP_CHOICES}}, info),
              "per_severity": severity_table(scores, info["labels"], info["groups"], info["severities"]),
              "per_kind_detection": _per_kind(scores, info, thr)}
    base_scores = {}
    if tag == "float" and split == "test" and len(data.train[0]):  # fit on train vectors: none in an eval-only folder
        base_scores = baseline_scores(data.train[0], getattr(data, split)[0], info["clip_index"], info["n_clips"])
        result["baselines"] = {n: {**auc_table(s, info["labels"], info["groups"]),
                                   "per_severity": severity_table(s, info["labels"], info["groups"],
                                                                  info["severities"])}
                               for n, s in base_scores.items()}
    name = tag if split == "test" else f"{split}_{tag}"
    write_scores(run_dir / f"scores_{name}.csv", info, {**{f"score_{h}": c for h, c in choices.items()},
                                                        **{f"baseline_{n}": s for n, s in base_scores.items()}},
                 scores > thr)
    curves = {t: _select(scores, info, t) for t in sorted(table["per_type"])}
    plot_roc(curves, run_dir / f"roc_{name}.png",
             f"anomaly model {tag}, {split}: mean AUC over types {table['auc']:.3f}, pAUC {table['pauc']:.3f}")
    return result


def _choice_tables(choices: dict[str, np.ndarray], info: dict) -> dict:
    return {h: {k: v for k, v in auc_table(c, info["labels"], info["groups"]).items()
                if k in ("auc", "pauc", "per_type")} for h, c in choices.items()}


def _threshold_fields(thresholds: dict) -> dict:
    """report fields: `threshold` (the model's, over all its normal val clips; an ID without val clips of its own
    uses it) and `thresholds_per_id` (what each machine's alarm uses)."""
    return {"threshold": thresholds["model"], "thresholds_per_id": thresholds["per_id"],
            "threshold_rule": f"per machine ID: the {1 - FALSE_ALARM_RATE:.0%} quantile of its own normal validation "
                              f"clips' scores"}


def _thresholds(predict, data: TaskData, tag: str, val_scores: np.ndarray | None = None) -> dict:
    """The alarm thresholds (scoring.machine_thresholds): set on the model's own normal validation clips, per
    machine ID (their clip scores `val_scores` when already computed); an evaluation-only folder has none, so the
    ones stored at the run's own evaluation (data.extra["thresholds"][tag]) serve."""
    stored = data.extra.get("thresholds", {}).get(tag)
    if stored is not None:
        return stored
    val = data.extra["clips"]["val"]
    if not np.any(val["labels"] == 0):
        raise DataError(f"{data.dataset.get('source')}: no normal validation clips to set the {tag} alarm threshold "
                        f"on and no threshold stored by the run's own evaluation; run `eval` on the run's own data "
                        f"first")
    if val_scores is None:
        val_scores = scores_for(predict, data, "val")
    return machine_thresholds(val_scores, val["labels"], val["groups"])


def write_scores(path: Path, info: dict, columns: dict[str, np.ndarray], alarm: np.ndarray) -> None:
    """One row per clip: file, machine_id, label, anomaly, severity, score (= score_mean), alarm, then columns."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "machine_id", "label", "anomaly", "severity", "score", "alarm", *columns])
        for i, p in enumerate(info["paths"]):
            w.writerow([p, info["groups"][i], int(info["labels"][i]), info["kinds"][i], info["severities"][i],
                        f"{columns['score_mean'][i]:.9g}", int(alarm[i]), *(f"{c[i]:.9g}" for c in columns.values())])


def _select(scores: np.ndarray, info: dict, machine_type: str) -> tuple[np.ndarray, np.ndarray]:
    sel = np.array([g.split("/")[0] == machine_type for g in info["groups"]])
    return info["labels"][sel], scores[sel]


def _per_kind(scores: np.ndarray, info: dict, thr: np.ndarray) -> dict:
    """Detection rate at the clips' thresholds for each (anomaly kind, severity) of the built-in set."""
    out: dict[str, float] = {}
    for k, s in sorted({(k, s) for k, s in zip(info["kinds"], info["severities"]) if k}):
        sel = np.array([(a, b) == (k, s) for a, b in zip(info["kinds"], info["severities"])])
        out[f"{k}/{s}"] = float(np.mean(scores[sel] > thr[sel]))
    return out


def _search(*args):
    from apps.anomaly.search import app_search

    return app_search(*args)


def _firmware(req):
    from apps.anomaly.firmware_run import run_firmware

    return run_firmware(req)


TASK = Task(
    name="anomaly",
    description=DESCRIPTION,
    build_data=build_data,
    load_data=load_data,
    default_spec=default_spec,
    train_settings=train_settings,
    loss=F.mse_loss,
    metric=neg_mse,
    evaluate=evaluate,
    metric_name="auc",
    train_metric_name="neg_mse",  # fit keeps the epoch with the lowest validation reconstruction MSE
    search=_search,
    firmware=_firmware,
    extra_arguments=add_arguments,
    commands=COMMANDS,
    default_budget=("64KB", "512KB"),
)
