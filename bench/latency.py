"""Host latency of one inference: generated C (cc -O2) vs the numpy integer runtime (vs float torch for a zoo
model). One JSON object per line.

    python bench/latency.py                      # ds_cnn_s and dense_autoencoder (zoo models)
    python bench/latency.py --zoo ds_cnn_s --runs 200
Zoo models are quantized on random calibration data. (Random multi-op test graphs live in tests/cases, which a
bench does not import: benches use only the package.)

C timing: a generated timing main runs model_invoke `runs` times between two clock() reads (CPU time).
numpy and torch: median wall time of `runs` single-sample calls. Outputs of C and numpy are checked equal.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinycore.export import generate_c  # noqa: E402
from tinycore.export.host import compile_program, run_program  # noqa: E402
from tinycore.ir import Graph  # noqa: E402
from tinycore.runtime import run  # noqa: E402

_TIMING_MAIN = """\
#include <stdio.h>
#include <time.h>
#include "model.h"
static const int8_t tc_in[MODEL_INPUT_BYTES] = {%s};
static int8_t tc_out[MODEL_OUTPUT_BYTES];
int main(void)
{
    long k;
    int32_t i;
    clock_t t0, t1;
    model_invoke(tc_in, tc_out);
    t0 = clock();
    for (k = 0; k < %d; ++k) {
        model_invoke(tc_in, tc_out);
    }
    t1 = clock();
    printf("ns_per_call %%.1f\\n", 1e9 * (double)(t1 - t0) / CLOCKS_PER_SEC / %d);
    for (i = 0; i < MODEL_OUTPUT_BYTES; ++i) {
        printf("%%02x", (unsigned)(uint8_t)tc_out[i]);
    }
    printf("\\n");
    return 0;
}
"""


def c_latency_ms(graph: Graph, x: np.ndarray, runs: int, work: Path) -> tuple[float, bytes, int]:
    """(ms per inference, output bytes, arena bytes) of the generated C."""
    gen = generate_c(graph, work / "model")
    main = work / "model" / "tc_bench_main.c"
    main.write_text(_TIMING_MAIN % (", ".join(str(int(v)) for v in x.reshape(-1)), runs, runs))
    exe = compile_program([*gen.sources, main], work / "bench", include_dirs=[gen.out_dir])
    lines = run_program(exe, timeout_s=600).splitlines()
    return float(lines[0].split()[1]) / 1e6, bytes.fromhex(lines[1]), gen.arena_bytes


def median_ms(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def macs(graph: Graph) -> int:
    total = 0
    for op in graph.ops:
        y = graph.tensors[op.outputs[0]]
        if op.kind in ("conv2d_s8", "depthwise_conv2d_s8", "fully_connected_s8"):
            w = graph.tensors[op.inputs[1]]
            per_out = int(np.prod(w.shape[1:])) if op.kind != "depthwise_conv2d_s8" else w.shape[1] * w.shape[2]
            total += y.size * per_out
    return total


def bench_graph(name: str, graph: Graph, runs: int, float_fn=None) -> dict:
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, graph.input_tensor().shape, dtype=np.int8)
    with tempfile.TemporaryDirectory(prefix="tc_bench_") as tmp:
        c_ms, c_out, arena = c_latency_ms(graph, x, runs, Path(tmp))
    ref = run(graph, x)
    row = {"bench": "latency", "model": name, "ops": len(graph.ops), "macs": macs(graph), "arena_bytes": arena,
           "runs": runs, "c_ms": round(c_ms, 5), "numpy_ms": round(median_ms(lambda: run(graph, x), runs), 4),
           "outputs_match": c_out == ref.tobytes()}
    if float_fn is not None:
        row["torch_float_ms"] = round(median_ms(float_fn, runs), 4)
    row["numpy_over_c"] = round(row["numpy_ms"] / max(row["c_ms"], 1e-9), 1)
    return row


def zoo_rows(name: str, runs: int) -> dict:
    import torch

    from tinycore.quant import quantize
    from tinycore.spec import build_model
    from tinycore.spec.zoo import zoo_spec

    spec = zoo_spec(name)
    model = build_model(spec).eval()
    shape = spec.input.shape()
    gen = torch.Generator().manual_seed(0)
    graph = quantize(model, [torch.randn(16, *shape, generator=gen) for _ in range(2)])
    xf = torch.randn(1, *shape, generator=gen)
    torch.set_num_threads(1)

    def float_call():
        with torch.no_grad():
            model(xf)

    return bench_graph(name, graph, runs, float_call)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", nargs="*", default=["ds_cnn_s", "dense_autoencoder"],
                    help="zoo model names (float column included)")
    ap.add_argument("--runs", type=int, default=100)
    args = ap.parse_args()
    for name in args.zoo:
        print(json.dumps(zoo_rows(name, args.runs)), flush=True)


if __name__ == "__main__":
    main()
