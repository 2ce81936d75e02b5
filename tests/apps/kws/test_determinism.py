"""Two `demo --quick` runs in separate processes with the same seed give the same report figures and weights.

A small Speech Commands tree of seeded tonal clips (one pitch pattern per word, random per speaker) keeps the runs
to a few seconds each; what is checked is everything the demo derives from the seed: data mixing, batch order,
speed perturbation, dropout, float reductions in training, calibration, int8 evaluation."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from apps.kws.speech_commands import KEYWORDS
from tests.conftest import ROOT
from tinycore.ir import load_graph

WORDS = [*KEYWORDS, "bed", "marvin", "tree"]
SPEAKERS = [f"{i:08x}" for i in range(6)]  # speaker 4: validation, speaker 5: test


def _tree(root, rng: np.random.Generator) -> None:
    t = np.arange(16000) / 16000
    val, test = [], []
    for w_i, word in enumerate(WORDS):
        for s_i, spk in enumerate(SPEAKERS):
            for k in range(2):
                f0 = 200 + 60 * w_i + rng.uniform(-15, 15)
                x = 0.3 * np.sin(2 * np.pi * f0 * t * (1 + 0.2 * t * (w_i % 3))) * (t > rng.uniform(0, 0.3))
                x = x + 0.02 * rng.standard_normal(len(t))
                rel = f"{word}/{spk}_nohash_{k}.wav"
                (root / word).mkdir(parents=True, exist_ok=True)
                sf.write(root / rel, x.astype(np.float32), 16000, subtype="PCM_16")
                (val if s_i == 4 else test if s_i == 5 else []).append(rel)
    for name in ("white_noise", "pink_noise", "running_tap", "doing_the_dishes"):
        (root / "_background_noise_").mkdir(exist_ok=True)
        sf.write(root / "_background_noise_" / f"{name}.wav", (0.1 * rng.standard_normal(48000)).astype(np.float32),
                 16000, subtype="PCM_16")
    (root / "validation_list.txt").write_text("\n".join(val) + "\n")
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")


def _demo(tree, out, cache) -> dict:
    cmd = [sys.executable, "-m", "apps.kws", "demo", "--quick", "--epochs", "2", "--no-firmware", "--quiet",
           "--data-dir", str(tree), "--cache-dir", str(cache), "--out", str(out), "--model", "ds_cnn_s"]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads((out / "report.json").read_text())


@pytest.mark.slow
def test_two_quick_demos_give_the_same_figures(tmp_path):
    tree = tmp_path / "sc"
    _tree(tree, np.random.default_rng(7))
    a = _demo(tree, tmp_path / "a", tmp_path / "cache_a")  # separate caches: features are computed twice too
    b = _demo(tree, tmp_path / "b", tmp_path / "cache_b")
    for k in ("train", "metrics", "memory"):
        assert a[k] == b[k], k
    assert a["metrics"]["int8"]["n"] > 30 and "keyword_to_unknown_rate" in a["metrics"]["int8"]
    wa, wb = (torch.load(tmp_path / r / "checkpoint.pt", weights_only=True)["model"] for r in "ab")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)  # bit-identical float weights
    ga, gb = (load_graph(tmp_path / r / "model.graph") for r in "ab")
    assert ga.tensors.keys() == gb.tensors.keys()
    assert all(np.array_equal(ga.tensors[k].data, gb.tensors[k].data) for k in ga.tensors
               if ga.tensors[k].data is not None)  # the int8 weights and biases the firmware would carry
