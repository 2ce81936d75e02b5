"""Our planned arena and host latency vs TFLite Micro's, per .tflite fixture; one JSON object per line.

    python bench/tflm_compare.py [MODEL.tflite ...] [--runs N]

TFLM's figures come from its own `print_allocations()` (C-level stderr, captured through a pipe): `head` is the
planned tensor arena, `total` adds the interpreter's structures. Our figure is
`tinycore.memory.plan_graph(graph).arena_bytes`, the arena the generated C code declares. Latencies are the
median host wall time of one inference: our numpy reference runtime and TFLM's reference kernels (x86-64
build of the PyPI `tflite-micro` package), on the same random int8 inputs; outputs are checked equal.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinycore.runtime import run  # noqa: E402
from tinycore.tflite import import_tflite  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "tflite"  # shared/ beside the checkout
if not FIXTURES.is_dir():
    FIXTURES = Path("/work/shared/fixtures/tflite")


def tflm_allocations(itp) -> dict[str, int]:
    """Parse 'Arena allocation head|tail|total N bytes' from print_allocations(), which writes to fd 2."""
    r, w = os.pipe()
    saved = os.dup(2)
    os.dup2(w, 2)
    try:
        itp.print_allocations()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(w)
    text = os.read(r, 1 << 16).decode(errors="replace")
    os.close(r)
    return {k: int(v) for k, v in re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", text)}


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def compare(path: Path, runs: int) -> dict:
    from tflite_micro.python.tflite_micro import runtime
    from tinycore.memory import plan_graph

    graph = import_tflite(path)
    itp = runtime.Interpreter.from_file(str(path), arena_size=4 * 1024 * 1024)
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, size=graph.input_tensor().shape, dtype=np.int8)

    def tflm_once():
        itp.set_input(x, 0)
        itp.invoke()
        return np.array(itp.get_output(0))

    ref = tflm_once()
    ours = run(graph, x)
    alloc = tflm_allocations(itp)
    return {
        "bench": "tflm_compare", "model": path.stem, "runs": runs,
        "ours_arena_bytes": plan_graph(graph).arena_bytes,
        "tflm_head_bytes": alloc.get("head"), "tflm_total_bytes": alloc.get("total"),
        "ours_latency_ms": round(median_ms(lambda: run(graph, x), runs), 3),
        "tflm_latency_ms": round(median_ms(tflm_once, runs), 3),
        "outputs_equal": bool(np.array_equal(ours.reshape(ref.shape), ref)),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("models", nargs="*", type=Path, help="default: every fixture in " + str(FIXTURES))
    p.add_argument("--runs", type=int, default=10, help="inferences timed per model (median reported)")
    args = p.parse_args(argv)
    for path in args.models or sorted(FIXTURES.glob("*.tflite")):
        print(json.dumps(compare(path, args.runs)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
