"""The mean-normalized front end (`--frontend librosa-cmn`): each feature minus its mean over the clip's frames,
in torch, in the C front end and in the firmware's int8 feature path (kws_features.c), which then holds the
whole window as float before quantizing."""
from dataclasses import replace

import numpy as np

from apps.kws.frontend import CMN_FRONTEND, KWS_FRONTEND, frontend_named
from tests.apps.kws.test_firmware_mlperf import host_kws_features
from tests.audio.signals import speech_clips
from tinycore.audio.config import FrontendConfig
from tinycore.audio.features import compute_features
from tinycore.audio.pcm import from_pcm16, pcm16
from tinycore.runtime.fixedpoint import quantize_float_s8

SCALE, ZERO_POINT = 0.25, 0  # +-32: the normalized MFCCs of these clips stay inside


def test_torch_features_are_the_plain_ones_minus_their_mean():
    clips = speech_clips(16000)[:4]
    plain, cmn = compute_features(KWS_FRONTEND, clips), compute_features(CMN_FRONTEND, clips)
    assert np.allclose(cmn, plain - plain.mean(axis=1, keepdims=True), atol=1e-4)
    assert np.abs(cmn.mean(axis=1)).max() < 1e-4 and np.abs(plain.mean(axis=1)).max() > 1.0
    assert frontend_named("librosa-cmn") == CMN_FRONTEND
    assert FrontendConfig.from_dict({k: v for k, v in KWS_FRONTEND.to_dict().items() if k != "mean_normalize"}) \
        == KWS_FRONTEND  # a report written before the setting reads back as it was


def test_firmware_features_equal_python(tmp_path):
    clips = pcm16(speech_clips(16000)[:4] * np.float32(0.5))
    ours = host_kws_features(CMN_FRONTEND, clips, tmp_path, SCALE, ZERO_POINT)
    want = quantize_float_s8(compute_features(CMN_FRONTEND, from_pcm16(clips)).reshape(len(clips), -1), SCALE,
                             ZERO_POINT)
    plain = quantize_float_s8(compute_features(replace(CMN_FRONTEND, mean_normalize=False), from_pcm16(clips))
                              .reshape(len(clips), -1), SCALE, ZERO_POINT)
    assert (want != plain).sum() >= ours.size // 2  # the means move most values: the check below can fail
    assert (ours != want).sum() <= ours.size // 1000, f"{(ours != want).sum()} of {ours.size} values differ"
