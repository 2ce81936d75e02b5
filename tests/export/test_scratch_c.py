"""The memory rules' scratch sizes (tinycore.memory.rules.scratch_bytes) equal tc_<op>_scratch_bytes in C."""
from tests.cases.conv2d import CONV2D_CASES
from tests.cases.depthwise_conv2d import DEPTHWISE_CASES
from tests.cases.fully_connected import FC_CASES
from tinycore.export.codegen import KERNELS_DIR
from tinycore.export.host import compile_program, run_program
from tinycore.memory.rules import COL_VALUES, conv_col_bytes, scratch_bytes


def _dims(h: int, w: int, c: int) -> str:
    """A pointer to a C99 compound literal tc_dims."""
    return f"&(tc_dims){{{h}, {w}, {c}}}"


def _conv_rows() -> list[tuple[list[int], int]]:
    """(x, w, y dims, inplace, columns; the Python rule's value) for every conv case, in place and not, with every
    column choice: a table that one C loop walks (one call per printf line compiles too slowly, sanitized)."""
    out = []
    for c in CONV2D_CASES:
        g = c.make(0)
        op = g.ops[0]
        x, w, y = (g.tensors[n].shape for n in (op.inputs[0], op.inputs[1], op.outputs[0]))
        for inplace in (0, 1):
            for columns in (0, 4, 3, 2, 1, -1):  # all that fit, capped blocks, one column, none
                out.append(([*x[1:], *w[1:], *y[1:], inplace, columns], scratch_bytes(op, g, bool(inplace), columns)))
    return out


def _calls() -> list[tuple[str, int]]:
    """(C expression, the Python rule's value) for the other kernels and the column area's branches."""
    out = []
    for c in DEPTHWISE_CASES:
        g = c.make(0)
        op = g.ops[0]
        y = g.tensors[op.outputs[0]].shape
        for inplace in (0, 1):
            expr = f"tc_depthwise_conv2d_s8_scratch_bytes({_dims(*y[1:])}, {inplace})"
            out.append((expr, scratch_bytes(op, g, bool(inplace))))
    for c in FC_CASES:
        g = c.make(0)
        op = g.ops[0]
        n_in = g.tensors[op.inputs[1]].shape[1]  # one call's inputs: the whole input, or one token's
        out.append((f"tc_fully_connected_s8_scratch_bytes({n_in})", scratch_bytes(op, g, False)))
    # the column area's other branches: one pixel, columns longer than half the area, a tap longer than it all
    for kh, kw, cin, pixels in ((3, 3, 8, 1), (5, 5, 30, 16), (1, 1, COL_VALUES + 3, 4), (3, 3, 200, 9)):
        expr = f"tc_conv2d_s8_col_bytes({_dims(8, 8, cin)}, {_dims(kh, kw, cin)}, {_dims(pixels, 1, 4)}, 0)"
        out.append((expr, conv_col_bytes(kh, kw, cin, pixels)))
    return out


def test_python_scratch_rules_equal_the_c_functions(tmp_path):
    rows, calls = _conv_rows(), _calls()
    table = ",\n".join("    {" + ", ".join(str(v) for v in r) + "}" for r, _ in rows)
    body = "\n".join(f'    printf("%ld\\n", (long){expr});' for expr, _ in calls)
    src = tmp_path / "scratch.c"
    src.write_text(f"""#include <stdio.h>
#include "tc_kernels.h"
static const int32_t conv[][11] = {{
{table}
}};
int main(void)
{{
    size_t i;
    for (i = 0; i < sizeof conv / sizeof conv[0]; ++i) {{
        const int32_t *r = conv[i];
        const tc_dims x = {{r[0], r[1], r[2]}}, w = {{r[3], r[4], r[5]}}, y = {{r[6], r[7], r[8]}};
        printf("%ld\\n", (long)tc_conv2d_s8_scratch_bytes(&x, &w, &y, r[9], r[10]));
    }}
{body}
    return 0;
}}
""")
    exe = compile_program([src], tmp_path / "scratch", include_dirs=[KERNELS_DIR / "include"], sanitize=True)
    got = [int(v) for v in run_program(exe, 60).split()]
    assert got == [want for _, want in rows] + [want for _, want in calls]
    assert len(set(got)) > 5  # the cases reach several sizes, not one constant
