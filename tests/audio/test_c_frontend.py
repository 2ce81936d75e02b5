"""The C front end (tinycore/audio/c) built on the host equals the torch one; C and numpy quantize alike.

Stated tolerance, C float32 vs torch float32 features:
- ln-mel / MFCC: max |difference| <= 1e-4 on speech, noise, clicks, silence (measured 2e-5); <= 0.1 on pure
  tones and chirps (measured 0.05: mel bins holding only window leakage sit at float32 FFT rounding level and
  the log magnifies their relative error).
- dB log-mel (anomaly): <= 0.01 dB on every value within 80 dB of the clip's largest (measured 0.003 dB).
Quantization: for the same float inputs, C and numpy give identical int8 (exact). From torch vs C features, a
value next to a rounding boundary can differ by one step; test_quantized_flip_rate measures how often.
"""
import subprocess

import numpy as np
import pytest

from apps.kws.frontend import CMN_FRONTEND, KWS_FRONTEND, NOISE_SUBTRACT_FRONTEND
from tests.audio.signals import make_clips, speech_clips
from tests.audio.test_features import ANOMALY_LIKE, ODD
from tinycore.audio.cgen import C_DIR, write_frontend_c
from tinycore.audio.features import compute_features
from tinycore.runtime.fixedpoint import quantize_float_s8

TOL, TOL_TONES, TOL_DB = 1e-4, 0.1, 0.01
TONES = [1, 2, 5, 6, 9, 10, 13, 14]  # make_clips kinds 1 (tones) and 2 (chirp); clip 2 is silence


def _clips(samples: int) -> tuple[np.ndarray, np.ndarray]:
    other = make_clips(16, samples, seed=5)
    plain = [i for i in range(16) if i not in TONES or i == 2]
    return np.concatenate([speech_clips(samples), other[plain]]), other[[i for i in TONES if i != 2]]


@pytest.mark.parametrize("config", [KWS_FRONTEND, ODD, CMN_FRONTEND], ids=["kws", "odd", "kws_cmn"])
def test_c_equals_torch_ln(config, host_frontend):
    plain, tones = _clips(config.clip_samples)
    c = host_frontend(config)
    err_plain = np.abs(c.clip(plain) - compute_features(config, plain)).max()
    err_tones = np.abs(c.clip(tones) - compute_features(config, tones)).max()
    assert err_plain <= TOL, f"max |C - torch| = {err_plain:.3g}"
    assert err_tones <= TOL_TONES, f"tones: max |C - torch| = {err_tones:.3g}"


def test_c_equals_torch_db_logmel(host_frontend):
    plain, tones = _clips(ANOMALY_LIKE.clip_samples)
    clips = np.concatenate([plain, tones])
    ours, ref = host_frontend(ANOMALY_LIKE).clip(clips), compute_features(ANOMALY_LIKE, clips)
    errs = [np.abs(ours[i] - ref[i])[ref[i] >= ref[i].max() - 80].max() for i in range(len(clips))]
    assert max(errs) <= TOL_DB, f"max |C - torch| within 80 dB = {max(errs):.3g} dB"


def test_silence_gives_the_log_floor(host_frontend):
    """Silence: every mel energy sits at the floor 1e-6, so every frame is sqrt(40) * ln(1e-6) in MFCC 0 and 0
    elsewhere; C equals the torch front end there within float32 error (measured 7.6e-6)."""
    silence = np.zeros((1, 16000))
    ours, ref = host_frontend(KWS_FRONTEND).clip(silence)[0], compute_features(KWS_FRONTEND, silence)[0]
    np.testing.assert_array_equal(ours, np.broadcast_to(ours[0], ours.shape))  # the same value in every frame
    np.testing.assert_allclose(ours[:, 0], np.sqrt(40) * np.log(np.float32(1e-6)), rtol=1e-6)
    assert np.abs(ours[:, 1:]).max() < 1e-5
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-5)


def _calibrated(feats: np.ndarray) -> tuple[float, int]:
    """Scale and zero point that map the features' range onto int8, as calibration would."""
    lo, hi = float(feats.min()), float(feats.max())
    scale = (hi - lo) / 255.0
    return scale, int(np.clip(-128 - round(lo / scale), -128, 127))


def _many_kws_clips() -> np.ndarray:
    return np.concatenate([make_clips(120, 16000, seed=7)] + [speech_clips(16000, seed=s) for s in range(10)])


def test_c_quantize_equals_numpy_exactly(host_frontend):
    c = host_frontend(KWS_FRONTEND)
    feats = c.clip(_many_kws_clips())
    scale, zp = _calibrated(feats)
    np.testing.assert_array_equal(c.quantize(feats, scale, zp), quantize_float_s8(feats, scale, zp))
    # rounding boundaries and saturation, on both sides of zero
    edges = np.float32([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.49999997, 126.5, 127.5, -128.5, -129.5,
                        1e12, -1e12, 0.0, -0.0]) * np.float32(0.25)
    np.testing.assert_array_equal(c.quantize(edges, 0.25, 0), quantize_float_s8(edges, 0.25, 0))
    np.testing.assert_array_equal(quantize_float_s8(edges, 0.25, 0),
                                  np.int8([1, -1, 2, -2, 3, -3, 0, 0, 127, 127, -128, -128, 127, -128, 0, 0]))
    np.testing.assert_array_equal(c.quantize(edges, 0.25, -3), quantize_float_s8(edges, 0.25, -3))
    non_finite = np.float32([np.inf, -np.inf, np.nan])  # saturate, saturate, zero point
    np.testing.assert_array_equal(c.quantize(non_finite, 0.25, -3), np.int8([127, -128, -3]))


