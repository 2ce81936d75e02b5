"""Per-layer instructions of our Cortex-M kernels and CMSIS-NN's s8 kernels on the emulated M4, same inputs.

    python bench/cmsis_nn_compare.py --cmsis-nn /work/ext/CMSIS-NN --cmsis-core /work/ext/CMSIS_6/CMSIS/Core

Layers: the shapes of bench/kernels.py (its larger size) and every conv, depthwise and fully connected op of the
app models, quantized from their specs with random calibration data (KWS: DS-CNN w128 on 49x10 MFCCs, the
app's default; anomaly: the dense autoencoder 640-128-...-8-...-640). Each layer's input, weights and
requantization go into ONE firmware image that calls, for every layer, our kernel (kernels/cortex_m, as the
firmware compiles it) and CMSIS-NN's (arm_convolve_wrapper_s8, arm_depthwise_conv_wrapper_s8,
arm_fully_connected_per_channel_s8), each on its own copy of the input in RAM, out of place (CMSIS-NN has no
in-place kernels). Both are compiled by the same arm-none-eabi-gcc with the board's flags and ours (-O2), and
counted the same way: the CMSDK timer read just before and after the call under `qemu-system-arm -icount shift=7`
(tinycore/export/qemu.py; exact instruction counts, including the 3-9 instructions of the call and the reads).
CMSIS-NN's scratch buffer is a static array sized by its _get_buffer_size functions (checked in the firmware).
Checked byte for byte: our output against the numpy runtime, CMSIS-NN's against ours (in the firmware).
One JSON object per line; the last line sums both columns and counts the layers where ours is slower.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernels import LAYERS, layer_graph  # noqa: E402
from tinycore.export.boards import get_board  # noqa: E402
from tinycore.export.emit import c_array, c_int  # noqa: E402
from tinycore.export.firmware import (CORTEX_M_DIR, KERNELS_DIR, board_include_dirs, compile_objects,  # noqa: E402
                                      link_image, startup_object)
from tinycore.export.qemu import run_in_qemu  # noqa: E402
from tinycore.ir import Graph  # noqa: E402
from tinycore.memory.rules import scratch_bytes  # noqa: E402
from tinycore.runtime import run  # noqa: E402

KINDS = ("conv2d_s8", "depthwise_conv2d_s8", "fully_connected_s8")
OUR_KERNELS = ("tc_conv2d_s8.c", "tc_depthwise_conv2d_s8.c", "tc_fully_connected_s8.c")
CMSIS_DIRS = ("ConvolutionFunctions", "FullyConnectedFunctions", "NNSupportFunctions")
SCRATCH_BYTES = 64 * 1024
LINE = re.compile(r"^layer (\d+) ours (\d+) cmsis (\d+) status (-?\d+) same ([01]) out ([0-9a-f]*)$")


def single_op(graph: Graph, op) -> Graph:
    """The graph of one op of `graph` (its activation input, constants and output)."""
    names = [*op.inputs, *op.outputs]
    return Graph({n: graph.tensors[n] for n in names}, [op], [op.inputs[0]], [op.outputs[0]])


def app_layers() -> list[tuple[str, str, Graph]]:
    """(model, op name, single-op graph) of every conv/depthwise/FC op of the KWS and anomaly app models."""
    import torch

    from tinycore.quant import quantize
    from tinycore.spec import build_model
    from tinycore.spec.zoo import dense_autoencoder, ds_cnn

    out = []
    for spec, shape in ((ds_cnn(128, classes=12), (1, 49, 10)), (dense_autoencoder(), (640,))):
        torch.manual_seed(0)
        graph = quantize(build_model(spec).eval(), [torch.randn(16, *shape) for _ in range(2)])
        out += [(spec.name, op.name, single_op(graph, op)) for op in graph.ops if op.kind in KINDS]
    return out


def layer_c(k: int, g: Graph, x: np.ndarray) -> tuple[str, str]:
    """Declarations and the main() block that runs layer k through both kernel sets."""
    op = g.ops[0]
    a, t = op.attrs, g.tensors
    xt, w, b, m, s = (t[n] for n in op.inputs)
    y = t[op.outputs[0]]
    decl = [c_array("int8_t", f"l{k}_x", x), c_array("int8_t", f"l{k}_w", w.data), c_array("int32_t", f"l{k}_b", b.data),
            c_array("int32_t", f"l{k}_m", m.data), c_array("int32_t", f"l{k}_s", s.data)]
    n_in, n_out = int(np.prod(xt.shape)), int(np.prod(y.shape))
    zi, zo, lo, hi = (c_int(a[f]) for f in ("input_zp", "output_zp", "act_min", "act_max"))
    nzi = c_int(-a["input_zp"])
    if op.kind == "fully_connected_s8":
        ours = (f"tc_fully_connected_s8(in_a, {n_in}, l{k}_w, l{k}_b, l{k}_m, l{k}_s, out_a, {n_out}, {zi}, {zo}, "
                f"{lo}, {hi}, our_scratch);")
        setup = (f"cmsis_nn_fc_params fp = {{{nzi}, 0, {zo}, {{{lo}, {hi}}}}};\n"
                 f"        cmsis_nn_dims id = {{1, 1, 1, {n_in}}}, fd = {{{n_in}, 1, 1, {n_out}}}, "
                 f"bd = {{1, 1, 1, {n_out}}}, od = {{1, 1, 1, {n_out}}};\n"
                 f"        ctx.size = arm_fully_connected_s8_get_buffer_size(&fd);")
        cmsis = (f"arm_fully_connected_per_channel_s8(&ctx, &fp, &pq, &id, in_b, &fd, l{k}_w, &bd, l{k}_b, &od, "
                 f"out_b);")
    else:
        dw = op.kind == "depthwise_conv2d_s8"
        (_, h, wd, c), (_, oh, ow, oc) = xt.shape, y.shape
        kh, kw = w.shape[1], w.shape[2]
        tc = [a["stride_h"], a["stride_w"], a.get("dilation_h", 1), a.get("dilation_w", 1), a["pad_top"], a["pad_left"],
              a["input_zp"], a["output_zp"], a["act_min"], a["act_max"], a.get("depth_multiplier", 1)]
        decl.append(f"static const tc_conv_params l{k}_p = {{{', '.join(c_int(v) for v in tc)}}};")
        decl.append(f"static const tc_dims l{k}_in = {{{h}, {wd}, {c}}}, l{k}_f = {{{kh}, {kw}, {w.shape[3]}}}, "
                    f"l{k}_out = {{{oh}, {ow}, {oc}}};")
        ours = (f"tc_{op.kind}(&l{k}_p, &l{k}_in, in_a, &l{k}_f, l{k}_w, l{k}_b, l{k}_m, l{k}_s, &l{k}_out, out_a, "
                f"our_scratch);")
        geo = (f"{{{a['stride_w']}, {a['stride_h']}}}, {{{a['pad_left']}, {a['pad_top']}}}, "
               f"{{{a.get('dilation_w', 1)}, {a.get('dilation_h', 1)}}}, {{{lo}, {hi}}}")
        dims = (f"cmsis_nn_dims id = {{1, {h}, {wd}, {c}}}, fd = {{{1 if dw else oc}, {kh}, {kw}, "
                f"{oc if dw else c}}}, bd = {{1, 1, 1, {oc}}}, od = {{1, {oh}, {ow}, {oc}}};")
        if dw:
            setup = (f"cmsis_nn_dw_conv_params cp = {{{nzi}, {zo}, {a['depth_multiplier']}, {geo}}};\n        {dims}\n"
                     f"        ctx.size = arm_depthwise_conv_wrapper_s8_get_buffer_size(&cp, &id, &fd, &od);")
            fn = "arm_depthwise_conv_wrapper_s8"
        else:
            setup = (f"cmsis_nn_conv_params cp = {{{nzi}, {zo}, {geo}}};\n        {dims}\n"
                     f"        ctx.size = arm_convolve_wrapper_s8_get_buffer_size(&cp, &id, &fd, &od);")
            fn = "arm_convolve_wrapper_s8"
        cmsis = f"{fn}(&ctx, &cp, &pq, &id, in_b, &fd, l{k}_w, &bd, l{k}_b, &od, out_b);"
    body = f"""    {{
        cmsis_nn_context ctx = {{scratch, 0}};
        cmsis_nn_per_channel_quant_params pq = {{(int32_t *)l{k}_m, (int32_t *)l{k}_s}};
        uint32_t n_ours, n_cmsis;
        int status;
        {setup}
        if (ctx.size > (int32_t)sizeof(scratch)) {{
            printf("layer {k} needs %ld B of CMSIS-NN scratch\\n", (long)ctx.size);
            return 2;
        }}
        memcpy(in_a, l{k}_x, {n_in});
        memcpy(in_b, l{k}_x, {n_in});
        memset(out_a, 0, {n_out});
        memset(out_b, 0x55, {n_out});
        TC_COUNTER_BEGIN();
        {ours}
        TC_COUNTER_END(n_ours);
        TC_COUNTER_BEGIN();
        status = (int){cmsis}
        TC_COUNTER_END(n_cmsis);
        report({k}, n_ours, n_cmsis, status, {n_out});
    }}"""
    return "\n".join(decl), body


def firmware_c(layers: list[tuple[Graph, np.ndarray]]) -> str:
    n_in = max(int(np.prod(g.tensors[g.inputs[0]].shape)) for g, _ in layers)
    n_out = max(int(np.prod(g.tensors[g.outputs[0]].shape)) for g, _ in layers)
    our_scratch = max(max(scratch_bytes(g.ops[0], g, False) for g, _ in layers), 4)  # out of place, as called
    parts = [layer_c(k, g, x) for k, (g, x) in enumerate(layers)]
    return f"""/* Generated by bench/cmsis_nn_compare.py. */
