"""Waveform and spectrum augmentations for audio data sets: rooms, channels and vocal tracts.

Every function is seeded through the numpy Generator it takes (or has no randomness), works on float audio in
[-1, 1) at any sample rate and returns float32 of the input's length, so a data set built with them is a pure
function of its seed. Used by the KWS built-in set and its training loader; general enough for any audio app.

- room_impulse_response / reverberate: synthetic rooms (direct path, sparse early reflections, exponentially
  decaying diffuse tail with the stated RT60).
- band_limit, mic_resonance, hard_clip, quantize_bits, mu_law, telephone: microphone and channel colouring.
- vtlp_matrix: vocal-tract-length perturbation as a frequency warp of a magnitude spectrum (Jaitly & Hinton's
  piecewise-linear warp), applied by the caller to spectra or folded into a mel filterbank; formant_warp_knots
  draws a non-uniform monotone warp (formant regions moved by different factors) for warp_matrix.
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


def warp_matrix(knots_in_hz: NDArray, knots_out_hz: NDArray, n_bins: int,
                sample_rate_hz: int) -> NDArray[np.float32]:
    """(n_bins, n_bins) W with W @ spectrum = the spectrum warped by the piecewise-linear map through the knots
    (f_in -> f_out, both strictly increasing, 0 -> 0 and Nyquist -> Nyquist): energy at f_in moves to f_out.
    Output bin g takes the input spectrum at the inverse warp of g, linearly interpolated."""
    nyq = sample_rate_hz / 2.0
    k_in, k_out = np.asarray(knots_in_hz, np.float64), np.asarray(knots_out_hz, np.float64)
    if k_in.shape != k_out.shape or k_in[0] != 0 or k_out[0] != 0 or k_in[-1] != nyq or k_out[-1] != nyq \
            or np.any(np.diff(k_in) <= 0) or np.any(np.diff(k_out) <= 0):
        raise ValueError(f"warp_matrix: knots must rise strictly from 0 to Nyquist ({nyq:g} Hz) on both sides; "
                         f"got {k_in.tolist()} -> {k_out.tolist()}")
    f = np.linspace(0.0, nyq, n_bins)
    return _resample_matrix(np.interp(f, k_out, k_in), nyq, n_bins)


def _resample_matrix(src_hz: NDArray, nyq: float, n_bins: int) -> NDArray[np.float32]:
    """Rows that read the spectrum at src_hz (one frequency per output bin), linearly interpolated."""
    pos = np.clip(src_hz / nyq * (n_bins - 1), 0, n_bins - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_bins - 1)
    frac = pos - lo
    w = np.zeros((n_bins, n_bins))
    w[np.arange(n_bins), lo] += 1 - frac
    w[np.arange(n_bins), hi] += frac
    return _f32(w)


def vtlp_knots(alpha: float, sample_rate_hz: int, f_hi_hz: float = 4800.0) -> tuple[NDArray, NDArray]:
    """Knots of Jaitly & Hinton's (2013) VTLP warp: f -> alpha f below f0 = f_hi min(alpha, 1) / alpha, then the
    straight line that maps Nyquist to itself."""
    nyq = sample_rate_hz / 2.0
    f0 = f_hi_hz * min(alpha, 1.0) / alpha
    if alpha == 1.0:
        return np.array([0.0, nyq]), np.array([0.0, nyq])
    return np.array([0.0, f0, nyq]), np.array([0.0, alpha * f0, nyq])


def vtlp_matrix(alpha: float, n_bins: int, sample_rate_hz: int, f_hi_hz: float = 4800.0) -> NDArray[np.float32]:
    """(n_bins, n_bins) W with W @ spectrum = the spectrum warped by alpha (a formant at f moves to ~alpha f): the
    warp of vtlp_knots, its inverse written out (warp_matrix of the same knots agrees to ~1e-14; this form keeps
    the matrices, and so trained models, bit for bit those of before)."""
    nyq = sample_rate_hz / 2.0
    f = np.linspace(0.0, nyq, n_bins)
    f0 = f_hi_hz * min(alpha, 1.0) / alpha
    knee_out = alpha * f0  # warp(f0)
    src = np.where(f <= knee_out, f / alpha, f0 + (f - knee_out) * (nyq - f0) / (nyq - knee_out))
    return _resample_matrix(src, nyq, n_bins)


# Formant regions where formant_warp_knots puts one breakpoint each (F1, F2, F3 of adult speech, Hz)
FORMANT_BANDS_HZ = ((250.0, 900.0), (900.0, 2300.0), (2300.0, 3500.0))


def formant_warp_knots(alpha: float, strength: float, sample_rate_hz: int, rng: np.random.Generator,
                       bands_hz: tuple[tuple[float, float], ...] = FORMANT_BANDS_HZ,
                       f_hi_hz: float = 4800.0) -> tuple[NDArray, NDArray]:
    """Knots of a random monotone piecewise-linear warp that moves formant regions by different factors, as voices
    that change single formants do (espeak-ng's `shelby`: F2 x 1.40, F3 x 1.30, F1 unchanged): the VTLP warp of
    alpha, with one breakpoint b drawn in each band mapped to alpha r b instead, r log-uniform in
    [1 / (1 + strength), 1 + strength] per breakpoint. strength 0 gives vtlp_knots(alpha) exactly. Draws that
    would not rise strictly are drawn again (ValueError after 100 tries)."""
    k_in, k_out = vtlp_knots(alpha, sample_rate_hz, f_hi_hz)
    if strength <= 0:
        return k_in, k_out
    top = k_in[-2] if len(k_in) > 2 else f_hi_hz  # the VTLP knee (f_hi when alpha is 1)
    if bands_hz[-1][1] >= min(top, sample_rate_hz / 2.0):
        raise ValueError(f"formant_warp_knots: the last band ends at {bands_hz[-1][1]:g} Hz, above the warp's knee "
                         f"{top:g} Hz")
    span = np.log1p(strength)
    for _ in range(100):
        b = np.array([rng.uniform(lo, hi) for lo, hi in bands_hz])
        r = np.exp(rng.uniform(-span, span, len(b)))
        ins = np.concatenate([[0.0], b, [top, sample_rate_hz / 2.0]])
        outs = np.concatenate([[0.0], alpha * r * b, [alpha * top, sample_rate_hz / 2.0]])
        if np.all(np.diff(ins) > 0) and np.all(np.diff(outs) > 0):
            return ins, outs
    raise ValueError(f"formant_warp_knots: no monotone warp in 100 draws at strength {strength:g}")
