"""Background noise for synthetic audio data sets, and mixing at a chosen SNR.

SNR is measured as 10*log10(P_signal / P_noise) with P_signal the mean power over the signal's active samples
(the spoken word, not the silence around it) and P_noise the mean power of the noise over the whole clip, so a
short word in 1 s of noise gets the SNR it is labelled with.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # power spectrum ~ 1 / f**alpha


def coloured_noise(n: int, alpha: float, rng: np.random.Generator) -> NDArray[np.float32]:
    """Unit-RMS Gaussian noise whose power spectrum falls as 1/f**alpha (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec *= f ** (-alpha / 2.0)
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    return (x / max(np.sqrt(np.mean(x ** 2)), 1e-12)).astype(np.float32)


def hum(n: int, sample_rate_hz: int, rng: np.random.Generator) -> NDArray[np.float32]:
    """Unit-RMS mains hum: 50 or 60 Hz and 4 harmonics with random decaying levels and phases, plus a little
    white noise."""
    f0 = rng.choice([50.0, 60.0])
    t = np.arange(n) / sample_rate_hz
    x = np.zeros(n)
    for h in range(1, 6):
        x += rng.uniform(0.2, 1.0) / h * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi))
    x += 0.05 * rng.standard_normal(n)
    return (x / np.sqrt(np.mean(x ** 2))).astype(np.float32)


def active_power(x: NDArray, rel_threshold: float = 0.05) -> float:
    """Mean power over the samples between the first and last one above rel_threshold * peak."""
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    if a.max() == 0:
        return 0.0
    idx = np.flatnonzero(a > rel_threshold * a.max())
    seg = x[idx[0]:idx[-1] + 1]
    return float(np.mean(seg ** 2))


def mix_at_snr(signal: NDArray, noise: NDArray, snr_db: float) -> NDArray[np.float32]:
    """signal + noise scaled so that active_power(signal) / mean power(noise) = 10**(snr_db / 10)."""
    p_sig = active_power(signal)
    p_noise = float(np.mean(np.asarray(noise, dtype=np.float64) ** 2))
    if p_sig == 0 or p_noise == 0:
        return np.asarray(signal, dtype=np.float32).copy()  # nothing to scale against
    gain = np.sqrt(p_sig / (p_noise * 10 ** (snr_db / 10.0)))
    return (np.asarray(signal, dtype=np.float64) + gain * np.asarray(noise, dtype=np.float64)).astype(np.float32)


def _unit_rms(x: NDArray) -> NDArray[np.float32]:
    return (x / max(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)), 1e-12)).astype(np.float32)


def fan(n: int, sample_rate_hz: int, rng: np.random.Generator) -> NDArray[np.float32]:
    """Unit-RMS fan or air-conditioner noise: brown-ish broadband noise plus a blade tone (40-200 Hz) and two
    harmonics, slowly amplitude-modulated."""
    t = np.arange(n) / sample_rate_hz
    f0 = rng.uniform(40.0, 200.0)
    tone = sum(rng.uniform(0.2, 1.0) / h * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi))
               for h in (1, 2, 3))
    x = coloured_noise(n, rng.uniform(1.0, 2.0), rng) + rng.uniform(0.3, 1.0) * tone
    return _unit_rms(x * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.5, 4.0) * t)))


def street(n: int, sample_rate_hz: int, rng: np.random.Generator) -> NDArray[np.float32]:
    """Unit-RMS street-like noise: low rumble (brown noise) with passing swells (a vehicle's slow rise and fall)
    and a few short broadband bursts (horns, steps, doors)."""
    t = np.arange(n) / sample_rate_hz
    swell = 1 + rng.uniform(0.5, 2.0) * np.exp(-((t - rng.uniform(0, t[-1] + 1e-9)) / rng.uniform(0.2, 0.6)) ** 2)
    x = coloured_noise(n, 2.0, rng) * swell + 0.3 * coloured_noise(n, 1.0, rng)
    for _ in range(int(rng.integers(0, 4))):
        start, length = int(rng.integers(0, n)), int(rng.uniform(0.02, 0.15) * sample_rate_hz)
        stop = min(n, start + length)
        if stop - start > 1:
            x[start:stop] += rng.uniform(1.0, 3.0) * coloured_noise(stop - start, 0.0, rng)
    return _unit_rms(x)


def music(n: int, sample_rate_hz: int, rng: np.random.Generator) -> NDArray[np.float32]:
    """Unit-RMS music-like tones: a sequence of notes (2-4 simultaneous equal-tempered pitches with harmonics and
    attack-decay envelopes), 4-10 notes per second."""
    t = np.arange(n) / sample_rate_hz
    x = np.zeros(n)
    start = 0
    while start < n:
        length = int(sample_rate_hz / rng.uniform(4.0, 10.0))
        seg = t[: min(length, n - start)]
        env = (1 - np.exp(-seg / 0.005)) * np.exp(-seg / rng.uniform(0.05, 0.3))
        for _ in range(int(rng.integers(2, 5))):
            f = 440.0 * 2 ** (int(rng.integers(-24, 13)) / 12)
            for h in range(1, 4):
                if f * h < sample_rate_hz / 2:
                    x[start:start + len(seg)] += env * np.sin(2 * np.pi * f * h * seg) / h
        start += length
    return _unit_rms(x)
