"""Spectral subtraction in the front end (FrontendConfig.noise_subtract): each mel band's floor (its smallest
energy over the clip's frames) times beta taken out before the log, nothing below noise_floor x floor. Torch
against a float64 numpy reference, the C twin against torch, the firmware's int8 feature path
(kws_features.c) against Python; its Cortex-M4 build and static RAM are in test_c_frontend.py."""
from dataclasses import replace

import numpy as np
import pytest

from apps.kws.frontend import KWS_FRONTEND, NOISE_SUBTRACT_FRONTEND, frontend_named
from tests.apps.kws.test_firmware_mlperf import host_kws_features
from tests.audio.signals import speech_clips
from tinycore.audio.config import FrontendConfig
from tinycore.audio.features import compute_features, dct_matrix, hann_window, mel_matrix
from tinycore.audio.pcm import from_pcm16, pcm16
from tinycore.errors import UnsupportedError
from tinycore.runtime.fixedpoint import quantize_float_s8

NS = NOISE_SUBTRACT_FRONTEND  # `--frontend librosa-ns`
SCALE, ZERO_POINT = 2.0, 0  # int8 range +-256: MFCC 0 (-87.4 at digital silence) stays inside


def _reference(config: FrontendConfig, clips: np.ndarray) -> np.ndarray:
    """numpy, float64: peak-normalized clip -> |rfft| of Hann frames -> mel -> subtraction with floor -> ln -> DCT."""
    c = config
    frames = np.arange(c.num_frames)[:, None] * c.hop_samples + np.arange(c.frame_samples)[None, :]
    out = []
    for x in np.asarray(clips, np.float64):
        spec = np.abs(np.fft.rfft((x / np.abs(x).max())[frames] * hann_window(c.frame_samples), c.n_fft))
        mel = spec @ mel_matrix(c).astype(np.float64).T  # (T, n_mels)
        floor = mel.min(axis=0, keepdims=True)
        mel = np.maximum(mel - c.noise_subtract * floor, c.noise_floor * floor)
        out.append(np.log(mel + c.log_offset) @ dct_matrix(c.n_mfcc, c.n_mels).astype(np.float64).T)
    return np.stack(out)


def test_torch_equals_the_numpy_reference_and_moves_noisy_clips_only_where_noise_is():
    clips = speech_clips(16000)  # even rows clean, odd rows with pink noise at 20 dB
    ours, plain = compute_features(NS, clips), compute_features(KWS_FRONTEND, clips)
    np.testing.assert_allclose(ours, _reference(NS, clips), atol=1e-4)  # measured 3.1e-5
    moved = np.abs(ours - plain).max(axis=(1, 2))
    assert moved[1::2].min() > 1.0  # noise fills every band's floor: the features change
    assert moved[0::2].max() == 0.0  # the clean words sit in digital silence: every floor is 0, nothing moves
    assert compute_features(replace(NS, noise_subtract=0.0), clips[:2]).tolist() == plain[:2].tolist()


def test_settings_are_checked_and_old_reports_read_back_plain():
    with pytest.raises(UnsupportedError, match="noise_subtract"):
        replace(KWS_FRONTEND, noise_subtract=-1.0)
    with pytest.raises(UnsupportedError, match="noise_floor"):
        replace(KWS_FRONTEND, noise_subtract=2.0, noise_floor=0.0)
    old = {k: v for k, v in KWS_FRONTEND.to_dict().items() if k not in ("noise_subtract", "noise_floor")}
    assert FrontendConfig.from_dict(old) == KWS_FRONTEND and KWS_FRONTEND.noise_subtract == 0.0
    assert frontend_named("librosa-ns") == NS and (NS.noise_subtract, NS.noise_floor) == (2.0, 0.1)


def test_c_equals_torch(host_frontend):
    clips = np.concatenate([speech_clips(16000), speech_clips(16000, seed=3)])
    err = np.abs(host_frontend(NS).clip(clips) - compute_features(NS, clips)).max()
    assert err <= 1e-4, f"max |C - torch| = {err:.3g}"


def test_firmware_features_equal_python(tmp_path):
    clips = pcm16(speech_clips(16000) * np.float32(0.5))
    ours = host_kws_features(NS, clips, tmp_path, SCALE, ZERO_POINT)
    waves = from_pcm16(clips)
    want = quantize_float_s8(compute_features(NS, waves).reshape(len(clips), -1), SCALE, ZERO_POINT)
    plain = quantize_float_s8(compute_features(KWS_FRONTEND, waves).reshape(len(clips), -1), SCALE, ZERO_POINT)
    assert (want != plain).sum() >= ours.size // 10  # the subtraction moves many values: the check below can fail
    assert (ours != want).sum() <= ours.size // 1000, f"{(ours != want).sum()} of {ours.size} values differ"
