"""Run a .tflite in TFLite Micro (PyPI tflite-micro, reference kernels): the oracle of these tests."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from tests.conftest import SHARED  # noqa: E402

FIXTURES = SHARED / "fixtures" / "tflite"
FIXTURE_NAMES = ["ad01_int8", "kws_ref_model", "micro_speech_quantized", "person_detect", "pretrainedResnet_quant",
                 "vww_96_int8"]


def tflm_interpreter(model: str | Path | bytes):
    from tflite_micro.python.tflite_micro import runtime

    if isinstance(model, bytes):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.tflite")
            Path(path).write_bytes(model)
            return runtime.Interpreter.from_file(path, arena_size=1 << 22)
    return runtime.Interpreter.from_file(str(model), arena_size=1 << 22)


def tflm_outputs(model, xs) -> list[np.ndarray]:
    itp = tflm_interpreter(model)
    outs = []
    for x in xs:
        itp.set_input(x, 0)
        itp.invoke()
        outs.append(np.array(itp.get_output(0)).copy())
    return outs


def tflm_all_outputs(model, xs, n_outputs: int) -> list[tuple[np.ndarray, ...]]:
    """Every output of each run (one-input models), in the file's output order."""
    itp = tflm_interpreter(model)
    outs = []
    for x in xs:
        itp.set_input(x, 0)
        itp.invoke()
        outs.append(tuple(np.array(itp.get_output(k)).copy() for k in range(n_outputs)))
    return outs


def random_inputs(shape, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, size=tuple(shape), dtype=np.int8) for _ in range(n)]
