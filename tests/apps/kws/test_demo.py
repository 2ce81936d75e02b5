"""End to end: `python -m apps.kws demo` on the built-in set with small settings (two epochs, three firmware clips)."""
import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
@pytest.mark.firmware
def test_demo_end_to_end_on_the_built_in_set(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "apps.kws", "demo", "--no-quick", "--epochs", "2", "--n", "3", "--quiet",
           "--out", str(run), "--cache-dir", str(tmp_path / "data")]
    # The full built-in set (12,740 clips) is built in the test: since the quick set has 32 extra train clips per
    # keyword and voice (36,348 clips + 31,464 clean copies, a 683 s test in a fresh-clone CI), it is the smaller
    # one. For KWS --quick changes only the set's size and the epochs (given here), so the path is the same.
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=2400)
    assert p.returncode == 0, p.stderr[-2000:]
    r = json.loads((run / "report.json").read_text())
    assert r["app"] == "kws" and r["dataset"]["n_test"] > 300
    assert r["model"]["params"] == 206276  # DS-CNN, 8 blocks of width 152, the app default (folded)
    # memory: the planned arena fits the default budget and is what the firmware declares
    assert r["memory"]["sram_peak_bytes"] <= r["budget"]["sram_bytes"] == 64 * 1024
    assert r["memory"]["flash_bytes"] <= r["budget"]["flash_bytes"] == 256 * 1024
    fw = r["firmware"]
    assert fw["outputs_match_runtime"] is True and fw["labels_match_python"] is True and fw["n_checked"] == 3
    assert fw["arena_bytes"] == r["memory"]["sram_peak_bytes"] and fw["bss_bytes"] >= fw["arena_bytes"]
    # README (Results): on the full set's 8,970 train clips one epoch gave float 53.5 %, int8 54.1 %, too near the
    # floor; two give float 68.6 %, int8 69.0 % (2026-12-06; 8 blocks of 152: 64.7 / 64.8 %, 2026-12-07); floor well
    # below, int8 within 2 points of float
    assert r["metrics"]["float"]["accuracy"] >= 0.50
    assert abs(r["metrics"]["float"]["accuracy"] - r["metrics"]["int8"]["accuracy"]) <= 0.02
    for png in ("memory.png", "confusion_float.png", "confusion_int8.png"):
        assert (run / png).stat().st_size > 1000
    assert "firmware mps2-an386: outputs match Python True" in p.stdout
