"""The Cortex-M55 board (mps3-an547, SSE-300) through the command line: `validate --target mps3-an547` on a
TF-converted probe model (conv, hard swish, squeeze-and-excitation with logistic and mul, resize, concatenation)
equals the numpy runtime byte for byte, with the DSP kernels and an exact instruction count."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tinycore.tflite import convert

pytestmark = pytest.mark.firmware

FIXTURE = Path(__file__).resolve().parents[1] / "tflite" / "fixtures" / "se_neck.tflite"


def test_validate_command_on_m55(tmp_path):
    graph_path = convert(FIXTURE, tmp_path / "m.graph")
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "tinycore", "validate", str(graph_path), "--target", "mps3-an547",
                               "--n", "3", "--json"], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout))
    r = runs[0]
    assert r["board"] == "mps3-an547" and r["outputs_match"] is True and r["n_checked"] == 3
    assert r["max_abs_diff"] == 0 and r["arena_bytes"] == r["arena_symbol_bytes"]
    assert isinstance(r["instructions_per_inference"], int) and min(r["instructions"]) > 1000
    assert runs[1]["instructions"] == r["instructions"]  # -icount: a count, not a timing
    assert r["dsp"] is True and "SSE-300 system counter" in r["instructions_method"]
