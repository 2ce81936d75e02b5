"""Run a firmware image on an emulated Cortex-M (qemu-system-arm, mps2 machines) and count instructions exactly.

How the count is exact: QEMU runs with `-icount shift=7`, so virtual time advances 2**7 ns = 128 ns per
instruction, deterministically (no host timing). CMSDK timer 0 of the mps2 machines counts down at 25 MHz, i.e.
3.2 ticks per instruction, and the board header turns a tick difference into round(ticks / 3.2) instructions
(see boards/common/tc_board_mps2.h). This matched objdump-counted loops exactly from 1 to 100,000 instructions.

Output and exit status come through semihosting: `main`'s return value becomes QEMU's exit status; a fault
handler prints `tc_fault <name> pc=...` and exits with 100 + exception number. A program that never exits is
killed after `timeout_s` and reported as a hang.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Sequence

from tinycore.errors import BuildError, UnsupportedError
from tinycore.export.boards import Board, emulated_boards, get_board

QEMU = "qemu-system-arm"
ICOUNT_SHIFT = 7  # 128 ns of virtual time per instruction: 3.2 ticks of the 25 MHz CMSDK timer

_FAULT_NAMES = {103: "HardFault", 104: "MemManage fault", 105: "BusFault", 106: "UsageFault",
                134: "lockup (fault inside the fault handler)"}


def mean_instructions(total_instructions: int, n_inferences: int) -> int:
    """Instructions per inference as reported (`instructions_per_inference`): the exact mean of exact integer
    counts, rounded to the nearest integer (halves up). Counts are whole instructions, so a fraction would only
    suggest a precision that one inference never has."""
    if n_inferences <= 0:
        raise ValueError(f"mean_instructions: {n_inferences} inferences")
    return (2 * int(total_instructions) + n_inferences) // (2 * n_inferences)


def qemu_command(elf: Path | str, board: Board | str) -> list[str]:
    """The qemu-system-arm command line for `elf` on an emulated board (semihosting on, exact icount)."""
    b = board if isinstance(board, Board) else get_board(board)
    if not b.emulated:
        raise UnsupportedError(f"board '{b.name}' is real hardware and cannot be emulated; build it with "
                               f"build_only() and flash it. Emulated boards: {emulated_boards()}.")
    return [QEMU, "-machine", b.qemu_machine, "-display", "none", "-monitor", "none", "-serial", "null",
            "-icount", f"shift={ICOUNT_SHIFT}", "-semihosting-config", "enable=on,target=native",
            "-kernel", str(elf)]


def _tail(text: str, n_lines: int = 8) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n_lines:]) if lines else "(no output)"


def run_in_qemu(elf: Path | str, board: Board | str, timeout_s: float = 60.0) -> str:
    """Run `elf` to completion and return its stdout. A hang (no exit within `timeout_s`) or a nonzero exit
    status (including a fault) raises BuildError with the status and the last lines of output."""
    if shutil.which(QEMU) is None:
        raise BuildError(f"{QEMU} not found: install it (Debian: apt-get install qemu-system-arm)")
    cmd = qemu_command(elf, board)
    name = board.name if isinstance(board, Board) else board
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        raise BuildError(f"{elf}: hang on {name}: no exit after {timeout_s:g} s (killed); "
                         f"last output: {_tail(out)}") from None
    if proc.returncode != 0:
        what = _FAULT_NAMES.get(proc.returncode, "program failed")
        raise BuildError(f"{elf}: exit status {proc.returncode} on {name} ({what}); "
                         f"last output: {_tail(proc.stdout + chr(10) + proc.stderr)}")
    return proc.stdout


_BATCH_BOARD_H = """/* tc_batch_board.h (generated): board header for one case of a batch image; the batch's main has
 * already called tc_board_init(), so the case's harness must not call it again. */
