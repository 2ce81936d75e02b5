"""Cortex-M DSP kernels (kernels/cortex_m: SMLAD on packed int16) are bit-exact with the portable ones and the runtime.

The conv2d and fully connected case tables plus shapes that reach every path of the DSP code run once with the
DSP kernels and once with the portable ones, on M4 and M7. Paths of tc_conv2d_s8 and where the cases reach them:
  - blocks of P = 2..8 pixels (P from the column length, then the 2..P-1 pixels left over): every P occurs among
    the table cases; a single left-over pixel takes the single path (pointwise_shrink, tiny_gain, ...);
  - columns: 1x1 straight from the input (dsp_pointwise_mlperf), taps gathered a word at a time with padding and
    dilation (stride2_even_asym_pad, dilation2_cin4), or staged as bytes when Cin % 4 != 0 (stride2_pad,
    pointwise_cin5/6/7, with 1, 2, 3 values after the last group of 4);
  - single path: one chunk (dsp_single_one_chunk_long, too long for a block of 2), chunked columns longer than
    the 2 KiB stack buffer, a tap longer than the buffer;
  - output stage: fused (tc_dsp_rq_fast) when every channel allows it, else tc_requantize (requant_fallbacks:
    INT32_MIN, negative, shift -1 / 0 / > 0 / < -23; relu and relu6-like clamps), edges in requant_fast_edges_*;
  - in place (out == in): blocks and a left-over block (inplace_pw), blocks, staged columns and a single pixel
    through scratch (inplace_pw_cin13);
  - column-free path (tc_conv_params.columns -1, the plan gives no column): every conv case again as cf_<name>
    (whole rows of taps at once, tap by tap at the borders and with dilation, 1-3 channels left over, runs
    shorter than a word), and the in-place ones with only the pixel as scratch; smaller column areas (blocks of at
    most 3 or 2 pixels, one column: c3_, c2_, c1_<name>) on the stress shapes.
tc_fully_connected_s8 is column-free (the int8 input read in place): FC_CASES and the dsp_fc_* rows reach its
assembly loop (>= 16 values), the 4-value and scalar tails, and the 1-3 rows left over.
tc_dsp_rq_fast itself is also compared with tc_requantize on edge values below.

tc_batch_matmul_s8 (attention's Q K^T and A V) runs BATCH_MATMUL_CASES and the dsp_bm_* rows: Q K^T through the FC
row kernel (assembly loop for K >= 16, 4-value and scalar tails, 1-3 columns left over), A V through the packed
column path (K % 4 values and 1-3 columns left over), the fused output stage and its fallback (relu clamp).

tc_depthwise_conv2d_s8 runs every depthwise case (its dsp_* rows reach each path: groups of 4 channels with 1..3
left over, 3x3/5x5/7x7 at stride 1 and 2, dilation, asymmetric padding, the general output stage, depth
multiplier > 1 and more taps than the table through the scalar path) twice: out of place, and in place through
scratch (depth multiplier 1; the ring of OH * OW / 4 pixels, or the scalar path when the wait is longer than the
ring: dsp_dw_ring_too_small).
"""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from tests.cases.build import act, const, requant, weights
from tests.cases.conv2d import CONV2D_CASES, Conv2dCase
from tests.cases.depthwise_conv2d import DEPTHWISE_CASES, DepthwiseCase
from tests.cases.fully_connected import FC_CASES, FullyConnectedCase
from tests.cases.transformer import BATCH_MATMUL_CASES, BatchMatmulCase
from tests.export.plans import hand_plan
from tinycore.export import build_host, generate_c, parse_output, run_program
from tinycore.export.codegen import KERNELS_DIR
from tinycore.export.emit import c_array
from tinycore.export.firmware import CORTEX_M_DIR
from tinycore.export.host import compile_program
from tinycore.export.qemu import run_batch
from tinycore.export.validate import random_inputs
from tinycore.ir import Graph, Op
from tinycore.memory import plan_graph
from tinycore.memory.rules import column_options, scratch_bytes
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
    Conv2dCase("dsp_single_one_chunk_long", hw=(3, 4), cin=160, cout=7, kernel=2, pad="valid"),  # 640 values
    # rows of 1 and 2 weight bytes: a row's partial last word must not be read whole unless 3 (2) more weight
    # bytes follow it (the sanitized host build below catches a read past the weights)
    Conv2dCase("dsp_rows_of_1_byte", hw=(3, 5), cin=1, cout=5, kernel=1, pad="valid"),
    Conv2dCase("dsp_rows_of_2_bytes", hw=(4, 3), cin=2, cout=3, kernel=1, pad="valid"),
    FullyConnectedCase("dsp_fc_chunked", in_shape=(1, 2500), n_out=6),
    FullyConnectedCase("dsp_fc_rem2", in_shape=(1, 77), n_out=2),
    FullyConnectedCase("dsp_fc_extreme", in_shape=(1, 1024), n_out=8, extreme=True, gain=30.0),
    BatchMatmulCase("dsp_bm_qk_long", a_shape=(1, 2, 9, 40), transpose_b=True),  # K 40: 32 in asm, 8 after
    BatchMatmulCase("dsp_bm_qk_k6", a_shape=(1, 3, 6, 6), transpose_b=True),  # 4-value + 2 scalar, n 6
    BatchMatmulCase("dsp_bm_av_tails", a_shape=(1, 2, 7, 13), transpose_b=False),  # K 13, n 7: 1 + 3 columns
    BatchMatmulCase("dsp_bm_av_relu", a_shape=(1, 10, 12), transpose_b=False, relu=True),  # general output stage
    BatchMatmulCase("dsp_bm_qk_vww", a_shape=(1, 64, 8), transpose_b=True),  # the VWW ViT's head: T 64, dh 8
    BatchMatmulCase("dsp_bm_av_64", a_shape=(1, 16, 64), transpose_b=False),  # K 64 (tokens), n 16
]
CASES = [*CONV2D_CASES, *FC_CASES, *BATCH_MATMUL_CASES, *STRESS]
DW_CASES = [*DEPTHWISE_CASES,
            DepthwiseCase("dsp_dw_dscnn", hw=(25, 5), channels=64, kernel=3),  # the DS-CNN KWS layer
            DepthwiseCase("dsp_dw_ring_too_small", hw=(3, 12), channels=8, kernel=3),  # waits 14 pixels > 36 / 4
            # in place on the row-run path at stride 2: the next row's first tap runs ahead of the rows computed
            DepthwiseCase("dsp_dw_stride2_rows", hw=(16, 4), channels=8, kernel=3, stride=2, pad=(0, 1, 0, 1))]


