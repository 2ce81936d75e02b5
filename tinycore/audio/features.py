"""The front end in torch (float32): the features a model trains on; its C twin is c/tc_frontend.c.

Steps per clip (see FrontendConfig): optional peak normalization; frames of l samples every s, no padding;
periodic Hann window; zero-pad to n_fft; |rfft|**power; mel matrix (librosa's or TF's); optional subtraction of
each band's noise floor (its minimum over the frames); log; optional DCT-II
(orthonormal or TF's scaling, first n_mfcc rows); optional mean over the frames subtracted. With the librosa
settings it equals librosa (melspectrogram(center=False) + mfcc(S=log-mel)), with the TF ones MLPerf Tiny's TF
pipeline, within the tolerances tests/audio/test_features.py and test_mlperf_frontend.py state. The tables
(window, mel, DCT) come from here for the C code too.
"""
from __future__ import annotations

import librosa
import numpy as np
import torch
from numpy.typing import NDArray

from tinycore.audio.config import FrontendConfig


def hann_window(frame_samples: int) -> NDArray[np.float32]:
    """Periodic Hann window (as torch.hann_window, scipy get_window('hann') and tf.signal.hann_window)."""
    n = np.arange(frame_samples, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / frame_samples)).astype(np.float32)


def mel_matrix(config: FrontendConfig) -> NDArray[np.float32]:
    """(n_mels, n_fft/2 + 1) mel weights of config.mel_filters: librosa's or TensorFlow's."""
    if config.mel_filters == "tf":
        return tf_mel_matrix(config)
    return librosa.filters.mel(sr=config.sample_rate_hz, n_fft=config.n_fft, n_mels=config.n_mels,
                               fmin=config.fmin_hz, fmax=config.fmax_hz).astype(np.float32)


