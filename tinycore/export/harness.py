"""tc_test_main.c: the program that runs a generated model on compiled-in inputs, on the host or on a board.

It prints the output of each run as one line of lowercase hex bytes (two digits per byte, nothing else on the
line; a graph with several outputs prints all of them packed in graph order, as `model_invoke` writes them) and,
when a board header defines the counter macros, a line `instr <n>` after each output, and with the stack macros
(boards/common/tc_stack.h) `stack <bytes> heap <bytes>`: the stack high-water mark around model_invoke and the
heap in use. `parse_output` reads them.
A profiling build (-DTC_PROFILE) also prints `profile <overhead> <copy-in> <copy-out> <op 0> ... <op N-1>` (raw
counts, tinycore.export.profile reads them).
Board hooks: compile with -DTC_BOARD_HEADER='"board.h"'; that header provides `tc_board_init()` and may define
TC_COUNTER_BEGIN() / TC_COUNTER_END(n) (n is assigned the count) and TC_BOARD_EXIT(code).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tinycore.errors import BuildError
from tinycore.export.emit import c_array

_HEX_LINE = re.compile(r"^([0-9a-f]{2})+$")
_INSTR_LINE = re.compile(r"^instr (\d+)$")
_STACK_LINE = re.compile(r"^stack (\d+) heap (\d+)$")

_MAIN = """\
int main(void)
{
    int t;
    int32_t i;
#ifdef TC_BOARD_HEADER
    tc_board_init();
#endif
    for (t = 0; t < TC_N_TESTS; ++t) {
        unsigned long tc_instr = 0, tc_stack = 0;
        int rc;
        TC_STACK_PAINT();
        TC_COUNTER_BEGIN();
        rc = model_invoke(tc_test_inputs[t], tc_test_output);
        TC_COUNTER_END(tc_instr);
        TC_STACK_USED(tc_stack);
        if (rc != 0) {
            printf("error model_invoke returned %d on test %d\\n", rc, t);
            TC_BOARD_EXIT(1);
            return 1;
        }
        for (i = 0; i < MODEL_OUTPUT_BYTES; ++i) {
            printf("%02x", (unsigned)(uint8_t)tc_test_output[i]);
        }
        printf("\\n");
        if (TC_PRINT_INSTR) {
            printf("instr %lu\\n", tc_instr);
        }
        if (TC_PRINT_STACK) {
            printf("stack %lu heap %lu\\n", tc_stack, tc_heap_used());
        }
#if defined(TC_PROFILE) && defined(MODEL_N_OPS)
        printf("profile %lu %lu %lu", (unsigned long)tc_profile_overhead, (unsigned long)tc_profile_io[0],
               (unsigned long)tc_profile_io[1]);
        for (i = 0; i < MODEL_N_OPS; ++i) {
            printf(" %lu", (unsigned long)tc_profile_instructions[i]);
        }
        printf("\\n");
#endif
    }
    TC_BOARD_EXIT(0);
    return 0;
}
"""


def harness_source(inputs: list[np.ndarray], input_bytes: int) -> str:
    """C source of tc_test_main.c with `inputs` (packed int8 arrays of input_bytes values each: every graph input
    one after the other, see tinycore.export.codegen.normalize_test_inputs) compiled in."""
    rows = [c_array("int8_t", f"tc_test_input{k}", x) for k, x in enumerate(inputs)]
    table = ", ".join(f"tc_test_input{k}" for k in range(len(inputs)))
    return "\n".join([
        "/* tc_test_main.c (generated): runs model_invoke on each compiled-in input and prints the output as a",
        " * line of hex bytes; with a board header that defines the counter, also `instr <n>`. */",
        "#include <stdint.h>", "#include <stdio.h>", "", '#include "model.h"', "",
        "#ifdef TC_BOARD_HEADER", "#include TC_BOARD_HEADER", "#endif",
        "#ifdef TC_COUNTER_END", "#define TC_PRINT_INSTR 1", "#else", "#define TC_PRINT_INSTR 0",
        "#define TC_COUNTER_END(n) ((void)0)", "#endif",
        "#ifndef TC_COUNTER_BEGIN", "#define TC_COUNTER_BEGIN() ((void)0)", "#endif",
        "#ifndef TC_BOARD_EXIT", "#define TC_BOARD_EXIT(code) ((void)0)", "#endif",
        "#ifdef TC_STACK_USED", "#define TC_PRINT_STACK 1", "#else", "#define TC_PRINT_STACK 0",
        "#define TC_STACK_PAINT() ((void)0)", "#define TC_STACK_USED(n) ((void)0)",
        "#define tc_heap_used() 0ul", "#endif", "",
        f"#define TC_N_TESTS {len(inputs)}", "", *rows, "",
        f"static const int8_t *const tc_test_inputs[TC_N_TESTS] = {{{table}}};",
        "static int8_t tc_test_output[MODEL_OUTPUT_BYTES];", "", _MAIN,
    ])


@dataclass(frozen=True)
class ProgramOutput:
    outputs: list[bytes]  # one per test input, in order
    instructions: list[int]  # one per test input when the board counts, else empty
    stack_bytes: list[int]  # stack high-water mark around each model_invoke (boards only, tc_stack.h)
    heap_bytes: list[int]  # heap handed out by sbrk after each test (boards only)


def parse_output(text: str, n_expected: int | None = None, where: str = "program") -> ProgramOutput:
    """Hex lines -> bytes; `instr <n>` lines -> counts; `stack`/`heap` lines (parse_sram_lines). Other lines (board
    banners, a profiling build's `profile` line: tinycore.export.profile) are ignored."""
    outputs: list[bytes] = []
    instr: list[int] = []
    for line in text.splitlines():
        line = line.strip()
        if _HEX_LINE.match(line):
            outputs.append(bytes.fromhex(line))
        elif (m := _INSTR_LINE.match(line)) is not None:
            instr.append(int(m.group(1)))
        elif line.startswith("error"):
            raise BuildError(f"{where}: {line}")
    if n_expected is not None and len(outputs) != n_expected:
        raise BuildError(f"{where}: printed {len(outputs)} outputs, expected {n_expected}; output was:\n"
                         f"{text[-2000:]}")
    stack, heap = parse_sram_lines(text)
    return ProgramOutput(outputs, instr, stack, heap)


def parse_sram_lines(text: str) -> tuple[list[int], list[int]]:
    """The `stack <bytes> heap <bytes>` lines a board firmware prints (boards/common/tc_stack.h), in order."""
    stack: list[int] = []
    heap: list[int] = []
    for line in text.splitlines():
        if (m := _STACK_LINE.match(line.strip())) is not None:
            stack.append(int(m.group(1)))
            heap.append(int(m.group(2)))
    return stack, heap
