"""The detection skeleton end to end on a tiny rendered set: targets decode back to the true boxes (mAP 1.0 through
the integer decoder), and train (1 epoch) -> export (two int8 outputs) -> eval writes the report fields."""
import json

import numpy as np
import pytest

from apps.detection import data as builtin
from apps.detection.evaluate import Heads, evaluate_heads
from apps.detection.task import TASK, load_data
from tinycore.cli.app import main
from tinycore.runtime.fixedpoint import quantize_float_s8
from tinycore.task import DataOptions

TINY = builtin.DatasetSize(train=8, val=3, test=3, height=120, width=160, supersample=1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("det_cache")
    builtin.build(path, seed=1, size=TINY, progress=False, workers=1)
    return path


def test_targets_decode_to_true_boxes(cache, tmp_path):
    data = load_data(DataOptions(cache_dir=cache, seed=1, progress=False, splits=("val",)))
    n = len(data.classes)
    heat_q, box_q = (1 / 256, -128), (1 / 8, -128)

    def perfect(x):
        t = data.val[1].transpose(0, 2, 3, 1)
        return Heads(quantize_float_s8(t[..., :n], *heat_q), quantize_float_s8(t[..., n:n + 4], *box_q), heat_q, box_q)

    m = evaluate_heads(perfect, data, "val", tmp_path, "perfect")
    assert m["n"] == 3 and m["n_detections"] >= 3
    assert m["map50"] >= 0.95  # box sizes on a 1/8-cell grid, rescaled from 160x120 to the 320x240 input and back


def test_train_export_eval_writes_report(cache, tmp_path):
    run = tmp_path / "run"
    common = ["--cache-dir", str(cache), "--seed", "1", "--quiet"]
    assert main(TASK, ["train", *common, "--out", str(run), "--epochs", "1"]) == 0
    assert main(TASK, ["export", "--run", str(run), "--sram", "4MB", "--flash", "4MB", "--quiet"]) == 0
    assert main(TASK, ["eval", "--run", str(run), "--quiet"]) == 0
    r = json.loads((run / "report.json").read_text())
    assert r["model"]["input_hw"] == [240, 320] and r["model"]["outputs"] == ["heat", "box"]
    for tag in ("float", "int8"):
        assert 0.0 <= r["metrics"][tag]["map50"] <= 1.0 and 0.0 <= r["metrics"][tag]["map50_95"] <= 1.0
        assert (run / f"detections_{tag}.png").exists()
    assert r["memory"]["sram_peak_bytes"] > 0 and r["dataset"]["n_train"] == 8
    from tinycore.ir import load_graph

    g = load_graph(run / "model.graph")
    heat, box = (g.output_tensor(i) for i in range(2))
    assert tuple(heat.shape) == (1, 30, 40, 5) and tuple(box.shape) == (1, 30, 40, 4)
    assert (float(heat.scale[0]), int(heat.zero_point)) == (1 / 256, -128)
    # the default 256 KB budget: met only with the first stage run patch by patch from streamed input rows
    assert main(TASK, ["export", "--run", str(run), "--quiet"]) == 0
    mem = json.loads((run / "report.json").read_text())["memory"]
    assert mem["patch"] != "none" and mem["input_mode"] == "stream"
    assert mem["sram_peak_bytes"] <= 256 * 1024 < mem["sram_peak_bytes_no_patch"]
    assert main(TASK, ["export", "--run", str(run), "--sram", "64KB", "--quiet"]) == 2  # BudgetError


def test_eval_tflite_scores_the_exported_model_as_the_run_does(cache, tmp_path):
    """The run's int8 graph written as a two-output .tflite, scored with eval --tflite: the same int8 mAP as the
    run's own eval (same runtime, same decoder); its outputs written in the other order change nothing."""
    from tinycore.ir import load_graph
    from tinycore.tflite import export_tflite

    run = tmp_path / "run"
    common = ["--cache-dir", str(cache), "--seed", "1", "--quiet"]
    assert main(TASK, ["train", *common, "--out", str(run), "--epochs", "1"]) == 0
    assert main(TASK, ["export", "--run", str(run), "--sram", "4MB", "--flash", "4MB", "--quiet"]) == 0
    assert main(TASK, ["eval", "--run", str(run), *common]) == 0
    want = json.loads((run / "report.json").read_text())["metrics"]["int8"]
    g = load_graph(run / "model.graph")
    export_tflite(g, tmp_path / "det.tflite")
    g.outputs = g.outputs[::-1]
    export_tflite(g, tmp_path / "swapped.tflite")
    for name in ("det", "swapped"):
        out = tmp_path / f"eval_{name}"
        assert main(TASK, ["eval", "--tflite", str(tmp_path / f"{name}.tflite"), "--out", str(out), *common]) == 0
        got = json.loads((out / "report.json").read_text())
        assert got["metrics"]["int8"]["map50"] == want["map50"] and got["model"]["input_hw"] == [240, 320]
        assert got["metrics"]["int8"]["n_detections"] == want["n_detections"]
    g.outputs = g.outputs[:1]
    export_tflite(g, tmp_path / "one.tflite")
    assert main(TASK, ["eval", "--tflite", str(tmp_path / "one.tflite"), "--out", str(tmp_path / "e1"), *common]) != 0
