"""Write an integer graph as a self-contained C99 folder: model.h, model.c, the kernels it calls, a test harness.

model.c holds the constants as `static const` arrays, ONE arena `tc_arena[MODEL_ARENA_BYTES]` (aligned to 4)
whose size and offsets come from `tinycore.memory.plan_graph`, and the inference, a straight list of kernel
calls; the files and their interface (several inputs and outputs included) are written by
`tinycore.export.model_files`. The folder is written to a temporary sibling and renamed, so a failed generation
leaves no folder.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tinycore.errors import GraphValidationError, TinycoreError, UnsupportedError
from tinycore.export.emit import EMITTERS, Emitter, c_comment
from tinycore.export.harness import harness_source
from tinycore.export.model_files import ModelCode, io_bytes, model_c, model_h
from tinycore.ir.graph import Graph
from tinycore.ir.validate import validate_graph
from tinycore.runtime.interpreter import graph_inputs

KERNELS_DIR = Path(__file__).resolve().parent / "kernels"
HEADERS = ("tc_fixedpoint.h", "tc_kernels.h")


@dataclass(frozen=True)
class GeneratedModel:
    out_dir: Path
    arena_bytes: int  # == MODEL_ARENA_BYTES == plan.arena_bytes
    input_bytes: int  # MODEL_INPUT_BYTES: every input, packed in graph order
    output_bytes: int  # MODEL_OUTPUT_BYTES: every output, packed in graph order
    constant_bytes: int  # bytes of the static const arrays (model data in Flash)
    kernels: tuple[str, ...]  # C kernel files copied in, e.g. "tc_conv2d_s8.c"
    n_test_inputs: int

    @property
    def sources(self) -> list[Path]:
        """The .c files of the library (model.c + kernels), without the test harness."""
        return [self.out_dir / "model.c", *(self.out_dir / k for k in self.kernels)]


def kernel_file(kind: str, kernel_dirs: Sequence[str] = ("portable",)) -> Path | None:
    """The first of kernels/<dir>/tc_<kind>.c that exists (e.g. ("cortex_m", "portable") for a DSP board)."""
    for d in kernel_dirs:
        path = KERNELS_DIR / d / f"tc_{kind}.c"
        if path.is_file():
            return path
    return None


def check_graph_supported(graph: Graph) -> None:
    validate_graph(graph)
    for t in graph.activations():
        if t.dtype != "int8":
            raise UnsupportedError(f"tensor '{t.name}' is {t.dtype}; the C export takes int8 activations")
    for i, op in enumerate(graph.ops):
        if op.kind not in EMITTERS:
            raise UnsupportedError(f"op {i} {op.kind} '{op.name}': no C emitter; supported: "
                                   f"{', '.join(sorted(EMITTERS))}")


def _check_plan(graph: Graph, plan: Any) -> None:
    """The plan is the planner's promise; a tensor outside the arena would be a silent memory corruption."""
    for t in graph.activations():
        off = plan.offsets.get(t.name)
        if off is None or off < 0 or off + t.nbytes > plan.arena_bytes:
            raise UnsupportedError(f"arena plan places tensor '{t.name}' ({t.nbytes} B) at offset {off}, outside "
                                   f"the {plan.arena_bytes} B arena")
    for name, (off, size) in plan.scratch.items():
        if off < 0 or off + size > plan.arena_bytes:
            raise UnsupportedError(f"arena plan places the scratch of op '{name}' at {off}+{size}, outside "
                                   f"the {plan.arena_bytes} B arena")
    from tinycore.memory import check_plan

    check_plan(graph, plan)  # no two live buffers share a byte (hand-made plans included)


def _model_code(graph: Graph, plan: Any) -> tuple[ModelCode, list[str], list[str]]:
    """The whole-graph schedule: one kernel call per op, in graph order. Also the op kinds called and the
    constants emitted (tensor names)."""
    e = Emitter(graph, dict(plan.offsets), dict(plan.scratch))
    decls: list[str] = []
    body: list[str] = []
    called: list[str] = []
    for i, op in enumerate(graph.ops):
        d, call = EMITTERS[op.kind](e, op, i)
        decls += d
        body.append(f"    /* op {i} {op.kind} '{c_comment(op.name)}' */\n    TC_OP_BEGIN();\n    {call}\n"
                    f"    TC_OP_END(tc_profile_instructions[{i}]);")
        if not call.startswith("/*") and op.kind not in called:
            called.append(op.kind)
    code = ModelCode("tinycore.export", plan.arena_bytes,
                     "every activation and scratch buffer, at offsets planned by tinycore.memory",
                     e.const_decls, decls, (), body, [plan.offsets[n] for n in graph.inputs],
                     [plan.offsets[n] for n in graph.outputs], n_ops=len(graph.ops))
    return code, called, list(e.constants)


