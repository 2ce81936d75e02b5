"""The KWS firmware with the MLPerf front end (`--frontend mlperf`): its C features equal Python's, on the host and
in QEMU.

Host: the firmware's kws_features.c (int16 PCM -> int8 features) with the MLPerf tables, on clips whose negative
peak is the larger one (MLPerf divides by the largest sample value, not |x|), with a scale at which MFCC 0 does
not saturate, so a wrong peak shows. QEMU: the tiny run's model (trained on the default features; the checks
need no model that suits them): firmware features == Python's (boundary flips only), outputs == the runtime's.
"""
from __future__ import annotations

import ctypes
import subprocess
from dataclasses import replace

import numpy as np
import pytest

from apps.kws.firmware_run import FIRMWARE_DIR, run_kws_firmware
from apps.kws.frontend import MLPERF_FRONTEND, frontend_of
from apps.kws.stream import StreamConfig
from tinycore.audio.pcm import from_pcm16, pcm16
from tests.audio.conftest import HOST_FLAGS
from tests.audio.signals import speech_clips
from tinycore.audio.cgen import write_frontend_c
from tinycore.audio.features import compute_features
from tinycore.runtime.fixedpoint import quantize_float_s8
from tests.apps.kws.test_stream import tiny_run
from tinycore.task import FirmwareRequest

SCALE, ZERO_POINT = 2.0, 0  # int8 range +-256: MFCC 0 of these clips (about -60..-200) stays inside


def host_kws_features(config, clips: np.ndarray, out_dir, scale: float = SCALE, zero_point: int = ZERO_POINT
                      ) -> np.ndarray:
    """The firmware's kws_features.c built on the host with config's tables: int16 clips -> int8 features."""
    sources = write_frontend_c(config, out_dir)
    so = out_dir / "libkws_features.so"
    res = subprocess.run(["cc", *HOST_FLAGS, "-shared", "-fPIC", f"-I{out_dir}", f"-I{FIRMWARE_DIR}", "-o", str(so),
                          *map(str, sources), str(FIRMWARE_DIR / "kws_features.c"), "-lm"], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    lib = ctypes.CDLL(str(so))
    lib.kws_features_s16.argtypes = [ctypes.c_void_p, ctypes.c_float, ctypes.c_int32, ctypes.c_void_p]
    ours = np.zeros((len(clips), config.num_frames * config.n_features), np.int8)
    for pcm, out in zip(clips, ours):
        lib.kws_features_s16(np.ascontiguousarray(pcm).ctypes.data_as(ctypes.c_void_p), scale, zero_point,
                             out.ctypes.data_as(ctypes.c_void_p))
    return ours


def test_firmware_features_use_the_signed_peak(tmp_path):
    clips = pcm16(speech_clips(16000)[:4] * np.float32(0.5))
    clips[:, 8000] = -32000  # the negative peak is the larger one
    ours = host_kws_features(MLPERF_FRONTEND, clips, tmp_path)
    waves = from_pcm16(clips)
    want = quantize_float_s8(compute_features(MLPERF_FRONTEND, waves).reshape(len(clips), -1), SCALE, ZERO_POINT)
    abs_peak = quantize_float_s8(compute_features(replace(MLPERF_FRONTEND, peak_kind="abs"), waves)
                                    .reshape(len(clips), -1), SCALE, ZERO_POINT)
    assert (want != abs_peak).sum() >= 100  # MFCC 0 of the non-silent frames moves: the check below can fail
    assert (ours != want).sum() <= ours.size // 1000, f"{(ours != want).sum()} of {ours.size} values differ"


@pytest.mark.firmware
def test_mlperf_frontend_in_qemu_equals_python(tmp_path_factory):
    run, data, _ = tiny_run(tmp_path_factory)
    data = replace(data, dataset={**data.dataset, "frontend": MLPERF_FRONTEND.to_dict()})
    assert frontend_of(data.dataset) == MLPERF_FRONTEND
    req = FirmwareRequest(run.path, run.graph_path, "mps2-an386", data, n_clips=4, seed=1, progress=False)
    fw = run_kws_firmware(req, StreamConfig(hop_samples=8000, average_windows=1, threshold=0.4, suppression_ms=800))
    assert fw["n_checked"] == 4 and fw["outputs_match_runtime"] is True and fw["labels_match_python"] is True
    assert fw["feature_values_checked"] == (4 + fw["n_stream_windows"]) * 490
    assert fw["feature_mismatch_values"] <= fw["feature_values_checked"] // 1000  # boundary flips only
