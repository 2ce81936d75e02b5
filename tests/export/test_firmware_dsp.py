"""Cortex-M DSP kernels (kernels/cortex_m: SMLAD on packed int16) are bit-exact with the portable ones and the runtime.

The conv2d and fully connected case tables plus shapes that reach every path of the DSP code (chunked columns
longer than the 2 KiB stack buffer, a tap longer than the buffer, output-channel remainders 1-3, odd lengths,
in-place 1x1) run once with the DSP kernels and once with the portable ones, on M4 and M7.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.cases.build import act, const, requant, weights
from tests.cases.conv2d import CONV2D_CASES, Conv2dCase
from tests.cases.fully_connected import FC_CASES, FullyConnectedCase
from tinycore.export import build_host, generate_c, parse_output, run_program
from tinycore.export.firmware import CORTEX_M_DIR
from tinycore.export.qemu import run_batch
from tinycore.export.validate import random_inputs
from tinycore.ir import Graph, Op
from tinycore.memory import plan_graph
from tinycore.runtime import run

pytestmark = pytest.mark.firmware

STRESS = [
    Conv2dCase("dsp_chunked_column", hw=(4, 3), cin=130, cout=6, kernel=3),  # 1170 > 1024: chunks of 7 taps
    Conv2dCase("dsp_tap_longer_than_buffer", hw=(2, 2), cin=1030, cout=5, kernel=1, pad="valid"),
    Conv2dCase("dsp_pointwise_rows_rem3", hw=(3, 4), cin=36, cout=7, kernel=1, pad="valid"),
    Conv2dCase("dsp_pointwise_len_rem", hw=(2, 3), cin=13, cout=9, kernel=1, pad="valid"),
    Conv2dCase("dsp_cin4_gather", hw=(6, 5), cin=8, cout=4, kernel=3, stride=2),
    Conv2dCase("dsp_saturate", hw=(4, 4), cin=32, cout=8, kernel=3, extreme=True, gain=50.0),
    Conv2dCase("dsp_pointwise_mlperf", hw=(6, 6), cin=64, cout=64, kernel=1, pad="valid"),
    FullyConnectedCase("dsp_fc_chunked", in_shape=(1, 2500), n_out=6),
    FullyConnectedCase("dsp_fc_rem2", in_shape=(1, 77), n_out=2),
    FullyConnectedCase("dsp_fc_extreme", in_shape=(1, 1024), n_out=8, extreme=True, gain=30.0),
]
CASES = [*CONV2D_CASES, *FC_CASES, *STRESS]


def inplace_pointwise_graph() -> Graph:
    """1x1 conv (16 -> 8 channels) whose input dies with it: the planner writes its output over its input."""
    g = Conv2dCase("inplace_pw", hw=(5, 6), cin=16, cout=8, kernel=1, pad="valid").make(seed=3)
    rng = np.random.default_rng(4)
    wt = weights(rng, (3, 5 * 6 * 8))
    mult, shift = requant(rng, 3, 5e4)
    for t in (act("f", (1, 3), 1), const("w2", wt), const("b2", np.zeros(3, np.int32)), const("m2", mult),
              const("s2", shift)):
        g.tensors[t.name] = t
    g.ops.append(Op("fully_connected_s8", "fc", ["y", "w2", "b2", "m2", "s2"], ["f"],
                    dict(input_zp=g.tensors["y"].zero_point, output_zp=1, act_min=-128, act_max=127)))
    g.outputs = ["f"]
    return g


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("dsp_cases")
    graphs = [(c.name, c.make(seed=0)) for c in CASES] + [("inplace_pw", inplace_pointwise_graph())]
    out = []
    for k, (name, g) in enumerate(graphs):
        xs = random_inputs(g, 2, seed=k)
        out.append((name, g, xs, generate_c(g, root / f"c{k}", test_inputs=xs).out_dir))
    return out


def test_inplace_case_is_planned_in_place(generated):
    name, g, _, _ = generated[-1]
    assert plan_graph(g).inplace.get("conv2d_s8") is True, name


def test_dsp_algorithm_on_host_with_sanitizers_equals_runtime(generated, tmp_path):
    """The same kernels built for the host (tc_dsp.h's plain-C twins of SMLAD/SXTB16), with ASan + UBSan: the
    packing, chunking and remainders are right and stay inside their buffers. (Stress shapes only: a sanitized
    build takes about a second; the whole tables run in QEMU below.)"""
    bad = []
    stress = {c.name for c in STRESS} | {"inplace_pw"}
    for k, (name, g, xs, gen) in enumerate(generated):
        if name not in stress:
            continue
        d = shutil.copytree(gen, tmp_path / f"h{k}")
        for f in ("tc_conv2d_s8.c", "tc_fully_connected_s8.c", "tc_dsp.h"):
            if (d / f).exists() or f == "tc_dsp.h":
                shutil.copy(CORTEX_M_DIR / f, d / f)
        outs = parse_output(run_program(build_host(d, sanitize=True)), n_expected=2).outputs
        if outs != [run(g, x).reshape(-1).astype(np.int8).tobytes() for x in xs]:
            bad.append(name)
    assert bad == []


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an500"])
def test_dsp_kernels_equal_portable_and_runtime_in_qemu(board, generated, tmp_path):
    dirs = [g[3] for g in generated]
    dsp_img, dsp_texts = run_batch(dirs, board, tmp_path / "dsp", dsp=True)
    port_img, port_texts = run_batch(dirs, board, tmp_path / "portable", dsp=False)
    assert "cortex_m/tc_conv2d_s8.c" in dsp_img.kernels and "cortex_m/tc_fully_connected_s8.c" in dsp_img.kernels
    assert not any(k.startswith("cortex_m/") for k in port_img.kernels)
    bad, speed = [], {}
    for (name, g, xs, _), dt, pt in zip(generated, dsp_texts, port_texts):
        d, p = parse_output(dt, 2), parse_output(pt, 2)
        want = [run(g, x).reshape(-1).astype(np.int8).tobytes() for x in xs]
        if d.outputs != want or p.outputs != want:
            bad.append(name)
        speed[name] = (d.instructions[0], p.instructions[0])
    assert bad == []
    # SMLAD does two MACs per instruction: the 64x64 pointwise conv and the wide FC take well under half
    for name in ("dsp_pointwise_mlperf", "wide"):
        dsp_instr, portable_instr = speed[name]
        assert dsp_instr * 2 < portable_instr, (name, speed[name])
