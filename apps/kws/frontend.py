"""KWS settings of the shared audio front end: MLPerf Tiny's 49 x 10 MFCC of a 1 s, 16 kHz clip.

30 ms Hann window (480 samples) every 20 ms (320) -> T = (16000 - 480) // 320 + 1 = 49 frames; n_fft 512,
magnitude spectrum, 40 mel bins 20-4000 Hz, log(mel + 1e-6), 10 MFCC; each clip is first divided by its peak
|x| (MLPerf's get_dataset.py divides by the largest sample value, not |x|; |x| does not depend on polarity).
Mel filters are librosa's (Slaney), as the issue asks; MLPerf's TF pipeline uses HTK-style filters.
Torch: tinycore.audio.features.TorchFrontend(KWS_FRONTEND); C twin for the firmware:
tinycore.audio.cgen.write_frontend_c(KWS_FRONTEND, dir).
"""
from __future__ import annotations

from tinycore.audio.config import FrontendConfig

KWS_FRONTEND = FrontendConfig(
    sample_rate_hz=16000, clip_samples=16000, frame_samples=480, hop_samples=320, n_fft=512, n_mels=40,
    fmin_hz=20.0, fmax_hz=4000.0, power=1.0, log_kind="ln", log_offset=1e-6, n_mfcc=10, frames_stacked=1,
    peak_normalize=True)
