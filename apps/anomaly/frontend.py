"""Anomaly settings of the shared audio front end: MLPerf Tiny's / the DCASE 2020 Task 2 baseline's log-mel.

10 s at 16 kHz; frames of 1024 samples every 512 (periodic Hann, no padding) -> T = (160000 - 1024) // 512 + 1
= 311 frames; power spectrum (power 2), 128 mel bins 0-8000 Hz (librosa Slaney filters), 10*log10(mel + eps)
with eps = float64 machine epsilon as the baseline's common.py; 5 consecutive frames stacked -> 640 values per
model input vector. Every frame of the clip feeds the model (WHOLE_CLIP, 307 vectors) except for ToyCar, where
MLPerf Tiny's 01_test/00_train crop of frames 50..249 (196 vectors) is kept (`frame_window`): a fixed crop misses a
fault that sounds outside it.
Torch: tinycore.audio.features.TorchFrontend(ANOMALY_FRONTEND); C twin: tinycore.audio.cgen.write_frontend_c.
"""
from __future__ import annotations

from tinycore.audio.config import FrontendConfig

ANOMALY_FRONTEND = FrontendConfig(
    sample_rate_hz=16000, clip_samples=160000, frame_samples=1024, hop_samples=512, n_fft=1024, n_mels=128,
    fmin_hz=0.0, fmax_hz=8000.0, power=2.0, log_kind="10log10", log_offset=2.220446049250313e-16, n_mfcc=None,
    frames_stacked=5, peak_normalize=False)

FRAME_CROP = (50, 250)  # MLPerf Tiny's ToyCar crop: frames [50, 250), 250 - 50 - 5 + 1 = 196 vectors
WHOLE_CLIP = (0, ANOMALY_FRONTEND.num_frames)  # every frame: 311 - 5 + 1 = 307 vectors
CROPPED_TYPES = ("ToyCar",)  # machine types whose data set (MLPerf Tiny) defines the crop
VECTOR_SIZE = ANOMALY_FRONTEND.frames_stacked * ANOMALY_FRONTEND.n_features  # 640
VECTORS_PER_CLIP = FRAME_CROP[1] - FRAME_CROP[0] - ANOMALY_FRONTEND.frames_stacked + 1  # 196 (cropped)


def frame_window(machine_type: str) -> tuple[int, int]:
    """Frames [first, last) of a clip of this machine type that feed the model."""
    return FRAME_CROP if machine_type in CROPPED_TYPES else WHOLE_CLIP
