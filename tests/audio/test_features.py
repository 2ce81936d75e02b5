"""The torch front end equals librosa; frames, stacking and peak normalization do what the config says.

Stated tolerance, torch (float32) vs librosa (float64), on MFCC / log-mel values up to ~100 in magnitude:
- speech, noise, clicks, silence: max |difference| <= 1e-4 for ln-mel / MFCC (measured ~4e-5); <= 0.01 dB for
  the anomaly 10*log10(power mel + 2.2e-16) (measured 0.004 dB, on bins 100+ dB below the frame's peak);
- pure tones and chirps: <= 0.1 for ln-mel / MFCC (measured 0.04); for the dB log-mel, <= 0.01 dB on values
  within 80 dB of the clip's largest (below that, up to ~7 dB off). Mel bins that hold only the window's
  spectral leakage of a tone sit near float32 FFT rounding (~1e-7 of the frame's peak magnitude, ~1e-14 of its
  power), and the log magnifies their relative error. That is float32 precision, not a different algorithm.
"""
import librosa
import numpy as np
import pytest
import torch

from apps.kws.frontend import KWS_FRONTEND
from tests.audio.signals import make_clips, speech_clips
from tinycore.audio.config import FrontendConfig
from tinycore.audio.features import TorchFrontend, compute_features, dct_matrix, stack_frames

TOL = 1e-4
TOL_DB = 0.01
TOL_TONES = 0.1
ANOMALY_LIKE = FrontendConfig(clip_samples=24000, frame_samples=1024, hop_samples=512, n_fft=1024, n_mels=128,
                              fmin_hz=0.0, fmax_hz=8000.0, power=2.0, log_kind="10log10",
                              log_offset=float(np.finfo(np.float64).eps), n_mfcc=None, frames_stacked=5)
ODD = FrontendConfig(clip_samples=4000, frame_samples=300, hop_samples=130, n_fft=512, n_mels=20, fmin_hz=50.0,
                     fmax_hz=7000.0, n_mfcc=13)  # n_fft - l = 212 and (L - l) % s != 0


def librosa_features(c: FrontendConfig, x: np.ndarray) -> np.ndarray:
    """The reference: librosa with center=False. librosa frames n_fft samples and centres the l-sample window in
    them, so the clip is padded by the same offset on both sides to make frame t cover [t*s, t*s + l)."""
    x = x.astype(np.float64)
    if c.peak_normalize and np.abs(x).max() > 0:
        x = x / np.abs(x).max()
    left = (c.n_fft - c.frame_samples) // 2
    y = np.pad(x, (left, c.n_fft - c.frame_samples - left))
    s = librosa.feature.melspectrogram(y=y, sr=c.sample_rate_hz, n_fft=c.n_fft, hop_length=c.hop_samples,
                                       win_length=c.frame_samples, window="hann", center=False, power=c.power,
                                       n_mels=c.n_mels, fmin=c.fmin_hz, fmax=c.fmax_hz)
    log = np.log(s + c.log_offset) if c.log_kind == "ln" else 10 * np.log10(s + c.log_offset)
    return (log if c.n_mfcc is None else librosa.feature.mfcc(S=log, n_mfcc=c.n_mfcc)).T


@pytest.mark.parametrize("config, tol", [(KWS_FRONTEND, TOL), (ANOMALY_LIKE, TOL_DB), (ODD, TOL)],
                         ids=["kws", "anomaly", "odd"])
def test_torch_equals_librosa(config, tol):
    speech = speech_clips(config.clip_samples)
    other = make_clips(8, config.clip_samples, seed=1)  # kinds: noise, tones, chirp, clicks (2 = silence)
    tones = np.isin(np.arange(8) % 4, [1, 2]) & (np.arange(8) != 2)
    clips = np.concatenate([speech, other[~tones], other[tones]])
    ours = compute_features(config, clips)
    assert ours.shape == (len(clips), *config.feature_shape) and ours.dtype == np.float32
    refs = [librosa_features(config, c) for c in clips]
    errs = np.array([np.abs(ours[i] - refs[i]).max() for i in range(len(clips))])
    n_tol = len(speech) + int((~tones).sum())
    assert errs[:n_tol].max() <= tol, f"speech/noise: max |torch - librosa| = {errs[:n_tol].max():.3g}"
    if config.log_kind == "10log10":
        errs = np.array([np.abs(ours[i] - refs[i])[refs[i] >= refs[i].max() - 80].max()
                         for i in range(n_tol, len(clips))])
        assert errs.max() <= TOL_DB, f"tones, top 80 dB: max |torch - librosa| = {errs.max():.3g}"
    else:
        assert errs[n_tol:].max() <= TOL_TONES, f"tones: max |torch - librosa| = {errs[n_tol:].max():.3g}"


@pytest.mark.parametrize("pos", [1, 129, 131, 1060, 3739])
def test_frame_t_uses_samples_t_s_to_t_s_plus_l(pos):
    c = ODD  # T = (4000 - 300) // 130 + 1 = 29; samples 3940..3999 are in no frame
    x = np.zeros(c.clip_samples, np.float32)
    x[pos] = 0.5  # (window[0] = 0, so a sample at a frame start shows only in the other frames)
    changed = np.flatnonzero(np.abs(compute_features(c, x) - compute_features(c, np.zeros_like(x))).max(axis=1))
    expected = [t for t in range(c.num_frames) if t * c.hop_samples <= pos < t * c.hop_samples + c.frame_samples]
    assert list(changed) == expected and len(expected) > 0


def test_samples_after_the_last_frame_are_unused():
    c = ODD
    x = np.zeros(c.clip_samples, np.float32)
    x[(c.num_frames - 1) * c.hop_samples + c.frame_samples:] = 0.5
    np.testing.assert_array_equal(compute_features(c, x), compute_features(c, np.zeros_like(x)))


def test_dct_rows_are_orthonormal():
    d = dct_matrix(40, 40).astype(np.float64)
    np.testing.assert_allclose(d @ d.T, np.eye(40), atol=1e-6)


def test_peak_normalize_makes_level_irrelevant():
    x = make_clips(1, 16000, seed=3)[0]
    a = compute_features(KWS_FRONTEND, x)
    b = compute_features(KWS_FRONTEND, x * 0.01)
    np.testing.assert_allclose(a, b, atol=1e-3)


def test_stack_frames_order_and_contiguity():
    f = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
    s = stack_frames(f, 5)
    assert s.shape == (3, 15)
    for i in range(3):
        np.testing.assert_array_equal(s[i], f[i:i + 5].ravel())
    assert stack_frames(f[None], 5).shape == (1, 3, 15)


def test_gradients_flow_for_training_time_features():
    x = torch.tensor(make_clips(2, 16000, seed=4), requires_grad=True)
    TorchFrontend(KWS_FRONTEND)(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_wrong_clip_length_is_an_error():
    with pytest.raises(ValueError, match="16000 samples, got 15999"):
        TorchFrontend(KWS_FRONTEND)(torch.zeros(1, 15999))
