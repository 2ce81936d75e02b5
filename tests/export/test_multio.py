"""Several inputs and outputs: runtime, memory plan, the C interface (model.h), host C and the emulator."""
import re
import shutil
import subprocess

import numpy as np
import pytest

from tests.cases.multio import two_heads, two_inputs
from tinycore.errors import TinycoreError
from tinycore.export import generate_c
from tinycore.export.batch import run_models_on_host
from tinycore.export.codegen import KERNELS_DIR
from tinycore.export.host import CFLAGS, compiler
from tinycore.export.validate import random_inputs, validate
from tinycore.memory import plan_graph
from tinycore.memory.graph_plan import check_plan
from tinycore.runtime import flat_outputs, run, run_batch, run_op


def test_run_returns_every_output_in_graph_order():
    g = two_heads(0)
    x = random_inputs(g, 1, seed=3)[0]
    head, a = run(g, x)
    values = {"x": x}  # op by op, by hand
    for op in g.ops:
        values[op.outputs[0]] = run_op(g, op, values)
    np.testing.assert_array_equal(head, values[g.outputs[0]])
    np.testing.assert_array_equal(a, values[g.outputs[1]])
    assert head.shape == (1, 6) and a.shape == (1, 7, 6, 5)
    np.testing.assert_array_equal(flat_outputs(g, x), np.concatenate([head.reshape(-1), a.reshape(-1)]))
    heads, maps = run_batch(g, [x, x])
    assert heads.shape == (2, 1, 6) and maps.shape == (2, 1, 7, 6, 5)


def test_run_takes_several_inputs_and_names_a_wrong_call():
    g = two_inputs(1)
    x, y = random_inputs(g, 1, seed=0)[0]
    s, c, t = run(g, (x, y))
    assert (s.shape, c.shape, t.shape) == ((1, 6, 5, 4), (1, 6, 5, 3), (1, 6, 5, 7))
    s2, _, _ = run(g, [x, np.full_like(y, 5)])
    assert not np.array_equal(s, s2)  # the second input is read
    with pytest.raises(TinycoreError, match=r"2 inputs \['x', 'y'\]"):
        run(g, x)
    with pytest.raises(TinycoreError, match="input 'y'"):
        run(g, (x, y.astype(np.int16)))


def test_plan_keeps_an_early_output_alive_to_the_end():
    g = two_heads(0)
    plan = plan_graph(g)
    check_plan(g, plan)  # graph outputs live to the last op: no later tensor overlaps them
    a = g.outputs[1]
    assert not plan.inplace[g.ops[1].name]  # the depthwise conv reads `a` last but must not write over it
    lo, hi = plan.offsets[a], plan.offsets[a] + g.tensors[a].nbytes
    for op in g.ops[1:]:
        t = op.outputs[0]
        off = plan.offsets[t]
        assert off >= hi or off + g.tensors[t].nbytes <= lo, t


@pytest.mark.parametrize("make,seed", [(two_heads, 0), (two_heads, 5), (two_inputs, 1), (two_inputs, 2)])
def test_host_c_equals_runtime_on_every_output(make, seed):
    g = make(seed)
    r = validate(g, target="host", n=6, seed=seed)
    assert r["outputs_match"] is True and r["max_abs_diff"] == 0 and r["n_checked"] == 6
    assert r["per_output_match"] == [True] * len(g.outputs)


def test_validate_names_the_output_that_differs(monkeypatch):
    import tinycore.runtime

    g = two_heads(0)
    real = tinycore.runtime.run

    def second_off(graph, x):
        head, a = real(graph, x)
        return head, np.where(a < 127, a + 1, a - 1).astype(np.int8)

    monkeypatch.setattr(tinycore.runtime, "run", second_off)
    r = validate(g, n=2, seed=0)
    assert r["outputs_match"] is False and r["per_output_match"] == [True, False] and r["max_abs_diff"] == 1


