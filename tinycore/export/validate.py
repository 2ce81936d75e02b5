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


def random_inputs(graph: Graph, n: int, seed: int) -> list:
    """n int8 inputs uniform over [-128, 127], shaped as the graph input; with several graph inputs, each is a
    tuple of arrays in graph.inputs order (what tinycore.runtime.run takes)."""
    rng = np.random.default_rng(seed)
    shapes = [graph.tensors[name].shape for name in graph.inputs]
    draws = [tuple(rng.integers(-128, 128, s, dtype=np.int8) for s in shapes) for _ in range(n)]
    return [d[0] for d in draws] if len(shapes) == 1 else draws


def graph_flash_bytes(graph: Graph) -> int:
    try:
        from tinycore.memory import flash_bytes
    except ImportError:
        return sum(t.nbytes for t in graph.constants())
    return flash_bytes(graph)


def compare_outputs(graph: Graph, inputs: list, outputs: list[bytes]) -> dict:
    """outputs_match, n_checked, max_abs_diff of C outputs (every graph output, packed in graph order, as
    model_invoke writes them) against tinycore.runtime.run; per_output_match: one flag per graph output."""
    from tinycore.runtime import run

    max_diff = 0
    match = len(outputs) == len(inputs)
    per_output = [match] * len(graph.outputs)
    for x, got in zip(inputs, outputs):
        ys = run(graph, x)
        wants = [y.reshape(-1) for y in (ys if isinstance(ys, tuple) else (ys,))]
        got_arr = np.frombuffer(got, dtype=np.int8)
        if got_arr.size != sum(w.size for w in wants):
            match = False
            per_output = [False] * len(wants)
            continue
        pieces = np.split(got_arr, np.cumsum([w.size for w in wants])[:-1])
        for k, (want, piece) in enumerate(zip(wants, pieces)):
            diff = int(np.abs(piece.astype(np.int32) - want.astype(np.int32)).max(initial=0))
            max_diff = max(max_diff, diff)
            per_output[k] = per_output[k] and diff == 0
            match = match and diff == 0
    return {"outputs_match": bool(match), "n_checked": len(outputs), "max_abs_diff": max_diff,
            "per_output_match": [bool(m) for m in per_output]}


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
