"""generate_c's folder: the arena it declares, atomic writes, refused graphs, and the harness hooks."""
import re
import subprocess

import numpy as np
import pytest

from tests.cases.conv2d import CONV2D_CASES
from tests.cases.random_graphs import random_graph
from tests.export.conftest import case_inputs
from tinycore.errors import BuildError, GraphValidationError, UnsupportedError
from tinycore.export import build_host, generate_c, parse_output, run_program
from tinycore.export import codegen
from tinycore.export.host import compile_program
from tinycore.ir import Tensor
from tinycore.memory import plan_graph


def test_arena_symbol_is_exactly_the_planned_bytes(tmp_path):
    g = random_graph(7)
    plan = plan_graph(g)
    gen = generate_c(g, tmp_path / "m")
    assert gen.arena_bytes == plan.arena_bytes
    header = (tmp_path / "m" / "model.h").read_text()
    assert re.search(r"#define MODEL_ARENA_BYTES (\d+)", header).group(1) == str(plan.arena_bytes)
    src = (tmp_path / "m" / "model.c").read_text()
    assert len(re.findall(r"static int8_t tc_arena\[MODEL_ARENA_BYTES\]", src)) == 1
    obj = tmp_path / "model.o"
    subprocess.run(["cc", "-std=c99", "-O2", "-c", str(tmp_path / "m" / "model.c"), f"-I{tmp_path / 'm'}", "-o",
                    str(obj)], check=True)
    nm = subprocess.run(["nm", "-S", str(obj)], check=True, capture_output=True, text=True).stdout
    sizes = [int(line.split()[1], 16) for line in nm.splitlines() if line.split()[-1] == "tc_arena"]
    assert sizes == [plan.arena_bytes]


def test_folder_holds_only_used_kernels_and_builds_alone(tmp_path):
    g = CONV2D_CASES[0].make(0)
    xs = case_inputs(g, 3)
    gen = generate_c(g, tmp_path / "m", test_inputs=xs)
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert names == ["model.c", "model.h", "tc_conv2d_s8.c", "tc_fixedpoint.h", "tc_kernels.h", "tc_test_main.c"]
    assert gen.kernels == ("tc_conv2d_s8.c",) and gen.n_test_inputs == 5
    assert gen.constant_bytes == sum(g.tensors[n].nbytes for n in g.ops[0].inputs[1:])
    out = parse_output(run_program(build_host(gen.out_dir), 30), n_expected=5)
    assert out.instructions == []
    from tinycore.runtime import run
    assert out.outputs == [run(g, x).tobytes() for x in xs]


def test_regenerating_replaces_the_folder(tmp_path):
    generate_c(random_graph(1), tmp_path / "m")
    (tmp_path / "m" / "stale.c").write_text("#error stale\n")
    generate_c(CONV2D_CASES[0].make(0), tmp_path / "m")
    assert not (tmp_path / "m" / "stale.c").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temp folders left behind


def test_missing_kernel_leaves_no_folder(tmp_path):
    g = CONV2D_CASES[0].make(0)
    with pytest.raises(UnsupportedError, match=r"tc_conv2d_s8\.c"):
        generate_c(g, tmp_path / "m", kernel_dirs=("no_such_dir",))
    assert list(tmp_path.iterdir()) == []


def test_failure_while_writing_keeps_the_old_folder_and_no_temp(tmp_path, monkeypatch):
    generate_c(CONV2D_CASES[0].make(0), tmp_path / "m")
    before = (tmp_path / "m" / "model.c").read_text()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(codegen, "harness_source", boom)
    with pytest.raises(RuntimeError):
        generate_c(random_graph(2), tmp_path / "m")
    assert (tmp_path / "m" / "model.c").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_int16_activation_is_refused(tmp_path):
    g = CONV2D_CASES[0].make(0)
    x = g.tensors["x"]
    g.tensors["x"] = Tensor("x", x.shape, "int16", x.scale, x.zero_point)
    g.ops = []
    g.outputs = ["x"]
    with pytest.raises(UnsupportedError, match="int16"):
        generate_c(g, tmp_path / "m")


def test_wrong_test_input_names_the_input(tmp_path):
    g = CONV2D_CASES[0].make(0)
    with pytest.raises(GraphValidationError, match=r"test input 1 .* input 'x'"):
        generate_c(g, tmp_path / "m", test_inputs=[np.zeros(189, np.int8), np.zeros(5, np.int8)])
    assert not (tmp_path / "m").exists()