#include "board.h"
#define tc_board_init() ((void)0)
"""


def _batch_main(n: int) -> str:
    decls = "\n".join(f"int tc_case_main_{k}(void);" for k in range(n))
    calls = "\n".join(f'    printf("case {k}\\n");\n    if ((rc = tc_case_main_{k}()) != 0) return rc;'
                      for k in range(n))
    return (f'/* tc_batch_main.c (generated): runs every case harness in order. */\n#include <stdio.h>\n'
            f'#include "board.h"\n{decls}\nint main(void)\n{{\n    int rc;\n    tc_board_init();\n{calls}\n'
            f'    return 0;\n}}\n')


def build_batch(gen_dirs: Sequence[Path | str], board: Board | str, build_dir: Path | str, *,
                dsp: bool | None = None, stack_bytes: int | None = None):
    """Link several generated folders into ONE image (QEMU starts in ~20 ms, a build takes ~1 s).

    Case k's model_invoke(_io), model_input_slot, tc_arena and main get the suffix _k (tc_model_invoke_k, ...; by -D on
    its two files); the kernels are compiled once. The image prints `case k` before each case's own output.
    """
    from tinycore.export import firmware as fw

    b = board if isinstance(board, Board) else get_board(board)
    dsp_on = fw.use_dsp(b, dsp)
    build = Path(build_dir)
    build.mkdir(parents=True, exist_ok=True)
    (build / "tc_batch_board.h").write_text(_BATCH_BOARD_H)
    (build / "tc_batch_main.c").write_text(_batch_main(len(gen_dirs)))
    incs = fw.board_include_dirs(b)
    jobs: list[tuple[Path, Path, tuple[str, ...]]] = [fw.startup_object(b, build),
                                                       (build / "tc_batch_main.c", build / "tc_batch_main.o", ())]
    kernels: dict[str, Path] = {}
    for k, gen in enumerate(Path(g) for g in gen_dirs):
        ren = (f"-Dmodel_invoke=tc_model_invoke_{k}", f"-Dmodel_invoke_io=tc_model_invoke_io_{k}",
               f"-Dmodel_input_slot=tc_model_input_slot_{k}", f"-I{gen}")
        jobs.append((gen / "model.c", build / f"m{k}_model.o", (*ren, f"-Dtc_arena=tc_arena_{k}")))
        jobs.append((gen / "tc_test_main.c", build / f"m{k}_main.o",
                     (*ren, f"-Dmain=tc_case_main_{k}", '-DTC_BOARD_HEADER="tc_batch_board.h"')))
        for src in gen.glob("tc_*.c"):
            if src.name != "tc_test_main.c":
                kernels.setdefault(src.name, fw.select_kernel(src, dsp_on))
    first = Path(gen_dirs[0])
    jobs += [(src, build / f"k_{name[:-2]}.o", (f"-I{first}",)) for name, src in sorted(kernels.items())]
    objects = fw.compile_objects(jobs, b, [build, *incs], f"batch of {len(gen_dirs)} for {b.name}")
    names = [f"{p.parent.name}/{p.name}" for p in kernels.values()]
    stack = fw.kernels_stack(b, names, given=stack_bytes)
    fw.check_objects_fit(b, objects, stack)
    return fw.link_image(objects, b, build / "batch.elf", dsp=dsp_on, stack_bytes=stack.bytes, kernels=names)


def split_batch_output(text: str, n_cases: int) -> list[str]:
    """The stdout of a batch image -> one text per case (what that case's harness printed)."""
    parts: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("case "):
            parts.append([])
        elif parts:
            parts[-1].append(line)
    if len(parts) != n_cases:
        raise BuildError(f"batch printed {len(parts)} case markers, expected {n_cases}; last output: {_tail(text)}")
    return ["\n".join(p) for p in parts]


def run_batch(gen_dirs: Sequence[Path | str], board: Board | str, build_dir: Path | str, *,
              dsp: bool | None = None, timeout_s: float = 120.0, stack_bytes: int | None = None):
    """Build one image of all gen_dirs, run it once, and return (image, [stdout of each case]).

    `stack_bytes`: the stack reservation; None = the estimate of the kernels linked (tinycore.export.stack)."""
    img = build_batch(gen_dirs, board, build_dir, dsp=dsp, stack_bytes=stack_bytes)
    return img, split_batch_output(run_in_qemu(img.elf, board, timeout_s), len(gen_dirs))
