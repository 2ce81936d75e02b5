"""Read one audio file for a data set, with the checks both audio apps need, in one place.

Every clip of the KWS and anomaly data sets (built-in or on disk) goes through `read_wav`, so a bad file gives
the same message everywhere: it names the file and what to do. A different sample rate is not an error (the
file is resampled, and an `AudioNotice` warning names it); a multi-channel file is, unless a channel is chosen.
"""
from __future__ import annotations

import warnings
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.typing import NDArray
from scipy.signal import resample_poly

from tinycore.errors import DataError


class AudioNotice(UserWarning):
    """Something was fixed while reading an audio file (e.g. resampled); the message names the file."""


def read_wav(path: str | Path, sample_rate_hz: int, channel: int | None = None,
             start_sample: int = 0, num_samples: int | None = None) -> NDArray[np.float32]:
    """Samples of one file as float32 in [-1, 1), mono, at `sample_rate_hz`; shape (n,).

    `channel`: None requires a mono file; an int picks that channel of a multi-channel one (DCASE/MIMII use 0).
    `start_sample`/`num_samples` cut a window (counted at the file's own rate, before resampling), e.g. 1 s
    windows of a long background-noise file. Raises DataError naming the file if it is missing, not audio,
    empty, multi-channel without `channel`, or shorter than the window asked for.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: audio file not found")
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as e:
        raise DataError(f"{path}: not a readable audio file ({e}); expected a PCM WAV file") from None
    if info.frames == 0:
        raise DataError(f"{path}: audio file is empty (0 samples)")
    if info.channels > 1 and channel is None:
        raise DataError(f"{path}: has {info.channels} channels, a mono file is expected; "
                        f"choose a channel (channel=0) or convert it to mono")
    if channel is not None and not 0 <= channel < info.channels:
        raise DataError(f"{path}: channel {channel} asked for, the file has {info.channels}")
    stop = None if num_samples is None else start_sample + num_samples
    if stop is not None and stop > info.frames:
        raise DataError(f"{path}: window {start_sample}..{stop} is past the end ({info.frames} samples)")
    try:
        data, rate = sf.read(str(path), start=start_sample, stop=stop, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as e:
        raise DataError(f"{path}: cannot decode audio ({e})") from None
    x = data[:, 0 if channel is None else channel]
    if rate != sample_rate_hz:
        warnings.warn(AudioNotice(f"{path}: sample rate {rate} Hz, resampled to {sample_rate_hz} Hz"),
                      stacklevel=2)
        x = resample(x, rate, sample_rate_hz)
    return np.ascontiguousarray(x, dtype=np.float32)


def resample(x: NDArray, rate_hz: int, new_rate_hz: int) -> NDArray[np.float32]:
    """Polyphase resampling (scipy, Kaiser window) by the reduced ratio new_rate/rate."""
    g = gcd(int(rate_hz), int(new_rate_hz))
    return resample_poly(np.asarray(x, dtype=np.float64), new_rate_hz // g, rate_hz // g).astype(np.float32)


def pad_or_trim(x: NDArray, n: int) -> NDArray[np.float32]:
    """Exactly n samples: zero-pad at the end (as TFDS/MLPerf do for short Speech Commands clips) or cut."""
    x = np.asarray(x, dtype=np.float32)
    if len(x) >= n:
        return x[:n].copy()
    return np.concatenate([x, np.zeros(n - len(x), dtype=np.float32)])
