"""Anomaly app pipeline: firmware output parser, the app search through the shared `search` command, Task report
names, and the end-to-end `demo --quick` (slow, firmware)."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from apps.anomaly.firmware_run import parse_output
from apps.anomaly.task import TASK
from tinycore.cli import search, steps
from tinycore.errors import BuildError
from tinycore.report import RunDir
from tinycore.task import TaskData, TrainSettings

REPO = Path(__file__).resolve().parents[3]


def _score_line(k: int, score: float, alarm: int) -> str:
    return f"score {k} model 123456 vectors 2 alarm {alarm} bits {struct.pack('>d', score).hex()}"


def test_parse_output_reads_clips_bytes_and_exact_scores():
    text = "\n".join(["boot", "clip 0 fe 27900000", "feat 00ff7f80", "out 0102", "feat 11", "out 22",
                      _score_line(0, 0.1234567890123, 1), "clip 1 fe 5", "feat 80", "out 7f",
                      _score_line(1, 2.5, 0), "done"])
    clips = parse_output(text, "board")
    assert len(clips) == 2
    assert clips[0]["fe"] == 27900000 and clips[0]["feat"] == [b"\x00\xff\x7f\x80", b"\x11"]
    assert clips[0]["out"] == [b"\x01\x02", b"\x22"]
    assert clips[0]["score"] == 0.1234567890123  # the double's bits travel exactly
    assert (clips[0]["model"], clips[0]["vectors"], clips[0]["alarm"]) == (123456, 2, 1)
    assert clips[1]["score"] == 2.5 and clips[1]["alarm"] == 0 and clips[1]["out"] == [b"\x7f"]


def test_parse_output_errors_name_the_board():
    with pytest.raises(BuildError, match="board-x: the firmware did not finish"):
        parse_output("clip 0 fe 1\nfeat 00\n", "board-x")
    with pytest.raises(BuildError, match="board-y: error model_invoke returned -1"):
        parse_output("clip 0 fe 1\nerror model_invoke returned -1 on clip 0 vector 3\ndone\n", "board-y")


def test_task_names_the_training_metric():
    assert TASK.metric_name == "auc" and TASK.train_metric_name == "neg_mse"
    assert steps.train_metric_name(TASK) == "neg_mse"
    assert steps.train_metric_name(dataclasses.replace(TASK, train_metric_name=None)) == "auc"


def _tiny_data(seed: int = 0, band: slice = slice(100, 200)) -> TaskData:
    """One machine ID's worth of random 640-value vectors: 6 train clips, 2 val clips, 4 test clips (2 with a
    loud band of values: anomalous), 8 vectors each."""
    rng = np.random.default_rng(seed)
    v = 8

    def clips(n: int, loud: list[int]) -> np.ndarray:
        x = rng.normal(0, 1, (n, v, 640)).astype(np.float32)
        for i in loud:
            x[i, :, band] += 4.0
        return x.reshape(-1, 640)

    def info(n: int, labels: list[int]) -> dict:
        return {"clip_index": np.repeat(np.arange(n), v), "n_clips": n, "labels": np.array(labels, np.int64),
                "frames": np.full(n, 311),
                "groups": ["fan/id_00"] * n, "paths": [f"c{i}.wav" for i in range(n)], "kinds": [""] * n,
                "severities": [""] * n}

    tr, va, te = clips(6, []), clips(2, []), clips(4, [2, 3])
    return TaskData((tr, tr), (va, va), (te, te), (640,), (), {"name": "tiny", "n_train": 6, "n_val": 2,
                                                               "n_test": 4},
                    {"clips": {"train": info(6, [0] * 6), "val": info(2, [0, 0]), "test": info(4, [0, 0, 1, 1])},
                     "logmel": {s: np.zeros((n, 1), np.float32) for s, n in (("train", 6), ("val", 2), ("test", 4))}})


def test_search_command_uses_app_search_and_exports_exact_memory(tmp_path):
    task = dataclasses.replace(TASK, train_settings=lambda quick: TrainSettings(epochs=2, lr=3e-3, batch_size=16,
                                                                                weight_decay=0.0))
    run = RunDir(tmp_path / "run")
    report = search.search_and_export(task, _tiny_data(), run, sram_bytes=16 * 1024, flash_bytes=128 * 1024,
                                      quick=True, seed=0, progress=False)
    s, mem = report["search"], report["memory"]
    assert (mem["sram_peak_bytes"], mem["flash_bytes"]) == (s["predicted_arena_bytes"], s["predicted_flash_bytes"])
    assert mem["sram_peak_bytes"] <= 16 * 1024 and mem["flash_bytes"] <= 128 * 1024
    fitting = [c for c in s["candidates"] if c["fits"]]
    assert fitting and all(c["flash_bytes"] <= 128 * 1024 for c in fitting)
    assert any(not c["fits"] for c in s["candidates"])  # the 128-wide members exceed 128 KB of Flash
    assert s["sizes"][0] == s["sizes"][-1] == 640 and report["model"]["params"] > 0
    assert "best_val_neg_mse" in s["train"] and report["train"]["best_val_neg_mse"] < 0
    # the anomalous clips add 4 standard deviations to 100 of 640 values: even 2 epochs separate them (measured
    # 1.0); with 2 + 2 test clips AUC moves in steps of 0.25, so one misordered pair (0.75) fails
    assert report["metrics"]["int8"]["auc"] == 1.0
    assert json.loads((tmp_path / "run" / "report.json").read_text())["search"]["width"] == s["width"]
    assert "arena" in search.summary_text(report)


def test_search_command_searches_the_idnn_family_per_machine(tmp_path):
    """The app's search over the IDNN family: costed torch-free, trained standardised and folded, exported with
    the searched arena and Flash."""
    from apps.anomaly.commands import search_one
    from apps.anomaly.search import members

    task = dataclasses.replace(TASK, train_settings=lambda quick: TrainSettings(epochs=3, lr=3e-3, batch_size=16,
                                                                                weight_decay=0.0))
    run = RunDir(tmp_path / "run")
    args = argparse.Namespace(sram="16KB", flash="128KB", quick=True, seed=0, epochs=None, quiet=True, model=None)
    rep = search_one(task, _tiny_data(band=slice(256, 384)), "fan/id_00", run, args, "idnn")
    s, mem = rep["search"], rep["memory"]
    assert s["family"] == "idnn" and [tuple(c["sizes"]) for c in s["candidates"]] == members("idnn")
    assert s["sizes"][0] == 640 and s["sizes"][-1] == 128 and s["predicted_flash_bytes"] <= 128 * 1024
    assert (mem["sram_smallest_bytes"], mem["flash_bytes"]) == (s["predicted_arena_bytes"], s["predicted_flash_bytes"])
    assert any(not c["fits"] for c in s["candidates"])  # the 192- and 256-wide members exceed 128 KB of Flash
    assert (run.path / "fan_id_00" / "standardization.json").exists()
    # a +4 band over the centre frame (standardised error ~16 against ~1 on normal vectors): AUC 1.0 after 3 epochs
    assert rep["metrics"]["int8"]["auc"] == 1.0


@pytest.mark.slow
@pytest.mark.firmware
def test_demo_quick_end_to_end(tmp_path):
    """data -> pooled IDNN (15 epochs) -> per-type IDNNs fine-tuned from it (15 epochs) -> int8 -> eval -> QEMU
    firmware of one machine: report fields, firmware equal to the runtime, and an AUC floor (the pooled model alone
    measured 0.904 int8 at 15 epochs; the default demo's figures are in the README), 0.85."""
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "apps.anomaly", "demo", "--quick", "--epochs", "15", "--n", "2", "--quiet",
           "--out", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1500,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads((out / "report.json").read_text())
    m, fw = r["metrics"], r["firmware"]
    # one report.json under the run: each machine's model keeps its own figures in member_report.json
    assert list(out.rglob("report.json")) == [out / "report.json"]
    assert (out / "fan" / "member_report.json").exists()
    assert set(m["int8"]["per_type"]) == {"fan", "pump", "slider", "valve"}
    assert r["machines"] == {"per": "type", "groups": ["fan", "pump", "slider", "valve"], "init": "all"}
    assert r["model"]["family"] == "idnn" and r["train"]["per_machine"]["fan"]["init"] == "all"
    assert m["int8"]["auc"] >= 0.85 and m["float"]["auc"] - m["int8"]["auc"] <= 0.02
    assert set(m["int8"]["clip_score_choices"]) == {"mean", "p90", "max_ma"}
    assert set(m["int8"]["per_severity"]) == {"slight", "subtle", "obvious"}
    assert r["train"]["per_machine"]["all"]["epochs"] == r["train"]["per_machine"]["valve"]["epochs"] == 15
    # the 640-value input and the 256-value first layer's output; the fully connected kernels need no scratch
    assert r["memory"]["sram_peak_bytes"] == 640 + 256
    assert fw["sram_total_bytes"] > fw["bss_bytes"] >= 640 + 256 + 1280
    assert fw["outputs_match_runtime"] is True and fw["scores_match"] is True and fw["n_checked"] == 2
    assert (fw["machine"], fw["model"], fw["vectors_per_clip"]) == ("fan/id_00", "fan", 154)
    # the C front end rounds float log-mel values on its own: measured 0 of 197,120 int8 features differ; a few may,
    # one step each and only on a rounding edge (tinycore.audio.compare)
    assert fw["feature_mismatch_values"] <= 10 and fw["features_within_tolerance"] is True
    assert fw["alarms_match_python"] is True and fw["threshold_machines"] == ["fan/id_00"]
    rows = fw["per_op_instructions"]  # the per-op profile (issue #19), integers, summing to the whole inference
    assert rows and all(type(r["instructions"]) is int for r in rows)
    assert abs(fw["per_op_profile"]["unaccounted_instructions"]) <= fw["per_op_profile"]["instrumentation_instructions"]
    for name in ("roc_float.png", "roc_int8.png", "scores_int8.csv", "memory.png"):
        assert (out / "fan" / name).exists(), name
