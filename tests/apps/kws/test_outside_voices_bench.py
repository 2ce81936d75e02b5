"""bench/kws_outside_voices.py: the trees it writes are test archives the KWS loader reads, with every clip where
its label says, the noisy tree noisy where the clean one is not, and the same clips from the same seed.
(flite and festival themselves are not needed: the synthesizer is replaced by tones of one pitch per word.)"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from apps.kws.speech_commands import CLASSES, KEYWORDS
from apps.kws.task import TASK
from tinycore.task import DataOptions

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture()
def bench(monkeypatch):
    spec = importlib.util.spec_from_file_location("kws_outside_voices", ROOT / "bench" / "kws_outside_voices.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "kws_outside_voices", module)
    spec.loader.exec_module(module)

    def tone(engine, voice, word, stretch, tmp):
        t = np.arange(int(4000 * stretch)) / 16000
        return (0.5 * np.sin(2 * np.pi * (200 + 10 * len(word)) * t)).astype(np.float32)

    monkeypatch.setattr(module, "installed_voices", lambda: [("flite", "kal"), ("festival", "ked_diphone")])
    monkeypatch.setattr(module, "synthesize", tone)
    return module


def test_trees_are_test_archives(bench, tmp_path):
    clean, noisy = bench.write_trees(tmp_path / "out", seed=0)
    per_voice = len(KEYWORDS) * len(bench.STRETCHES) + len(bench.UNKNOWN)
    for tree in (clean, noisy):
        data = TASK.load_data(DataOptions(cache_dir=tmp_path / f"cache_{tree.name}", data_dir=tree, progress=False,
                                          splits=("test",)))
        x, y = data.test
        assert len(y) == 2 * per_voice + bench.SILENCE_CLIPS
        assert np.bincount(y, minlength=len(CLASSES))[CLASSES.index("_unknown_")] == 2 * len(bench.UNKNOWN)
        assert {r.voice for r in data.extra["manifest"].split("test")} == {"kal", "ked_diphone", "noise"}
    import soundfile as sf

    speech = [p for p in sorted(clean.glob("*/*.wav")) if p.parent.name != "_silence_"]
    assert [p.relative_to(clean) for p in speech] == \
        [p.relative_to(noisy) for p in sorted(noisy.glob("*/*.wav")) if p.parent.name != "_silence_"]
    noisy_share = np.mean([not np.array_equal(sf.read(p)[0], sf.read(noisy / p.relative_to(clean))[0])
                           for p in speech])
    assert 0.65 < noisy_share < 0.95, noisy_share  # the protocol's 80 % of speech clips


def test_same_seed_same_clips(bench, tmp_path):
    import soundfile as sf

    a = bench.write_trees(tmp_path / "a", seed=3)[1]
    b = bench.write_trees(tmp_path / "b", seed=3)[1]
    for p in sorted(a.glob("*/*.wav")):
        assert np.array_equal(sf.read(p)[0], sf.read(b / p.relative_to(a))[0]), p
