"""Boards, start-up, linker scripts, QEMU runner and instruction counter, on hand-written programs and tiny models."""
from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest

from tests.cases.build import act, const, requant, single_op, weights
from tests.cases.random_graphs import random_graph
from tinycore.errors import BudgetError, BuildError, UnsupportedError
from tinycore.export import generate_c
from tinycore.export.boards import BOARDS, get_board
from tinycore.export.firmware import (HEAP_RESERVE_BYTES, FirmwareImage, board_include_dirs, build_firmware,
                                      build_only, check_sram_total, compile_objects, emulated_twin, graph_stack,
                                      link_image,
                                      sram_section, startup_object, validate_on_board)
from tinycore.export.qemu import run_in_qemu
from tinycore.export.validate import random_inputs
from tinycore.memory import plan_graph
from tinycore.runtime import run

pytestmark = pytest.mark.firmware

EMULATED = ["mps2-an385", "mps2-an386", "mps2-an500", "mps3-an547"]
BUILD_ONLY = ["stm32f412", "stm32f746", "stm32h743"]


def build_c(source: str, board: str, tmp: Path) -> FirmwareImage:
    """A hand-written C program with the board header and start-up, linked by the board's script."""
    b = get_board(board)
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "prog.c").write_text(source)
    objs = compile_objects([startup_object(b, tmp), (tmp / "prog.c", tmp / "prog.o", ())], b,
                           board_include_dirs(b), "test program")
    return link_image(objs, b, tmp / "prog.elf", dsp=False)


SPIN = """
#include <stdio.h>
#include <stdint.h>
#include "board.h"
__attribute__((noinline)) void spin(uint32_t n) { __asm__ volatile("1: subs %0, %0, #1\\n bne 1b" : "+r"(n) :: "cc"); }
int main(void) {
    tc_board_init();
    for (uint32_t n = 1000; n <= 3000; n += 1000) {
        uint32_t c;
        TC_COUNTER_BEGIN();
        spin(n);
        TC_COUNTER_END(c);
        printf("%s %lu\\n", TC_COUNTER_LABEL, (unsigned long)c);
    }
    return 0;
}
"""


def test_board_table_equals_linker_scripts():
    for b in BOARDS.values():
        text = (b.folder / "link.ld").read_text()
        regions = {m[0]: (int(m[1], 16), int(m[2]) * {"K": 1024, "M": 1 << 20}[m[3]])
                   for m in re.findall(r"(FLASH|RAM)\s*\(\w+\)\s*:\s*ORIGIN = (0x[0-9A-Fa-f]+), LENGTH = (\d+)([KM])",
                                       text)}
        assert regions == {"FLASH": (b.flash_origin, b.flash_bytes), "RAM": (b.sram_origin, b.sram_bytes)}, b.name
        assert (b.folder / "board.h").is_file()
    assert get_board("stm32f412").sram_bytes == 256 * 1024 and get_board("stm32h743").flash_bytes == 2 << 20


def test_unknown_board_names_close_matches():
    with pytest.raises(UnsupportedError, match="mps2-an386"):
        get_board("mps2-an368")


@pytest.mark.parametrize("board", EMULATED)
def test_counter_is_exact_instruction_count(board, tmp_path):
    """Each spin iteration is 2 instructions (subs, bne): 1000 more iterations = exactly 2000 more."""
    img = build_c(SPIN, board, tmp_path)
    counts = [int(m) for m in re.findall(r"^instr (\d+)$", run_in_qemu(img.elf, board, 20), re.M)]
    assert len(counts) == 3
    assert counts[1] - counts[0] == 2000 and counts[2] - counts[1] == 2000
    assert 2000 < counts[0] < 2020  # the loop plus the call and the two timer reads


@pytest.mark.parametrize("body, status, name", [
    ('__asm__ volatile("udf #0");', 106, "UsageFault"),
    ("volatile int z = 0; printf(\"%d\\n\", 5 / z);", 106, "UsageFault"),
    ("*(volatile uint32_t *)0xE0100000u = 1;", 105, "BusFault"),
    ("return 3;", 3, None),
])
@pytest.mark.parametrize("board", ["mps2-an386", "mps3-an547"])
def test_fault_or_error_exit_is_a_failure(body, status, name, board, tmp_path):
    src = f'#include <stdio.h>\n#include <stdint.h>\n#include "board.h"\nint main(void) {{ tc_board_init(); ' \
          f'printf("started\\n"); {body} return 0; }}\n'
    img = build_c(src, board, tmp_path)
    with pytest.raises(BuildError, match=f"exit status {status}") as e:
        run_in_qemu(img.elf, board, 20)
    assert "started" in str(e.value)
    if name:
        assert f"tc_fault {name} pc=0x" in str(e.value)


