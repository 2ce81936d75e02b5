"""KWS settings of the shared audio front end: MLPerf Tiny's 49 x 10 MFCC of a 1 s, 16 kHz clip.

30 ms Hann window (480 samples) every 20 ms (320) -> T = (16000 - 480) // 320 + 1 = 49 frames; n_fft 512,
magnitude spectrum, 40 mel bins 20-4000 Hz, log(mel + 1e-6), 10 MFCC; each clip is first divided by its peak
|x| (MLPerf's get_dataset.py divides by the largest sample value, not |x|; |x| does not depend on polarity).
KWS_FRONTEND ("librosa", the app's default) uses librosa's mel filters (Slaney) and the orthonormal DCT;
MLPERF_FRONTEND ("mlperf", `--frontend mlperf`) is the same pipeline with TF's conventions, so that MLPerf's
reference model sees the features it was trained on: HTK mel triangles without normalization, TF's DCT scaling,
division by the largest sample value (tests/audio/test_mlperf_frontend.py compares it with TensorFlow).
Torch: tinycore.audio.features.TorchFrontend(config); C twin for the firmware:
tinycore.audio.cgen.write_frontend_c(config, dir).
"""
from __future__ import annotations

from dataclasses import replace

from tinycore.audio.config import FrontendConfig
from tinycore.errors import UnsupportedError

KWS_FRONTEND = FrontendConfig(
    sample_rate_hz=16000, clip_samples=16000, frame_samples=480, hop_samples=320, n_fft=512, n_mels=40,
    fmin_hz=20.0, fmax_hz=4000.0, power=1.0, log_kind="ln", log_offset=1e-6, n_mfcc=10, frames_stacked=1,
    peak_normalize=True)

MLPERF_FRONTEND = replace(KWS_FRONTEND, mel_filters="tf", dct_norm="tf", peak_kind="max")

CMN_FRONTEND = replace(KWS_FRONTEND, mean_normalize=True)  # per-utterance mean normalization (README: measured)
MFCC20_FRONTEND = replace(KWS_FRONTEND, n_mfcc=20)  # 49 x 20: twice the MACs of the DS-CNN (README: measured)

# spectral subtraction of each mel band's floor (min over the frames) x 2, nothing below 0.1 x floor (README: measured)
NOISE_SUBTRACT_FRONTEND = replace(KWS_FRONTEND, noise_subtract=2.0, noise_floor=0.1)

FRONTENDS = {"librosa": KWS_FRONTEND, "mlperf": MLPERF_FRONTEND, "librosa-cmn": CMN_FRONTEND,
             "librosa-mfcc20": MFCC20_FRONTEND, "librosa-ns": NOISE_SUBTRACT_FRONTEND}


def frontend_named(name: str | None) -> FrontendConfig:
    """The front end `--frontend NAME` selects; None is the app's default (librosa)."""
    if name is None:
        return KWS_FRONTEND
    if name not in FRONTENDS:
        raise UnsupportedError(f"--frontend {name!r}: the KWS app has {sorted(FRONTENDS)}")
    return FRONTENDS[name]


def frontend_of(dataset: dict) -> FrontendConfig:
    """The front end data were made with (report.json / TaskData "dataset" section); older reports: the default."""
    return FrontendConfig.from_dict(dataset["frontend"]) if "frontend" in dataset else KWS_FRONTEND
