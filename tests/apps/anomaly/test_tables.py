"""README tables from score files (the paired bootstrap of validation differences) and per-machine thresholds."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from apps.anomaly.commands import read_scores
from apps.anomaly.scoring import alarm_stats, clip_thresholds, machine_thresholds
from apps.anomaly.tables import bootstrap_difference, val_rows


def _scores(path: Path, split: str, shift: dict[str, float], seed: int) -> None:
    """Two IDs, 20 normal + 20 anomalous clips each; score_mean separates anomalies by 3, score_p90 not at all;
    `shift` moves one ID's scores (a machine whose normal scores sit higher)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "machine_id", "label", "anomaly", "severity", "score", "alarm", "score_mean", "score_p90"])
        for mid in ("fan/id_00", "fan/id_02"):
            for k in range(40):
                lab = int(k >= 20)
                s = rng.normal() + 3.0 * lab + shift.get(mid, 0.0)
                w.writerow([f"{split}_{mid}_{k}.wav", mid, lab, "", "", s, 0, s, rng.normal()])


def test_bootstrap_and_per_machine_thresholds(tmp_path):
    run = tmp_path / "run"
    _scores(run / "all" / "scores_val_int8.csv", "val", {"fan/id_02": 10.0}, 0)
    _scores(run / "all" / "scores_int8.csv", "test", {"fan/id_02": 10.0}, 1)
    rows = val_rows(run)
    assert len(rows) == 80
    d, lo, hi = bootstrap_difference(rows, "score_mean", rows, "score_p90", n=200)
    assert d < -0.3 and lo <= d <= hi < 0  # p90 is chance here: clearly worse than the mean
    d, lo, hi = bootstrap_difference(rows, "score_mean", rows, "score_mean", n=50)
    assert d == lo == hi == 0.0
    # one model serves both IDs; id_02's normal scores sit 10 above id_00's
    val = read_scores(run / "all" / "scores_val_int8.csv")
    test = read_scores(run / "all" / "scores_int8.csv")

    def cols(rows):
        return (np.array([float(r["score"]) for r in rows]), np.array([int(r["label"]) for r in rows]),
                [r["machine_id"] for r in rows])

    thr = machine_thresholds(*cols(val), false_alarm_rate=0.1)
    assert set(thr["per_id"]) == {"fan/id_00", "fan/id_02"}
    assert thr["per_id"]["fan/id_02"] > thr["per_id"]["fan/id_00"] + 5
    s, y, ids = cols(test)
    for mid in ("fan/id_00", "fan/id_02"):  # each ID's own threshold: its anomalies mostly alarm, its normal rarely
        k = np.array([i == mid for i in ids])
        rates = alarm_stats(s[k], y[k], clip_thresholds(thr, [i for i in ids if i == mid]))
        assert rates["detection_rate"] >= 0.8 and rates["false_alarm_rate"] <= 0.3, rates
    # one threshold for both (the model's): id_00's anomalies sit below id_02's normal clips and are missed
    one = alarm_stats(s[:40], y[:40], thr["model"])
    assert one["detection_rate"] <= 0.2, one
    assert clip_thresholds(thr, ["pump/id_00"])[0] == thr["model"]  # an ID without val clips: the model's


def test_baseline_tables_put_the_baselines_beside_the_model():
    from apps.anomaly.tables import baseline_tables

    def t(a):
        return {"per_type": {"fan": {"auc": a, "pauc": a / 2}}, "per_id": {"fan/id_00": {"auc": a, "pauc": a / 2}},
                "per_severity": {"slight": {"auc": a, "pauc": a / 2}}}

    rep = {"metrics": {"int8": t(0.9), "float": {"baselines": {"pca_reconstruction": t(0.7),
                                                               "isolation_forest": t(0.6)}}}}
    text = baseline_tables(rep)
    assert "| fan | 0.900 / 0.450 | 0.700 / 0.350 |  | 0.600 / 0.300 |" in text  # no GMM: an empty cell
    assert "| slight | 0.900 / 0.450 |" in text and "| fan/id_00 |" in text
