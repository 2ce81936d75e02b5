"""int16 PCM, as WAV files and firmware images hold audio, to and from float samples in [-1, 1)."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def pcm16(audio: NDArray) -> NDArray[np.int16]:
    """Float audio in [-1, 1) -> int16 PCM (round to nearest, saturate at -32768 / 32767)."""
    return np.clip(np.round(np.asarray(audio, np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def from_pcm16(pcm: NDArray[np.int16]) -> NDArray[np.float32]:
    """int16 -> float32 s / 32768, exact (the firmware's C front ends convert the same way)."""
    return np.asarray(pcm, np.float32) / np.float32(32768.0)