#include <stdio.h>
#include <string.h>
#include "board.h"
#include "tc_kernels.h"
#include "arm_nnfunctions.h"

static int8_t in_a[{n_in}], in_b[{n_in}], out_a[{n_out}], out_b[{n_out}];
static int8_t scratch[{SCRATCH_BYTES}] __attribute__((aligned(8)));
static int8_t our_scratch[{our_scratch}] __attribute__((aligned(8)));

static void report(int k, uint32_t n_ours, uint32_t n_cmsis, int status, int n)
{{
    int i;
    printf("layer %d ours %lu cmsis %lu status %d same %d out ", k, (unsigned long)n_ours, (unsigned long)n_cmsis,
           status, memcmp(out_a, out_b, (size_t)n) == 0);
    for (i = 0; i < n; ++i) {{
        printf("%02x", (unsigned)(uint8_t)out_a[i]);
    }}
    printf("\\n");
}}

{chr(10).join(d for d, _ in parts)}

int main(void)
{{
    tc_board_init();
{chr(10).join(b for _, b in parts)}
    printf("done\\n");
    return 0;
}}
"""


def cmsis_sources(cmsis_nn: Path) -> list[Path]:
    """CMSIS-NN's int8 sources and the tables they use (float, int4 and int16 ones are not needed)."""
    return [f for d in CMSIS_DIRS for f in sorted((cmsis_nn / "Source" / d).glob("*.c"))
            if ("s8" in f.name or f.name in ("arm_nntables.c", "arm_q7_to_q15_with_offset.c"))
            and not re.search(r"f16|f32", f.name)]


