"""The front-end settings shared by every audio app, as one frozen dataclass saved in report.json.

Framing has no padding: frames of `frame_samples` every `hop_samples` over `clip_samples`, so
T = (L - l) // s + 1 and the last (L - l) % s samples are not used. Each frame is windowed (periodic Hann of
length l), zero-padded at the end to `n_fft`, and its magnitude (power 1) or power (2) spectrum is mapped to mel
bins. Then either `n_mfcc` DCT-II coefficients of log(mel + log_offset) (KWS), or the log-mel itself (anomaly).

Three conventions differ between librosa and TensorFlow (MLPerf Tiny's KWS reference); each is a setting:
- `mel_filters`: "librosa" = librosa.filters.mel (Slaney mel scale, triangles in Hz, Slaney area norm);
  "tf" = tf.signal.linear_to_mel_weight_matrix (HTK scale 1127 ln(1 + f/700), triangles in mel, no norm, DC bin 0).
- `dct_norm`: "ortho" = scipy/librosa orthonormal DCT-II; "tf" = tf.signal.mfccs_from_log_mel_spectrograms,
  sqrt(2/N) on every row (row 0 is sqrt(2) larger than orthonormal).
- `peak_kind` (with peak_normalize): "abs" divides by max |x|; "max" by the largest sample value (MLPerf's
  tf.reduce_max). A clip whose peak is <= 0 is left as it is (TF would divide by zero). Features are laid out (T, F), time-major, so
`frames_stacked` consecutive frames are a contiguous run of the (T, F) array.
`mean_normalize` subtracts from each feature its mean over the clip's T frames (per-utterance cepstral mean
normalization: a fixed channel or noise colour is a constant offset of every frame's log-mel and MFCC).
`noise_subtract` (beta > 0; 0 = off) is spectral subtraction before the log: each mel band's noise floor is its
smallest energy over the clip's T frames, and every energy e becomes max(e - beta * floor, noise_floor * floor), so
steady noise (white, pink, hum, fan) that fills the quiet bands is taken out and what is left of it is a fixed
fraction of its level (the log of a near-zero difference would otherwise swing with the noise). Measured on KWS
(`--frontend librosa-ns`, apps/kws/README.md): worse overall and on white/pink noise, better only on babble; off.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from tinycore.errors import UnsupportedError

MEL_FILTERS = ("librosa", "tf")
DCT_NORMS = ("ortho", "tf")
PEAK_KINDS = ("abs", "max")
LOG_KINDS = ("ln", "10log10")  # log(mel + offset) as MLPerf KWS; 10*log10(mel + offset) as the DCASE baseline


def num_frames(clip_samples: int, frame_samples: int, hop_samples: int) -> int:
    """T = (L - l) // s + 1 frames of length l with stride s over L samples, no padding."""
    if clip_samples <= 0 or frame_samples <= 0 or hop_samples <= 0:
        raise UnsupportedError(
            f"frame settings must be positive: clip_samples={clip_samples}, frame_samples={frame_samples}, "
            f"hop_samples={hop_samples}")
    if frame_samples > clip_samples:
        raise UnsupportedError(
            f"frame_samples {frame_samples} > clip_samples {clip_samples}: a frame must fit in the clip "
            f"(no padding); use a shorter window or a longer clip")
    return (clip_samples - frame_samples) // hop_samples + 1


