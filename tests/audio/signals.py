"""Test clips shared by the audio tests: noise at several levels, tones, chirps, clicks, silence."""
import numpy as np


def make_clips(n: int, samples: int, seed: int = 0, rate_hz: int = 16000) -> np.ndarray:
    """(n, samples) float32 in [-1, 1): a spread of levels (-80..0 dBFS) and spectra, clip 2 is all zeros."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / rate_hz
    out = np.zeros((n, samples), dtype=np.float32)
    for i in range(n):
        kind = i % 4
        if kind == 0:
            x = rng.standard_normal(samples)
        elif kind == 1:
            x = sum(np.sin(2 * np.pi * rng.uniform(50, 7000) * t + rng.uniform(0, 6)) for _ in range(3))
        elif kind == 2:
            f0, f1 = rng.uniform(20, 500), rng.uniform(1000, 7900)
            x = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * t[-1])))
        else:
            x = np.zeros(samples)
            x[rng.integers(0, samples, 20)] = rng.uniform(-1, 1, 20)
        x = x / np.abs(x).max() * 10 ** (rng.uniform(-80, 0) / 20)
        out[i] = np.clip(x, -1, 32767 / 32768)
    if n > 2:
        out[2] = 0.0
    return out


def speech_clips(samples: int = 16000, seed: int = 0) -> np.ndarray:
    """(8, samples): four espeak-ng words, each clean and with pink noise at 20 dB SNR."""
    from tinycore.audio.espeak import synthesize
    from tinycore.audio.noise import coloured_noise, mix_at_snr
    from tinycore.audio.wav import pad_or_trim, resample

    rng = np.random.default_rng(seed)
    out = []
    for word, voice in [("yes", "en-us+m3"), ("left", "en-gb+f2"), ("stop", "en-gb-scotland+klatt"),
                        ("seven", "en-029+whisper")]:
        x, rate = synthesize(word, voice)
        x = np.roll(pad_or_trim(resample(x, rate, 16000), samples), int(rng.integers(0, 2000)))
        out += [x, mix_at_snr(x, coloured_noise(samples, 1.0, rng), 20.0)]
    return np.array(out, dtype=np.float32)