def normalize_test_inputs(graph: Graph, test_inputs: Sequence | None) -> list[np.ndarray]:
    """Test inputs as the packed int8 buffers `model_invoke` reads (every graph input, flattened, in order). Each
    test input is an array, or a tuple of arrays when the graph has several inputs. None: one all-zero input."""
    if test_inputs is None:
        return [np.zeros(io_bytes(graph)[0], np.int8)]
    out = []
    for k, x in enumerate(test_inputs):
        try:
            arrays = graph_inputs(graph, x)
        except TinycoreError as err:
            raise GraphValidationError(f"test input {k} is not what the graph takes: {err}") from None
        out.append(np.concatenate([a.reshape(-1) for a in arrays]))
    if not out:
        raise GraphValidationError("test_inputs is empty; give at least one input or None")
    return out


def write_generated(out_dir: Path, sources: dict[str, str], kernels: Sequence[Path]) -> None:
    """Write a generated C folder atomically: sources, the shared headers and the kernels go to a temporary sibling
    folder that replaces out_dir only when complete, so a failure leaves nothing half-written."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o755)
        for name, text in sources.items():
            (tmp / name).write_text(text)
        for h in HEADERS:
            shutil.copyfile(KERNELS_DIR / "include" / h, tmp / h)
        for k in kernels:
            shutil.copyfile(k, tmp / k.name)
        replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move the finished folder into place; an older out_dir is removed only after the new one is complete."""
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.rename(out_dir, old / "x")
    os.rename(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def generate_c(graph: Graph, out_dir: str | Path, *, test_inputs: Sequence[np.ndarray] | None = None,
               plan: Any = None, kernel_dirs: Sequence[str] = ("portable",)) -> GeneratedModel:
    """Write the C folder of `graph` to out_dir (replacing it). `plan` defaults to tinycore.memory.plan_graph;
    `test_inputs` (int8 arrays) are compiled into tc_test_main.c (None: one all-zero input). `kernel_dirs`:
    where to take each kernel from, first match wins (a board with DSP passes ("cortex_m", "portable"))."""
    out_dir = Path(out_dir)
    check_graph_supported(graph)
    if plan is None:
        from tinycore.memory import plan_graph

        plan = plan_graph(graph)
    _check_plan(graph, plan)
    inputs = normalize_test_inputs(graph, test_inputs)
    code, called, constants = _model_code(graph, plan)
    return write_model(graph, code, out_dir, inputs, called, constants, kernel_dirs)


def write_model(graph: Graph, code: ModelCode, out_dir: Path, inputs: list[np.ndarray], called: Sequence[str],
                constants: Sequence[str], kernel_dirs: Sequence[str],
                extra_sources: dict[str, str] | None = None) -> GeneratedModel:
    """Write model.h, model.c (tinycore.export.model_files), the test harness, the kernels of `called` and any
    schedule-specific sources to out_dir; shared by every schedule."""
    kernels: list[Path] = []
    for kind in called:
        path = kernel_file(kind, kernel_dirs)
        if path is None:
            op = next(o for o in graph.ops if o.kind == kind)
            raise UnsupportedError(f"op '{op.name}' ({kind}): no C kernel tc_{kind}.c in kernels/"
                                   f"{{{','.join(kernel_dirs)}}} yet")
        kernels.append(path)
    in_bytes, out_bytes = io_bytes(graph)
    write_generated(out_dir, {"model.h": model_h(graph, code), "model.c": model_c(graph, code),
                              "tc_test_main.c": harness_source(inputs, in_bytes), **(extra_sources or {})},
                    kernels)
    const_bytes = sum(graph.tensors[n].nbytes for n in constants)
    return GeneratedModel(out_dir, code.arena_bytes, in_bytes, out_bytes, const_bytes,
                          tuple(k.name for k in kernels), len(inputs))
