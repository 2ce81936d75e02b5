"""Many generated models in ONE host program: one link, kernels compiled once (fast tests and benches).

Each model folder comes from generate_c. A wrapper `tc_m<i>.c` renames its `model_invoke` (and
`model_invoke_io`) with the preprocessor and includes the folder's model.c, so the constants and `tc_arena` of
every model stay `static` to its own translation unit. The driver prints `m<i> <hex>` per input (every output,
packed). Compilation is split into jobs that run in parallel, then linked once.
"""
from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tinycore.errors import BuildError
from tinycore.export.codegen import KERNELS_DIR, generate_c, kernel_file, normalize_test_inputs
from tinycore.export.emit import c_array
from tinycore.export.host import CFLAGS, SANITIZE_FLAGS, compiler, run_program
from tinycore.ir.graph import Graph


def _driver(models: list[tuple[int, int, list[np.ndarray]]]) -> str:
    """models: (input bytes, output bytes, inputs) per model."""
    lines = ["#include <stdint.h>", "#include <stdio.h>", ""]
    calls = []
    for i, (n_in, n_out, inputs) in enumerate(models):
        lines.append(f"int tc_m{i}_invoke(const int8_t *in, int8_t *out);")
        for k, x in enumerate(inputs):
            lines.append(c_array("int8_t", f"tc_m{i}_x{k}", x))
        lines.append(f"static int8_t tc_m{i}_y[{n_out}];")
        for k in range(len(inputs)):
            calls.append(f"    if (tc_m{i}_invoke(tc_m{i}_x{k}, tc_m{i}_y) != 0) {{\n"
                         f"        printf(\"error m{i}\\n\");\n        return 1;\n    }}\n"
                         f"    tc_print(\"m{i}\", tc_m{i}_y, {n_out});")
    lines += ["", "static void tc_print(const char *tag, const int8_t *y, int32_t n)", "{", "    int32_t i;",
              "    printf(\"%s \", tag);", "    for (i = 0; i < n; ++i) {",
              "        printf(\"%02x\", (unsigned)(uint8_t)y[i]);", "    }", "    printf(\"\\n\");", "}", "",
              "int main(void)", "{", *calls, "    return 0;", "}", ""]
    return "\n".join(lines)


def _compile_jobs(sources: list[Path], work_dir: Path, flags: list[str], jobs: int) -> list[Path]:
    """Compile sources to objects in `jobs` parallel cc processes (each takes a slice of the files)."""
    chunks = [sources[k::jobs] for k in range(jobs) if sources[k::jobs]]

    def run(chunk: list[Path]) -> subprocess.CompletedProcess:
        return subprocess.run([compiler(), *flags, "-c", *(str(s) for s in chunk)], cwd=work_dir,
                              capture_output=True, text=True, timeout=600)

    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        results = list(pool.map(run, chunks))
    for chunk, proc in zip(chunks, results):
        if proc.returncode != 0:
            raise BuildError(f"{work_dir}: compile failed (exit status {proc.returncode}) for "
                             f"{', '.join(s.name for s in chunk)}:\n{proc.stderr[-4000:]}")
    return [work_dir / (s.stem + ".o") for s in sources]


def run_models_on_host(models: Sequence[tuple[Graph, Sequence[np.ndarray]]], work_dir: str | Path, *,
                       plans: Sequence[Any] | None = None, sanitize: bool = False, jobs: int | None = None,
                       timeout_s: float = 120) -> list[list[np.ndarray]]:
    """Outputs of each model on each of its inputs, from one host program: flat int8 arrays, every graph output
    packed in graph order (tinycore.runtime.flat_outputs gives the same from numpy)."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    kinds: set[str] = set()
    wrappers: list[Path] = []
    infos = []
    for i, (graph, inputs) in enumerate(models):
        gen = generate_c(graph, work_dir / f"m{i}", test_inputs=list(inputs),
                         plan=None if plans is None else plans[i])
        kinds.update(k[len("tc_"):-len(".c")] for k in gen.kernels)
        wrapper = work_dir / f"tc_m{i}.c"
        wrapper.write_text(f"#define model_invoke tc_m{i}_invoke\n#define model_invoke_io tc_m{i}_invoke_io\n"
                           f"#define model_input_slot tc_m{i}_input_slot\n#include \"m{i}/model.c\"\n")
        wrappers.append(wrapper)
        infos.append((gen.input_bytes, gen.output_bytes, normalize_test_inputs(graph, inputs)))
    (work_dir / "tc_main.c").write_text(_driver(infos))
    kernels = [kernel_file(k) for k in sorted(kinds)]
    flags = [*CFLAGS, *(SANITIZE_FLAGS if sanitize else ()), f"-I{KERNELS_DIR / 'include'}"]
    sources = [work_dir / "tc_main.c", *wrappers, *kernels]
    objects = _compile_jobs(sources, work_dir, flags, jobs or min(2, os.cpu_count() or 1))
    exe = work_dir / ("tc_batch_asan" if sanitize else "tc_batch")
    proc = subprocess.run([compiler(), *flags, *(str(o) for o in objects), "-o", str(exe)], capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        raise BuildError(f"{work_dir}: link failed (exit status {proc.returncode}):\n{proc.stderr[-4000:]}")
    text = run_program(exe, timeout_s)
    results: list[list[np.ndarray]] = [[] for _ in models]
    for line in text.splitlines():
        tag, _, hexes = line.partition(" ")
        if tag.startswith("m") and tag[1:].isdigit():
            results[int(tag[1:])].append(np.frombuffer(bytes.fromhex(hexes), dtype=np.int8))
    for i, (_, inputs) in enumerate(models):
        if len(results[i]) != len(inputs):
            raise BuildError(f"{exe}: model m{i} printed {len(results[i])} outputs, expected {len(inputs)}")
    return results
