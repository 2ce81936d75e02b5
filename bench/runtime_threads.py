"""Wall and CPU time per input of the numpy integer runtime with numpy's BLAS at 1 thread and at its default
(OpenBLAS: one per core), the setting `--threads` now controls (tinycore/cli/threads.py). One JSON line per
(model, threads):

    python bench/runtime_threads.py                       # VWW MobileNetV1 0.25 at 96x96, random weights (seeded)
    python bench/runtime_threads.py --graph runs/vww/demo/model.graph --n 20

On a loaded machine the default's spinning threads cost far more than the matmuls they share.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from tinycore.ir import load_graph  # noqa: E402
from tinycore.runtime import run  # noqa: E402


def _time(graph, xs) -> tuple[float, float]:
    run(graph, xs[0])  # warm-up
    t, c = time.perf_counter(), time.process_time()
    for x in xs:
        run(graph, x)
    return (time.perf_counter() - t) / len(xs) * 1000, (time.process_time() - c) / len(xs) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--graph", type=Path, help="an int8 .graph (default: the VWW reference with random weights)")
    ap.add_argument("--n", type=int, default=10, help="inputs timed per setting")
    args = ap.parse_args()
    if args.graph is not None:
        graph, name = load_graph(args.graph), str(args.graph)
    else:
        from bench.op_profile import random_graph_of
        from tinycore.spec.zoo import mobilenet_v1_025

        graph, name = random_graph_of(mobilenet_v1_025()), "vww_mobilenet_v1_025 (random weights)"
    shape = graph.input_tensor(0).shape
    rng = np.random.default_rng(0)
    xs = [rng.integers(-128, 128, shape, dtype=np.int8) for _ in range(args.n)]
    default = max((p.get("num_threads", 1) for p in threadpool_info() if p.get("user_api") == "blas"), default=1)
    for threads in (default, 1):
        with threadpool_limits(limits=threads, user_api="blas"):
            wall_ms, cpu_ms = _time(graph, xs)
        print(json.dumps({"bench": "runtime_threads", "model": name, "blas_threads": threads, "n": args.n,
                          "wall_ms_per_input": round(wall_ms, 1), "cpu_ms_per_input": round(cpu_ms, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