def test_model_h_declares_every_tensor(tmp_path):
    g = two_inputs(1)
    gen = generate_c(g, tmp_path / "m")
    h = (tmp_path / "m" / "model.h").read_text()

    def define(name):
        return re.search(rf"#define {name} (\S+)", h).group(1)

    assert define("MODEL_N_INPUTS") == "2" and define("MODEL_N_OUTPUTS") == "3"
    sizes = [g.tensors[n].nbytes for n in g.outputs]
    assert [int(define(f"MODEL_OUTPUT{k}_BYTES")) for k in range(3)] == sizes
    assert [int(define(f"MODEL_OUTPUT{k}_OFFSET")) for k in range(3)] == [0, sizes[0], sizes[0] + sizes[1]]
    assert int(define("MODEL_OUTPUT_BYTES")) == sum(sizes) == gen.output_bytes
    assert int(define("MODEL_INPUT1_ZERO_POINT")) == g.tensors["y"].zero_point
    assert "MODEL_INPUT_SCALE" not in h  # no single input quantization to name
    assert ("int model_invoke_io(const int8_t *const inputs[MODEL_N_INPUTS], "
            "int8_t *const outputs[MODEL_N_OUTPUTS]);") in h


_IO_MAIN = """\
#include <stdint.h>
#include <stdio.h>
#include "model.h"
%s
int main(void)
{
    const int8_t *const inputs[MODEL_N_INPUTS] = {%s};
    int8_t *const outputs[MODEL_N_OUTPUTS] = {%s};
    int k;
    int32_t i;
    static const int32_t sizes[MODEL_N_OUTPUTS] = {%s};
    if (model_invoke_io(inputs, outputs) != 0) {
        return 1;
    }
    for (k = 0; k < MODEL_N_OUTPUTS; ++k) {
        for (i = 0; i < sizes[k]; ++i) {
            printf("%%02x", (unsigned)(uint8_t)outputs[k][i]);
        }
        printf("\\n");
    }
    return 0;
}
"""


@pytest.mark.parametrize("make,seed", [(two_inputs, 3), (two_heads, 4)])
def test_model_invoke_io_fills_one_buffer_per_output(make, seed, tmp_path):
    """The general entry point, called by hand-written C with separate buffers."""
    from tinycore.export.emit import c_array

    g = make(seed)
    xs = random_inputs(g, 1, seed)[0]
    xs = xs if isinstance(xs, tuple) else (xs,)
    gen = generate_c(g, tmp_path / "m")
    decls = [c_array("int8_t", f"in{k}", x) for k, x in enumerate(xs)]
    decls += [f"static int8_t out{k}[MODEL_OUTPUT{k}_BYTES];" for k in range(len(g.outputs))]
    main = _IO_MAIN % ("\n".join(decls), ", ".join(f"in{k}" for k in range(len(xs))),
                       ", ".join(f"out{k}" for k in range(len(g.outputs))),
                       ", ".join(f"MODEL_OUTPUT{k}_BYTES" for k in range(len(g.outputs))))
    (tmp_path / "io_main.c").write_text(main)
    exe = tmp_path / "io"
    subprocess.run([compiler(), *CFLAGS, f"-I{gen.out_dir}", f"-I{KERNELS_DIR / 'include'}",
                    str(tmp_path / "io_main.c"), *(str(s) for s in gen.sources), "-o", str(exe)], check=True)
    lines = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    want = run(g, xs if len(xs) > 1 else xs[0])
    want = want if isinstance(want, tuple) else (want,)
    assert [bytes.fromhex(line) for line in lines] == [y.tobytes() for y in want]


def test_batch_program_prints_every_output(tmp_path):
    graphs = [two_heads(6), two_inputs(7)]
    models = [(g, random_inputs(g, 2, seed=i)) for i, g in enumerate(graphs)]
    got = run_models_on_host(models, tmp_path)
    for (g, xs), outs in zip(models, got):
        for x, y in zip(xs, outs):
            np.testing.assert_array_equal(y, flat_outputs(g, x))


@pytest.mark.firmware
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_two_outputs_in_firmware_equal_runtime():
    from tinycore.export.firmware import validate_on_board

    g = two_inputs(8)
    r = validate_on_board(g, "mps2-an386", n=3, seed=1)
    assert r["outputs_match"] is True and r["per_output_match"] == [True, True, True] and r["n_checked"] == 3
    assert r["arena_symbol_bytes"] == r["arena_bytes"] == plan_graph(g).arena_bytes
