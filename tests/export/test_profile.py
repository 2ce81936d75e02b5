"""Per-op instruction profiles from the firmware (issue #19 point 3): the profiling build of the generated model
in QEMU on M4 and M7. The per-op counts plus the copies must add up to the plain build's whole-inference count
within the instrumentation's overhead, and the profiling build must not change the outputs."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.cases.random_graphs import random_graph
from tinycore.errors import BuildError, UnsupportedError
from tinycore.export.profile import RawProfile, parse_profile, per_kind, plot_op_profile, profile_on_board
from tinycore.ir.stats import graph_macs
from tinycore.memory import plan_graph

pytestmark = pytest.mark.firmware


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an500"])
def test_per_op_sum_equals_whole_inference(board, tmp_path):
    graph = random_graph(3)
    prof = profile_on_board(graph, board, keep_dir=tmp_path)
    rows = prof["per_op_instructions"]
    assert prof["outputs_match"] is True
    assert [r["index"] for r in rows] == list(range(len(graph.ops)))
    assert all(type(r["instructions"]) is int and r["instructions"] >= 0 for r in rows)
    assert sum(r["macs"] for r in rows) == graph_macs(graph) == prof["macs"]
    total = sum(r["instructions"] for r in rows) + prof["copy_instructions"]
    whole = prof["instructions_per_inference_plain"]
    assert type(whole) is int and whole > 10_000
    # the check itself: within what the counter reads added, which is small against the inference
    assert abs(whole - total) <= prof["instrumentation_instructions"] < whole // 100
    # ops with weights do the work: a conv op costs more than a pair of counter reads
    assert max(r["instructions"] for r in rows if r["macs"]) > 100 * prof["timer_overhead_instructions"]
    # the plain build has no profile code: the profiling model.c differs only under TC_PROFILE
    text = (tmp_path / "model" / "model.c").read_text()
    assert "#ifdef TC_PROFILE" in text and f"TC_OP_END(tc_profile_instructions[{len(graph.ops) - 1}])" in text
    kinds = prof["per_kind"]
    assert sum(k["instructions"] for k in kinds.values()) == sum(r["instructions"] for r in rows)
    png = plot_op_profile(rows, plan_graph(graph), tmp_path / "op_profile.png", "random 3")
    assert png.stat().st_size > 5000


def test_parse_profile_lines():
    got = parse_profile("ff00\ninstr 10\nprofile 5 20 30 100 5 7\n", 3)
    assert got == [RawProfile(5, 20, 30, (100, 5, 7))]
    with pytest.raises(BuildError, match="2 op counts, the model has 3"):
        parse_profile("profile 5 1 1 100 7\n", 3)
    with pytest.raises(BuildError, match="no `profile` line"):
        parse_profile("ff00\ninstr 10\n", 3)


def test_per_kind_sums_and_ratio():
    rows = [{"kind": "conv2d_s8", "macs": 100, "instructions": 250}, {"kind": "conv2d_s8", "macs": 100,
            "instructions": 350}, {"kind": "reshape", "macs": 0, "instructions": 0}]
    got = per_kind(rows)
    assert got["conv2d_s8"] == {"n_ops": 2, "macs": 200, "instructions": 600, "instructions_per_mac": 3.0}
    assert got["reshape"]["instructions_per_mac"] is None


def test_real_hardware_board_is_refused():
    with pytest.raises(UnsupportedError, match="emulated"):
        profile_on_board(random_graph(0), "stm32f746")


def test_validate_command_profile_json_on_a_two_output_tflite(tmp_path):
    """`validate --target mps2-an386 --profile --json`, on a TF-converter model with two outputs; the profile
    rows are the graph's ops and the host target is refused with exit status 2."""
    import json
    import subprocess
    import sys

    from tinycore.tflite import load_model

    model = Path(__file__).resolve().parents[1] / "tflite" / "fixtures" / "two_outputs.tflite"
    cmd = [sys.executable, "-m", "tinycore", "validate", str(model), "--n", "2", "--profile", "--json"]
    proc = subprocess.run([*cmd, "--target", "mps2-an386"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    prof = json.loads(proc.stdout)["profile"]
    assert [r["kind"] for r in prof["per_op_instructions"]] == [op.kind for op in load_model(model).ops]
    assert prof["outputs_match"] is True
    assert abs(prof["unaccounted_instructions"]) <= prof["instrumentation_instructions"]
    host = subprocess.run([*cmd, "--target", "host"], capture_output=True, text=True, timeout=600)
    assert host.returncode == 2 and "--profile needs an emulated board" in host.stderr