def build_and_run(layers, cmsis_nn: Path, cmsis_core: Path, board_name: str, tmp: Path) -> list[dict]:
    board = get_board(board_name)
    main_c = tmp / "main.c"
    main_c.write_text(firmware_c(layers))
    incs = [*board_include_dirs(board), cmsis_nn / "Include", cmsis_core / "Include"]
    jobs = [startup_object(board, tmp), (main_c, tmp / "main.o", ('-DTC_BOARD_HEADER="board.h"',))]
    jobs += [(CORTEX_M_DIR / f, tmp / f"ours_{Path(f).stem}.o", ()) for f in OUR_KERNELS]
    jobs += [(f, tmp / f"cmsis_{f.stem}.o", ("-w",)) for f in cmsis_sources(cmsis_nn)]
    objects = compile_objects(jobs, board, incs, "cmsis_nn_compare")
    img = link_image(objects, board, tmp / "compare.elf", dsp=True)
    text = run_in_qemu(img.elf, board, timeout_s=600)
    rows = [LINE.match(line) for line in text.splitlines()]
    return [dict(k=int(r[1]), ours=int(r[2]), cmsis=int(r[3]), status=int(r[4]), same=r[5] == "1",
                 out=bytes.fromhex(r[6])) for r in rows if r]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cmsis-nn", type=Path, required=True, help="a CMSIS-NN checkout (Include/, Source/)")
    ap.add_argument("--cmsis-core", type=Path, required=True, help="CMSIS Core (Include/cmsis_gcc.h ...)")
    ap.add_argument("--board", default="mps2-an386")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    named = [("bench_kernels", layer, layer_graph(*sizes[-1], rng)[0]) for layer, (_, sizes) in LAYERS.items()]
    named += app_layers()
    layers = [(g, rng.integers(-128, 128, g.tensors[g.inputs[0]].shape, dtype=np.int8)) for _, _, g in named]
    with tempfile.TemporaryDirectory(prefix="tc_cmsis_") as tmp:
        got = build_and_run(layers, args.cmsis_nn, args.cmsis_core, args.board, Path(tmp))
    if len(got) != len(layers):
        raise SystemExit(f"the firmware reported {len(got)} of {len(layers)} layers")
    slower, tot_ours, tot_cmsis = [], 0, 0
    for (model, name, g), (_, x), r in zip(named, layers, got):
        op = g.ops[0]
        want = run(g, x).reshape(-1).astype(np.int8).tobytes()
        if r["out"] != want or not r["same"] or r["status"] != 0:
            raise SystemExit(f"{model}/{name}: ours equals the runtime: {r['out'] == want}; CMSIS-NN equals ours: "
                             f"{r['same']} (status {r['status']})")
        macs = layer_macs(g)
        tot_ours, tot_cmsis = tot_ours + r["ours"], tot_cmsis + r["cmsis"]
        if r["ours"] > r["cmsis"]:
            slower.append(f"{model}/{name}")
        print(json.dumps({"bench": "cmsis_nn_compare", "board": args.board, "model": model, "layer": name,
                          "kind": op.kind, "input_shape": list(g.tensors[g.inputs[0]].shape),
                          "output_shape": list(g.tensors[g.outputs[0]].shape), "macs": macs,
                          "instructions_ours": r["ours"], "instructions_cmsis_nn": r["cmsis"],
                          "ratio_ours_over_cmsis_nn": round(r["ours"] / r["cmsis"], 3),
                          "ours_per_mac": round(r["ours"] / macs, 3), "cmsis_nn_per_mac": round(r["cmsis"] / macs, 3),
                          "outputs_equal": True}), flush=True)
    print(json.dumps({"bench": "cmsis_nn_compare", "board": args.board, "layers": len(named),
                      "instructions_ours_total": tot_ours, "instructions_cmsis_nn_total": tot_cmsis,
                      "layers_above_cmsis_nn": slower}))


def layer_macs(g: Graph) -> int:
    op = g.ops[0]
    w, y = g.tensors[op.inputs[1]], g.tensors[op.outputs[0]]
    if op.kind == "fully_connected_s8":
        return int(np.prod(w.shape))
    per_out = w.shape[1] * w.shape[2] * (1 if op.kind == "depthwise_conv2d_s8" else w.shape[3])
    return int(np.prod(y.shape)) * per_out


if __name__ == "__main__":
    main()
