"""Build a generated C folder with the host compiler and run it: the host half of "numpy == C, byte for byte".

Warnings are errors (-Wall -Werror), so code that a compiler doubts never reaches a board. With `sanitize`,
AddressSanitizer and UndefinedBehaviorSanitizer abort on the first out-of-bounds access or signed overflow.
"""
from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path
from typing import Sequence

from tinycore.errors import BuildError

CFLAGS = ("-std=c99", "-Wall", "-Werror", "-O2")
SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g")


def compiler() -> str:
    for cc in ("cc", "gcc", "clang"):
        path = shutil.which(cc)
        if path:
            return path
    raise BuildError("no C compiler found on PATH (looked for cc, gcc, clang); install gcc")


def compile_program(sources: Sequence[Path], exe: Path, *, include_dirs: Sequence[Path] = (),
                    sanitize: bool = False, extra_flags: Sequence[str] = (), timeout_s: float = 300) -> Path:
    """cc -std=c99 -Wall -Werror -O2 [sanitizers] sources -o exe; BuildError with the compiler's message."""
    flags = [*CFLAGS, *(SANITIZE_FLAGS if sanitize else ()), *extra_flags, *(f"-I{d}" for d in include_dirs)]
    cmd = [compiler(), *flags, *(str(s) for s in sources), "-o", str(exe)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as e:
        raise BuildError(f"{exe}: compiling took longer than {timeout_s} s") from e
    if proc.returncode != 0:
        raise BuildError(f"{exe.parent}: compile failed (exit status {proc.returncode}):\n"
                         f"{' '.join(cmd)}\n{proc.stderr[-4000:]}")
    return exe


def build_host(gen_dir: str | Path, *, sanitize: bool = False) -> Path:
    """Compile a folder written by generate_c (all its .c files, tc_test_main.c included) into gen_dir/tc_test."""
    gen_dir = Path(gen_dir)
    if not (gen_dir / "model.c").is_file():
        raise BuildError(f"{gen_dir}: no model.c here; write the folder with tinycore.export.generate_c first")
    sources = sorted(gen_dir.glob("*.c"))
    exe = gen_dir / ("tc_test_asan" if sanitize else "tc_test")
    return compile_program(sources, exe, include_dirs=[gen_dir], sanitize=sanitize)


def _describe_status(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def run_program(exe: str | Path, timeout_s: float = 60) -> str:
    """Run a built program and return its stdout; a crash, a nonzero exit or a timeout raises BuildError."""
    exe = Path(exe)
    try:
        proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as e:
        raise BuildError(f"{exe}: still running after {timeout_s} s (killed)") from e
    if proc.returncode != 0:
        raise BuildError(f"{exe}: {_describe_status(proc.returncode)}\nstdout tail:\n{proc.stdout[-1000:]}\n"
                         f"stderr tail:\n{proc.stderr[-3000:]}")
    return proc.stdout
