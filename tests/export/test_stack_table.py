"""The stack estimate (tinycore.export.stack): its table holds, re-measured, and the linker reserves what it says."""
from __future__ import annotations

import pytest

from tests.cases.add import ADD_CASES
from tests.cases.conv2d import CONV2D_CASES
from tests.cases.depthwise_conv2d import DEPTHWISE_CASES
from tests.cases.fully_connected import FC_CASES
from tests.cases.random_graphs import random_graph
from tinycore.errors import BudgetError, BuildError
from tinycore.export.firmware import HEAP_RESERVE_BYTES, check_graph_fits, graph_stack, validate_on_board
from tinycore.export.stack import ALIGN_BYTES, MARGIN_BYTES, estimate_stack, kernel_key, load_table, stack_usage_bytes
from tinycore.export.stack_measure import exceeding, measure_kernels, one_op_graphs

firmware = pytest.mark.firmware


def test_estimate_is_harness_plus_the_deepest_kernel_plus_margin():
    core = load_table()["cores"]["cortex-m4"]
    dw = core["kernels"]["cortex_m/tc_depthwise_conv2d_s8"]
    est = estimate_stack(["cortex_m/tc_depthwise_conv2d_s8.c", "generated/tc_add_s8.c"], "cortex-m4")
    need = core["harness"] + max(core["printf"], dw) + MARGIN_BYTES
    assert est.bytes == -(-need // ALIGN_BYTES) * ALIGN_BYTES and est.bytes % 256 == 0
    assert "cortex_m/tc_depthwise_conv2d_s8" in est.detail
    # a small model: printf is the deepest thing the harness does
    small = estimate_stack(["generated/tc_add_s8.c"], "cortex-m4", app_frame_bytes=100)
    assert small.bytes >= core["harness"] + core["printf"] + 100 + MARGIN_BYTES
    m3 = estimate_stack(["generated/tc_add_s8.c"], "cortex-m3")  # 60 + 400 + 256 -> 768, which is skipped
    assert m3.bytes == 1024
    # a kernel nobody measured counts as the core's largest entry, and the detail says so
    unknown = estimate_stack(["generated/tc_new_op_s8.c"], "cortex-m4")
    assert unknown.bytes == est.bytes and "not measured" in unknown.detail
    with pytest.raises(BuildError, match="no stack measurements for cortex-m99"):
        estimate_stack([], "cortex-m99")
    assert kernel_key("generated/tc_add_s8.c") == "portable/tc_add_s8"


def test_every_core_and_kernel_has_a_table_entry():
    from tinycore.export.boards import BOARDS

    from tinycore.export.firmware import CORTEX_M_DIR, PORTABLE_DIR

    cores = load_table()["cores"]
    assert {b.cpu for b in BOARDS.values()} <= set(cores)
    for cpu, core in cores.items():
        assert 0 < core["harness"] < 512 and 0 < core["printf"] < 1024, cpu
        # every kernel of the library measured (a new one: run `python bench/stack_table.py --write`)
        want = {f"portable/{p.stem}" for p in PORTABLE_DIR.glob("tc_*.c")}
        if cpu != "cortex-m3":
            want |= {f"cortex_m/{p.stem}" for p in CORTEX_M_DIR.glob("tc_*.c")}
        assert want <= set(core["kernels"]), (cpu, sorted(want - set(core["kernels"])))


def test_graph_fit_check_names_the_stack_estimate():
    graph = random_graph(2)
    stack = graph_stack(graph, "stm32f412")
    assert stack.bytes < 8192  # was a flat 8 KiB
    with pytest.raises(BudgetError, match=r"needs ([\d,]+) B \(planned arena 262,144 B \+ stack estimate") as e:
        check_graph_fits("stm32f412", 256 * 1024, 1000, stack=stack)
    assert f"needs {256 * 1024 + stack.bytes + HEAP_RESERVE_BYTES:,} B" in str(e.value)


def test_stack_usage_sums_static_frames_and_refuses_dynamic_ones(tmp_path):
    su = tmp_path / "a.su"
    su.write_text("main.c:10:5:main\t24\tstatic\nmain.c:20:12:run_window\t40\tstatic\n")
    assert stack_usage_bytes([su]) == 64
    su.write_text("main.c:10:5:vla\t16\tdynamic\n")
    with pytest.raises(BuildError, match="vla has a dynamic stack frame"):
        stack_usage_bytes([su])


@firmware
def test_remeasured_kernels_stay_within_their_table_entries(tmp_path):
    """The DSP depthwise kernel on every case-table path, and a few conv, FC and add cases, on the M4: a kernel
    whose stack grew since `python bench/stack_table.py --write` fails here."""
    cases = [(c.name, c.make(0)) for c in DEPTHWISE_CASES if c.name.startswith("dsp_")]
    cases += [(c.name, c.make(0)) for c in [*CONV2D_CASES[:4], *FC_CASES[:3]]]
    cases += one_op_graphs(ADD_CASES[0].make(0), "add")  # its quantize_s8 (second input) and add_s8
    measured = measure_kernels(cases, "mps2-an386", True, tmp_path)
    core = load_table()["cores"]["cortex-m4"]
    assert set(measured["kernels"]) >= {"cortex_m/tc_depthwise_conv2d_s8", "cortex_m/tc_conv2d_s8",
                                        "cortex_m/tc_fully_connected_s8", "portable/tc_add_s8"}
    assert exceeding(measured, core) == [], measured["cases"]


@firmware
def test_firmware_links_the_estimate_and_its_stack_stays_below(tmp_path):
    graph = random_graph(3)
    r = validate_on_board(graph, "mps2-an386", n=2)
    assert r["outputs_match"]
    assert r["stack_reserved_bytes"] == graph_stack(graph, "mps2-an386").bytes < 8192
    assert r["stack_bytes"] + MARGIN_BYTES <= r["stack_reserved_bytes"]
