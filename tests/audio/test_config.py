"""FrontendConfig: the T formula, settings that cannot work, and the report.json round trip."""
import pytest

from apps.kws.frontend import KWS_FRONTEND
from tinycore.audio.config import FrontendConfig, num_frames
from tinycore.errors import UnsupportedError


@pytest.mark.parametrize("L, l, s, T", [
    (16000, 480, 320, 49),    # MLPerf KWS
    (16000, 1024, 512, 30),   # anomaly framing on 1 s
    (160000, 1024, 512, 311),  # anomaly framing on a 10 s DCASE clip
    (480, 480, 320, 1),       # one frame exactly
    (799, 480, 320, 1),       # one sample short of a second frame
    (800, 480, 320, 2),
    (10, 3, 1, 8),
    (10, 3, 7, 2),
])
def test_num_frames_is_floor_formula(L, l, s, T):
    assert num_frames(L, l, s) == T == (L - l) // s + 1


def test_frame_longer_than_clip_is_rejected():
    with pytest.raises(UnsupportedError, match="frame_samples 481 > clip_samples 480"):
        num_frames(480, 481, 320)
    with pytest.raises(UnsupportedError, match="frame_samples 600 > clip_samples 500"):
        FrontendConfig(clip_samples=500, frame_samples=600, n_fft=1024)


@pytest.mark.parametrize("kwargs, message", [
    ({"hop_samples": 0}, "must be positive"),
    ({"n_fft": 400}, "power of two"),
    ({"n_fft": 256}, "power of two >= frame_samples 480"),
    ({"fmax_hz": 9000.0}, "sample_rate/2"),
    ({"power": 3.0}, "power 3.0"),
    ({"log_kind": "log2"}, "log_kind"),
    ({"n_mfcc": 41}, "n_mfcc 41"),
    ({"frames_stacked": 50}, "frames_stacked 50"),
])
def test_bad_settings_name_the_setting(kwargs, message):
    with pytest.raises(UnsupportedError, match=message):
        FrontendConfig(**kwargs)


def test_kws_settings_are_mlperf_49x10():
    assert KWS_FRONTEND.feature_shape == (49, 10)
    assert KWS_FRONTEND.n_bins == 257


def test_anomaly_style_settings_give_640_inputs():
    c = FrontendConfig(clip_samples=160000, frame_samples=1024, hop_samples=512, n_fft=1024, n_mels=128,
                       fmin_hz=0.0, fmax_hz=8000.0, power=2.0, log_kind="10log10", n_mfcc=None, frames_stacked=5)
    assert c.feature_shape == (311, 128)
    assert c.num_vectors == 307
    assert c.frames_stacked * c.n_features == 640


def test_dict_round_trip_and_unknown_key():
    d = KWS_FRONTEND.to_dict()
    assert FrontendConfig.from_dict(d) == KWS_FRONTEND
    with pytest.raises(UnsupportedError, match="hop_ms"):
        FrontendConfig.from_dict({**d, "hop_ms": 20})
