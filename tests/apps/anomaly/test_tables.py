"""README tables from score files: the paired bootstrap of validation differences and per-machine thresholds."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from apps.anomaly.tables import bootstrap_difference, per_machine_thresholds, val_rows


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
    rates = per_machine_thresholds(run)
    # each ID's own threshold: its anomalies (3 sd above) mostly alarm, its normal clips rarely
    for mid in ("fan/id_00", "fan/id_02"):
        assert rates[mid]["detection_rate"] >= 0.8 and rates[mid]["false_alarm_rate"] <= 0.3, rates
