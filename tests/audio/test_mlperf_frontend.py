"""The MLPerf front end (`--frontend mlperf`) equals TensorFlow's MLPerf Tiny KWS features; its C twin equals it.

Golden file golden/mlperf_golden.npz: three 1 s clips (log sweep, white noise, espeak-ng "left") as int16 and
TF 2.21's window, mel matrix, log-mel and MFCC of them (golden/make_mlperf_golden.py, run once with TF).
Stated tolerances, float32 vs float32:
- mel matrix: max |ours - TF| <= 2e-5 (TF builds it in float32; measured 5.9e-6); Hann window <= 1e-6.
- MFCC of noise and speech: max |ours - TF| <= 1e-4 (measured 2.3e-5; values reach 124).
- MFCC of the pure sweep: <= 0.05 (measured 0.011): mel bins holding only window leakage sit at float32 FFT
  rounding level and the log magnifies their relative error (the same effect test_c_frontend.py states).
The librosa front end differs from TF by far more (> 1), so these tests tell the two apart.
"""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from apps.kws.frontend import KWS_FRONTEND, MLPERF_FRONTEND, frontend_named
from tests.audio.signals import make_clips
from tinycore.audio.features import compute_features, hann_window, mel_matrix
from tinycore.errors import UnsupportedError

GOLDEN = np.load(Path(__file__).resolve().parent / "golden" / "mlperf_golden.npz")
TOL, TOL_SWEEP = 1e-4, 0.05


def _waves() -> np.ndarray:
    return GOLDEN["pcm16"].astype(np.float32) / np.float32(32768.0)  # as tf.audio.decode_wav scales


def _assert_close_to_tf(ours: np.ndarray, tf: np.ndarray) -> None:
    names = list(GOLDEN["names"])
    for i, name in enumerate(names):
        err = float(np.abs(ours[i] - tf[i]).max())
        tol = TOL_SWEEP if name == "sweep" else TOL
        assert err <= tol, f"{name}: max |ours - TF| = {err:.3g} > {tol}"


def test_tables_equal_tf():
    assert np.abs(mel_matrix(MLPERF_FRONTEND) - GOLDEN["mel_matrix"]).max() <= 2e-5
    assert np.abs(hann_window(MLPERF_FRONTEND.frame_samples) - GOLDEN["window"]).max() <= 1e-6
    assert np.abs(mel_matrix(KWS_FRONTEND) - GOLDEN["mel_matrix"]).max() > 0.1  # librosa's are other filters


def test_torch_features_equal_tf():
    ours = compute_features(MLPERF_FRONTEND, _waves())
    assert ours.shape == GOLDEN["mfcc"].shape == (3, 49, 10)
    _assert_close_to_tf(ours, GOLDEN["mfcc"])
    assert np.abs(compute_features(KWS_FRONTEND, _waves()) - GOLDEN["mfcc"]).max() > 1.0


def test_c_features_equal_tf(host_frontend):
    _assert_close_to_tf(host_frontend(MLPERF_FRONTEND).clip(_waves()), GOLDEN["mfcc"])


def test_c_equals_torch_on_more_clips(host_frontend):
    """Noise, clicks and silence at many levels (tones and chirps left out: see the sweep tolerance)."""
    clips = make_clips(24, 16000, seed=3)
    plain = clips[[i for i in range(24) if i % 4 in (0, 3)]]
    err = np.abs(host_frontend(MLPERF_FRONTEND).clip(plain) - compute_features(MLPERF_FRONTEND, plain)).max()
    assert err <= TOL, f"max |C - torch| = {err:.3g}"


def test_peak_is_the_largest_sample_not_abs(host_frontend):
    """MLPerf divides by tf.reduce_max (signed): a clip whose negative peak is larger gets other features."""
    x = np.zeros((1, 16000), np.float32)
    x[0, 1000:9000] = np.random.default_rng(0).uniform(-0.2, 0.2, 8000)
    x[0, 5000] = -0.9
    ours = compute_features(MLPERF_FRONTEND, x)
    as_tf = compute_features(MLPERF_FRONTEND, x / x.max())  # dividing again by a peak of 1.0 changes nothing
    np.testing.assert_allclose(ours, as_tf, atol=1e-5)
    abs_peak = compute_features(replace(MLPERF_FRONTEND, peak_kind="abs"), x)
    assert np.abs(ours - abs_peak).max() > 1.0
    np.testing.assert_allclose(host_frontend(MLPERF_FRONTEND).clip(x), ours, atol=TOL)


def test_frontend_names():
    assert frontend_named(None) is KWS_FRONTEND and frontend_named("mlperf") is MLPERF_FRONTEND
    with pytest.raises(UnsupportedError, match="mlperf"):
        frontend_named("htk")


def test_config_rejects_unknown_conventions():
    with pytest.raises(UnsupportedError, match="mel_filters"):
        replace(MLPERF_FRONTEND, mel_filters="kaldi")
