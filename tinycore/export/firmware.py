"""Firmware for a board: cross-compile a generated C folder with arm-none-eabi-gcc, check it fits, link, measure.

Build: every .c of the folder (model, kernels, tc_test_main.c) plus the board's start-up, with the board's
linker script (boards/<board>/link.ld). Boards with the DSP extension (M4, M7) take the kernels that have a twin
in kernels/cortex_m/ from there (same file name and signature); the M3 takes the portable ones.

Fit check before linking, so an oversized model gets a sentence rather than a linker message:
  SRAM need  = .data + .bss of the compiled objects (the model arena tc_arena, the harness's output buffer)
               + the stack estimate (tinycore.export.stack: the measured per-kernel stack table, the largest
               entry of the kernels linked, + the program's frames + a margin) + HEAP_RESERVE_BYTES (heap 4 KiB
               for newlib's stdio, 1 KiB newlib data): an estimate before anything runs. The linker script
               reserves exactly that stack (TC_STACK_BYTES), with the 256-byte MPU guard below it.
After a run the check is redone with the measured figure (`sram_section`): sram_total_bytes = .data + .bss of the
image + the stack high-water mark around model_invoke + the heap in use, both measured in QEMU
(boards/common/tc_stack.h). A build-only board has no emulator: its stack and heap are measured by running the
same model on the emulated board of the same core (`emulated_twin`), an estimate the report names.
  Flash need = code + constants of the compiled objects + LIBC_FLASH_BYTES (start-up, newlib-nano printf,
               semihosting; measured about 10 KiB).
The graph-level check (`check_graph_fits`) uses the planned arena, the stack estimate of the graph's op kinds and
tinycore.memory.flash_bytes instead, with FLASH_CODE_ESTIMATE_BYTES for all code. The linker script bounds both
regions again (overflow = link error).
Batch images (several generated folders in one ELF, `tinycore.export.qemu.run_batch`) reuse these pieces.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from tinycore.errors import BudgetError, BuildError, UnsupportedError
from tinycore.export.boards import COMMON_DIR, Board, emulated_boards, get_board
from tinycore.export.model_files import io_bytes
from tinycore.export.qemu import mean_instructions
from tinycore.export.stack import StackEstimate, estimate_stack, graph_kernels

KERNELS_DIR = Path(__file__).resolve().parent / "kernels"
CORTEX_M_DIR = KERNELS_DIR / "cortex_m"
PORTABLE_DIR = KERNELS_DIR / "portable"
TOOL_PREFIX = "arm-none-eabi-"
CFLAGS = ("-std=c99", "-O2", "-Wall", "-ffunction-sections", "-fdata-sections")
LDFLAGS = ("-nostartfiles", "--specs=nano.specs", "--specs=rdimon.specs", "-Wl,--gc-sections")
STACK_BYTES = 8 * 1024  # the reservation of a program linked without a stack estimate (tests' plain C, measuring)
HEAP_BYTES = 4 * 1024
HEAP_RESERVE_BYTES = HEAP_BYTES + 1024  # newlib's stdio buffers and its data
LIBC_FLASH_BYTES = 12 * 1024
FLASH_CODE_ESTIMATE_BYTES = 44 * 1024  # all code of a model image, for the check before any compilation: every
# kernel compiled for the M4 is 26.1 KiB, M7 26.7 KiB, M55 27.2 KiB (the DSP conv 11 KiB, the DSP depthwise 7.6 KiB,
# the DSP batch matmul since 2026-12-05),
# plus the C library, start-up and model code (tests/export/test_firmware.py checks the sum on every emulated board)


@dataclass(frozen=True)
class FirmwareImage:
    board: str
    elf: Path
    bin: Path
    hex: Path
    text_bytes: int  # arm-none-eabi-size: code + constants (Flash)
    data_bytes: int  # initialised data (Flash and SRAM)
    bss_bytes: int  # zeroed data, the arena included (SRAM)
    arena_symbol_bytes: dict[str, int]  # size of each tc_arena* symbol (arm-none-eabi-nm -S)
    dsp: bool  # cortex_m DSP kernels used
    flash_command: str
    kernels: tuple[str, ...] = field(default=())  # kernel sources compiled, e.g. "cortex_m/tc_conv2d_s8.c"
    stack_reserved_bytes: int = STACK_BYTES  # the linker's stack reservation (TC_STACK_BYTES)

    @property
    def flash_bytes(self) -> int:
        return self.text_bytes + self.data_bytes

    @property
    def arena_bytes(self) -> int:
        """The single model's arena symbol size (a batch image has several: see arena_symbol_bytes)."""
        if len(self.arena_symbol_bytes) != 1:
            raise BuildError(f"{self.elf}: {len(self.arena_symbol_bytes)} arena symbols, expected one")
        return next(iter(self.arena_symbol_bytes.values()))


