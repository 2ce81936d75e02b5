"""The detection firmware in QEMU (mps2-an386): frame rows -> C front end -> patch-based first stage (stream mode)
-> rest -> decode + NMS in C; outputs and the box list equal Python's on every frame."""
import json
import shutil

import pytest

from apps.detection import data as builtin
from apps.detection.firmware_run import run_detection_firmware
from apps.detection.task import TASK, load_data
from tinycore.cli.app import main
from tinycore.task import DataOptions, FirmwareRequest

TINY = builtin.DatasetSize(train=8, val=3, test=3, height=120, width=160, supersample=1)

pytestmark = [pytest.mark.firmware,
              pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                                 reason="needs qemu-system-arm and arm-none-eabi-gcc")]


def test_firmware_boxes_equal_python(tmp_path):
    cache, run = tmp_path / "cache", tmp_path / "run"
    builtin.build(cache, seed=1, size=TINY, progress=False, workers=1)
    common = ["--cache-dir", str(cache), "--seed", "1", "--quiet"]
    assert main(TASK, ["train", *common, "--out", str(run), "--epochs", "1"]) == 0
    assert main(TASK, ["export", "--run", str(run), "--quiet"]) == 0
    data = load_data(DataOptions(cache_dir=cache, seed=1, progress=False))
    # a low threshold: the barely trained head still gives many boxes, so the box lists are a real comparison
    fw = run_detection_firmware(FirmwareRequest(run, run / "model.graph", "mps2-an386", data, 2, 0, False),
                                score_threshold=0.05)
    assert fw["outputs_match_runtime"] is True and fw["boxes_match_python"] is True
    assert fw["n_checked"] == 2 and min(fw["n_boxes"]) >= 3
    mem = json.loads((run / "report.json").read_text())["memory"]
    assert fw["arena_bytes"] == mem["sram_peak_bytes"] <= 256 * 1024 and fw["input_mode"] == "stream"
    assert fw["instructions_per_inference"] > 0 and fw["decode_instructions_per_frame"] > 0
