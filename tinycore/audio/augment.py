"""Waveform and spectrum augmentations for audio data sets: rooms, channels and vocal tracts.

Every function is seeded through the numpy Generator it takes (or has no randomness), works on float audio in
[-1, 1) at any sample rate and returns float32 of the input's length, so a data set built with them is a pure
function of its seed. Used by the KWS built-in set and its training loader; general enough for any audio app.

- room_impulse_response / reverberate: synthetic rooms (direct path, sparse early reflections, exponentially
  decaying diffuse tail with the stated RT60).
- band_limit, mic_resonance, hard_clip, quantize_bits, mu_law, telephone: microphone and channel colouring.
- vtlp_matrix: vocal-tract-length perturbation as a frequency warp of a magnitude spectrum (Jaitly & Hinton's
  piecewise-linear warp), applied by the caller to spectra or folded into a mel filterbank.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

ROOMS = {"small": (0.15, 0.4), "large": (0.6, 1.2)}  # RT60 range in seconds
CHANNELS = ("band", "cheap_mic", "clip", "low_bit", "mu_law", "telephone")


def _f32(x: NDArray) -> NDArray[np.float32]:
    return np.asarray(x, dtype=np.float32)


def room_impulse_response(rt60_s: float, sample_rate_hz: int, rng: np.random.Generator,
                          n_reflections: int = 8, direct_to_reverb_db: float = 0.0) -> NDArray[np.float32]:
    """Unit-peak impulse response: a direct path at 0, n_reflections early reflections within 50 ms, then
    Gaussian noise decaying by 60 dB over rt60_s (energy ~ exp(-13.8 t / rt60)), length rt60_s."""
    n = max(int(rt60_s * sample_rate_hz), 16)
    t = np.arange(n) / sample_rate_hz
    ir = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60_s)  # amplitude: -60 dB at rt60
    ir[: int(0.005 * sample_rate_hz)] = 0.0  # the diffuse tail starts after the first reflections
    ir *= 10 ** (-direct_to_reverb_db / 20) / max(np.sqrt(np.sum(ir ** 2)), 1e-12)
    for _ in range(n_reflections):
        k = int(rng.uniform(0.002, 0.05) * sample_rate_hz)
        if k < n:
            ir[k] += rng.uniform(0.2, 0.7) * rng.choice([-1.0, 1.0])
    ir[0] = 1.0
    return _f32(ir / np.abs(ir).max())


def reverberate(x: NDArray, ir: NDArray) -> NDArray[np.float32]:
    """x convolved with ir, cut to len(x), rescaled to x's peak (reverb changes the colour, not the level)."""
    y = signal.fftconvolve(np.asarray(x, np.float64), np.asarray(ir, np.float64))[: len(x)]
    peak_x, peak_y = np.abs(x).max(), np.abs(y).max()
    return _f32(y * (peak_x / peak_y) if peak_y > 0 else y)


def band_limit(x: NDArray, low_hz: float, high_hz: float, sample_rate_hz: int, order: int = 4) -> NDArray[np.float32]:
    """Butterworth band-pass low_hz..high_hz (zero-phase is not needed: a channel is causal)."""
    sos = signal.butter(order, [low_hz, min(high_hz, 0.45 * sample_rate_hz)], btype="bandpass", fs=sample_rate_hz,
                        output="sos")
    return _f32(signal.sosfilt(sos, x))


def mic_resonance(x: NDArray, centre_hz: float, gain_db: float, q: float, sample_rate_hz: int) -> NDArray[np.float32]:
    """A peaking-EQ biquad (RBJ cookbook): a cheap microphone's resonance of gain_db at centre_hz."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * centre_hz / sample_rate_hz
    alpha = np.sin(w) / (2 * q)
    b = [1 + alpha * a, -2 * np.cos(w), 1 - alpha * a]
    den = [1 + alpha / a, -2 * np.cos(w), 1 - alpha / a]
    return _f32(signal.lfilter(b, den, x))


def hard_clip(x: NDArray, headroom_db: float) -> NDArray[np.float32]:
    """Clip at peak * 10**(-headroom_db / 20): an overdriven input stage."""
    level = np.abs(x).max() * 10 ** (-headroom_db / 20)
    return _f32(np.clip(x, -level, level))


def quantize_bits(x: NDArray, bits: int) -> NDArray[np.float32]:
    """Uniform quantization to `bits` bits over [-1, 1) (a low-resolution ADC)."""
    step = 2.0 ** (1 - bits)
    return _f32(np.clip(np.round(np.asarray(x, np.float64) / step) * step, -1.0, 1.0 - step))


def mu_law(x: NDArray, bits: int = 8, mu: float = 255.0) -> NDArray[np.float32]:
    """G.711-style µ-law companding to `bits` bits and back (fine steps near 0, coarse near full scale)."""
    x = np.clip(np.asarray(x, np.float64), -1.0, 1.0)
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    levels = 2 ** (bits - 1)
    y = np.round(y * levels) / levels
    return _f32(np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu)


def telephone(x: NDArray, sample_rate_hz: int) -> NDArray[np.float32]:
    """Telephone band 300-3400 Hz, then 8-bit µ-law."""
    return mu_law(band_limit(x, 300.0, 3400.0, sample_rate_hz))


def random_channel(x: NDArray, kind: str, sample_rate_hz: int, rng: np.random.Generator) -> NDArray[np.float32]:
    """One CHANNELS colouring with random settings (band limits, resonance, headroom, bits)."""
    if kind == "band":
        return band_limit(x, rng.uniform(80, 400), rng.uniform(2800, 7000), sample_rate_hz)
    if kind == "cheap_mic":
        return mic_resonance(x, rng.uniform(1500, 5000), rng.uniform(6, 15), rng.uniform(1.5, 5), sample_rate_hz)
    if kind == "clip":
        return hard_clip(x, rng.uniform(3, 15))
    if kind == "low_bit":
        return quantize_bits(np.asarray(x) / max(np.abs(x).max(), 1e-9) * 0.9, int(rng.integers(6, 10)))
    if kind == "mu_law":
        return mu_law(x)
    if kind == "telephone":
        return telephone(x, sample_rate_hz)
    raise ValueError(f"random_channel: unknown kind {kind!r}; expected one of {CHANNELS}")


def vtlp_matrix(alpha: float, n_bins: int, sample_rate_hz: int, f_hi_hz: float = 4800.0) -> NDArray[np.float32]:
    """(n_bins, n_bins) W with W @ spectrum = the spectrum warped by alpha (a formant at f moves to ~alpha f).

    Warp (Jaitly & Hinton 2013): f -> alpha f below f0 = f_hi min(alpha, 1) / alpha, then the straight line that
    maps Nyquist to itself. Output bin g takes the input spectrum at the inverse warp of g, linearly interpolated.
    """
    nyq = sample_rate_hz / 2.0
    f = np.linspace(0.0, nyq, n_bins)
    f0 = f_hi_hz * min(alpha, 1.0) / alpha
    knee_out = alpha * f0  # warp(f0)
    src = np.where(f <= knee_out, f / alpha, f0 + (f - knee_out) * (nyq - f0) / (nyq - knee_out))
    pos = np.clip(src / nyq * (n_bins - 1), 0, n_bins - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_bins - 1)
    frac = pos - lo
    w = np.zeros((n_bins, n_bins))
    w[np.arange(n_bins), lo] += 1 - frac
    w[np.arange(n_bins), hi] += frac
    return _f32(w)