def _as_board(board: Board | str) -> Board:
    return board if isinstance(board, Board) else get_board(board)


def _tool(name: str) -> str:
    path = shutil.which(TOOL_PREFIX + name)
    if path is None:
        raise BuildError(f"{TOOL_PREFIX}{name} not found: install the Arm cross toolchain "
                         f"(Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    return path


def _run(cmd: Sequence[str], what: str, timeout_s: float = 300) -> str:
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{what}: took longer than {timeout_s:g} s") from None
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit status {proc.returncode}):\n{' '.join(cmd)}\n{proc.stderr[-4000:]}")
    return proc.stdout


def use_dsp(board: Board, dsp: bool | None) -> bool:
    """None: the board's default (DSP kernels where the core has the extension)."""
    if dsp is None:
        return board.has_dsp
    if dsp and not board.has_dsp:
        raise UnsupportedError(f"board '{board.name}' ({board.cpu}) has no DSP extension: build with dsp=False "
                               f"(portable kernels)")
    return bool(dsp)


def select_kernel(path: Path, dsp: bool) -> Path:
    """The kernel source to compile for a generated tc_<op>.c: its cortex_m twin with DSP, else portable."""
    twin = CORTEX_M_DIR / path.name
    if dsp and twin.is_file():
        return twin
    if not dsp and twin.is_file() and (PORTABLE_DIR / path.name).is_file():
        return PORTABLE_DIR / path.name
    return path


def compile_objects(jobs: Sequence[tuple[Path, Path, Sequence[str]]], board: Board, include_dirs: Sequence[Path],
                    what: str) -> list[Path]:
    """Compile (source, object, extra flags) jobs, two at a time (the machine has two cores)."""
    gcc = _tool("gcc")
    incs = [f"-I{d}" for d in include_dirs]

    def one(job: tuple[Path, Path, Sequence[str]]) -> Path:
        src, obj, extra = job
        _run([gcc, *board.cflags, *CFLAGS, *incs, *extra, "-c", str(src), "-o", str(obj)], f"{what}: compile {src}")
        return obj

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, jobs))


def sizes(path: Path) -> tuple[int, int, int]:
    """(text, data, bss) bytes of an object or ELF, from arm-none-eabi-size (Berkeley format)."""
    out = _run([_tool("size"), "-B", str(path)], f"size {path}")
    text, data, bss = (int(v) for v in out.strip().splitlines()[1].split()[:3])
    return text, data, bss


def arena_symbols(elf: Path) -> dict[str, int]:
    """Size of every tc_arena* symbol in the ELF (arm-none-eabi-nm -S), by name."""
    out = _run([_tool("nm"), "-S", str(elf)], f"nm {elf}")
    found: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and re.fullmatch(r"tc_arena(_\d+)?", parts[3]):
            found[parts[3]] = int(parts[1], 16)
    return found


def check_fit(board: Board, sram_need: int, flash_need: int, sram_detail: str, flash_detail: str) -> None:
    """BudgetError naming the region, the need and the limit in bytes when either does not fit."""
    if sram_need > board.sram_bytes:
        raise BudgetError(
            f"{board.name}: the model does not fit SRAM: needs {sram_need:,} B ({sram_detail}), the board has "
            f"{board.sram_bytes:,} B of RAM at 0x{board.sram_origin:08X}. Try a smaller model, patch-based "
            f"inference, or a board with more SRAM.")
    if flash_need > board.flash_bytes:
        raise BudgetError(
            f"{board.name}: the model does not fit Flash: needs {flash_need:,} B ({flash_detail}), the board has "
            f"{board.flash_bytes:,} B of Flash at 0x{board.flash_origin:08X}. Try fewer or smaller layers, or a "
            f"board with more Flash.")