def test_board_hooks_print_instruction_counts(tmp_path):
    g = CONV2D_CASES[0].make(0)
    gen = generate_c(g, tmp_path / "m", test_inputs=case_inputs(g, 0, n_random=1))
    (tmp_path / "m" / "fake_board.h").write_text(
        "#include <stdio.h>\n"
        "static int tc_fake_exit = -1;\n"
        "static void tc_board_init(void) { printf(\"board up\\n\"); }\n"
        "#define TC_COUNTER_BEGIN() ((void)0)\n"
        "#define TC_COUNTER_END(n) ((n) = 1234u)\n"
        "#define TC_BOARD_EXIT(code) (tc_fake_exit = (code), printf(\"exit %d\\n\", tc_fake_exit))\n")
    exe = compile_program(sorted(gen.out_dir.glob("*.c")), tmp_path / "board_exe", include_dirs=[gen.out_dir],
                          extra_flags=['-DTC_BOARD_HEADER="fake_board.h"'])
    text = run_program(exe, 30)
    assert text.splitlines()[0] == "board up" and text.splitlines()[-1] == "exit 0"
    out = parse_output(text, n_expected=3)
    assert out.instructions == [1234, 1234, 1234]


def test_broken_source_raises_build_error_naming_the_file(tmp_path):
    gen = generate_c(CONV2D_CASES[0].make(0), tmp_path / "m")
    with open(gen.out_dir / "model.c", "a") as f:
        f.write("\nint broken(void) { return undefined_symbol; }\n")
    with pytest.raises(BuildError, match=r"exit status 1(.|\n)*model\.c"):
        build_host(gen.out_dir)


def _program(tmp_path, body: str):
    src = tmp_path / "p.c"
    src.write_text("#include <stdio.h>\n#include <stdlib.h>\nint main(void) {\n" + body + "\n}\n")
    return compile_program([src], tmp_path / "p")


def test_run_program_reports_exit_status_crash_and_timeout(tmp_path):
    with pytest.raises(BuildError, match="exit status 3"):
        run_program(_program(tmp_path, 'printf("00\\n"); return 3;'), 10)
    with pytest.raises(BuildError, match="SIGABRT"):
        run_program(_program(tmp_path, "abort();"), 10)
    with pytest.raises(BuildError, match="still running after 0.5 s"):
        run_program(_program(tmp_path, "for (;;) { }"), 0.5)


def test_parse_output_rejects_a_short_run():
    with pytest.raises(BuildError, match="printed 1 outputs, expected 2"):
        parse_output("banner\n0aff\n", n_expected=2)
    assert parse_output("banner\n0aff\ninstr 7\n80\n").outputs == [b"\x0a\xff", b"\x80"]


def test_weights_that_could_overflow_int32_accumulators_are_refused(tmp_path):
    g = CONV2D_CASES[0].make(0)
    g.tensors["bias"].data[3] = 2**31 - 1000  # any nonzero window sum overflows channel 3
    with pytest.raises(UnsupportedError, match="output channel 3 can accumulate"):
        generate_c(g, tmp_path / "m")
    assert not (tmp_path / "m").exists()


_SLOT_MAIN = r"""#include <stdio.h>
#include "model.h"
/* The same input through a separate buffer, then written into the model's arena slot (no copy): equal outputs. */
static int8_t in[MODEL_INPUT_BYTES], out[MODEL_OUTPUT_BYTES];
static void fill(int8_t *dst) {
    int32_t i;
    for (i = 0; i < MODEL_INPUT_BYTES; ++i) {
        dst[i] = (int8_t)(i * 37 + 11);
    }
}
static void print(void) {
    int32_t i;
    for (i = 0; i < MODEL_OUTPUT_BYTES; ++i) {
        printf("%02x", (unsigned)(uint8_t)out[i]);
    }
    printf("\n");
}
int main(void) {
    int8_t *slot = model_input_slot(0);
    if (!MODEL_INPUT0_IN_ARENA || slot == NULL || model_input_slot(1) != NULL) {
        return 3;
    }
    fill(in);
    model_invoke(in, out);
    print();
    fill(slot);
    model_invoke(slot, out);
    print();
    return 0;
}
"""


def test_input_written_into_the_arena_slot_gives_the_same_outputs(tmp_path):
    """model_input_slot(k): a camera front end writes the input into the arena and the inference copies nothing
    (apps/vww/firmware/main.c); built with the sanitizers, so an overlapping memcpy would fail."""
    from tinycore.runtime import run

    g = random_graph(7)
    gen = generate_c(g, tmp_path / "m")
    main_c = tmp_path / "slot_main.c"
    main_c.write_text(_SLOT_MAIN)
    sources = [p for p in sorted(gen.out_dir.glob("*.c")) if p.name != "tc_test_main.c"] + [main_c]
    exe = compile_program(sources, tmp_path / "slot", include_dirs=[gen.out_dir], sanitize=True)
    lines = run_program(exe, 30).split()
    x = (np.arange(gen.input_bytes) * 37 + 11).astype(np.uint8).view(np.int8)
    expected = run(g, x.reshape(g.input_tensor().shape)).tobytes().hex()
    assert lines == [expected, expected]
    assert "written in place through model_input_slot(0)" in (gen.out_dir / "model.c").read_text()
