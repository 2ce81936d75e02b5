"""Generated models cross-compiled and run in QEMU on M3, M4 and M7: byte for byte equal to the numpy runtime.

Every case table and 20 random graphs go into ONE image per board (builds are slow, QEMU starts in ~20 ms).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.cases import ALL_CASES
from tests.cases.random_graphs import RANDOM_GRAPH_SEEDS, random_graph
from tinycore.export import generate_c, parse_output
from tinycore.export.firmware import validate_on_board
from tinycore.export.qemu import mean_instructions, run_batch
from tinycore.export.validate import random_inputs
from tinycore.memory import plan_graph
from tinycore.runtime import run

pytestmark = pytest.mark.firmware

EMULATED = ["mps2-an385", "mps2-an386", "mps2-an500", "mps3-an547"]
N_INPUTS = 2


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> list[tuple[str, object, list[np.ndarray], Path]]:
    """(label, graph, inputs, generated folder) for every case of every table and every random graph."""
    root = tmp_path_factory.mktemp("fw_cases")
    graphs = [(f"{kind}/{case.name}", case.make(seed=0)) for kind, case in ALL_CASES]
    graphs += [(f"random/{seed}", random_graph(seed)) for seed in RANDOM_GRAPH_SEEDS]
    out = []
    for k, (label, g) in enumerate(graphs):
        xs = random_inputs(g, N_INPUTS, seed=k)
        gen = generate_c(g, root / f"case{k}", test_inputs=xs)
        out.append((label, g, xs, gen.out_dir))
    return out


@pytest.mark.parametrize("board", EMULATED)
def test_every_case_and_random_graph_equals_runtime_in_qemu(board, generated, tmp_path):
    img, texts = run_batch([g[3] for g in generated], board, tmp_path / "build")
    mismatches = []
    for (label, graph, xs, _), text in zip(generated, texts):
        got = parse_output(text, n_expected=N_INPUTS, where=f"{board} {label}")
        assert len(got.instructions) == N_INPUTS and min(got.instructions) > 0, label
        for x, out in zip(xs, got.outputs):
            want = run(graph, x).reshape(-1).astype(np.int8).tobytes()
            if out != want:
                mismatches.append(label)
    assert mismatches == []
    # each case's arena symbol is exactly its planned arena, and .bss holds all of them
    planned = {f"tc_arena_{k}": plan_graph(g[1]).arena_bytes for k, g in enumerate(generated)}
    assert img.arena_symbol_bytes == planned
    assert img.bss_bytes >= sum(planned.values())
    assert img.dsp == (board != "mps2-an385")
    assert any(k.startswith("cortex_m/") for k in img.kernels) == (board != "mps2-an385")


@pytest.mark.parametrize("board", EMULATED)
def test_validate_on_board_reports_sizes_and_exact_counts(board):
    graph = random_graph(3)
    r = validate_on_board(graph, board, n=4, seed=1)
    assert r["outputs_match"] is True and r["n_checked"] == 4 and r["max_abs_diff"] == 0
    assert r["board"] == board
    assert r["arena_bytes"] == plan_graph(graph).arena_bytes == r["arena_symbol_bytes"]
    assert r["bss_bytes"] >= r["arena_bytes"]
    assert r["flash_bytes"] == r["text_bytes"] + r["data_bytes"]
    assert r["text_bytes"] > r["model_flash_bytes"] > 0
    mean = sum(r["instructions"]) / 4
    assert isinstance(r["instructions_per_inference"], int) and abs(r["instructions_per_inference"] - mean) <= 0.5
    assert min(r["instructions"]) > 1000
    # measured in QEMU (painted stack): main's frames and model_invoke's, well inside the 8 KiB reserve; the heap
    # is newlib's stdio buffer (README Memory table: 1,468 B on every model)
    assert 64 < r["stack_bytes"] < 8192 and r["heap_bytes"] == 1468
    assert r["sram_total_bytes"] == r["data_bytes"] + r["bss_bytes"] + r["stack_bytes"] + r["heap_bytes"]


def test_dsp_conv_column_is_arena_scratch_not_stack():
    """The DSP conv keeps its int16 columns in the arena: the measured stack stays below the 2 KiB a column buffer
    on the stack alone would take, and with a budget in the graph (meta arena_limit_bytes, as an app's export
    writes it) the plan, and the firmware built from it, give the conv its column."""
    from tests.cases.conv2d import CONV2D_CASES

    graph = next(c for c in CONV2D_CASES if c.kernel == 3 and c.cin >= 8).make(0)
    assert graph.ops[0].name not in plan_graph(graph).scratch  # no budget: the conv at the peak runs column-free
    graph.meta["arena_limit_bytes"] = 64 * 1024
    plan = plan_graph(graph)
    assert plan.scratch[graph.ops[0].name][1] > 0
    r = validate_on_board(graph, "mps2-an386", n=2, seed=1)
    assert r["outputs_match"] is True and r["dsp"] is True
    assert r["stack_bytes"] < 2048, r["stack_bytes"]
    assert r["arena_bytes"] >= plan.scratch[graph.ops[0].name][1]


def test_mean_instructions_is_the_rounded_integer_mean():
    assert [mean_instructions(t, 4) for t in (8, 9, 10, 11)] == [2, 2, 3, 3]  # 2.25 -> 2, 2.5 -> 3, 2.75 -> 3
    assert mean_instructions(15_564_369, 2) == 7_782_185 and type(mean_instructions(3, 1)) is int
    with pytest.raises(ValueError):
        mean_instructions(10, 0)


def test_instruction_count_is_deterministic():
    """The same inputs in two QEMU runs give the same counts: -icount makes the count exact, not a timing."""
    graph = random_graph(5)
    r1 = validate_on_board(graph, "mps2-an386", n=2, seed=7)
    r2 = validate_on_board(graph, "mps2-an386", n=2, seed=7)
    assert r1["instructions"] == r2["instructions"]


def test_validate_on_board_catches_a_wrong_output(monkeypatch):
    """If the firmware's bytes differ from the runtime, validate says so (it is not a pass by construction)."""
    graph = random_graph(1)
    real_run = run

    def off_by_one(g, x, observe=None):
        return (real_run(g, x).astype(np.int16) + 1).clip(-128, 127).astype(np.int8)

    monkeypatch.setattr("tinycore.runtime.run", off_by_one)
    r = validate_on_board(graph, "mps2-an385", n=2, seed=0)
    assert r["outputs_match"] is False and r["max_abs_diff"] >= 1


@pytest.mark.parametrize("board", EMULATED)
def test_code_estimate_covers_every_kernel_and_the_c_library(board, tmp_path):
    """The graph-level fit check counts FLASH_CODE_ESTIMATE_BYTES for code: it must cover all kernels a model
    could link (the board's own set) plus the C library estimate, with room for start-up and model code."""
    from tinycore.export.boards import get_board
    from tinycore.export.firmware import (FLASH_CODE_ESTIMATE_BYTES, LIBC_FLASH_BYTES, PORTABLE_DIR,
                                          board_include_dirs, compile_objects, select_kernel, sizes)

    b = get_board(board)
    sources = sorted({select_kernel(src, b.has_dsp) for src in PORTABLE_DIR.glob("tc_*.c")})
    objects = compile_objects([(s, tmp_path / f"{s.stem}.o", ()) for s in sources], b, board_include_dirs(b),
                              "kernel sizes")
    kernel_text = sum(sizes(o)[0] for o in objects)
    assert kernel_text + LIBC_FLASH_BYTES + 4 * 1024 <= FLASH_CODE_ESTIMATE_BYTES, kernel_text