def graph_stack(graph, board: Board | str, dsp: bool | None = None) -> StackEstimate:
    """The stack estimate of `graph`'s C code on `board` (tinycore.export.stack), before any code exists."""
    b = _as_board(board)
    return estimate_stack(graph_kernels(graph, use_dsp(b, dsp)), b.cpu)


def check_graph_fits(board: Board | str, arena_bytes: int, constant_bytes: int, io_bytes: int = 0, *,
                     stack: StackEstimate) -> None:
    """Fit check from the plan alone, before generating code: arena + stack estimate (`graph_stack`) + heap
    reserve vs SRAM; constants (and the test inputs a harness compiles in, `io_bytes`) + FLASH_CODE_ESTIMATE_BYTES
    vs Flash."""
    b = _as_board(board)
    check_fit(b, arena_bytes + stack.bytes + HEAP_RESERVE_BYTES,
              constant_bytes + io_bytes + FLASH_CODE_ESTIMATE_BYTES,
              f"planned arena {arena_bytes:,} B + {stack.detail} + {HEAP_RESERVE_BYTES:,} B heap/runtime reserve",
              f"model constants {constant_bytes:,} B + test inputs {io_bytes:,} B + code estimate "
              f"{FLASH_CODE_ESTIMATE_BYTES:,} B")


def emulated_twin(board: Board) -> Board:
    """The emulated board with the same core (and so the same code and stack frames): the board itself if it is
    emulated, else the MPS2 board of its CPU (cortex-m4 -> mps2-an386, cortex-m7 -> mps2-an500)."""
    if board.emulated:
        return board
    from tinycore.export.boards import BOARDS

    twins = [b for b in BOARDS.values() if b.emulated and b.cpu == board.cpu]
    if not twins:
        raise UnsupportedError(f"board '{board.name}' ({board.cpu}): no emulated board with this core to measure "
                               f"its stack on")
    return twins[0]


def sram_section(img: FirmwareImage, stack_bytes: Sequence[int], heap_bytes: Sequence[int],
                 measured_on: str) -> dict:
    """Measured SRAM of an image: the deepest stack and largest heap over the runs, and the total.

    sram_total_bytes = .data + .bss (the arena included) + stack high-water mark + heap in use."""
    if not stack_bytes or not heap_bytes:
        raise BuildError(f"{img.elf}: the firmware printed no `stack <n> heap <n>` line (tc_stack.h)")
    stack, heap = max(stack_bytes), max(heap_bytes)
    return {"stack_bytes": stack, "heap_bytes": heap,
            "sram_total_bytes": img.data_bytes + img.bss_bytes + stack + heap, "sram_measured_on": measured_on}


def check_sram_total(board: Board, section: dict) -> None:
    """BudgetError when the measured SRAM total (`sram_section`) exceeds the board's SRAM."""
    total = section["sram_total_bytes"]
    if total > board.sram_bytes:
        raise BudgetError(
            f"{board.name}: the firmware does not fit SRAM: needs {total:,} B (.data + .bss with the model arena, "
            f"+ stack {section['stack_bytes']:,} B and heap {section['heap_bytes']:,} B measured on "
            f"{section['sram_measured_on']}), the board has {board.sram_bytes:,} B. Try a smaller model or "
            f"patch-based inference.")


def fixed_stack(nbytes: int = STACK_BYTES) -> StackEstimate:
    """A stack reservation given rather than estimated (plain C programs, the stack measurements themselves)."""
    return StackEstimate(nbytes, f"stack reservation {nbytes:,} B (given, not estimated)")