@pytest.mark.parametrize("kind, clips, rate_max", [
    ("speech", lambda: np.concatenate([speech_clips(16000, seed=s) for s in range(10)]), 1e-3),  # measured 0
    ("tones+noise", lambda: make_clips(120, 16000, seed=7), 5e-3),  # measured 2.9e-3
])
def test_quantized_flip_rate(kind, clips, rate_max, host_frontend):
    """Quantized torch features vs quantized C features: differ by at most 1 step, on few values."""
    clips = clips()
    ours, ref = host_frontend(KWS_FRONTEND).clip(clips), compute_features(KWS_FRONTEND, clips)
    scale, zp = _calibrated(ref)
    diff = quantize_float_s8(ours, scale, zp).astype(int) - quantize_float_s8(ref, scale, zp)
    rate = np.count_nonzero(diff) / diff.size
    print(f"\nflip rate C vs torch, int8 KWS features, {kind}: {np.count_nonzero(diff)}/{diff.size} = {rate:.2e} "
          f"(scale {scale:.4g}, zero point {zp})")
    assert np.abs(diff).max() <= 1
    assert rate <= rate_max


def test_library_calls_no_allocator(host_frontend):
    """Static buffers only: the built library imports math functions and nothing else from libc."""
    so = host_frontend(KWS_FRONTEND).so
    undefined = subprocess.run(["nm", "-u", "--dynamic", str(so)], capture_output=True, text=True).stdout.split()
    names = {u.split("@")[0] for u in undefined if u not in ("U", "w")}
    assert names - {"__cxa_finalize", "_ITM_registerTMCloneTable", "_ITM_deregisterTMCloneTable",
                    "__gmon_start__"} <= {"sqrtf", "logf", "log10f", "roundf", "fabsf"}
    assert "malloc" not in (C_DIR / "tc_frontend.c").read_text()


@pytest.mark.parametrize("config, bss_bytes", [
    (KWS_FRONTEND, 4 * (512 + 257 + 40 + 480)),     # fft buffer, spectrum, log-mel, frame copy
    (ANOMALY_LIKE, 4 * (1024 + 513 + 128 + 1024)),
    (NOISE_SUBTRACT_FRONTEND, 4 * (512 + 257 + 40 + 480 + 49 * 40)),  # + the window's mel energies
])
def test_cortex_m4_build_and_static_ram(config, bss_bytes, tmp_path):
    """Compiles for Cortex-M4F without warnings (no double promotion) and its RAM is the static buffers."""
    sources = write_frontend_c(config, tmp_path)
    objs = []
    for src in sources:
        obj = tmp_path / (src.stem + ".o")
        res = subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                              "-mfpu=fpv4-sp-d16", "-std=c99", "-Wall", "-Wextra", "-Werror", "-Wdouble-promotion",
                              "-O2", "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        objs.append(str(obj))
    sizes = subprocess.run(["arm-none-eabi-size", "-t", *objs], capture_output=True, text=True).stdout
    text, data, bss = map(int, sizes.splitlines()[-1].split()[:3])
    assert data == 0 and bss == bss_bytes


def test_int8_flips_lie_on_rounding_edges(host_frontend):
    """The anomaly front end (dB log-mel, 10 s clips of speech and noise, as machines over background noise; pure
    tones leave bins at FFT rounding level, outside the stated tolerance): C and torch floats differ a little, so
    int8 values can differ by a step, but only for values on a rounding edge; any two different floats are split
    by an edge at some scale, so no rounding rule makes the int8 features equal everywhere
    (tinycore.audio.compare); a real divergence fails."""
    from apps.anomaly.frontend import ANOMALY_FRONTEND
    from tinycore.audio.compare import DB_TOLERANCE, feature_flips

    clips = _clips(ANOMALY_FRONTEND.clip_samples)[0][:6]  # speech and noise: no bin at FFT rounding level (tones)
    ours, ref = host_frontend(ANOMALY_FRONTEND).clip(clips), compute_features(ANOMALY_FRONTEND, clips)
    scale, zp = _calibrated(ref)
    c_q = quantize_float_s8(ours, scale, zp)
    flips = feature_flips(c_q, ref, scale, zp)
    print(f"\nanomaly front end, C vs torch int8: {flips['feature_mismatch_values']}/{flips['feature_values_checked']} "
          f"differ, largest edge distance {flips['feature_mismatch_max_edge_distance']:.2g} dB (scale {scale:.4g})")
    assert flips["features_within_tolerance"] and flips["feature_mismatch_max_step"] <= 1, flips
    # the largest C - torch difference: a scale that puts a rounding edge halfway between the two floats
    j = int(np.argmax(np.abs(ours - ref)))
    c, t = float(ours.reshape(-1)[j]), float(ref.reshape(-1)[j])
    assert 0 < abs(c - t) <= DB_TOLERANCE
    n = np.floor((c + t) / 2 / scale)
    edge_scale = (c + t) / 2 / (n + 0.5)
    pair = np.float32([c, t])
    q = quantize_float_s8(pair, edge_scale, 0)
    assert q[0] != q[1]
    assert feature_flips(q[:1], pair[1:], edge_scale, 0)["features_within_tolerance"]
    # a value moved by 0.1 dB away from any edge is not explained by rounding
    k = int(np.argmin(np.abs(np.abs(ref.reshape(-1) / np.float32(scale)) % 1.0 - 0.75)))  # 1/4 step from edges
    moved = ref.reshape(-1).copy()
    moved[k] += np.float32(0.3 * scale)
    bad = feature_flips(quantize_float_s8(moved, scale, zp), ref.reshape(-1), scale, zp)
    assert bad["feature_mismatch_values"] >= 1 and not bad["features_within_tolerance"], bad
