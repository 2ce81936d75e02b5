"""Run patch-based C on the host or in QEMU and compare every output byte with the whole-frame numpy runtime.

The reference is `tinycore.runtime.run` on the whole frame (not the patch executor), so a pass shows that the
patched C equals the unpatched model. The declared arena must equal the patch plan's (on a board: the ELF's
`tc_arena` symbol size).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from tinycore.errors import BuildError
from tinycore.export.harness import parse_output
from tinycore.export.host import build_host, run_program as run_exe
from tinycore.export.patch_codegen import generate_patch_c
from tinycore.export.qemu import mean_instructions
from tinycore.export.validate import compare_outputs, graph_flash_bytes, random_inputs
from tinycore.ir.graph import Graph
from tinycore.memory.patch_plan import plan_patch_program
from tinycore.patch.plan import PatchPlan
from tinycore.patch.program import build_program


def validate_patched(graph: Graph, plan: PatchPlan, target: str = "host", n: int = 10, seed: int = 0,
                     input_mode: str = "frame", sanitize: bool = False, timeout_s: float = 120,
                     keep_dir: str | Path | None = None) -> dict:
    """Generate, build and run the patched C on `target` ("host" or an emulated board such as "mps2-an386").

    Keys: outputs_match, n_checked, max_abs_diff, arena_bytes (declared = planned), patch, input_mode,
    mac_overhead_pct, flash_bytes (model constants), target; on a board also arena_symbol_bytes, text_bytes,
    data_bytes, bss_bytes, instructions_per_inference and the measured stack_bytes, heap_bytes, sram_total_bytes.
    """
    program = build_program(graph, plan, input_mode)
    arena = plan_patch_program(program, refine=True)
    inputs = random_inputs(graph, n, seed)
    extra: dict = {}
    with tempfile.TemporaryDirectory(prefix="tc_patch_") as tmp:
        root = Path(keep_dir) if keep_dir is not None else Path(tmp)
        gen = generate_patch_c(graph, program, root / "model", test_inputs=inputs, plan=arena,
                               kernel_dirs=("portable",) if target == "host" else ("cortex_m", "portable"))
        if gen.arena_bytes != arena.arena_bytes:
            raise BuildError(f"{gen.out_dir}: declares {gen.arena_bytes} B, the plan says {arena.arena_bytes} B")
        if target == "host":
            text = run_exe(build_host(gen.out_dir, sanitize=sanitize), timeout_s)
        else:
            text, extra = _run_on_board(graph, gen.out_dir, target, arena.arena_bytes, n, root, timeout_s)
    outputs = parse_output(text, n_expected=n, where=f"{target} patch program").outputs
    result = compare_outputs(graph, inputs, outputs)
    result.update(arena_bytes=arena.arena_bytes, patch=str(plan), input_mode=input_mode, target=target,
                  mac_overhead_pct=round(program.mac_overhead_pct, 3), flash_bytes=graph_flash_bytes(graph), **extra)
    return result


def _run_on_board(graph: Graph, gen_dir: Path, board: str, arena_bytes: int, n: int, root: Path,
                  timeout_s: float) -> tuple[str, dict]:
    """Cross-compile with tinycore.export.firmware and run in QEMU; the ELF's tc_arena must equal the plan."""
    from tinycore.export.boards import get_board
    from tinycore.export.firmware import build_firmware, check_graph_fits, check_sram_total, graph_stack, sram_section
    from tinycore.export.qemu import run_in_qemu

    b = get_board(board)
    check_graph_fits(b, arena_bytes, graph_flash_bytes(graph), n * graph.input_tensor().nbytes,
                     stack=graph_stack(graph, b))
    img = build_firmware(gen_dir, b, out_dir=root / f"fw-{b.name}")
    if img.arena_bytes != arena_bytes:
        raise BuildError(f"{img.elf}: tc_arena is {img.arena_bytes} B, the patch plan says {arena_bytes} B")
    text = run_in_qemu(img.elf, b, timeout_s)
    got = parse_output(text, n_expected=n, where=f"{b.name} firmware")
    sram = sram_section(img, got.stack_bytes, got.heap_bytes, f"{b.name} (QEMU)")  # measured, as unpatched
    check_sram_total(b, sram)
    extra = dict(**sram, board=b.name, cpu=b.cpu, arena_symbol_bytes=img.arena_bytes, text_bytes=img.text_bytes,
                 data_bytes=img.data_bytes, bss_bytes=img.bss_bytes,
                 instructions_per_inference=mean_instructions(sum(got.instructions), n) if got.instructions else None)
    return text, extra