def kernels_stack(board: Board, kernels: Sequence[str], app_frame_bytes: int = 0,
                  given: int | None = None) -> StackEstimate:
    """The stack of an image linking `kernels` (FirmwareImage.kernels names), or the `given` reservation."""
    if given is not None:
        return fixed_stack(given)
    return estimate_stack(kernels, board.cpu, app_frame_bytes)


def check_objects_fit(board: Board, objects: Sequence[Path], stack: StackEstimate) -> None:
    """Fit check on the compiled objects, before the link (see the module docstring)."""
    text = data = bss = 0
    for obj in objects:
        t, d, b = sizes(obj)
        text, data, bss = text + t, data + d, bss + b
    check_fit(board, data + bss + stack.bytes + HEAP_RESERVE_BYTES, text + data + LIBC_FLASH_BYTES,
              f".data + .bss {data + bss:,} B (model arena included) + {stack.detail} + {HEAP_RESERVE_BYTES:,} B "
              f"heap/runtime reserve",
              f"code + constants {text + data:,} B + {LIBC_FLASH_BYTES:,} B C library estimate")


def link_image(objects: Sequence[Path], board: Board, elf: Path, *, dsp: bool, stack_bytes: int = STACK_BYTES,
               kernels: Sequence[str] = (), libs: Sequence[str] = ()) -> FirmwareImage:
    """Link with the board's linker script, then .bin and .hex (objcopy), sizes and arena symbols.

    `stack_bytes`: the stack reservation (TC_STACK_BYTES, a multiple of 256: the estimate of check_objects_fit).
    `libs`: extra libraries after the objects, e.g. ("m",) for an app's float front end (-lm)."""
    gcc = _tool("gcc")
    _run([gcc, *board.cflags, *LDFLAGS, f"-L{COMMON_DIR}", f"-T{board.folder / 'link.ld'}",
          f"-Wl,--defsym=TC_STACK_BYTES={stack_bytes}", f"-Wl,--defsym=TC_HEAP_BYTES={HEAP_BYTES}",
          f"-Wl,-Map={elf.with_suffix('.map')}", *(str(o) for o in objects), *(f"-l{lib}" for lib in libs),
          "-o", str(elf)],
         f"{elf}: link for {board.name}")
    binary, ihex = elf.with_suffix(".bin"), elf.with_suffix(".hex")
    _run([_tool("objcopy"), "-O", "binary", str(elf), str(binary)], f"objcopy {elf}")
    _run([_tool("objcopy"), "-O", "ihex", str(elf), str(ihex)], f"objcopy {elf}")
    text, data, bss = sizes(elf)
    return FirmwareImage(board.name, elf, binary, ihex, text, data, bss, arena_symbols(elf), dsp,
                         board.flash_command(binary, elf), tuple(kernels), stack_bytes)


def board_include_dirs(board: Board) -> list[Path]:
    return [board.folder, COMMON_DIR, KERNELS_DIR / "include", CORTEX_M_DIR]


def startup_object(board: Board, build_dir: Path) -> tuple[Path, Path, Sequence[str]]:
    return COMMON_DIR / "startup.c", build_dir / "startup.o", ("-fno-tree-loop-distribute-patterns",)


def build_firmware(gen_dir: str | Path, board: Board | str, *, dsp: bool | None = None,
                   out_dir: str | Path | None = None, defines: Sequence[str] = (),
                   stack_bytes: int | None = None) -> FirmwareImage:
    """Cross-compile a folder written by generate_c for `board` into out_dir (default gen_dir/fw-<board>).

    `dsp`: None = the board's default; True forces the cortex_m kernels (error on an M3); False the portable ones.
    `defines`: extra -D flags for every source, e.g. ("-DTC_PROFILE",) for the per-op profiling build.
    `stack_bytes`: the stack reservation; None = the estimate from the kernels compiled (tinycore.export.stack).
    BudgetError if the compiled model cannot fit the board; BuildError on a compile or link failure.
    """
    gen_dir, b = Path(gen_dir), _as_board(board)
    if not (gen_dir / "model.c").is_file():
        raise BuildError(f"{gen_dir}: no model.c here; write the folder with tinycore.export.generate_c first")
    dsp_on = use_dsp(b, dsp)
    build = Path(out_dir) if out_dir is not None else gen_dir / f"fw-{b.name}"
    build.mkdir(parents=True, exist_ok=True)
    jobs, kernels = [startup_object(b, build)], []
    for src in sorted(gen_dir.glob("*.c")):
        chosen = select_kernel(src, dsp_on) if src.name.startswith("tc_") and src.name != "tc_test_main.c" else src
        if chosen != src:
            kernels.append(f"{chosen.parent.name}/{chosen.name}")
        elif src.name.startswith("tc_") and src.name != "tc_test_main.c":
            kernels.append(f"generated/{src.name}")
        jobs.append((chosen, build / (src.stem + ".o"), ('-DTC_BOARD_HEADER="board.h"', *defines)))
    objects = compile_objects(jobs, b, [gen_dir, *board_include_dirs(b)], str(gen_dir))
    stack = kernels_stack(b, kernels, given=stack_bytes)
    check_objects_fit(b, objects, stack)
    return link_image(objects, b, build / "firmware.elf", dsp=dsp_on, stack_bytes=stack.bytes, kernels=kernels)