def depthwise_graphs() -> list[tuple[str, Graph, object]]:
    """(name, graph, plan): every depthwise case out of place, and in place where the planner allows it."""
    out = []
    for c in DW_CASES:
        g = c.make(seed=0)
        out.append((f"dw_{c.name}", g, hand_plan(g)))
        y = g.tensors["y"]
        if c.depth_multiplier == 1 and y.nbytes <= g.tensors["x"].nbytes:
            op = g.ops[0].name
            out.append((f"dw_inplace_{c.name}", g, hand_plan(g, {op: 0}, {op: y.shape[1] * y.shape[2]})))
    return out


def inplace_pointwise_graph(name: str, hw: tuple[int, int], cin: int, cout: int, seed: int) -> Graph:
    """1x1 conv (cin -> cout channels) whose input dies with it: the planner writes its output over its input."""
    g = Conv2dCase(name, hw=hw, cin=cin, cout=cout, kernel=1, pad="valid").make(seed=seed)
    rng = np.random.default_rng(seed + 1)
    wt = weights(rng, (3, hw[0] * hw[1] * cout))
    mult, shift = requant(rng, 3, 5e4)
    for t in (act("f", (1, 3), 1), const("w2", wt), const("b2", np.zeros(3, np.int32)), const("m2", mult),
              const("s2", shift)):
        g.tensors[t.name] = t
    g.ops.append(Op("fully_connected_s8", "fc", ["y", "w2", "b2", "m2", "s2"], ["f"],
                    dict(input_zp=g.tensors["y"].zero_point, output_zp=1, act_min=-128, act_max=127)))
    g.outputs = ["f"]
    return g


INPLACE = {"inplace_pw": ((5, 6), 16, 8, 3),  # 30 pixels: blocks of 8, then one of 6
           "inplace_pw_cin13": ((5, 5), 13, 7, 5)}  # 25 pixels: blocks of 8 (staged columns), then one pixel


