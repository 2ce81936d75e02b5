"""Clips -> log-mel (N, 311, 128) -> model vectors (sum of V_i, 640), with the checks a clip needs first.

A clip's vectors are the stacked frames of its frame window (frontend.frame_window: the whole clip, or MLPerf's
crop for ToyCar) that lie inside its real samples (a shorter clip is zero-padded; its padding is never scored).
Training and scoring both take every STRIDE-th vector (154 of 307 for a whole clip): neighbouring vectors share 4 of
5 frames, so the hop halves the work without leaving any frame out, and the firmware scores the same vectors.
"""
from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from apps.anomaly.frontend import ANOMALY_FRONTEND, FRAME_CROP
from tinycore.audio.features import compute_features, stack_frames
from tinycore.audio.manifest import ClipRecord, Manifest
from tinycore.audio.wav import AudioNotice, read_wav

STRIDE = 2  # every 2nd vector: each frame still lies in 2-3 scored vectors
SILENT_PEAK = 1.0 / 32768  # a clip whose samples never exceed one int16 step is silent
MIN_SAMPLES = (FRAME_CROP[1] - 1) * ANOMALY_FRONTEND.hop_samples + ANOMALY_FRONTEND.frame_samples  # 128,512


def check_clip(x: NDArray, where: str) -> str | None:
    """None if the clip is usable, else why not (silent, too short): the caller skips it with a notice."""
    if len(x) < MIN_SAMPLES:
        return (f"{where}: {len(x)} samples ({len(x) / ANOMALY_FRONTEND.sample_rate_hz:.2f} s); frames "
                f"{FRAME_CROP[0]}..{FRAME_CROP[1] - 1} need {MIN_SAMPLES} ({MIN_SAMPLES / 16000:.2f} s)")
    if float(np.max(np.abs(x))) < SILENT_PEAK:
        return f"{where}: silent clip (peak below one int16 step)"
    return None


def valid_frames(n_samples: int) -> int:
    """Frames that lie wholly inside n_samples real samples (at most the 311 of a 10 s clip)."""
    fe = ANOMALY_FRONTEND
    return int(min(fe.num_frames, (min(n_samples, fe.clip_samples) - fe.frame_samples) // fe.hop_samples + 1))


def read_clips(m: Manifest, records: list[ClipRecord], progress: bool = True
               ) -> tuple[NDArray[np.float32], list[ClipRecord], NDArray[np.int64]]:
    """(N, clip_samples) zero-padded waveforms of the usable records, those records, and each one's valid frame
    count; the others are skipped with one AudioNotice each (a silent or short clip has no machine sound)."""
    fe = ANOMALY_FRONTEND
    waves, kept, frames = [], [], []
    for r in tqdm(records, desc="read clips", disable=not progress, leave=False):
        path = m.root / r.path
        x = read_wav(path, fe.sample_rate_hz, channel=0)
        why = check_clip(x, str(path))
        if why is not None:
            warnings.warn(AudioNotice(why + "; skipped"), stacklevel=2)
            continue
        out = np.zeros(fe.clip_samples, np.float32)
        out[:min(len(x), fe.clip_samples)] = x[:fe.clip_samples]
        waves.append(out)
        kept.append(r)
        frames.append(valid_frames(len(x)))
    wav = np.stack(waves) if waves else np.zeros((0, fe.clip_samples), np.float32)
    return wav, kept, np.array(frames, np.int64)


def clip_logmel(waves: NDArray[np.float32], batch: int = 16) -> NDArray[np.float32]:
    """(N, L) -> (N, 311, 128) log-mel of every frame (torch front end)."""
    fe = ANOMALY_FRONTEND
    out = [compute_features(fe, waves[i:i + batch]) for i in range(0, len(waves), batch)]
    return np.concatenate(out) if out else np.zeros((0, fe.num_frames, fe.n_features), np.float32)


def window_vectors(logmel: NDArray[np.float32], window: tuple[int, int], n_frames: int,
                   stride: int = STRIDE) -> NDArray[np.float32]:
    """One clip's (T, 128) log-mel -> (V, 640): every stride-th stacked vector of frames [window) that are real."""
    last = min(window[1], n_frames)
    v = stack_frames(logmel[window[0]:last], ANOMALY_FRONTEND.frames_stacked)[::stride]
    return np.ascontiguousarray(v, dtype=np.float32)
