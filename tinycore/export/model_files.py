"""The one writer of model.h and model.c: the C interface of a generated model, for every schedule.

A schedule (the whole graph in `codegen`, the patch program in `patch_codegen`) supplies `ModelCode`: its
constants, parameter structs, helper functions and the statements of one inference; this module adds what every
model shares: the I/O defines, the arena, the copies of the inputs into the arena and of the outputs out of it,
and the entry points.

The C interface (model.h). Inputs and outputs are numbered in graph order (graph.inputs, graph.outputs):
  MODEL_N_INPUTS, MODEL_N_OUTPUTS
  MODEL_INPUT<k>_BYTES, MODEL_INPUT<k>_SCALE, MODEL_INPUT<k>_ZERO_POINT, MODEL_INPUT<k>_OFFSET (same for OUTPUT)
  MODEL_INPUT_BYTES, MODEL_OUTPUT_BYTES     all inputs (outputs) packed one after the other, at the <k>_OFFSETs
  MODEL_INPUT_SCALE, ..._ZERO_POINT         only when there is one input (output): its quantization
  MODEL_ARENA_BYTES
  int model_invoke(const int8_t *in, int8_t *out);                     packed buffers
  int model_invoke_io(const int8_t *const inputs[], int8_t *const outputs[]);   one pointer per tensor
  MODEL_INPUT<k>_IN_ARENA, int8_t *model_input_slot(int32_t k)   where input k lives in the arena (NULL, and the
                                            define 0, when the schedule reads it elsewhere)
A caller short of SRAM writes input k straight into model_input_slot(k) and passes that pointer: the inference
then copies nothing (no input buffer beside the arena). The slot is valid until the inference runs, which
overwrites it.
With one input and one output the packed buffers are that input and that output, and `model_invoke` is the
inference itself (model_invoke_io calls it); otherwise model_invoke_io is the inference and model_invoke unpacks.

Profiling build (schedules that mark their ops, ModelCode.n_ops > 0): compiled with -DTC_PROFILE and
-DTC_BOARD_HEADER (a board with tc_counter_read / tc_counter_instructions), the inference wraps each op in two
counter reads and stores the raw counts in tc_profile_instructions[MODEL_N_OPS]; tc_profile_io[2] holds the
input and output copies, tc_profile_overhead two back-to-back reads (to subtract). Without TC_PROFILE the marks
are empty macros: zero cost. tinycore.export.profile parses and checks the numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from tinycore.export.emit import c_comment
from tinycore.ir.graph import Graph, Tensor

_PROFILE = [
    "#ifdef TC_PROFILE /* profiling build: raw board-counter instructions per op (see model.h) */",
    "#ifndef TC_BOARD_HEADER", "#error \"TC_PROFILE needs -DTC_BOARD_HEADER: a board with tc_counter_read()\"",
    "#endif", "#include TC_BOARD_HEADER",
    "uint32_t tc_profile_instructions[MODEL_N_OPS];", "uint32_t tc_profile_io[2];", "uint32_t tc_profile_overhead;",
    "static uint32_t tc_profile_mark;",
    "#define TC_OP_BEGIN() (tc_profile_mark = tc_counter_read())",
    "#define TC_OP_END(slot) ((slot) = tc_counter_instructions(tc_profile_mark, tc_counter_read()))",
    "#else", "#define TC_OP_BEGIN() ((void)0)", "#define TC_OP_END(slot) ((void)0)", "#endif",
]
_PROFILE_H = [
    "#ifdef TC_PROFILE", "/* Profiling build: raw counts of the last inference, each including one pair of counter",
    " * reads (tc_profile_overhead instructions): per op, copy-in [0] and copy-out [1]. */",
    "extern uint32_t tc_profile_instructions[MODEL_N_OPS];", "extern uint32_t tc_profile_io[2];",
    "extern uint32_t tc_profile_overhead;", "#endif",
]
_ARENA = [
    "#if defined(__GNUC__) || defined(__clang__)",
    "static int8_t tc_arena[MODEL_ARENA_BYTES] __attribute__((aligned(4)));",
    "#else /* C99: a union with an int32_t aligns the bytes */",
    "static union { int8_t bytes[MODEL_ARENA_BYTES]; int32_t align; } tc_arena_words;",
    "#define tc_arena (tc_arena_words.bytes)", "#endif",
]
IO_SIGNATURE = ("int model_invoke_io(const int8_t *const inputs[MODEL_N_INPUTS], "
                "int8_t *const outputs[MODEL_N_OUTPUTS])")
STREAM_SIGNATURE = "int model_invoke_stream(int8_t *out)"
STREAM_IO_SIGNATURE = "int model_invoke_stream_io(int8_t *const outputs[MODEL_N_OUTPUTS])"


@dataclass(frozen=True)
class ModelCode:
    """What one schedule of a graph contributes to model.h / model.c."""

    generator: str  # the module that wrote it, named in the files' first comment
    arena_bytes: int  # == the plan's arena_bytes
    arena_note: str  # one line on how the arena is planned
    const_decls: Sequence[str]  # `static const` arrays (weights, biases, multipliers)
    decls: Sequence[str]  # per-op parameter structs
    functions: Sequence[str]  # static helpers placed before the inference (patch functions)
    body: Sequence[str]  # the statements of one inference, between the input and the output copies
    input_offsets: Sequence[int | None]  # per graph input: arena offset it is copied to; None = read in place
    output_offsets: Sequence[int]  # per graph output: arena offset it is copied from
    locals: Sequence[str] = ()  # declarations at the top of the inference function
    header_defines: Sequence[str] = ()  # schedule-specific lines of model.h (before MODEL_ARENA_BYTES)
    header_decls: Sequence[str] = ()  # schedule-specific declarations of model.h (after the entry points)
    n_ops: int = 0  # ops whose statements in `body` are wrapped in TC_OP_BEGIN() / TC_OP_END(k) (0: no profile)
    stream: bool = False  # the inference is model_invoke_stream(out), pulling input rows; the entry points that
    # take a frame come from the schedule's own source (model_stream.c)


def single_io(graph: Graph) -> bool:
    return len(graph.inputs) == 1 and len(graph.outputs) == 1


def io_bytes(graph: Graph) -> tuple[int, int]:
    """(MODEL_INPUT_BYTES, MODEL_OUTPUT_BYTES): every input, and every output, packed."""
    return (sum(graph.tensors[n].nbytes for n in graph.inputs), sum(graph.tensors[n].nbytes for n in graph.outputs))


def _io_defines(what: str, tensors: list[Tensor]) -> list[str]:
    lines = [f"#define MODEL_N_{what}S {len(tensors)}"]
    off = 0
    for k, t in enumerate(tensors):
        lines += [f"/* {what.lower()} {k} '{c_comment(t.name)}' shape {tuple(t.shape)}, "
                  f"real = {t.scale[0]!r} * (q - {t.zero_point}) */",
                  f"#define MODEL_{what}{k}_BYTES {t.nbytes}", f"#define MODEL_{what}{k}_OFFSET {off}",
                  f"#define MODEL_{what}{k}_SCALE {float(t.scale[0])!r}f",
                  f"#define MODEL_{what}{k}_ZERO_POINT {t.zero_point}"]
        off += t.nbytes
    lines.append(f"#define MODEL_{what}_BYTES {off}")
    if len(tensors) == 1:
        lines += [f"#define MODEL_{what}_SCALE MODEL_{what}0_SCALE",
                  f"#define MODEL_{what}_ZERO_POINT MODEL_{what}0_ZERO_POINT"]
    return lines


def model_h(graph: Graph, code: ModelCode) -> str:
    ins = [graph.tensors[n] for n in graph.inputs]
    outs = [graph.tensors[n] for n in graph.outputs]
    return "\n".join([
        f"/* model.h (generated by {code.generator}): the model's C interface (tinycore.export.model_files). */",
        "#ifndef TC_MODEL_H", "#define TC_MODEL_H", "", "#include <stdint.h>", "",
        *_io_defines("INPUT", ins), *_io_defines("OUTPUT", outs), *code.header_defines,
        f"/* SRAM: {code.arena_note} */", f"#define MODEL_ARENA_BYTES {code.arena_bytes}", "",
        "/* Runs the model on MODEL_INPUT_BYTES int8 values (every input, packed at MODEL_INPUT<k>_OFFSET); writes",
        " * MODEL_OUTPUT_BYTES int8 values (every output, packed at MODEL_OUTPUT<k>_OFFSET). Returns 0. */",
        "int model_invoke(const int8_t *in, int8_t *out);",
        "/* The same with one buffer per tensor: inputs[k] holds MODEL_INPUT<k>_BYTES values, outputs[k] receives",
        " * MODEL_OUTPUT<k>_BYTES values, in graph order. Returns 0. */",
        f"{IO_SIGNATURE};", *_slot_h(code), *code.header_decls,
        *([f"#define MODEL_N_OPS {code.n_ops}", *_PROFILE_H] if code.n_ops else []), "", "#endif /* TC_MODEL_H */", "",
    ])


def _inference(graph: Graph, code: ModelCode) -> list[str]:
    """The inference function: copy the inputs in, run the body, copy the outputs out."""
    if code.stream and len(graph.outputs) == 1:
        head, in_ptrs, out_ptrs = STREAM_SIGNATURE, [None], ["out"]
    elif code.stream:  # several outputs: one pointer each; model_invoke_stream(out) unpacks (_stream_wrapper)
        head, in_ptrs = STREAM_IO_SIGNATURE, [None]
        out_ptrs = [f"outputs[{k}]" for k in range(len(graph.outputs))]
    elif single_io(graph):
        head, in_ptrs, out_ptrs = "int model_invoke(const int8_t *in, int8_t *out)", ["in"], ["out"]
    else:
        head = IO_SIGNATURE
        in_ptrs = [f"inputs[{k}]" for k in range(len(graph.inputs))]
        out_ptrs = [f"outputs[{k}]" for k in range(len(graph.outputs))]
    copy_in = [f"    if ({src} != tc_arena + {off}) {{ /* written in place through model_input_slot({k}) */\n"
               f"        memcpy(tc_arena + {off}, {src}, MODEL_INPUT{k}_BYTES);\n    }}"
               for k, (off, src) in enumerate(zip(code.input_offsets, in_ptrs)) if off is not None]
    copy_out = [f"    memcpy({dst}, tc_arena + {off}, MODEL_OUTPUT{k}_BYTES);"
                for k, (off, dst) in enumerate(zip(code.output_offsets, out_ptrs))]
    if code.n_ops:
        copy_in = ["    TC_OP_BEGIN();", "    TC_OP_END(tc_profile_overhead);", "    TC_OP_BEGIN();", *copy_in,
                   "    TC_OP_END(tc_profile_io[0]);"]
        copy_out = ["    TC_OP_BEGIN();", *copy_out, "    TC_OP_END(tc_profile_io[1]);"]
    return [head, "{", *(f"    {d}" for d in code.locals), *copy_in, *code.body, *copy_out, "    return 0;", "}", ""]


def _slot_h(code: ModelCode) -> list[str]:
    """model.h: which inputs have an arena slot, and the function that gives it."""
    flags = [f"#define MODEL_INPUT{k}_IN_ARENA {0 if off is None else 1}" for k, off in enumerate(code.input_offsets)]
    return ["/* Input k's place in the arena (NULL if it has none, MODEL_INPUT<k>_IN_ARENA 0): write the input",
            " * there and pass that pointer to skip the copy; valid until the inference runs. */", *flags,
            "int8_t *model_input_slot(int32_t k);"]


def _slot_c(code: ModelCode) -> list[str]:
    cases = [f"    case {k}:\n        return tc_arena + {off};" for k, off in enumerate(code.input_offsets)
             if off is not None]
    return ["int8_t *model_input_slot(int32_t k)", "{", "    switch (k) {", *cases, "    default:",
            "        return NULL;", "    }", "}", ""]


def _entry_wrapper(graph: Graph) -> list[str]:
    """The entry point the inference is not: unpacks packed buffers, or packs pointers to one I/O pair."""
    if single_io(graph):
        return [IO_SIGNATURE, "{", "    return model_invoke(inputs[0], outputs[0]);", "}", ""]
    ins = ", ".join(f"in + MODEL_INPUT{k}_OFFSET" for k in range(len(graph.inputs)))
    outs = ", ".join(f"out + MODEL_OUTPUT{k}_OFFSET" for k in range(len(graph.outputs)))
    return ["int model_invoke(const int8_t *in, int8_t *out)", "{",
            f"    const int8_t *const inputs[MODEL_N_INPUTS] = {{{ins}}};",
            f"    int8_t *const outputs[MODEL_N_OUTPUTS] = {{{outs}}};",
            "    return model_invoke_io(inputs, outputs);", "}", ""]


def _stream_wrapper(graph: Graph) -> list[str]:
    """Stream mode with several outputs: model_invoke_stream(out) writes them packed at MODEL_OUTPUT<k>_OFFSET."""
    outs = ", ".join(f"out + MODEL_OUTPUT{k}_OFFSET" for k in range(len(graph.outputs)))
    return [STREAM_SIGNATURE, "{", f"    int8_t *const outputs[MODEL_N_OUTPUTS] = {{{outs}}};",
            "    return model_invoke_stream_io(outputs);", "}", ""]


def _wrappers(graph: Graph, code: ModelCode) -> list[str]:
    if not code.stream:
        return _entry_wrapper(graph)
    return [] if len(graph.outputs) == 1 else _stream_wrapper(graph)


def model_c(graph: Graph, code: ModelCode) -> str:
    return "\n".join([
        f"/* model.c (generated by {code.generator}): constants, the arena, and the inference. */",
        "#include <stddef.h>", "#include <string.h>", "", '#include "model.h"', '#include "tc_kernels.h"', "",
        *_ARENA, *(_PROFILE if code.n_ops else []), "", *code.const_decls, "", *code.decls, "", *code.functions,
        *_inference(graph, code), *_wrappers(graph, code), *_slot_c(code),
    ])