def column_choice_graphs() -> list[tuple[str, Graph, object]]:
    """(name, graph, plan): every conv case with no column in its scratch (cf_<name>, the column-free path), the
    stress shapes with blocks of at most 3 and 2 columns and with one column (c3_, c2_, c1_, where those shrink
    the column area), out of place; the in-place pointwise graphs with only their output pixel as scratch."""
    out = []
    stress = {c.name for c in STRESS}
    for c in CASES:
        if isinstance(c, Conv2dCase):
            g = c.make(seed=0)
            op = g.ops[0]
            out.append((f"cf_{c.name}", g, hand_plan(g, scratch_bytes={op.name: 0})))
            for k in (3, 2, 1):
                if c.name in stress and k in column_options(op, g):
                    out.append((f"c{k}_{c.name}", g, hand_plan(g, scratch_bytes={op.name: scratch_bytes(op, g, False,
                                                                                                        k)})))
    for name, args in INPLACE.items():
        g = inplace_pointwise_graph(name, *args)
        pixel = (args[2] + 3) // 4 * 4
        out.append((f"cf_{name}", g, hand_plan(g, {"conv2d_s8": 0}, {"conv2d_s8": pixel})))
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("dsp_cases")
    # the planner's plans with every column kept (memory_first=False): the column paths
    graphs = [(c.name, g, plan_graph(g, memory_first=False)) for c in CASES for g in [c.make(seed=0)]]
    graphs += [(name, g, plan_graph(g, memory_first=False)) for name, args in INPLACE.items()
               for g in [inplace_pointwise_graph(name, *args)]]
    graphs += depthwise_graphs()
    graphs += column_choice_graphs()
    out = []
    for k, (name, g, plan) in enumerate(graphs):
        xs = random_inputs(g, 2, seed=k)
        out.append((name, g, xs, generate_c(g, root / f"c{k}", test_inputs=xs, plan=plan).out_dir))
    return out


def test_inplace_cases_are_planned_in_place(generated):
    pointwise = [(name, g) for name, g, _, _ in generated if name in INPLACE]
    assert len(pointwise) == len(INPLACE)
    for name, g in pointwise:
        assert plan_graph(g, memory_first=False).inplace.get("conv2d_s8") is True, name
        assert plan_graph(g).inplace.get("conv2d_s8") is True, name


def test_column_choices_are_emitted(generated):
    """tc_conv_params.columns (the last field) follows the plan's scratch: -1 where it gives no column (a tap
    longer than the buffer has none to give: 0), k for blocks of at most k, 0 for the planner's full columns."""
    flags, want = {}, {}
    for name, g, _, gen in generated:
        if g.ops[0].kind == "conv2d_s8":
            params = re.search(r"tc_conv_params tc_op0_p = \{([^}]*)\}", (gen / "model.c").read_text()).group(1)
            flags[name] = params.split(",")[-1].strip()
            prefix = name.split("_")[0]
            has_choice = bool(column_options(g.ops[0], g))
            want[name] = {"cf": "-1" if has_choice else "0", "c3": "3", "c2": "2", "c1": "1"}.get(prefix, "0")
    assert flags == want
    assert {f for f in flags.values()} == {"-1", "0", "1", "2", "3"}


def test_dsp_algorithm_on_host_with_sanitizers_equals_runtime(generated, tmp_path):
    """The same kernels built for the host (tc_dsp.h's plain-C twins of SMLAD/SXTB16), with ASan + UBSan: the
    packing, chunking and remainders are right and stay inside their buffers. (Stress shapes only: a sanitized
    build takes about a second; the whole tables run in QEMU below.)"""
    bad = []
    stress = {c.name for c in STRESS} | set(INPLACE)
    stress |= {f"{p}_{n}" for n in stress for p in ("cf", "c3", "c2", "c1")}
    stress |= {"cf_stride2_pad", "cf_dilation2_cin4", "cf_stride2_even_asym_pad"}
    stress |= {c.name for c in BATCH_MATMUL_CASES}
    for k, (name, g, xs, gen) in enumerate(generated):
        if name not in stress and not name.startswith(("dw_dsp", "dw_inplace_dsp", "dw_inplace_k")):
            continue
        d = shutil.copytree(gen, tmp_path / f"h{k}")
        for f in ("tc_conv2d_s8.c", "tc_fully_connected_s8.c", "tc_depthwise_conv2d_s8.c", "tc_batch_matmul_s8.c",
                  "tc_dsp.h"):
            if (d / f).exists() or f == "tc_dsp.h":
                shutil.copy(CORTEX_M_DIR / f, d / f)
        outs = parse_output(run_program(build_host(d, sanitize=True)), n_expected=2).outputs
        if outs != [run(g, x).reshape(-1).astype(np.int8).tobytes() for x in xs]:
            bad.append(name)
    assert bad == []


