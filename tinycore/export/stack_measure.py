"""Measure the entries of the stack table (tinycore.export.stack) on QEMU with the stack painting of tc_stack.h.

One batch image per (board, kernel variant) runs one-op models and a model whose only op is a reshape; a kernel's
entry is the deepest high-water mark of its one-op models minus the reshape model's (which is the `harness`
entry: start-up, main, model_invoke). `printf` is the high-water mark of a main that only prints the harness's
lines (newlib-nano through semihosting), painted from before the board's start-up code prints.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from tinycore.errors import BuildError
from tinycore.export.firmware import STACK_BYTES
from tinycore.export.stack import kernel_key
from tinycore.ir import Graph, Op, Tensor

_PRINTF_MAIN = r"""/* stack of the harness's printf calls (tinycore.export.stack_measure) */
#include <stdint.h>
#include <stdio.h>
#include "model.h"
#include TC_BOARD_HEADER

static int8_t tc_in[MODEL_INPUT_BYTES], tc_out[MODEL_OUTPUT_BYTES];

int main(void)
{
    unsigned long used = 0;
    TC_STACK_PAINT();
    tc_board_init();
    printf("%02x%02x\n", 1u, 255u);
    printf("instr %lu\n", 123456789ul);
    printf("stack %lu heap %lu\n", 1234ul, 5678ul);
    printf("error model_invoke returned %d on test %d\n", -1, 3);
    TC_STACK_USED(used);
    printf("printf_stack %lu\n", used);
    return model_invoke(tc_in, tc_out); /* keeps the model (and its arena) in the image */
}
"""


def baseline_graph() -> Graph:
    """A model with no kernel worth the name: one reshape (1, 4, 4, 2) -> (1, 32)."""
    x = Tensor("x", (1, 4, 4, 2), "int8", (0.05,), 0)
    y = Tensor("y", (1, 32), "int8", (0.05,), 0)
    return Graph({"x": x, "y": y}, [Op("reshape", "reshape", ["x"], ["y"], {"shape": [1, 32]})], ["x"], ["y"])


def one_op_graphs(graph: Graph, name: str, per_kind: int = 2) -> list[tuple[str, Graph]]:
    """Each op of `graph` as a model of its own (its activation inputs become graph inputs), at most `per_kind`
    distinct (shapes, attributes) per op kind."""
    seen: dict[str, set] = {}
    out = []
    for op in graph.ops:
        tensors = [graph.tensors[n] for n in [*op.inputs, *op.outputs]]
        key = (tuple(graph.tensors[n].shape for n in op.inputs), repr(sorted(op.attrs.items())))
        kinds = seen.setdefault(op.kind, set())
        if key in kinds or len(kinds) >= per_kind:
            continue
        kinds.add(key)
        inputs = list(dict.fromkeys(n for n in op.inputs if graph.tensors[n].data is None))
        g = Graph({t.name: t for t in tensors}, [op], inputs, list(op.outputs))
        out.append((f"{name}/{op.name}", g))
    return out


def _random_inputs(graph: Graph, seed: int) -> list:
    from tinycore.export.validate import random_inputs

    return random_inputs(graph, 1, seed)


def measure_kernels(cases: Sequence[tuple[str, Graph]], board: str, dsp: bool, work_dir: Path,
                    seed: int = 0) -> dict:
    """{"harness": bytes, "kernels": {key: bytes}, "cases": {case name: [key, bytes]}} on `board` with the DSP
    (cortex_m) kernels or the portable ones; every case must be a one-op graph."""
    from tinycore.export.codegen import generate_c
    from tinycore.export.harness import parse_output
    from tinycore.export.qemu import run_batch

    work_dir = Path(work_dir)
    all_cases = [("baseline/reshape", baseline_graph()), *cases]
    gens = []
    for k, (name, graph) in enumerate(all_cases):
        if len(graph.ops) != 1:
            raise BuildError(f"stack case {name}: {len(graph.ops)} ops, a stack case has one")
        gens.append(generate_c(graph, work_dir / f"case{k}", test_inputs=_random_inputs(graph, seed)).out_dir)
    _, texts = run_batch(gens, board, work_dir / f"batch-{board}-{'dsp' if dsp else 'portable'}", dsp=dsp,
                         stack_bytes=STACK_BYTES)
    stacks = []
    for (name, _), text in zip(all_cases, texts):
        got = parse_output(text, n_expected=1, where=f"stack case {name} on {board}")
        if not got.stack_bytes:
            raise BuildError(f"stack case {name} on {board}: no `stack` line (board without tc_stack.h?)")
        stacks.append(max(got.stack_bytes))
    harness = stacks[0]
    kernels: dict[str, int] = {}
    per_case = {}
    for (name, graph), used in zip(all_cases[1:], stacks[1:]):
        key = _case_kernel(graph, dsp)
        kernels[key] = max(kernels.get(key, 0), used - harness)
        per_case[name] = [key, used - harness]
    return {"harness": harness, "kernels": kernels, "cases": per_case}


def _case_kernel(graph: Graph, dsp: bool) -> str:
    from tinycore.export.stack import graph_kernels

    (key,) = graph_kernels(graph, dsp)
    return kernel_key(key)


def measure_printf(board: str, work_dir: Path) -> int:
    """High-water mark of a main that prints the harness's kinds of lines (see _PRINTF_MAIN)."""
    from tinycore.export.app_firmware import build_app_firmware, run_app_firmware

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    main_c = work_dir / "printf_main.c"
    main_c.write_text(_PRINTF_MAIN)
    app = build_app_firmware(baseline_graph(), board, work_dir / f"printf-{board}", main_c=main_c,
                             stack_bytes=STACK_BYTES)
    text = run_app_firmware(app)
    for line in text.splitlines():
        if line.startswith("printf_stack "):
            return int(line.split()[1])
    raise BuildError(f"{app.image.elf}: printed no printf_stack line; output: {text[-500:]}")


def merge_core(runs: Iterable[dict], printf_bytes: int) -> dict:
    """One core's table entry from its measure_kernels runs (DSP and portable): the larger value of each key."""
    core: dict = {"harness": 0, "printf": printf_bytes, "kernels": {}, "cases": {}}
    for r in runs:
        core["harness"] = max(core["harness"], r["harness"])
        for k, v in r["kernels"].items():
            core["kernels"][k] = max(core["kernels"].get(k, 0), v)
        core["cases"].update(r["cases"])
    core["kernels"] = dict(sorted(core["kernels"].items()))
    return core


def exceeding(measured: dict, table_core: dict) -> list[str]:
    """Kernels whose measured stack is above their table entry (or missing from it), as text."""
    out = []
    for key, used in sorted(measured["kernels"].items()):
        entry = table_core["kernels"].get(key)
        if entry is None or used > entry:
            out.append(f"{key}: measured {used} B > table {entry} B")
    if measured["harness"] > table_core["harness"]:
        out.append(f"harness: measured {measured['harness']} B > table {table_core['harness']} B")
    return out

