"""Pinned CPU kernels: a process whose libraries would choose other vector code trains to the same weights.

Another machine is stood in for by the variables through which torch and oneDNN take their kernel choice (torch's
portable kernels, oneDNN capped at AVX): without the pin these give other weights after one training step (the
control), with it the same weights as a process told nothing; on a CPU without AVX-512 those are also the weights
of an unpinned process (the caps are its own choice)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tinycore.cli.kernels import (CAPS, IF_AVX2, NATIVE_VARIABLE, cpu_flags, cpu_has_avx2, kernels_in_use,
                                  pin_cpu_kernels)

# one Adam step of a depthwise-separable model on seeded features; prints a hash of the weights
TRAIN_ONE_STEP = """
import hashlib, sys
from tinycore.cli.kernels import pin_cpu_kernels
pin_cpu_kernels()
import torch
from tinycore.spec import ds_cnn
from tinycore.spec.build import build_model
torch.set_num_threads(1)
torch.manual_seed(0)
model = build_model(ds_cnn(32, classes=12, frames=49, coeffs=10, blocks=2))
optimizer = torch.optim.Adam(model.parameters(), 1e-3)
generator = torch.Generator().manual_seed(1)
x, y = torch.randn(16, 1, 49, 10, generator=generator), torch.randint(0, 12, (16,), generator=generator)
torch.nn.functional.cross_entropy(model(x), y).backward()
optimizer.step()
digest = hashlib.sha256()
for tensor in model.state_dict().values():
    digest.update(tensor.detach().numpy().tobytes())
print(digest.hexdigest())
"""
OTHER_MACHINE = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "AVX"}


REPORT_KERNELS = """
import json
from tinycore.cli.kernels import kernels_in_use, pin_cpu_kernels
pin_cpu_kernels()
print(json.dumps(kernels_in_use()))
"""


def _run(script: str, extra_env: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k not in CAPS and k not in IF_AVX2 and k != NATIVE_VARIABLE}
    env.update(extra_env, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def _weights_hash(extra_env: dict[str, str]) -> str:
    return _run(TRAIN_ONE_STEP, extra_env)


@pytest.mark.skipif(not cpu_has_avx2(), reason="the pin caps at AVX2; a CPU without it keeps its own kernels")
def test_pinned_process_trains_to_the_same_weights_whatever_kernels_the_machine_would_choose():
    native_here = _weights_hash({NATIVE_VARIABLE: "1"})
    native_other = _weights_hash({NATIVE_VARIABLE: "1", **OTHER_MACHINE})
    assert native_here != native_other, "control: the stand-in machine's kernels should round differently"
    pinned_here = _weights_hash({})
    assert pinned_here == _weights_hash(OTHER_MACHINE)
    if "avx512f" not in cpu_flags():  # the caps are what an AVX2 CPU chooses anyway: they change nothing there
        assert pinned_here == native_here


def test_pin_sets_every_cap_and_the_opt_out_sets_none():
    env: dict[str, str] = {}
    pinned = pin_cpu_kernels(env)
    assert env == pinned and CAPS.items() <= env.items()
    assert (IF_AVX2.items() <= env.items()) == cpu_has_avx2()
    assert pin_cpu_kernels({NATIVE_VARIABLE: "1"}) == {}


def test_avx2_is_read_from_the_cpu_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse4_2 avx avx2 fma\n")
    assert cpu_has_avx2(info)
    info.write_text("processor\t: 0\nflags\t\t: fpu sse4_2 avx\n")
    assert not cpu_has_avx2(info)
    assert not cpu_has_avx2(tmp_path / "missing") and cpu_flags(tmp_path / "missing") == set()


@pytest.mark.skipif(not cpu_has_avx2(), reason="the pin caps at AVX2; a CPU without it keeps its own kernels")
def test_report_says_whether_the_kernels_were_pinned():
    pinned = json.loads(_run(REPORT_KERNELS, OTHER_MACHINE))
    native = json.loads(_run(REPORT_KERNELS, {NATIVE_VARIABLE: "1", **OTHER_MACHINE}))
    assert (pinned["torch_capability"], pinned["pinned_avx2"]) == ("AVX2", True)
    assert (native["torch_capability"], native["pinned_avx2"]) == ("DEFAULT", False)
    assert pinned["cpu"] == native["cpu"] == kernels_in_use()["cpu"]
