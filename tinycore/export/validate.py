"""Check the generated C against the numpy runtime on random inputs: every output byte must match."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tinycore.export.codegen import generate_c
from tinycore.export.harness import parse_output
from tinycore.export.host import build_host, run_program
from tinycore.ir.graph import Graph


def random_inputs(graph: Graph, n: int, seed: int) -> list[np.ndarray]:
    """n int8 inputs uniform over [-128, 127], shaped as the graph input."""
    rng = np.random.default_rng(seed)
    shape = graph.input_tensor().shape
    return [rng.integers(-128, 128, shape, dtype=np.int8) for _ in range(n)]


def graph_flash_bytes(graph: Graph) -> int:
    try:
        from tinycore.memory import flash_bytes
    except ImportError:
        return sum(t.nbytes for t in graph.constants())
    return flash_bytes(graph)


def compare_outputs(graph: Graph, inputs: list[np.ndarray], outputs: list[bytes]) -> dict:
    """outputs_match, n_checked, max_abs_diff of C outputs against tinycore.runtime.run."""
    from tinycore.runtime import run

    max_diff = 0
    match = len(outputs) == len(inputs)
    for x, got in zip(inputs, outputs):
        want = run(graph, x).reshape(-1)
        got_arr = np.frombuffer(got, dtype=np.int8)
        if got_arr.size != want.size:
            match = False
            continue
        diff = int(np.abs(got_arr.astype(np.int32) - want.astype(np.int32)).max(initial=0))
        max_diff = max(max_diff, diff)
        match = match and diff == 0
    return {"outputs_match": bool(match), "n_checked": len(outputs), "max_abs_diff": max_diff}


def validate(graph: Graph, target: str = "host", n: int = 20, seed: int = 0, sanitize: bool = False,
             plan: Any = None, timeout_s: float = 120) -> dict:
    """Generate, build and run the model on `target` with n random inputs; compare with the numpy runtime.

    Keys: outputs_match, n_checked, max_abs_diff, arena_bytes, flash_bytes (constants only, as
    tinycore.memory.flash_bytes). A compile error, crash or timeout raises BuildError (never a silent pass).
    Boards other than "host" go to tinycore.export.firmware.validate_on_board.
    """
    if target != "host":
        from tinycore.export.firmware import validate_on_board

        return validate_on_board(graph, board=target, n=n, seed=seed)
    inputs = random_inputs(graph, n, seed)
    with tempfile.TemporaryDirectory(prefix="tc_validate_") as tmp:
        gen = generate_c(graph, Path(tmp) / "model", test_inputs=inputs, plan=plan)
        exe = build_host(gen.out_dir, sanitize=sanitize)
        text = run_program(exe, timeout_s)
        outputs = parse_output(text, n_expected=n, where=str(exe)).outputs
    result = compare_outputs(graph, inputs, outputs)
    result.update(arena_bytes=gen.arena_bytes, flash_bytes=graph_flash_bytes(graph), target="host")
    return result