def _run_in_parts(dirs: list, board: str, out, dsp: bool, parts: int) -> tuple[set[str], list[str]]:
    """run_batch over `parts` images (the M55 board's 512 KB of Flash does not hold every case at once); the
    kernels linked into any of the images and the outputs."""
    step = -(-len(dirs) // parts)
    texts: list[str] = []
    kernels: set[str] = set()
    for k in range(0, len(dirs), step):
        img, part = run_batch(dirs[k:k + step], board, out / f"part{k}", dsp=dsp)
        texts += part
        kernels |= set(img.kernels)
    return kernels, texts


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an500", "mps3-an547"])
def test_dsp_kernels_equal_portable_and_runtime_in_qemu(board, generated, tmp_path):
    dirs = [g[3] for g in generated]
    parts = 2 if board == "mps3-an547" else 1
    dsp_kernels, dsp_texts = _run_in_parts(dirs, board, tmp_path / "dsp", True, parts)
    port_kernels, port_texts = _run_in_parts(dirs, board, tmp_path / "portable", False, parts)
    assert {"cortex_m/tc_conv2d_s8.c", "cortex_m/tc_fully_connected_s8.c", "cortex_m/tc_depthwise_conv2d_s8.c",
            "cortex_m/tc_batch_matmul_s8.c"} <= dsp_kernels
    assert not any(k.startswith("cortex_m/") for k in port_kernels)
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
    # the batch matmul graphs also hold a portable quantize (and transpose) op of the same cost in both builds:
    # a third fewer instructions in all (measured on the M4: 42,002 against 79,450 for dsp_bm_qk_long)
    for name in ("dsp_bm_qk_long", "dsp_bm_av_64"):
        dsp_instr, portable_instr = speed[name]
        assert dsp_instr * 3 < portable_instr * 2, (name, speed[name])
    # four channels per input word: the DS-CNN depthwise layer, in place or not, at least 4 times faster
    for name in ("dw_dsp_dw_dscnn", "dw_inplace_dsp_dw_dscnn"):
        dsp_instr, portable_instr = speed[name]
        assert dsp_instr * 4 < portable_instr, (name, speed[name])


def test_fused_requantization_equals_tc_requantize(tmp_path):
    """tc_dsp_rq_fast + saturation (the DSP kernels' output stage) == tc_requantize + zp, clamped to int8, for
    every shift of its range (-23 .. -2), zero points -128 .. 127, multipliers 0 .. INT32_MAX and accumulators
    at the int32 edges, at rounding ties of both roundings, and random; built with ASan + UBSan (no overflow in
    the 64-bit sum). The same C runs on the Cortex-M, where gcc makes the sum one SMLAL."""
    rng = np.random.default_rng(11)
    edge = [-(2**31), -(2**31) + 1, -(2**30), -3, -2, -1, 0, 1, 2, 3, 2**30, 2**31 - 1]
    ties = [s * k << r for r in range(1, 25) for k in (1, 3, 5) for s in (-1, 1)]  # (2k+1) * 2**r: halfway
    acc = np.array(edge + ties + [t + d for t in ties[::7] for d in (-1, 1)]
                   + rng.integers(-(2**31), 2**31, 600).tolist() + rng.integers(-(2**20), 2**20, 400).tolist(),
                   np.int64)
    mult = np.array([0, 1, 1 << 30, (1 << 30) + 1, 2**31 - 2, 2**31 - 1]
                    + rng.integers(1 << 30, 2**31, 10).tolist(), np.int64)
    zps = np.array([-128, -127, -1, 0, 1, 126, 127, 35], np.int64)
    src = tmp_path / "rq.c"
    src.write_text(
        '#include <stdio.h>\n#include "tc_dsp.h"\n'
        + "\n".join(c_array("int32_t", k, v) for k, v in (("va", acc), ("vm", mult), ("vz", zps)))
        + f"""
int main(void)
{{
    long checked = 0, bad = 0;
    int i, j, k;
    int32_t s;
    for (s = -23; s <= -2; ++s)
        for (k = 0; k < {zps.size}; ++k)
            for (j = 0; j < {mult.size}; ++j)
                for (i = 0; i < {acc.size}; ++i) {{
                    const int32_t rm1 = -s - 1;
                    const int8_t want = tc_clamp_s8(tc_requantize(va[i], vm[j], s) + vz[k], -128, 127);
                    const int8_t got = tc_dsp_sat8(tc_dsp_rq_fast(va[i], vm[j], tc_dsp_rq_khi(vz[k], rm1), rm1));
                    bad += got != want;
                    ++checked;
                    if (got != want && bad < 5) {{
                        printf("acc %ld m %ld shift %ld zp %ld: %d != %d\\n", (long)va[i], (long)vm[j], (long)s,
                               (long)vz[k], got, want);
                    }}
                }}
    printf("%ld %ld\\n", checked, bad);
    return 0;
}}
""")
    exe = compile_program([src], tmp_path / "rq", include_dirs=[CORTEX_M_DIR, KERNELS_DIR / "include"],
                          sanitize=True, extra_flags=["-Wno-unused-function"])
    checked, bad = run_program(exe, 120).split()[-2:]
    assert int(bad) == 0 and int(checked) == 22 * zps.size * mult.size * acc.size
