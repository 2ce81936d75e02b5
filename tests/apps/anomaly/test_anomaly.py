"""Anomaly app: loader, features, scoring, thresholds, synthesis and search sizes (fast, no training)."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from apps.anomaly.dcase import load_dcase
from apps.anomaly.features import MIN_SAMPLES, SCORE_STRIDE, check_clip, clip_vectors, read_clips
from apps.anomaly.frontend import ANOMALY_FRONTEND, VECTORS_PER_CLIP
from apps.anomaly.scoring import auc_table, clip_scores, threshold_at
from apps.anomaly.synth import MACHINE_TYPES, machine, render_clip
from tinycore.audio.wav import AudioNotice
from tinycore.errors import DataError


def _wav(path: Path, n: int = 160000, sr: int = 16000, amp: float = 0.1, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = amp * np.random.default_rng(seed).standard_normal(n)
    sf.write(str(path), x.clip(-1, 0.99), sr, subtype="PCM_16")


def _tree(root: Path) -> None:
    for i in range(5):
        _wav(root / "fan" / "train" / f"normal_id_00_{i:08d}.wav", n=2000, seed=i)
    _wav(root / "fan" / "test" / "normal_id_00_00000000.wav", n=2000)
    _wav(root / "fan" / "test" / "anomaly_id_00_00000000.wav", n=2000)
    _wav(root / "fan" / "test" / "id_05_00000000.wav", n=2000)  # unlabelled eval file


def test_frontend_is_mlperf():
    fe = ANOMALY_FRONTEND
    assert (fe.n_mels, fe.n_fft, fe.hop_samples, fe.power, fe.frames_stacked) == (128, 1024, 512, 2.0, 5)
    assert fe.num_frames == 311 and VECTORS_PER_CLIP == 196 and fe.frames_stacked * fe.n_features == 640


def test_dcase_loader_splits_and_skips(tmp_path):
    _tree(tmp_path)
    with pytest.warns(AudioNotice, match="id_05"):
        m = load_dcase(tmp_path)
    assert [(c.split, c.label, c.voice) for c in m.clips] == [
        ("train", "normal", "fan/id_00")] * 4 + [("val", "normal", "fan/id_00"),
                                                  ("test", "anomaly", "fan/id_00"), ("test", "normal", "fan/id_00")]


def test_dcase_loader_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_dcase(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no machine folders"):
        load_dcase(tmp_path / "empty")
    _wav(tmp_path / "pump" / "test" / "normal_id_00_00000000.wav", n=100)
    (tmp_path / "pump" / "train").mkdir()
    with pytest.raises(DataError, match="no normal_id_XX"):
        load_dcase(tmp_path)


def test_read_clips_skips_silent_and_short_and_resamples(tmp_path):
    _wav(tmp_path / "m" / "train" / "normal_id_00_00000000.wav")
    _wav(tmp_path / "m" / "train" / "normal_id_00_00000001.wav", amp=0.0)
    _wav(tmp_path / "m" / "train" / "normal_id_00_00000002.wav", n=MIN_SAMPLES - 1)
    _wav(tmp_path / "m" / "train" / "normal_id_00_00000003.wav", n=80000, sr=8000)
    _wav(tmp_path / "m" / "test" / "normal_id_00_00000000.wav")
    m = load_dcase(tmp_path)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        waves, kept = read_clips(m, m.split("train") + m.split("val"), progress=False)
    msgs = [str(x.message) for x in w]
    assert [Path(r.path).name[-6:-4] for r in kept] == ["00", "03"]
    assert any("silent" in s for s in msgs) and any("samples" in s and "need" in s for s in msgs)
    assert any("8000 Hz, resampled" in s for s in msgs)
    assert waves.shape == (2, 160000)
    assert check_clip(np.zeros(MIN_SAMPLES), "x") is not None and check_clip(np.ones(MIN_SAMPLES) * 0.1, "x") is None


def test_clip_vectors_layout():
    lm = np.arange(2 * 200 * 128, dtype=np.float32).reshape(2, 200, 128)
    v = clip_vectors(lm, SCORE_STRIDE)
    assert v.shape == (2 * 49, 640)
    np.testing.assert_array_equal(v[1], lm[0, 4:9].ravel())
    np.testing.assert_array_equal(v[49], lm[1, 0:5].ravel())


def test_clip_scores_and_threshold():
    x = np.zeros((4, 640))
    y = np.zeros((4, 640))
    y[1] = 2.0  # clip 0: vectors 0, 1 -> errors 0, 4 -> 2
    y[3] = 1.0  # clip 1: 0, 1 -> 0.5
    np.testing.assert_array_equal(clip_scores(x, y, np.array([0, 0, 1, 1]), 2), [2.0, 0.5])
    s = np.arange(1, 11, dtype=float)  # 10 normal validation scores
    assert threshold_at(s, 0.1) == 10.0 and threshold_at(s, 0.2) == 9.0 and threshold_at(s, 0.0) == 10.0
    with pytest.raises(DataError):
        threshold_at(np.array([]), 0.1)


def test_auc_table_per_id_and_type():
    scores = np.array([0.1, 0.2, 0.9, 0.8, 0.5, 0.6, 0.4, 0.7])
    labels = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    groups = ["fan/id_00"] * 4 + ["pump/id_00"] * 4
    t = auc_table(scores, labels, groups)
    assert t["per_id"]["fan/id_00"]["auc"] == 1.0
    assert t["per_id"]["pump/id_00"]["auc"] == 0.5  # pairs (0.4 vs 0.5, 0.6) lose, (0.7 vs both) win
    assert t["auc"] == 0.75 and t["per_type"]["fan"]["pauc"] == 1.0


def test_synth_is_deterministic_and_machines_differ():
    a, snr = render_clip(machine("fan", "00"), 16000, 16000, seed=3)
    b, _ = render_clip(machine("fan", "00"), 16000, 16000, seed=3)
    np.testing.assert_array_equal(a, b)
    assert 6.0 <= snr <= 15.0 and a.dtype == np.float32 and np.max(np.abs(a)) <= 1.0
    f0 = {machine(t, i).f0_hz for t in MACHINE_TYPES for i in ("00", "02", "04")}
    assert len(f0) == 12
    for kind in ("bearing", "imbalance", "shift", "rubbing", "missing"):
        for t in MACHINE_TYPES:
            c, _ = render_clip(machine(t, "02"), 16000, 16000, seed=3, anomaly=kind, severity="subtle")
            assert not np.array_equal(c, render_clip(machine(t, "02"), 16000, 16000, seed=3)[0]), (t, kind)