METHOD = ("exact instruction count: qemu-system-arm -icount shift=7 (one instruction = 128 ns of virtual time) "
          "and CMSDK timer 0 at 25 MHz (3.2 ticks per instruction), read before and after model_invoke; "
          "instructions = round(ticks / 3.2), including the few instructions of the call and the two reads")
METHOD_SSE300 = ("exact instruction count: qemu-system-arm -icount shift=7 (one instruction = 128 ns of virtual time) "
                 "and the SSE-300 system counter at 32 MHz (4.096 ticks per instruction), read before and after "
                 "model_invoke; instructions = round(ticks / 4.096), including the few instructions of the call and "
                 "the two reads")


def instructions_method(board: Board) -> str:
    """How `board` counts instructions (boards/common/tc_board_mps2.h or tc_board_mps3.h)."""
    return METHOD_SSE300 if board.qemu_machine == "mps3-an547" else METHOD


def validate_on_board(graph, board: str = "mps2-an386", n: int = 10, seed: int = 0, *, dsp: bool | None = None,
                      timeout_s: float = 120, keep_dir: str | Path | None = None) -> dict:
    """Run the model in QEMU on an emulated board with n random inputs and compare with the numpy runtime.

    Returns outputs_match, n_checked, max_abs_diff, text_bytes, data_bytes, bss_bytes, arena_bytes (the plan),
    stack_bytes, heap_bytes and sram_total_bytes (measured, `sram_section`), stack_reserved_bytes (the linker's
    stack reservation: the estimate of tinycore.export.stack),
    arena_symbol_bytes (the ELF's tc_arena, must equal the plan), flash_bytes (text + data of the image),
    model_flash_bytes (constants, tinycore.memory.flash_bytes), instructions_per_inference (integer: mean over the n
    inputs; the method is instructions_method(board)), board, cpu, dsp. Build-only boards raise UnsupportedError:
    use build_only.
    """
    import tempfile

    from tinycore.export.codegen import generate_c
    from tinycore.export.harness import parse_output
    from tinycore.export.qemu import run_in_qemu
    from tinycore.export.validate import compare_outputs, random_inputs
    from tinycore.memory import flash_bytes, plan_graph

    b = get_board(board)
    if not b.emulated:
        raise UnsupportedError(f"board '{b.name}' is real hardware and cannot be emulated in QEMU; build it with "
                               f"tinycore.export.firmware.build_only(graph, '{b.name}', out_dir) and flash it. "
                               f"Emulated boards: {emulated_boards()}.")
    dsp_on = use_dsp(b, dsp)
    plan = plan_graph(graph)
    inputs = random_inputs(graph, n, seed)
    check_graph_fits(b, plan.arena_bytes, flash_bytes(graph), n * io_bytes(graph)[0],
                     stack=graph_stack(graph, b, dsp_on))
    with tempfile.TemporaryDirectory(prefix="tc_fw_") as tmp:
        root = Path(keep_dir) if keep_dir is not None else Path(tmp)
        gen = generate_c(graph, root / "model", test_inputs=inputs, plan=plan)
        img = build_firmware(gen.out_dir, b, dsp=dsp_on, out_dir=root / f"fw-{b.name}")
        text = run_in_qemu(img.elf, b, timeout_s)
    got = parse_output(text, n_expected=n, where=f"{b.name} firmware")
    if img.arena_bytes != plan.arena_bytes:
        raise BuildError(f"{img.elf}: tc_arena is {img.arena_bytes} B, the plan says {plan.arena_bytes} B")
    if len(got.instructions) != n:
        raise BuildError(f"{b.name}: printed {len(got.instructions)} instruction counts, expected {n}")
    sram = sram_section(img, got.stack_bytes, got.heap_bytes, f"{b.name} (QEMU)")
    check_sram_total(b, sram)
    result = compare_outputs(graph, inputs, got.outputs)
    result.update(**sram)
    result.update(
        board=b.name, cpu=b.cpu, target=b.name, dsp=dsp_on, text_bytes=img.text_bytes, data_bytes=img.data_bytes,
        bss_bytes=img.bss_bytes, arena_bytes=plan.arena_bytes, arena_symbol_bytes=img.arena_bytes,
        stack_reserved_bytes=img.stack_reserved_bytes,
        flash_bytes=img.flash_bytes, model_flash_bytes=flash_bytes(graph),
        instructions_per_inference=mean_instructions(sum(got.instructions), n), instructions=list(got.instructions),
        instructions_method=instructions_method(b))
    return result


