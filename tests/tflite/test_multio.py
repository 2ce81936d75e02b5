"""Two-output and per-token (rank-3 Dense) .tflite files made by the TF converter (tests/tflite/fixtures): our
import + runtime, the host C and our .tflite export equal TFLite Micro byte for byte, on every output in the
file's order."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.tflite.random_graphs import GraphMaker
from tests.tflite.tflm import random_inputs, tflm_all_outputs
from tinycore.export import build_host, generate_c, parse_output, run_program
from tinycore.ir import load_graph
from tinycore.runtime import run_outputs
from tinycore.tflite import convert, export_tflite_bytes, import_tflite, load_model
from tinycore.tflite.reader import read_model

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NAMES = ["two_outputs", "dense_tokens"]


def _oracle(path: Path, n: int, seed: int):
    model = read_model(path)
    shape = model.tensors[model.inputs[0]].shape
    xs = random_inputs(shape, n, seed)
    return xs, tflm_all_outputs(path, xs, len(model.outputs))


def test_fixtures_import_as_expected():
    g = load_model(FIXTURES / "two_outputs.tflite")
    assert [g.tensors[n].shape for n in g.outputs] == [(1, 5), (1, 8, 8, 4)]  # the file's order, not Keras'
    d = load_model(FIXTURES / "dense_tokens.tflite")
    assert [op.kind for op in d.ops] == ["fully_connected_s8"] * 2  # per token: no reshape around them
    assert [d.tensors[op.outputs[0]].shape for op in d.ops] == [(1, 6, 12), (1, 6, 5)]


@pytest.mark.oracle
@pytest.mark.parametrize("name", NAMES)
def test_convert_and_run_equal_tflm_on_every_output(name, tmp_path):
    path = FIXTURES / f"{name}.tflite"
    graph = load_graph(convert(path, tmp_path / "m.graph"))
    xs, refs = _oracle(path, 20, seed=4)
    assert len({r[0].tobytes() for r in refs}) > 5  # the outputs vary: not a vacuous comparison
    for i, (x, ref) in enumerate(zip(xs, refs)):
        got = run_outputs(graph, x)
        assert len(got) == len(ref)
        for k, (y, r) in enumerate(zip(got, ref)):
            assert y.shape == r.shape, (i, k)
            np.testing.assert_array_equal(y, r, err_msg=f"{name} input {i} output {k}")


@pytest.mark.oracle
@pytest.mark.parametrize("name", NAMES)
def test_host_c_equals_tflm_on_every_output(name, tmp_path):
    path = FIXTURES / f"{name}.tflite"
    graph = import_tflite(path)
    xs, refs = _oracle(path, 8, seed=5)
    gen = generate_c(graph, tmp_path / "m", test_inputs=xs)
    out = parse_output(run_program(build_host(gen.out_dir)), n_expected=len(xs)).outputs
    assert out == [b"".join(r.tobytes() for r in ref) for ref in refs]


@pytest.mark.parametrize("name", NAMES)
def test_validate_command_checks_every_output(name, tmp_path):
    graph_path = convert(FIXTURES / f"{name}.tflite", tmp_path / "m.graph")
    proc = subprocess.run([sys.executable, "-m", "tinycore", "validate", str(graph_path), "--target", "host",
                           "--n", "5", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["outputs_match"] is True and r["per_output_match"] == [True] * len(load_graph(graph_path).outputs)


@pytest.mark.oracle
@pytest.mark.parametrize("name", NAMES)
def test_our_export_runs_in_tflm_with_the_same_bytes(name, tmp_path):
    graph = import_tflite(FIXTURES / f"{name}.tflite")
    data = export_tflite_bytes(graph)
    path = tmp_path / "ours.tflite"
    path.write_bytes(data)
    xs, refs = _oracle(path, 10, seed=6)
    for x, ref in zip(xs, refs):
        got = run_outputs(graph, x)
        assert [y.shape for y in got] == [r.shape for r in ref]
        for y, r in zip(got, ref):
            np.testing.assert_array_equal(y, r)
    back = import_tflite(path)
    assert back.outputs and len(back.outputs) == len(graph.outputs)


def tokens_graph(seed: int):
    """(1, 7, 10) tokens -> per-token FC 16 RELU -> per-token FC 6 -> reshape (1, 42) -> FC 4 -> softmax."""
    g = GraphMaker(seed, (1, 7, 10))
    g.fc(16, act=1, per_token=True, per_tensor=False)
    g.fc(6, per_token=True)
    g.reshape((1, 42))
    g.fc(4)
    g.softmax()
    return g.finish()


@pytest.mark.oracle
@pytest.mark.parametrize("seed", [0, 1])
def test_per_token_fc_graph_exports_to_tflm(seed, tmp_path):
    graph = tokens_graph(seed)
    path = tmp_path / "tokens.tflite"
    path.write_bytes(export_tflite_bytes(graph))
    assert [o.options.get("KeepNumDims") for o in read_model(path).operators if o.op == "FULLY_CONNECTED"] == [
        True, True, False]
    xs, refs = _oracle(path, 10, seed=7)
    assert len({r[0].tobytes() for r in refs}) > 3
    for x, (ref,) in zip(xs, refs):
        (y,) = run_outputs(graph, x)
        np.testing.assert_array_equal(y, ref)
    back = import_tflite(path)
    for x in xs:
        np.testing.assert_array_equal(run_outputs(back, x)[0], run_outputs(graph, x)[0])


@pytest.mark.firmware
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
@pytest.mark.parametrize("name", NAMES)
def test_fixture_in_firmware_m4_equals_runtime(name):
    from tinycore.export.firmware import validate_on_board

    graph = import_tflite(FIXTURES / f"{name}.tflite")
    r = validate_on_board(graph, "mps2-an386", n=3, seed=2)
    assert r["outputs_match"] is True and r["per_output_match"] == [True] * len(graph.outputs)
    assert r["dsp"] is True  # the cortex_m FC kernel runs the per-token rows


def test_per_token_fc_memory_rule():
    """Token overwriting (tinycore.memory.rules.per_token_fc): each FC per token writes over its own input through a
    one-token scratch, so the buffer holds max(input, output), not their sum (was 48 + 72 = 120 B)."""
    from tinycore.memory import plan_graph

    g = load_model(FIXTURES / "dense_tokens.tflite")
    plan = plan_graph(g)
    assert [r.inplace for r in plan.per_layer] == [True, True]
    # scratch = the staged token only (8, 12 B): both FC kernels read the token in place
    assert [(r.input_bytes, r.output_bytes, r.scratch_bytes) for r in plan.per_layer] == [(48, 72, 8), (72, 30, 12)]
    assert plan.arena_bytes == 72 + 12  # one 72 B buffer for all three tensors, then the larger scratch (12 B)


def two_inputs_graph(seed: int):
    """Inputs a (1, 6, 5, 3) and b (its own quantization): conv(a) + b -> RELU, then two outputs: the sum and a
    per-token FC of it (rows of channels)."""
    from tinycore.ir import Graph

    g = GraphMaker(seed, (1, 6, 5, 3))
    other = g.act((1, 6, 5, 4))
    g.conv(4, 3, pads=(1, 1, 1, 1), act=0)
    s = g.add(other, act=1)
    t = g.fc(5, per_token=True)
    return Graph(g.tensors, g.ops, [g.input, other], [t, s], {"source": "random"})


@pytest.mark.oracle
@pytest.mark.parametrize("seed", [0, 1])
def test_two_input_graph_exports_imports_and_runs_in_c(seed, tmp_path):
    from tests.tflite.tflm import tflm_interpreter

    graph = two_inputs_graph(seed)
    path = tmp_path / "two_in.tflite"
    path.write_bytes(export_tflite_bytes(graph))
    back = import_tflite(path)
    assert len(back.inputs) == 2 and len(back.outputs) == 2
    itp = tflm_interpreter(path)
    rng = np.random.default_rng(seed)
    pairs = [tuple(rng.integers(-128, 128, graph.tensors[n].shape, dtype=np.int8) for n in graph.inputs)
             for _ in range(6)]
    for xy in pairs:
        for k, v in enumerate(xy):
            itp.set_input(v, k)
        itp.invoke()
        ref = [np.array(itp.get_output(k)) for k in range(2)]
        for got in (run_outputs(graph, xy), run_outputs(back, xy)):
            for y, r in zip(got, ref):
                np.testing.assert_array_equal(y, r)
    gen = generate_c(back, tmp_path / "m", test_inputs=pairs)
    out = parse_output(run_program(build_host(gen.out_dir)), n_expected=len(pairs)).outputs
    assert out == [b"".join(y.tobytes() for y in run_outputs(graph, xy)) for xy in pairs]