@dataclass(frozen=True)
class FrontendConfig:
    """Audio front end: framing, spectrum, mel, log, optional DCT. Defaults are MLPerf Tiny KWS (49 x 10)."""

    sample_rate_hz: int = 16000
    clip_samples: int = 16000      # L: samples per clip (1 s)
    frame_samples: int = 480       # l: window length (30 ms)
    hop_samples: int = 320         # s: stride (20 ms)
    n_fft: int = 512               # power of two >= frame_samples (radix-2 FFT in C)
    n_mels: int = 40
    fmin_hz: float = 20.0
    fmax_hz: float = 4000.0
    power: float = 1.0             # 1 = magnitude, 2 = power spectrum
    log_kind: str = "ln"           # one of LOG_KINDS
    log_offset: float = 1e-6       # added to mel before the log
    n_mfcc: int | None = 10        # None = log-mel features
    frames_stacked: int = 1        # consecutive frames per model input vector (anomaly: 5)
    peak_normalize: bool = False   # divide the clip by its peak first (MLPerf KWS does; needs the whole clip)
    mel_filters: str = "librosa"   # one of MEL_FILTERS
    dct_norm: str = "ortho"        # one of DCT_NORMS
    peak_kind: str = "abs"         # one of PEAK_KINDS: the peak is max |x| or max x
    mean_normalize: bool = False   # subtract each feature's mean over the clip's frames (needs the whole clip)
    noise_subtract: float = 0.0    # beta: subtract beta x each mel band's floor (min over frames); 0 = off
    noise_floor: float = 0.1       # with noise_subtract: no energy goes below this share of its band's floor

    def __post_init__(self) -> None:
        num_frames(self.clip_samples, self.frame_samples, self.hop_samples)
        if self.n_fft < self.frame_samples or self.n_fft & (self.n_fft - 1) or self.n_fft < 4:
            raise UnsupportedError(
                f"n_fft {self.n_fft} must be a power of two >= frame_samples {self.frame_samples} "
                f"(the C front end uses a radix-2 FFT)")
        if not 0 <= self.fmin_hz < self.fmax_hz <= self.sample_rate_hz / 2:
            raise UnsupportedError(
                f"mel range {self.fmin_hz}-{self.fmax_hz} Hz must satisfy 0 <= fmin < fmax <= "
                f"sample_rate/2 = {self.sample_rate_hz / 2}")
        if self.power not in (1.0, 2.0):
            raise UnsupportedError(f"power {self.power}: only 1.0 (magnitude) and 2.0 (power) are supported")
        if self.log_kind not in LOG_KINDS:
            raise UnsupportedError(f"log_kind {self.log_kind!r}: use one of {LOG_KINDS}")
        for name, value, allowed in (("mel_filters", self.mel_filters, MEL_FILTERS),
                                     ("dct_norm", self.dct_norm, DCT_NORMS), ("peak_kind", self.peak_kind, PEAK_KINDS)):
            if value not in allowed:
                raise UnsupportedError(f"{name} {value!r}: use one of {allowed}")
        if self.n_mels <= 0 or not self.log_offset > 0:
            raise UnsupportedError(f"n_mels ({self.n_mels}) and log_offset ({self.log_offset}) must be > 0")
        if not self.noise_subtract >= 0 or not 0 < self.noise_floor <= 1:
            raise UnsupportedError(f"noise_subtract {self.noise_subtract} must be >= 0 and noise_floor "
                                   f"{self.noise_floor} in (0, 1]")
        if self.n_mfcc is not None and not 0 < self.n_mfcc <= self.n_mels:
            raise UnsupportedError(f"n_mfcc {self.n_mfcc} must be in 1..n_mels ({self.n_mels}) or None")
        if not 1 <= self.frames_stacked <= self.num_frames:
            raise UnsupportedError(
                f"frames_stacked {self.frames_stacked} must be in 1..num_frames ({self.num_frames})")

    @property
    def num_frames(self) -> int:
        """T, frames per clip."""
        return num_frames(self.clip_samples, self.frame_samples, self.hop_samples)

    @property
    def n_bins(self) -> int:
        """Spectrum bins of the real FFT: n_fft / 2 + 1."""
        return self.n_fft // 2 + 1

    @property
    def n_features(self) -> int:
        """F, values per frame: n_mfcc, or n_mels for log-mel."""
        return self.n_mels if self.n_mfcc is None else self.n_mfcc

    @property
    def feature_shape(self) -> tuple[int, int]:
        """(T, F) per clip."""
        return self.num_frames, self.n_features

    @property
    def num_vectors(self) -> int:
        """Model input vectors per clip when frames are stacked: T - frames_stacked + 1."""
        return self.num_frames - self.frames_stacked + 1

    def to_dict(self) -> dict:
        """JSON-ready dict for report.json."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FrontendConfig":
        """Inverse of to_dict; unknown keys are an error naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise UnsupportedError(f"unknown front-end settings {unknown}; known: {sorted(known)}")
        return cls(**d)
