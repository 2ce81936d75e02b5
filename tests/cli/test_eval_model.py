"""`eval --tflite FILE`: a model made elsewhere, scored on the app's features, its classes mapped by name."""
from pathlib import Path

import numpy as np
import pytest

from apps.kws.task import MLPERF_LABELS, TASK
from tests.tflite.tflm import FIXTURES
from tinycore.cli.eval_model import class_order, evaluate_model_file
from tinycore.errors import ModelFileError
from tinycore.quant import quantize_input
from tinycore.report import RunDir
from tinycore.runtime import run as run_graph
from tinycore.task import TaskData
from tinycore.tflite import load_model

KWS_REF = FIXTURES / "kws_ref_model.tflite"
APP_CLASSES = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_silence_", "_unknown_")


def _data(n: int = 24, seed: int = 0) -> TaskData:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 20, (n, 1, 49, 10)).astype(np.float32)
    x[:, :, :, 0] = rng.uniform(-250, -50, (n, 1, 49))  # c0 of log-mel MFCC is large and negative
    y = rng.integers(0, 12, n)
    split = (x, y)
    return TaskData(split, split, split, (1, 49, 10), APP_CLASSES, {"name": "synthetic"})


def test_class_order_maps_by_name():
    order = class_order(MLPERF_LABELS, APP_CLASSES, 12, KWS_REF)
    assert [MLPERF_LABELS[i] for i in order] == list(APP_CLASSES)
    assert order[0] == 9 and order[3] == 0  # yes is MLPerf's 9, down its 0


def test_class_order_errors_name_the_file():
    with pytest.raises(ModelFileError, match="kws_ref_model.tflite: 12 outputs but 11 labels"):
        class_order(MLPERF_LABELS[:11], APP_CLASSES, 12, KWS_REF)
    with pytest.raises(ModelFileError, match=r"\['down'\] are not among"):
        class_order(("dwn",) + MLPERF_LABELS[1:], APP_CLASSES, 12, KWS_REF)


def test_reference_model_predictions_in_app_order(tmp_path: Path):
    data = _data()
    metrics = evaluate_model_file(TASK, data, RunDir(tmp_path), KWS_REF)
    g = load_model(KWS_REF)
    q = quantize_input(g, data.test[0])
    mlperf_pred = np.array([int(run_graph(g, s).argmax()) for s in q])
    want = np.array([APP_CLASSES.index(MLPERF_LABELS[p]) for p in mlperf_pred])
    assert metrics["accuracy"] == pytest.approx(float((want == data.test[1]).mean()))
    cm = np.array(metrics["confusion"])
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(want, minlength=12))
    report = RunDir(tmp_path).load_report()
    assert report["model"]["input_zero_point"] == 83 and report["model"]["labels"] == list(MLPERF_LABELS)


def test_model_of_another_input_shape_is_refused(tmp_path: Path):
    with pytest.raises(ModelFileError, match="ad01_int8.tflite: does not take the app's features"):
        evaluate_model_file(TASK, _data(4), RunDir(tmp_path), FIXTURES / "ad01_int8.tflite")


def test_cli_missing_or_damaged_file_fails_fast(tmp_path: Path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    for path, text in ((tmp_path / "none.tflite", "none.tflite: no such file"), (bad, "bad.tflite")):
        p = subprocess.run([sys.executable, "-m", "apps.kws", "eval", "--tflite", str(path), "--frontend", "mlperf",
                            "--quick", "--cache-dir", str(tmp_path / "data")], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 2 and text in p.stderr
        assert p.stderr.strip().splitlines() == [p.stderr.strip()]  # one line, no traceback
        assert not (tmp_path / "data").exists()  # nothing built or loaded


def test_run_folder_remembers_its_frontend(tmp_path: Path):
    import argparse
    import json

    from tinycore.cli.app import _frontend
    from tinycore.errors import TinycoreError

    (tmp_path / "report.json").write_text(json.dumps({"dataset": {"frontend_name": "mlperf"}}))
    ns = argparse.Namespace
    assert _frontend(ns(frontend=None, run=str(tmp_path), out=None)) == "mlperf"  # firmware/eval of an MLPerf run
    assert _frontend(ns(frontend="mlperf", run=None, out=str(tmp_path))) == "mlperf"
    assert _frontend(ns(frontend="librosa", run=None, out=str(tmp_path / "new"))) == "librosa"  # no report yet
    assert _frontend(ns(frontend=None, run=None, out=None)) is None  # the app's default
    with pytest.raises(TinycoreError, match="trained with --frontend mlperf, not librosa"):
        _frontend(ns(frontend="librosa", run=str(tmp_path), out=None))