def build_only(graph, board: str, out_dir: str | Path, *, dsp: bool | None = None, seed: int = 0,
               measure_sram: bool = True) -> dict:
    """Generate and build firmware for any board (the way to real STM32 hardware) without running it.

    out_dir gets model/ (the C folder) and firmware.elf/.bin/.hex. The harness runs one random test input and
    prints its output through semihosting; `expected_output_hex` is what it must print. Returns paths, sizes
    and `flash_command`, the command that programs the board. `measure_sram`: run the model once on the
    emulated board of the same core (`emulated_twin`) for its stack and heap, and check the SRAM total with
    them (an estimate for this board: same code, another memory map); False keeps the pre-build estimate only.
    """
    from tinycore.export.codegen import generate_c
    from tinycore.export.validate import random_inputs
    from tinycore.memory import flash_bytes, plan_graph
    from tinycore.runtime import flat_outputs

    b = get_board(board)
    out = Path(out_dir)
    plan = plan_graph(graph)
    inputs = random_inputs(graph, 1, seed)
    check_graph_fits(b, plan.arena_bytes, flash_bytes(graph), io_bytes(graph)[0], stack=graph_stack(graph, b, dsp))
    gen = generate_c(graph, out / "model", test_inputs=inputs, plan=plan)
    img = build_firmware(gen.out_dir, b, dsp=dsp, out_dir=out)
    if img.arena_bytes != plan.arena_bytes:
        raise BuildError(f"{img.elf}: tc_arena is {img.arena_bytes} B, the plan says {plan.arena_bytes} B")
    expected = flat_outputs(graph, inputs[0]).tobytes().hex()
    sram: dict = {}
    if measure_sram:
        twin = emulated_twin(b)
        measured = validate_on_board(graph, twin.name, n=1, seed=seed, dsp=img.dsp)
        sram = sram_section(img, [measured["stack_bytes"]], [measured["heap_bytes"]],
                            f"{twin.name} (QEMU, same {b.cpu} core: an estimate for {b.name})")
        check_sram_total(b, sram)
    return dict(**sram, board=b.name, cpu=b.cpu, elf=str(img.elf), bin=str(img.bin), hex=str(img.hex),
                text_bytes=img.text_bytes, data_bytes=img.data_bytes, bss_bytes=img.bss_bytes,
                arena_bytes=plan.arena_bytes, stack_reserved_bytes=img.stack_reserved_bytes,
                flash_bytes=img.flash_bytes, sram_bytes_board=b.sram_bytes,
                flash_bytes_board=b.flash_bytes, dsp=img.dsp, flash_command=img.flash_command,
                expected_output_hex=expected)
