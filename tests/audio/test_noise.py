"""Noise mixing: the SNR recorded in a manifest is the SNR of the clip."""
import numpy as np

from tinycore.audio.noise import active_power, coloured_noise, mix_at_snr


def test_mix_at_snr_hits_the_stated_snr():
    rng = np.random.default_rng(0)
    speech = np.zeros(16000, np.float32)
    speech[4000:8000] = 0.3 * np.sin(np.arange(4000) * 0.1)
    noise = coloured_noise(16000, 1.0, rng)
    for snr in (5.0, 17.5, 30.0):
        mixed = mix_at_snr(speech, noise, snr)
        residual = mixed - speech
        assert abs(10 * np.log10(active_power(speech) / np.mean(residual.astype(np.float64) ** 2)) - snr) < 1e-3


def test_coloured_noise_slopes():
    rng = np.random.default_rng(1)
    for alpha in (0.0, 1.0, 2.0):
        p = np.abs(np.fft.rfft(coloured_noise(2**16, alpha, rng))) ** 2
        f = np.arange(len(p))
        lo, hi = p[(f > 100) & (f < 200)].mean(), p[(f > 1000) & (f < 2000)].mean()
        assert abs(10 * np.log10(lo / hi) - 10 * alpha) < 1.0  # 10 dB per decade per unit alpha
