"""An evaluation-only DCASE folder (<type>/test/ without train/) is evaluated by a run trained elsewhere: only the
test split is read, the thresholds come from the run's own evaluation, and the result is kept under its own key
without touching the run's metrics."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sklearn.metrics import roc_auc_score

from apps.anomaly.dcase import load_dcase
from apps.anomaly.task import TASK
from tinycore.cli.app import main
from tinycore.errors import DataError


def _wav(path: Path, seed: int, amp: float = 0.1, tone: float = 0.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(160000) / 16000  # 10 s: a shorter clip is skipped
    x = amp * np.random.default_rng(seed).standard_normal(len(t)) + tone * np.sin(2 * np.pi * 3000 * t)
    sf.write(str(path), x.clip(-1, 0.99), 16000, subtype="PCM_16")


def _test_clips(root: Path, seed: int, n: int = 2) -> None:
    for i in range(n):
        _wav(root / "fan" / "test" / f"normal_id_00_{i:08d}.wav", seed=seed + i)
        _wav(root / "fan" / "test" / f"anomaly_id_00_{i:08d}.wav", seed=seed + 10 + i, tone=0.3)


def test_loader_reads_only_the_splits_asked_for(tmp_path):
    _test_clips(tmp_path / "dev", seed=0)  # no train/ folder
    m = load_dcase(tmp_path / "dev", splits=("test",))
    assert {c.split for c in m.clips} == {"test"} and len(m.clips) == 4
    with pytest.raises(DataError, match="train"):
        load_dcase(tmp_path / "dev")  # training needs fan/train/


@pytest.mark.slow
def test_eval_on_a_test_only_folder_keeps_its_own_key(tmp_path, capsys):
    own, other, run, cache = tmp_path / "own", tmp_path / "other", tmp_path / "run", tmp_path / "cache"
    for i in range(6):
        _wav(own / "fan" / "train" / f"normal_id_00_{i:08d}.wav", seed=100 + i)
    _test_clips(own, seed=200, n=1)
    _test_clips(other, seed=300)
    common = ["--quiet", "--out", str(run), "--cache-dir", str(cache)]
    assert main(TASK, ["train", "--data-dir", str(own), "--epochs", "1", "--per", "type", *common]) == 0
    assert main(TASK, ["export", *common]) == 0
    assert main(TASK, ["eval", "--data-dir", str(other), *common]) != 0  # no thresholds stored yet
    assert "own data first" in capsys.readouterr().err
    assert main(TASK, ["eval", "--data-dir", str(own), *common]) == 0  # naming the run's own folder: its own data
    assert "evaluations" not in json.loads((run / "report.json").read_text())
    before = json.loads((run / "report.json").read_text())["metrics"]
    assert main(TASK, ["eval", "--data-dir", str(other), *common]) == 0
    rep = json.loads((run / "report.json").read_text())
    assert rep["metrics"] == before  # the run's own figures stay
    ev = rep["evaluations"]["dcase2020_task2_layout:test"]
    assert ev["own_data"] is False and ev["dataset"]["n_test"] == 4
    assert ev["dataset"]["source"] == str(other.resolve())
    assert ev["per_machine"]["fan"]["int8"]["threshold"] == before["per_machine"]["fan"]["int8"]["threshold"]
    assert "baselines" not in ev["float"]  # no train vectors to fit them
    with open(run / "fan" / "evaluations" / "dcase2020_task2_layout_test" / "scores_int8.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and all(r["file"].startswith("fan/test/") for r in rows)
    # the gathered AUC is the one of the other folder's own scores (sklearn on the csv, not the app's table)
    auc = roc_auc_score([int(r["label"]) for r in rows], [float(r["score"]) for r in rows])
    assert ev["int8"]["per_type"]["fan"]["auc"] == pytest.approx(auc)
