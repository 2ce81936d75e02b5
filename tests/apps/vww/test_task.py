"""The VWW Task through the shared CLI on a tiny rendered set: train -> export -> eval write a report with
accuracy, AUC, memory within budget, a confusion plot and a prediction grid; eval --tflite scores a foreign model."""
import json
from pathlib import Path

import numpy as np
import pytest

from apps.vww import data
from apps.vww.__main__ import main
from apps.vww.task import TASK, to_features, to_images
from tinycore.spec import zoo_spec

from tests.apps.vww.conftest import TINY  # the tiny_set fixture is in conftest.py


def _args(tiny_set, run):
    return ["--cache-dir", str(tiny_set), "--seed", "5", "--quick", "--quiet", "--out", str(run)]


def test_features_round_trip_to_the_images(tiny_set):
    images = data.load(tiny_set, ("val",)).images["val"]
    x = to_features(images)
    assert x.shape == (8, 3, 96, 96) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    np.testing.assert_array_equal(to_images(x), images)


def test_mlperf_reference_is_in_the_zoo():
    spec = zoo_spec("mobilenet_v1_025")
    assert (spec.input.channels, spec.input.height, spec.input.width) == (3, 96, 96)
    assert spec == TASK.default_spec(type("D", (), {"input_shape": (3, 96, 96), "classes": data.CLASSES})())


@pytest.fixture(scope="module")
def trained_run(tiny_set, tmp_path_factory):
    """One epoch of the default model on 16 images, exported to int8."""
    run = tmp_path_factory.mktemp("vww_run") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(data, "QUICK", TINY)
        assert main(["train", "--epochs", "1", *_args(tiny_set, run)]) == 0
        assert main(["export", *_args(tiny_set, run)]) == 0
    return run


@pytest.mark.slow
def test_train_export_eval_through_the_shared_cli(tiny_set, trained_run, monkeypatch, capsys):
    monkeypatch.setattr(data, "QUICK", TINY)
    run = trained_run
    capsys.readouterr()
    assert main(["eval", "--json", *_args(tiny_set, run)]) == 0
    out = json.loads(capsys.readouterr().out)
    r = json.loads((run / "report.json").read_text())
    assert r["app"] == "vww" and r["dataset"]["n_test"] == 8 and r["dataset"]["name"] == "vww_rendered"
    assert r["model"]["params"] == 210850  # MobileNetV1 alpha 0.25, 96x96, 2 classes
    assert r["memory"]["sram_peak_bytes"] <= 64 * 1024 and r["memory"]["flash_bytes"] <= 256 * 1024
    for tag in ("float", "int8"):
        m = out[tag]
        assert m["n"] == 8 and 0 <= m["accuracy"] <= 1 and sum(map(sum, m["confusion"])) == 8
        assert m["auc"] is None or 0 <= m["auc"] <= 1
        for png in (f"confusion_{tag}.png", f"predictions_{tag}.png"):
            assert (run / png).stat().st_size > 1000
    assert (run / "memory.png").stat().st_size > 1000 and (run / "memory_patches.png").stat().st_size > 1000
    p = r["memory_patches"]  # patch-based inference lowers the arena of the first layers
    assert p["arena_bytes_no_patch"] == r["memory"]["sram_peak_bytes"] and p["arena_bytes"] < p["arena_bytes_no_patch"]


FIXTURE = Path("/work/shared/fixtures/tflite/vww_96_int8.tflite")


@pytest.mark.slow
@pytest.mark.skipif(not FIXTURE.exists(), reason="MLPerf VWW fixture not present")
def test_eval_tflite_scores_mlperf_model(tiny_set, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, "QUICK", TINY)
    rc = main(["eval", "--tflite", str(FIXTURE), "--split", "val", "--json", *_args(tiny_set, tmp_path / "e")])
    assert rc == 0
    m = json.loads(capsys.readouterr().out)
    assert m["n"] == 8 and m["accuracy"] >= 0.5 and m["auc"] is not None


@pytest.mark.slow
@pytest.mark.firmware
def test_firmware_frames_match_python_byte_for_byte(tiny_set, trained_run, monkeypatch, capsys):
    """RGB888 frames -> C front end -> model in QEMU: the same int8 model input and outputs as Python."""
    monkeypatch.setattr(data, "QUICK", TINY)
    capsys.readouterr()
    assert main(["firmware", "--n", "3", "--json", *_args(tiny_set, trained_run)]) == 0
    fw = json.loads(capsys.readouterr().out)
    assert fw["n_checked"] == 3 and fw["frame_format"] == "rgb888" and fw["frame_shape"] == [96, 96, 3]
    assert fw["frontend_match"] is True and fw["outputs_match_runtime"] is True and fw["outputs_match_python"]
    assert fw["instructions_per_inference"] > 1_000_000 and fw["frontend_instructions_per_frame"] > 10_000
    rows = fw["per_op_instructions"]  # the per-op profile (issue #19): integers summing to the whole inference
    assert rows and all(type(r["instructions"]) is int for r in rows)
    assert abs(fw["per_op_profile"]["unaccounted_instructions"]) <= fw["per_op_profile"]["instrumentation_instructions"]
    assert fw["arena_bytes"] == json.loads((trained_run / "report.json").read_text())["memory"]["sram_peak_bytes"]


@pytest.mark.slow
@pytest.mark.firmware
def test_firmware_takes_rgb565_frames(tiny_set, trained_run):
    """A camera in RGB565 mode: the C front end's colour step is checked against Python's too."""
    from apps.vww.firmware_run import run_vww_firmware
    from apps.vww.task import TASK as T
    from tinycore.report import RunDir
    from tinycore.task import DataOptions, FirmwareRequest

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(data, "QUICK", TINY)
        d = T.load_data(DataOptions(cache_dir=tiny_set, seed=5, quick=True, progress=False, splits=("test",)))
    req = FirmwareRequest(trained_run, RunDir(trained_run).graph_path, "mps2-an386", d, 2, 0, progress=False)
    fw = run_vww_firmware(req, fmt="rgb565")
    assert fw["frame_shape"] == [96, 96] and fw["frontend_match"] and fw["outputs_match_python"]


def test_data_dir_goes_through_the_real_data_loader(tmp_path):
    """--data-dir: an MLPerf-layout folder's splits as features, the same images load_data_dir gives."""
    from apps.vww.real_data import load_data_dir
    from apps.vww.task import load_data
    from tests.apps.vww.test_sources import _mlperf
    from tinycore.task import DataOptions

    root = _mlperf(tmp_path / "vww", n=30)
    d = load_data(DataOptions(cache_dir=tmp_path / "cache", data_dir=root, progress=False, splits=("train", "test")))
    for split in ("train", "test"):
        ref = load_data_dir(root, split, 96, progress=False)
        x, y = getattr(d, split)
        assert x.shape == (len(ref.labels), 3, 96, 96) and len(x) > 0
        np.testing.assert_array_equal(to_images(x), ref.images)
        np.testing.assert_array_equal(y, ref.labels)
    assert len(d.val[1]) == 0 and d.dataset["n_test"] == len(d.test[1]) and d.dataset["name"]
