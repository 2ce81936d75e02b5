"""Clips -> cropped log-mel (N, 200, 128) -> model vectors (N * V, 640), with the checks a clip needs first.

Training uses every 2nd vector of frames 50..249 (98 of MLPerf Tiny's 196 per clip); validation and test score a clip on
every SCORE_STRIDE-th of them (49), which keeps the per-vector numpy int8 runtime at ~35 ms a clip. The firmware
scores the same 49 vectors.
"""
from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from apps.anomaly.frontend import ANOMALY_FRONTEND, FRAME_CROP, VECTORS_PER_CLIP
from tinycore.audio.features import compute_features, stack_frames
from tinycore.audio.manifest import ClipRecord, Manifest
from tinycore.audio.wav import AudioNotice, read_wav

SCORE_STRIDE = 4
TRAIN_STRIDE = 2  # neighbouring vectors share 4 of 5 frames: every 2nd halves training time
SILENT_PEAK = 1.0 / 32768  # a clip whose samples never exceed one int16 step is silent
MIN_SAMPLES = (FRAME_CROP[1] - 1) * ANOMALY_FRONTEND.hop_samples + ANOMALY_FRONTEND.frame_samples  # 128,512


def score_vector_index(n_vectors: int = VECTORS_PER_CLIP, stride: int = SCORE_STRIDE) -> NDArray[np.int64]:
    """Indices (into the 196 cropped vectors) of the vectors that score a clip."""
    return np.arange(0, n_vectors, stride)


def check_clip(x: NDArray, where: str) -> str | None:
    """None if the clip is usable, else why not (silent, too short): the caller skips it with a notice."""
    if len(x) < MIN_SAMPLES:
        return (f"{where}: {len(x)} samples ({len(x) / ANOMALY_FRONTEND.sample_rate_hz:.2f} s); frames "
                f"{FRAME_CROP[0]}..{FRAME_CROP[1] - 1} need {MIN_SAMPLES} ({MIN_SAMPLES / 16000:.2f} s)")
    if float(np.max(np.abs(x))) < SILENT_PEAK:
        return f"{where}: silent clip (peak below one int16 step)"
    return None


def read_clips(m: Manifest, records: list[ClipRecord], progress: bool = True
               ) -> tuple[NDArray[np.float32], list[ClipRecord]]:
    """(N, clip_samples) waveforms of the usable records and those records; the others are skipped with one
    AudioNotice each (a silent or short clip has no machine sound to score)."""
    fe = ANOMALY_FRONTEND
    waves, kept = [], []
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
    return (np.stack(waves) if waves else np.zeros((0, fe.clip_samples), np.float32)), kept


def cropped_logmel(waves: NDArray[np.float32], batch: int = 16) -> NDArray[np.float32]:
    """(N, L) -> (N, 200, 128) log-mel of frames 50..249 (torch front end)."""
    out = [compute_features(ANOMALY_FRONTEND, waves[i:i + batch])[:, FRAME_CROP[0]:FRAME_CROP[1]]
           for i in range(0, len(waves), batch)]
    return np.concatenate(out) if out else np.zeros((0, FRAME_CROP[1] - FRAME_CROP[0], 128), np.float32)


def clip_vectors(logmel: NDArray[np.float32], stride: int = 1) -> NDArray[np.float32]:
    """(N, 200, 128) -> (N * V, 640) model vectors, clip-major; V = 196 (stride 1) or 49 (stride 4)."""
    v = stack_frames(logmel, ANOMALY_FRONTEND.frames_stacked)[:, ::stride]
    return np.ascontiguousarray(v.reshape(-1, v.shape[-1]), dtype=np.float32)
