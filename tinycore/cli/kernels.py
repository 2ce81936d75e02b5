"""AVX2 code on every x86 CPU that has it: cap the vector code torch, oneDNN, MKL and numpy choose at run time.

Each of these libraries picks its kernels at run time from the CPU (SSE, AVX2, AVX-512), and each kernel sums
floats in its own order, so the same seed trained on two machines drifts apart after the first step and ends a
point apart in accuracy (apps/kws/README.md, "Determinism"). Capping every library at AVX2 (x86-64-v3, what
x86 servers have had since about 2015) makes a machine with more run the code this project's figures were
measured with; a machine with less keeps its own code (the caps only lower a choice). Must run before numpy is
imported (it reads its variable then) and before torch's first kernel (torch, oneDNN and MKL read theirs then):
each app's `__main__` calls it first. `TINYCORE_NATIVE_KERNELS=1` keeps each library's own choice (AVX-512 is
faster where it exists; figures then differ from machine to machine). Not covered: MKL's own paths for Intel and
for AMD CPUs at the same level (its vendor-neutral `MKL_CBWR=COMPATIBLE` would be; measured in the README).
"""
from __future__ import annotations

import os
from pathlib import Path

NATIVE_VARIABLE = "TINYCORE_NATIVE_KERNELS"

# environment variable -> value that caps the library at AVX2
CAPS = {
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's own vectorized kernels (elementwise, batch norm, reductions)
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN: torch's CPU convolutions
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",  # MKL: torch's matmuls and FFTs
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # numpy's run-time dispatched ufuncs
}
# Set only where the CPU has AVX2: these name a code path rather than cap one (OpenBLAS's Haswell kernels would stop
# a machine without AVX2 with an illegal instruction). MKL's AVX2 branch makes Intel CPUs of any generation give
# the same sums; MKL does not take it on AMD CPUs (its verbose mode reports "CNR:AUTO" there).
IF_AVX2 = {"OPENBLAS_CORETYPE": "Haswell", "MKL_CBWR": "AVX2"}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The instruction-set flags the CPU reports (Linux; elsewhere none)."""
    try:
        flags = next((line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        return set()
    return set(flags.partition(":")[2].split())


def cpu_has_avx2(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU reports AVX2 (elsewhere than Linux False, which leaves OpenBLAS and MKL to choose)."""
    return "avx2" in cpu_flags(cpuinfo)


def pin_cpu_kernels(environ: dict | None = None) -> dict[str, str]:
    """Set the caps in `environ` (default os.environ) unless TINYCORE_NATIVE_KERNELS=1; return what was set."""
    env = os.environ if environ is None else environ
    if env.get(NATIVE_VARIABLE, "") not in ("", "0"):
        return {}
    pinned = dict(CAPS)
    if cpu_has_avx2():
        pinned.update(IF_AVX2)
    env.update(pinned)
    return pinned


def kernels_in_use(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict:
    """What a run's float arithmetic ran on, for its report: the CPU, torch's kernel level, whether pinned. Two
    machines' figures are comparable when these match (README "Determinism")."""
    import torch

    try:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), None)
    except OSError:
        model = None
    pinned = all(os.environ.get(name) == value for name, value in CAPS.items())
    return {"cpu": model, "torch_capability": torch.backends.cpu.get_cpu_capability(), "pinned_avx2": pinned}
