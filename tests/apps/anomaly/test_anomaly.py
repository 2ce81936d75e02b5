"""Anomaly app: loader, features, scoring, thresholds, synthesis and search sizes (fast, no training)."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from apps.anomaly.dcase import load_dcase
from apps.anomaly.features import MIN_SAMPLES, STRIDE, check_clip, read_clips, valid_frames, window_vectors
from apps.anomaly.frontend import ANOMALY_FRONTEND, FRAME_CROP, VECTORS_PER_CLIP, WHOLE_CLIP, frame_window
from apps.anomaly.scoring import aggregate, auc_table, clip_scores, hop_mask, severity_table, threshold_at
from apps.anomaly.synth import MACHINE_IDS, MACHINE_TYPES, SEVERITIES, machine, render_clip
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


def test_dcase_loader_reads_a_val_folder_with_anomalies(tmp_path):
    """A machine with a val/ folder validates on it (normal and anomalous clips) and trains on all of train/."""
    _tree(tmp_path)
    _wav(tmp_path / "fan" / "val" / "normal_id_00_00000000.wav", n=2000)
    _wav(tmp_path / "fan" / "val" / "anomaly_id_00_00000000.wav", n=2000)
    with pytest.warns(AudioNotice, match="id_05"):
        m = load_dcase(tmp_path)
    assert [(c.split, c.label) for c in m.clips if c.split != "test"] == [
        ("val", "anomaly"), ("val", "normal")] + [("train", "normal")] * 5
    assert "val/ folder" in m.meta["split_rule"]
    (tmp_path / "fan" / "val" / "normal_id_00_00000000.wav").unlink()
    with pytest.raises(DataError, match="no normal_id_XX_.*threshold"), warnings.catch_warnings():
        warnings.simplefilter("ignore", AudioNotice)
        load_dcase(tmp_path)


def test_hop_mask_keeps_every_kth_vector_of_each_clip():
    idx = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2])
    assert np.flatnonzero(hop_mask(idx, 2)).tolist() == [0, 2, 4, 5, 7, 8]
    assert hop_mask(idx, 1).all()


def test_builtin_val_clips_are_new_and_test_clips_unchanged():
    """The val/ folder holds every (kind, severity) once per ID with seeds of its own; train and test clips keep
    the seeds of version 6 (codes 0, 1, 2 of the seed sequence)."""
    from apps.anomaly.data import QUICK, _jobs
    from apps.anomaly.synth import ANOMALY_KINDS

    jobs = _jobs(QUICK, seed=0)
    val = [j for j in jobs if j.path.startswith("valve/val/anomaly_id_04")]
    assert {(j.anomaly, j.severity) for j in val} == {(a, s) for a in ANOMALY_KINDS for s in SEVERITIES}
    test0 = next(j for j in jobs if j.path == "pump/test/anomaly_id_02_00000003.wav")
    assert test0.seed == int(np.random.SeedSequence([0, 1, 2, 2, 3]).generate_state(1)[0])
    seeds = [j.seed for j in jobs]
    assert len(set(seeds)) == len(seeds)
    assert sum(j.path.split("/")[1] == "val" for j in jobs) == 12 * (QUICK.val_normal_per_id +
                                                                   QUICK.val_anomaly_per_id)


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
        waves, kept, frames = read_clips(m, m.split("train") + m.split("val"), progress=False)
    msgs = [str(x.message) for x in w]
    assert [Path(r.path).name[-6:-4] for r in kept] == ["00", "03"]
    assert any("silent" in s for s in msgs) and any("samples" in s and "need" in s for s in msgs)
    assert any("8000 Hz, resampled" in s for s in msgs)
    assert waves.shape == (2, 160000) and frames.tolist() == [311, 311]
    assert valid_frames(MIN_SAMPLES) == 250 and valid_frames(10 ** 6) == 311
    assert check_clip(np.zeros(MIN_SAMPLES), "x") is not None and check_clip(np.ones(MIN_SAMPLES) * 0.1, "x") is None


def test_window_vectors_layout_and_windows():
    lm = np.arange(311 * 128, dtype=np.float32).reshape(311, 128)
    v = window_vectors(lm, WHOLE_CLIP, 311)
    assert v.shape == (154, 640) and STRIDE == 2  # vectors 0, 2, ..., 306 of 307
    np.testing.assert_array_equal(v[1], lm[2:7].ravel())
    np.testing.assert_array_equal(window_vectors(lm, FRAME_CROP, 311)[0], lm[50:55].ravel())
    assert window_vectors(lm, WHOLE_CLIP, 100).shape == (48, 640)  # a short clip: padding frames never scored
    assert frame_window("ToyCar") == FRAME_CROP and frame_window("valve") == WHOLE_CLIP


def test_whole_clip_scoring_finds_a_fault_outside_the_crop():
    """A fault in frames 270..299 (after MLPerf's crop ends at 249): the whole-clip score separates the clip, the
    cropped score cannot. The model reconstructs every vector as the normal mean (a fixed autoencoder)."""
    rng = np.random.default_rng(0)
    clips = rng.normal(0, 1, (6, 311, 128)).astype(np.float32)  # 0-2 normal, 3-5 faulty
    clips[3:, 270:300, 40:60] += 3.0
    labels = np.array([0, 0, 0, 1, 1, 1])

    def scores(window: tuple[int, int]) -> np.ndarray:
        vecs = [window_vectors(c, window, 311) for c in clips]
        x = np.concatenate(vecs)
        idx = np.repeat(np.arange(6), [len(v) for v in vecs])
        return clip_scores(x, np.zeros_like(x), idx, 6)

    whole, crop = scores(WHOLE_CLIP), scores(FRAME_CROP)
    assert auc_table(whole, labels, ["fan/id_00"] * 6)["auc"] == 1.0
    assert abs(auc_table(crop, labels, ["fan/id_00"] * 6)["auc"] - 0.5) <= 0.4  # chance: the fault is not seen
    assert whole[3:].min() > 1.05 * whole[:3].max() and crop[3:].min() < 1.05 * crop[:3].max()


def test_clip_score_choices():
    err = np.array([1.0, 1.0, 1.0, 1.0, 9.0, 1.0, 2.0, 2.0])
    idx = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(aggregate(err, idx, 2, "mean"), [2.6, 5 / 3])
    np.testing.assert_allclose(aggregate(err, idx, 2, "p90"), [np.percentile(err[:5], 90), 2.0])
    np.testing.assert_allclose(aggregate(err, idx, 2, "max_ma"), [13 / 5, 5 / 3])  # window clipped to the clip
    with pytest.raises(DataError):
        aggregate(err, idx, 2, "median")


def test_severity_table_pairs_normals_with_each_severity():
    scores = np.array([0.1, 0.2, 0.15, 0.9])
    t = severity_table(scores, np.array([0, 0, 1, 1]), ["fan/id_00"] * 4, ["", "", "slight", "obvious"])
    assert t["slight"]["auc"] == 0.5 and t["obvious"]["auc"] == 1.0


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
    assert -6.0 <= snr <= 6.0 and a.dtype == np.float32 and np.max(np.abs(a)) <= 1.0
    f0 = {t: [machine(t, i).f0_hz for i in MACHINE_IDS] for t in MACHINE_TYPES}
    assert len({v for fs in f0.values() for v in fs}) == 12  # units differ ...
    assert all(max(fs) / min(fs) < 1.13 for fs in f0.values())  # ... by a few per cent, as units of one model
    assert SEVERITIES == ("slight", "subtle", "obvious")
    for kind in ("bearing", "imbalance", "shift", "rubbing", "missing"):
        for t in MACHINE_TYPES:
            c, _ = render_clip(machine(t, "02"), 16000, 16000, seed=3, anomaly=kind, severity="subtle")
            assert not np.array_equal(c, render_clip(machine(t, "02"), 16000, 16000, seed=3)[0]), (t, kind)