@pytest.mark.parametrize("board", EMULATED)
def test_stack_overflow_hits_the_mpu_guard(board, tmp_path):
    """Recursion that outgrows the stack reserve faults on the 256-byte MPU guard below the stack (MemManage),
    instead of running on through the heap and the model arena. The Cortex-M55 (ARMv8-M) stops at its stack
    limit register set at the guard's top: a UsageFault (STKOF), reported as a stack overflow too."""
    src = '#include <stdint.h>\n#include "board.h"\n' \
          "__attribute__((noinline)) int deep(volatile int n) { volatile int pad[64]; " \
          "for (int i = 0; i < 64; i++) pad[i] = n; return deep(n + 1) + pad[3]; }\n" \
          "int main(void) { tc_board_init(); return deep(0); }\n"
    img = build_c(src, board, tmp_path)
    status, name, top = (106, "UsageFault", "0x213f") if board == "mps3-an547" else (104, "MemManage", "0x203f")
    with pytest.raises(BuildError, match=f"exit status {status} .*tc_fault {name} stack overflow sp={top}"):
        run_in_qemu(img.elf, board, 10)


def test_hang_is_reported_as_hang(tmp_path):
    img = build_c('#include "board.h"\nint main(void) { tc_board_init(); for (;;) { } }\n', "mps2-an385", tmp_path)
    with pytest.raises(BuildError, match="hang on mps2-an385: no exit after 2 s"):
        run_in_qemu(img.elf, "mps2-an385", timeout_s=2)


@pytest.mark.parametrize("decl, region", [
    ("static uint8_t big[300 * 1024]; int main(void) { big[7] = 1; return big[100]; }", "RAM overflow"),
    ("const uint8_t big[1100 * 1024] = {1}; int main(void) { return big[(uintptr_t)&big & 7]; }", "FLASH"),
])
def test_linker_script_bounds_each_region(decl, region, tmp_path):
    """The backstop without any fit check: stm32f412 has 256 KB SRAM and 1 MB Flash."""
    with pytest.raises(BuildError, match=region):
        build_c(f'#include <stdint.h>\n#include "board.h"\n{decl}\n', "stm32f412", tmp_path)


def big_activation_graph() -> object:
    """1x1 conv on a 128x128x16 map: ~256 KB of activations, almost no weights."""
    rng = np.random.default_rng(0)
    wt = weights(rng, (16, 1, 1, 16))
    mult, shift = requant(rng, 16, 5000.0)
    attrs = dict(stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, pad_top=0, pad_bottom=0, pad_left=0,
                 pad_right=0, input_zp=3, output_zp=-2, act_min=-128, act_max=127)
    consts = [const("w", wt), const("bias", np.zeros(16, np.int32)), const("mult", mult), const("shift", shift)]
    return single_op("conv2d_s8", act("x", (1, 128, 128, 16), 3), consts, attrs, -2)


def test_too_large_model_for_stm32f412_gives_the_sram_fit_error(tmp_path):
    graph = big_activation_graph()
    arena = plan_graph(graph).arena_bytes
    need = arena + graph_stack(graph, "stm32f412").bytes + HEAP_RESERVE_BYTES
    assert need > 256 * 1024
    with pytest.raises(BudgetError) as e:
        build_only(graph, "stm32f412", tmp_path / "out")
    msg = str(e.value)
    assert "stm32f412" in msg and "SRAM" in msg and f"needs {need:,} B" in msg and "262,144 B" in msg
    assert f"planned arena {arena:,} B" in msg
    assert not (tmp_path / "out" / "firmware.elf").exists()


