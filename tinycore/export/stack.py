"""The stack a firmware image needs, estimated before the build from a table measured on the emulator.

`stack_table.json` (beside this file; rebuild it with `python bench/stack_table.py --write`) holds, per core
(`Board.cpu`), bytes measured with the stack painting of boards/common/tc_stack.h on QEMU:
  kernels[<variant>/tc_<op>]  the deepest stack one call of that kernel takes below model_invoke's caller: a
                              one-op model's high-water mark minus that of a model with no kernel call (the
                              largest over the cases measured: each kernel's paths, e.g. the DSP depthwise row
                              path and its general path); variant = cortex_m (DSP twin) or portable
  harness                     the test program's frames under the kernel: start-up, main, model_invoke
  printf                      newlib-nano printf through semihosting, called by the harness outside model_invoke
The estimate for an image is
  harness + max(printf, largest kernel entry of the kernels it links) + app frames + MARGIN_BYTES,
rounded up to 256 B (the MPU guard below the stack is 256-aligned; sizes of 768 B mod 1 KiB are skipped, see
SKIP_MOD_BYTES). An app's frames (its main loop, front end) come from the compiler's static frame sizes
(-fstack-usage) of its own sources, summed: a bound on any chain of calls through them. The linker's stack
reservation (TC_STACK_BYTES) is this estimate; after a run on QEMU the measured high-water mark is what
`sram_total_bytes` reports and the fit check uses.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from tinycore.errors import BuildError

TABLE_PATH = Path(__file__).resolve().parent / "stack_table.json"
MARGIN_BYTES = 256  # for what the table cannot see: libm calls of a float front end, interrupt entry (32 B frames)
ALIGN_BYTES = 256
# A reservation of 768 B puts the MPU guard at RAM end - 1 KiB, and there the emulated M3/M4 harness prints
# nothing and exits 0 (512, 1024 ... 4864 B run): QEMU's log shows the console's SYS_OPEN failing (SYS_ERRNO
# follows). Likely QEMU checks semihosting's memory accesses per 1 KiB page (its TLB page), and a guard that
# starts a page makes the page unreadable, here the top of the stack with the call's parameter block. So no
# reservation puts the guard on a 1 KiB boundary: sizes = 768 mod 1024 are skipped (RAM ends are 1 KiB aligned).
SKIP_MOD_BYTES = (1024, 768)


@dataclass(frozen=True)
class StackEstimate:
    bytes: int  # the reservation: rounded up to ALIGN_BYTES
    detail: str  # how it was made, for messages and reports


@lru_cache(maxsize=1)
def load_table(path: Path = TABLE_PATH) -> dict:
    if not path.is_file():
        raise BuildError(f"{path}: stack table missing; measure it with `python bench/stack_table.py --write`")
    return json.loads(path.read_text())


def kernel_key(kernel: str) -> str:
    """'cortex_m/tc_conv2d_s8.c' or a generated copy 'generated/tc_add_s8.c' -> 'cortex_m/tc_conv2d_s8' or
    'portable/tc_add_s8' (a generated kernel is the portable source copied into the model folder)."""
    variant, _, name = kernel.rpartition("/")
    stem = name[:-2] if name.endswith(".c") else name
    return f"{'cortex_m' if variant == 'cortex_m' else 'portable'}/{stem}"


def graph_kernels(graph, dsp: bool) -> list[str]:
    """The kernel keys a graph's C code calls: its op kinds, each from cortex_m/ when `dsp` and a twin exists."""
    from tinycore.export.firmware import CORTEX_M_DIR

    kinds = sorted({op.kind for op in graph.ops})
    return [f"cortex_m/tc_{k}" if dsp and (CORTEX_M_DIR / f"tc_{k}.c").is_file() else f"portable/tc_{k}"
            for k in kinds]


def estimate_stack(kernels: Iterable[str], cpu: str, app_frame_bytes: int = 0) -> StackEstimate:
    """The stack reservation for an image on a `cpu` core that links `kernels` (see the module docstring).

    A kernel the table has no entry for takes the core's largest entry, and the detail says so."""
    table = load_table()
    core = table["cores"].get(cpu)
    if core is None:
        raise BuildError(f"{TABLE_PATH}: no stack measurements for {cpu} (cores measured: "
                         f"{', '.join(sorted(table['cores']))}); run `python bench/stack_table.py --write`")
    entries = core["kernels"]
    keys = sorted({kernel_key(k) for k in kernels})
    unknown = [k for k in keys if k not in entries]
    worst = max(entries.values())
    deepest = max([entries.get(k, worst) for k in keys] or [0])
    deepest_name = next((k for k in keys if entries.get(k, worst) == deepest), "none")
    body = max(core["printf"], deepest)
    need = core["harness"] + body + app_frame_bytes + MARGIN_BYTES
    rounded = -(-need // ALIGN_BYTES) * ALIGN_BYTES
    while rounded % SKIP_MOD_BYTES[0] == SKIP_MOD_BYTES[1]:
        rounded += ALIGN_BYTES
    detail = (f"stack estimate {rounded:,} B = harness {core['harness']} + max(printf {core['printf']}, "
              f"{deepest_name} {deepest}) + app frames {app_frame_bytes} + margin {MARGIN_BYTES}, rounded up to "
              f"{ALIGN_BYTES} B ({cpu}, {TABLE_PATH.name})")
    if unknown:
        detail += f"; not measured, counted as the largest entry: {', '.join(unknown)}"
    return StackEstimate(rounded, detail)


def stack_usage_bytes(su_files: Iterable[Path]) -> int:
    """Sum of the frames gcc -fstack-usage wrote (lines `file:line:col:function<TAB>bytes<TAB>static`); a
    dynamic frame (a variable-length array) has no static bound and is an error naming the function."""
    total = 0
    for path in su_files:
        for line in Path(path).read_text().splitlines():
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            if "dynamic" in parts[2] and "bounded" not in parts[2]:
                raise BuildError(f"{path}: {parts[0]} has a dynamic stack frame; the stack estimate needs static "
                                 f"frames (no variable-length arrays or alloca)")
            total += int(parts[1])
    return total