def htk_mel(hz: NDArray) -> NDArray[np.float64]:
    """HTK mel scale, 1127 ln(1 + f / 700), the one tf.signal uses."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def tf_mel_matrix(config: FrontendConfig) -> NDArray[np.float32]:
    """(n_mels, n_bins) weights as tf.signal.linear_to_mel_weight_matrix builds them (transposed).

    Band edges are n_mels + 2 points evenly spaced in HTK mel from fmin to fmax; filter m rises from edge m to
    edge m+1 and falls to edge m+2, linearly in mel (not in Hz, unlike librosa), peak 1, no area
    normalization. Bin k sits at k * (sr / 2) / (n_bins - 1) Hz; the DC bin gets no weight (HTK leaves it out).
    """
    c = config
    bins_mel = htk_mel(np.linspace(0.0, c.sample_rate_hz / 2.0, c.n_bins))[None, :]
    edges = np.linspace(htk_mel(c.fmin_hz), htk_mel(c.fmax_hz), c.n_mels + 2)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins_mel - lower) / (centre - lower)
    falling = (upper - bins_mel) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[:, 0] = 0.0
    return weights.astype(np.float32)


def dct_matrix(n_out: int, n_in: int, norm: str = "ortho") -> NDArray[np.float32]:
    """(n_out, n_in) DCT-II rows sqrt(2/N) cos(pi k (n + 1/2) / N).

    norm "ortho": row 0 also divided by sqrt(2), as scipy.fft.dct(type=2, norm='ortho') (librosa.feature.mfcc);
    norm "tf": row 0 not, as tf.signal.mfccs_from_log_mel_spectrograms (unnormalized DCT-II / sqrt(2N)).
    """
    n = np.arange(n_in, dtype=np.float64)
    k = np.arange(n_out, dtype=np.float64)[:, None]
    d = np.cos(np.pi / n_in * (n + 0.5) * k) * np.sqrt(2.0 / n_in)
    if norm == "ortho":
        d[0] /= np.sqrt(2.0)
    return d.astype(np.float32)


class TorchFrontend(torch.nn.Module):
    """(B, L) float waveforms -> (B, T, F) float32 features, differentiable, on any device."""

    def __init__(self, config: FrontendConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.from_numpy(hann_window(config.frame_samples)))
        self.register_buffer("mel", torch.from_numpy(mel_matrix(config)))
        dct = dct_matrix(config.n_mfcc, config.n_mels, config.dct_norm) if config.n_mfcc is not None else np.zeros((0, 0))
        self.register_buffer("dct", torch.from_numpy(dct.astype(np.float32)))

    def forward(self, wave: torch.Tensor, mel: torch.Tensor | None = None) -> torch.Tensor:
        """mel: optional (B, n_mels, bins) per-clip filterbanks replacing self.mel (e.g. VTLP-warped ones)."""
        c = self.config
        x = wave.to(torch.float32)[..., :c.clip_samples]
        if x.shape[-1] != c.clip_samples:
            raise ValueError(f"clips must have {c.clip_samples} samples, got {x.shape[-1]}")
        if c.peak_normalize:
            peak = (x.abs() if c.peak_kind == "abs" else x).amax(dim=-1, keepdim=True)
            x = x / torch.where(peak > 0, peak, torch.ones_like(peak))
        # torch.stft centres a short window inside n_fft; padding by that offset on both sides makes frame t
        # cover exactly samples [t*s, t*s + l) and gives T = (L - l) // s + 1 frames.
        left = (c.n_fft - c.frame_samples) // 2
        x = torch.nn.functional.pad(x, (left, c.n_fft - c.frame_samples - left))
        spec = torch.stft(x, n_fft=c.n_fft, hop_length=c.hop_samples, win_length=c.frame_samples,
                          window=self.window, center=False, return_complex=True)  # (B, bins, T)
        mag = spec.abs() if c.power == 1.0 else spec.real ** 2 + spec.imag ** 2
        mel = torch.matmul(self.mel if mel is None else mel, mag)  # (B, n_mels, T)
        if c.noise_subtract > 0:
            floor = mel.amin(dim=-1, keepdim=True)
            mel = torch.maximum(mel - c.noise_subtract * floor, c.noise_floor * floor)
        mel = mel + c.log_offset
        logmel = torch.log(mel) if c.log_kind == "ln" else 10.0 * torch.log10(mel)
        out = logmel if c.n_mfcc is None else torch.matmul(self.dct, logmel)  # (B, F, T)
        if c.mean_normalize:
            out = out - out.mean(dim=-1, keepdim=True)
        return out.transpose(-1, -2).contiguous()


def compute_features(config: FrontendConfig, waves: NDArray, batch: int = 256) -> NDArray[np.float32]:
    """(N, L) or (L,) numpy waveforms -> (N, T, F) or (T, F) float32 features, on the CPU in batches."""
    waves = np.asarray(waves, dtype=np.float32)
    single = waves.ndim == 1
    waves = waves[None] if single else waves
    fe = TorchFrontend(config)
    with torch.no_grad():
        out = [fe(torch.from_numpy(waves[i:i + batch])).numpy() for i in range(0, len(waves), batch)]
    feats = np.concatenate(out) if out else np.zeros((0, *config.feature_shape), np.float32)
    return feats[0] if single else feats


def stack_frames(feats: NDArray, frames_stacked: int) -> NDArray:
    """(..., T, F) -> (..., T - n + 1, n * F): vector i is frames i..i+n-1 concatenated (DCASE baseline order).

    In the (T, F) layout vector i is the contiguous run feats[i:i+n].ravel(), so the C code needs no copy.
    """
    t = feats.shape[-2]
    idx = np.arange(t - frames_stacked + 1)[:, None] + np.arange(frames_stacked)[None, :]
    stacked = feats[..., idx, :]  # (..., T-n+1, n, F)
    return stacked.reshape(*feats.shape[:-2], t - frames_stacked + 1, frames_stacked * feats.shape[-1])