def test_fit_check_on_compiled_objects_runs_before_the_link(tmp_path):
    """build_firmware without the graph still stops with a BudgetError (from the objects' .bss), not a link error."""
    gen = generate_c(big_activation_graph(), tmp_path / "model")
    with pytest.raises(BudgetError, match=r"stm32f412: the model does not fit SRAM: needs [\d,]+ B \(\.data \+ \.bss"):
        build_firmware(gen.out_dir, "stm32f412", out_dir=tmp_path / "fw")
    assert not (tmp_path / "fw" / "firmware.elf").exists()


def test_too_many_weights_gives_the_flash_fit_error(tmp_path):
    rng = np.random.default_rng(0)
    n_in, n_out = 1024, 1100  # 1.07 MiB of int8 weights
    mult, shift = requant(rng, n_out, 1e5)
    consts = [const("w", np.ones((n_out, n_in), np.int8)), const("bias", np.zeros(n_out, np.int32)),
              const("mult", mult), const("shift", shift)]
    graph = single_op("fully_connected_s8", act("x", (1, n_in)), consts,
                      dict(input_zp=0, output_zp=0, act_min=-128, act_max=127))
    with pytest.raises(BudgetError, match=r"stm32f412: the model does not fit Flash: needs [\d,]+ B .* "
                                          r"1,048,576 B of Flash at 0x08000000"):
        build_only(graph, "stm32f412", tmp_path / "out")


@pytest.mark.parametrize("board", BUILD_ONLY)
def test_build_only_boards_give_elf_bin_hex_and_flash_command(board, tmp_path):
    b = get_board(board)
    r = build_only(random_graph(2), board, tmp_path / board)
    for key in ("elf", "bin", "hex"):
        assert Path(r[key]).is_file()
    initial_sp, reset = struct.unpack("<II", Path(r["bin"]).read_bytes()[:8])
    assert initial_sp == b.sram_origin + b.sram_bytes
    assert b.flash_origin < reset < b.flash_origin + r["flash_bytes"] and reset & 1  # a Thumb address in Flash
    assert Path(r["hex"]).read_text().startswith(":")
    assert r["flash_command"].startswith(f"st-flash write {r['bin']} 0x08000000")
    assert r["bss_bytes"] >= r["arena_bytes"] == plan_graph(random_graph(2)).arena_bytes
    graph = random_graph(2)  # the harness's one test input is random_inputs(graph, 1, seed=0)[0]
    assert r["expected_output_hex"] == run(graph, random_inputs(graph, 1, 0)[0]).astype(np.int8).tobytes().hex()
    assert r["dsp"] is True
    # no emulator for this board: stack and heap measured on the MPS2 board with the same core, and named
    assert r["sram_measured_on"].startswith(emulated_twin(b).name) and b.cpu in r["sram_measured_on"]
    assert r["sram_total_bytes"] == r["data_bytes"] + r["bss_bytes"] + r["stack_bytes"] + r["heap_bytes"]


def test_sram_fit_check_uses_the_measured_total():
    img = FirmwareImage("stm32f412", Path("f.elf"), Path("f.bin"), Path("f.hex"), 1000, 100, 250_000, {}, True, "")
    b = get_board("stm32f412")
    ok = sram_section(img, [600, 900], [1468], "mps2-an386 (QEMU)")
    assert ok["stack_bytes"] == 900 and ok["sram_total_bytes"] == 100 + 250_000 + 900 + 1468
    check_sram_total(b, ok)  # 252,468 B <= 256 KiB
    over = sram_section(img, [12_000], [1468], "mps2-an386 (QEMU)")
    with pytest.raises(BudgetError, match=r"needs 263,568 B .* stack 12,000 B and heap 1,468 B measured on mps2"):
        check_sram_total(b, over)
    with pytest.raises(BuildError, match="no `stack <n> heap <n>` line"):
        sram_section(img, [], [], "x")


def test_build_only_board_cannot_be_validated_in_qemu():
    with pytest.raises(UnsupportedError, match="stm32f746.*cannot be emulated.*build_only"):
        validate_on_board(random_graph(0), "stm32f746", n=1)


def test_dsp_on_m3_is_refused(tmp_path):
    gen = generate_c(random_graph(0), tmp_path / "model")
    with pytest.raises(UnsupportedError, match="no DSP extension"):
        build_firmware(gen.out_dir, "mps2-an385", dsp=True)
