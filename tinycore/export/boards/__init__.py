"""Board support: one folder per board (linker script `link.ld`, header `board.h`), shared start-up in `common/`.

A `Board` holds what the build and the fit check need: compiler flags, whether the core has the DSP extension,
the SRAM and Flash regions its linker script declares, and how the image is run (a QEMU machine) or flashed.
The linker scripts are the backstop; the numbers here must equal their ORIGIN/LENGTH (a test checks it).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from tinycore.errors import UnsupportedError

BOARDS_DIR = Path(__file__).resolve().parent
COMMON_DIR = BOARDS_DIR / "common"

_M3 = ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft")
_M4F = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")
_M7_SP = ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16")
_M7_DP = ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16")
_M55 = ("-mcpu=cortex-m55+nomve", "-mthumb", "-mfloat-abi=hard")  # FPU and DSP; Helium (MVE) off


@dataclass(frozen=True)
class Board:
    name: str
    cpu: str                        # "cortex-m4", for messages and reports
    cflags: tuple[str, ...]         # passed to both compile and link
    has_dsp: bool                   # ARMv7E-M DSP extension (SMLAD, SXTB16): cortex_m kernels may be used
    flash_origin: int
    flash_bytes: int                # LENGTH of FLASH in link.ld
    sram_origin: int
    sram_bytes: int                 # LENGTH of RAM in link.ld
    qemu_machine: str | None        # None: build-only (real hardware)
    description: str

    @property
    def folder(self) -> Path:
        return BOARDS_DIR / self.name

    @property
    def emulated(self) -> bool:
        return self.qemu_machine is not None

    def flash_command(self, bin_path: Path | str, elf_path: Path | str) -> str:
        """The command a user types to program the board (ST-LINK via stlink-tools), and how to see the output.

        The test harness prints through semihosting, so its output needs a debugger attached (OpenOCD with
        `arm semihosting enable`); without one the first print stops the core in a fault.
        """
        if self.emulated:
            return (f"qemu-system-arm -machine {self.qemu_machine} -nographic -icount shift=7 "
                    f"-semihosting-config enable=on,target=native -kernel {elf_path}")
        target = {"stm32f412": "stm32f4x", "stm32f746": "stm32f7x", "stm32h743": "stm32h7x"}[self.name]
        return (f"st-flash write {bin_path} 0x{self.flash_origin:08X}   # or, to see the semihosted output: "
                f"openocd -f interface/stlink.cfg -f target/{target}.cfg -c 'program {elf_path} verify' "
                f"-c 'arm semihosting enable' -c 'reset run'")


BOARDS: dict[str, Board] = {b.name: b for b in [
    Board("mps2-an385", "cortex-m3", _M3, False, 0x00000000, 4 << 20, 0x20000000, 4 << 20, "mps2-an385",
          "Arm MPS2 AN385, Cortex-M3 (no DSP, no FPU), emulated"),
    Board("mps2-an386", "cortex-m4", _M4F, True, 0x00000000, 4 << 20, 0x20000000, 4 << 20, "mps2-an386",
          "Arm MPS2 AN386, Cortex-M4F, emulated"),
    Board("mps2-an500", "cortex-m7", _M7_DP, True, 0x00000000, 4 << 20, 0x20000000, 4 << 20, "mps2-an500",
          "Arm MPS2 AN500, Cortex-M7 (double-precision FPU), emulated"),
    Board("mps3-an547", "cortex-m55", _M55, True, 0x00000000, 512 << 10, 0x21000000, 4 << 20, "mps3-an547",
          "Arm MPS3 AN547 (SSE-300), Cortex-M55 (DSP, FPU, Helium): 512 KB ITCM for code, 4 MB SRAM, emulated"),
    Board("stm32f412", "cortex-m4", _M4F, True, 0x08000000, 1 << 20, 0x20000000, 256 << 10, None,
          "STM32F412 (Nucleo-F412ZG): 256 KB SRAM, 1 MB Flash, build only"),
    Board("stm32f746", "cortex-m7", _M7_SP, True, 0x08000000, 1 << 20, 0x20000000, 320 << 10, None,
          "STM32F746 (Discovery): 320 KB SRAM (DTCM+SRAM1+SRAM2, contiguous), 1 MB Flash, build only"),
    Board("stm32h743", "cortex-m7", _M7_DP, True, 0x08000000, 2 << 20, 0x24000000, 512 << 10, None,
          "STM32H743 (Nucleo-H743ZI): 512 KB AXI SRAM, 2 MB Flash, build only"),
]}


def emulated_boards() -> str:
    """'mps2-an385 (cortex-m3), ...': the boards QEMU runs, for messages."""
    return ", ".join(f"{b.name} ({b.cpu})" for b in BOARDS.values() if b.emulated)


def get_board(name: str) -> Board:
    """The board called `name`; an unknown name lists the close matches and all boards."""
    if name in BOARDS:
        return BOARDS[name]
    close = difflib.get_close_matches(name, list(BOARDS), n=3, cutoff=0.4)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UnsupportedError(f"unknown board '{name}'.{hint} Boards: {', '.join(BOARDS)} (and 'host').")
