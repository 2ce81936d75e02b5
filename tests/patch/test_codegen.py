"""Patched C equals the whole-frame numpy runtime byte for byte (host, and QEMU mps2-an386); the arena the C
declares equals the planned one."""
import re
import shutil

import pytest

from tests.patch.graphs import patch_net
from tinycore.export.patch_codegen import generate_patch_c
from tinycore.memory.patch_plan import plan_patch_program
from tinycore.patch import PatchPlan, build_program
from tinycore.patch.validate import validate_patched

CASES = [  # (split names, grid, input mode)
    (("stem",), (1, 1), "frame"),
    (("res3",), (2, 2), "stream"),
    (("res7",), (3, 3), "external"),
    (("pool",), (4, 4), "frame"),
    (("dw5",), (3, 2), "stream"),
    (("res3", "pool"), (2, 4), "frame"),
    (("stem", "res7"), (4, 4), "stream"),
]


@pytest.fixture(scope="module")
def net():
    return patch_net(0)


@pytest.mark.parametrize("splits,grid,mode", CASES, ids=lambda v: str(v))
def test_host_c_equals_whole_frame(net, splits, grid, mode):
    graph, marks = net
    plan = PatchPlan(tuple(marks[s] for s in splits), *grid)
    r = validate_patched(graph, plan, "host", n=3, seed=1, input_mode=mode, sanitize=mode == "stream")
    assert r["outputs_match"] is True and r["n_checked"] == 3 and r["max_abs_diff"] == 0


def test_declared_arena_equals_planned(net, tmp_path):
    graph, marks = net
    program = build_program(graph, PatchPlan((marks["res3"], marks["pool"]), 3, 2), "stream")
    plan = plan_patch_program(program, refine=True)
    gen = generate_patch_c(graph, program, tmp_path / "m")
    header = (tmp_path / "m" / "model.h").read_text()
    assert int(re.search(r"#define MODEL_ARENA_BYTES (\d+)", header).group(1)) == plan.arena_bytes == gen.arena_bytes
    assert "void tc_read_input_rows(int32_t y0, int32_t y1, int8_t *dst);" in header
    src = (tmp_path / "m" / "model.c").read_text()
    assert src.count("tc_read_input_rows(") == 3  # one band per grid row
    assert "for (p = 0; p < 6; ++p)" in src


@pytest.mark.firmware
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
@pytest.mark.parametrize("mode", ["frame", "stream"])
def test_firmware_mps2_an386_equals_whole_frame(net, mode):
    graph, marks = net
    plan = PatchPlan((marks["res3"], marks["pool"]), 3, 2)
    r = validate_patched(graph, plan, "mps2-an386", n=2, seed=2, input_mode=mode)
    assert r["outputs_match"] is True and r["max_abs_diff"] == 0
    assert r["arena_symbol_bytes"] == r["arena_bytes"]
    # measured in QEMU as for an unpatched image: .data + .bss (arena included) + stack + heap
    assert r["sram_total_bytes"] == r["data_bytes"] + r["bss_bytes"] + r["stack_bytes"] + r["heap_bytes"]
    assert r["sram_total_bytes"] > r["arena_bytes"] and r["stack_bytes"] > 0
