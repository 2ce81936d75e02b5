"""Per-machine models through the CLI on a data set where one ID's normal is the other's anomaly: a pooled model
learns both sounds as normal and fails; per-ID models pass. Export / eval of a run read its --data-dir."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from apps.anomaly.machines import group_of, model_for, normal_val, select
from apps.anomaly.task import TASK
from tinycore.cli.app import main

TONES = {"00": 500.0, "02": 1500.0}  # each ID's normal tone; its anomaly is the other ID's tone


def _clip(path: Path, f_hz: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(160000) / 16000
    x = 0.1 * np.sin(2 * np.pi * f_hz * t + rng.uniform(0, 6.3)) + 0.02 * rng.standard_normal(len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x.astype(np.float32), 16000, subtype="PCM_16")


def _swapped_ids(root: Path) -> None:
    for k, (mid, f) in enumerate(TONES.items()):
        other = TONES["02" if mid == "00" else "00"]
        for i in range(6):
            _clip(root / "fan" / "train" / f"normal_id_{mid}_{i:08d}.wav", f, 100 * k + i)
        for i in range(8):
            _clip(root / "fan" / "test" / f"normal_id_{mid}_{i:08d}.wav", f, 1000 + 100 * k + i)
            _clip(root / "fan" / "test" / f"anomaly_id_{mid}_{i:08d}.wav", other, 2000 + 100 * k + i)
        for i in range(3):  # the val/ folder: normal clips stop training and set thresholds; anomalous ones choose
            _clip(root / "fan" / "val" / f"normal_id_{mid}_{i:08d}.wav", f, 3000 + 100 * k + i)
            _clip(root / "fan" / "val" / f"anomaly_id_{mid}_{i:08d}.wav", other, 4000 + 100 * k + i)


def _run(argv: list[str]) -> dict:
    assert main(TASK, argv + ["--quiet"]) == 0, argv
    return json.loads((Path(argv[argv.index("--out" if "--out" in argv else "--run") + 1]) / "report.json")
                      .read_text())


def test_per_id_passes_where_pooling_fails_and_runs_remember_their_data(tmp_path):
    data, cache = tmp_path / "swapped", tmp_path / "cache"
    _swapped_ids(data)
    auc = {}
    for per, init in (("id", "pooled"), ("id", "scratch"), ("pooled", "pooled")):  # per ID: from pooled (default)
        name = per if init == "pooled" else f"{per}_{init}"
        run = str(tmp_path / name)
        _run(["train", "--data-dir", str(data), "--cache-dir", str(cache), "--quick", "--per", per, "--init", init,
              "--epochs", "20", "--out", run])
        rep = _run(["export", "--run", run])  # no --data-dir: the run's own data calibrate the int8 graph
        assert rep["dataset"]["data_dir"] == str(data.resolve()) and rep["dataset"]["cache_dir"] == str(cache)
        want = {"fan/id_00", "fan/id_02"} if per == "id" else {"all"}
        assert set(rep["memory"]["per_machine"]) == want
        rep = _run(["eval", "--run", run])
        auc[name] = rep["metrics"]["int8"]["per_id"]
        assert rep["machines"]["init"] == ("all" if name == "id" else "scratch")
        assert set(rep["metrics"]["per_machine"]) == want
        val = rep["validation"]["int8"]  # the same tables on the val/ folder's clips, for choosing settings
        assert val["per_id"]["fan/id_00"]["n_anomaly"] == 3 and set(val["hop_choices"]) == {"2", "4", "8"}
        if per == "id":
            assert all(v["auc"] >= 0.95 for v in val["per_id"].values()), val["per_id"]
        for g, m in rep["metrics"]["per_machine"].items():  # each machine ID's alarm has its own threshold
            assert set(m["int8"]["thresholds_per_id"]) == ({g} if per == "id" else {"fan/id_00", "fan/id_02"})
    # per ID: the other ID's tone is unseen (from scratch) or not part of the ID's own standardised units (from
    # the pooled model), so every anomaly scores above every normal clip of its ID
    for name in ("id", "id_scratch"):
        assert all(v["auc"] >= 0.95 for v in auc[name].values()), (name, auc[name])
    # pooled: both tones are normal to the one model, so an ID's anomaly reconstructs as well as its normal
    assert np.mean([v["auc"] for v in auc["pooled"].values()]) <= 0.75, auc["pooled"]


def test_groups_and_model_choice():
    assert [group_of("fan/id_00", p) for p in ("type", "id", "pooled")] == ["fan", "fan/id_00", "all"]
    assert model_for("fan/id_00", ["fan", "pump"]) == "fan" and model_for("fan/id_02", ["all"]) == "all"
    assert model_for("fan", ["fan/id_00", "fan"]) == "fan"


def test_select_keeps_one_machines_clips_and_vectors():
    from tinycore.task import TaskData

    def split(n: int) -> tuple[np.ndarray, dict]:
        counts = [3 + i for i in range(n)]  # clips of different lengths
        idx = np.repeat(np.arange(n), counts)
        x = np.repeat(np.arange(n, dtype=np.float32), counts)[:, None] * np.ones((1, 640), np.float32)
        return x, {"clip_index": idx, "n_clips": n, "labels": np.arange(n) % 2, "frames": np.full(n, 311),
                   "groups": ["fan/id_00", "pump/id_00"] * (n // 2), "paths": [f"{i}.wav" for i in range(n)],
                   "kinds": [""] * n, "severities": [""] * n}

    parts = {s: split(n) for s, n in (("train", 4), ("val", 2), ("test", 6))}
    d = TaskData(*((x, x) for x, _ in parts.values()), (640,), (), {"name": "t"},
                 {"clips": {s: i for s, (_, i) in parts.items()},
                  "logmel": {s: np.arange(i["n_clips"]) for s, (_, i) in parts.items()}})
    sub = select(d, "pump")
    info = sub.extra["clips"]["test"]
    assert info["groups"] == ["pump/id_00"] * 3 and info["paths"] == ["1.wav", "3.wav", "5.wav"]
    assert info["clip_index"].tolist() == [0] * 4 + [1] * 6 + [2] * 8  # clips 1, 3, 5 hold 4, 6, 8 vectors
    assert sub.test[0][:, 0].tolist() == [1.0] * 4 + [3.0] * 6 + [5.0] * 8
    assert sub.extra["logmel"]["test"].tolist() == [1, 3, 5] and sub.dataset["n_test"] == 3
    assert sub.dataset["machine"] == "pump"
    val = normal_val(d)  # training and the threshold see the normal validation clips alone
    assert val.extra["clips"]["val"]["labels"].tolist() == [0] and val.val[0][:, 0].tolist() == [0.0] * 3
    assert val.extra["clips"]["test"]["n_clips"] == 6 and len(val.train[0]) == len(d.train[0])
