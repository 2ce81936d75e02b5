"""Box decode + class-wise NMS: host C == Python row for row (random int8 heads, crafted overlaps and ties), and the
integer rules give the intended boxes on hand-made heads."""
from __future__ import annotations

import ctypes
import dataclasses
import subprocess

import numpy as np
import pytest

from tinycore.errors import UnsupportedError
from tinycore.vision.cgen import write_detect_c
from tinycore.vision.detect import DetectConfig, DetectParams, detect_s8, nms, prepare

HOST_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]
HEAT_Q = (1 / 256, -128)  # TFLite logistic output
BOX_Q = (0.05, -20)


class Box(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("cls", "score", "x0", "y0", "x1", "y1", "index")]


class Params(ctypes.Structure):
    _fields_ = [(f.name, ctypes.c_int32 * 256 if f.name == "size_q8" else ctypes.c_int32)
                for f in dataclasses.fields(DetectParams)]


def rows(boxes, n: int) -> np.ndarray:
    return np.array([[getattr(b, f) for f, _ in Box._fields_] for b in boxes[:n]], np.int32).reshape(-1, 7)


@pytest.fixture(scope="module")
def host_detect(tmp_path_factory):
    d = tmp_path_factory.mktemp("tc_detect")
    so = d / "libtc_detect.so"
    res = subprocess.run(["cc", *HOST_FLAGS, "-shared", "-fPIC", "-o", str(so), *map(str, write_detect_c(d))],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    lib = ctypes.CDLL(str(so))
    lib.tc_detect_s8.restype = lib.tc_det_nms.restype = ctypes.c_int32

    def detect(heat: np.ndarray, box: np.ndarray, p: DetectParams) -> np.ndarray:
        heat, box = np.ascontiguousarray(heat, np.int8), np.ascontiguousarray(box, np.int8)
        scratch, out = (Box * p.max_candidates)(), (Box * p.max_detections)()
        n = lib.tc_detect_s8(heat.ctypes.data_as(ctypes.c_void_p), box.ctypes.data_as(ctypes.c_void_p),
                             ctypes.byref(Params(**{**dataclasses.asdict(p), "size_q8": (ctypes.c_int32 * 256)(*p.size_q8)})), scratch, out)
        return rows(out, n)

    def run_nms(cands: np.ndarray, iou_q16: int, max_out: int) -> np.ndarray:
        arr, out = (Box * max(len(cands), 1))(*[Box(*map(int, r)) for r in cands]), (Box * max_out)()
        n = lib.tc_det_nms(arr, len(cands), iou_q16, max_out, out)
        return rows(out, n)

    detect.nms = run_nms
    return detect


def random_head(rng, gh: int, gw: int, classes: int, sparse: bool) -> tuple[np.ndarray, np.ndarray]:
    heat = rng.integers(-128, 128, (1, gh, gw, classes), dtype=np.int8)
    if sparse:  # mostly background with a few plateaus: ties between equal neighbours and across classes
        heat = np.where(rng.random(heat.shape) < 0.85, -128, rng.choice([40, 60, 60, 127], heat.shape)).astype(np.int8)
    return heat, rng.integers(-128, 128, (1, gh, gw, 4), dtype=np.int8)


CONFIGS = [DetectConfig(), DetectConfig(stride=16, score_threshold=0.1, iou_threshold=0.3, max_candidates=7,
                                        max_detections=5),
           DetectConfig(score_threshold=0.0, iou_threshold=0.0, max_candidates=300, max_detections=300),
           DetectConfig(score_threshold=0.6, iou_threshold=1.0, max_candidates=1, max_detections=1),
           DetectConfig(score_threshold=0.2, log_size=True)]


@pytest.mark.parametrize("box_q", [BOX_Q, (0.9, 0), (0.003, 127)], ids=["box_q", "coarse", "fine_zp127"])
@pytest.mark.parametrize("config", CONFIGS, ids=["default", "s16_small_lists", "all_pass", "one",
                                                             "log_size"])
def test_c_detect_equals_python_on_random_heads(config, box_q, host_detect):
    rng = np.random.default_rng(3)
    total = 0
    for trial in range(12):
        gh, gw, classes = [(30, 40, 3), (15, 20, 1), (1, 1, 2), (7, 3, 5)][trial % 4]
        heat, box = random_head(rng, gh, gw, classes, sparse=trial % 2 == 1)
        p = prepare(config, heat.shape, HEAT_Q, box_q)
        want = detect_s8(heat, box, p)
        np.testing.assert_array_equal(host_detect(heat, box, p), want, err_msg=f"trial {trial}")
        total += len(want)
    assert total >= 12  # every trial gave boxes


# rows (class, score, x0, y0, x1, y1, index), already ranked
CRAFTED = np.array([
    [0, 100, 0, 0, 2560, 2560, 5],       # kept
    [0, 100, 256, 0, 2816, 2560, 9],     # IoU 9/11 with the first: dropped at t=0.5
    [1, 100, 256, 0, 2816, 2560, 10],    # same box, other class: kept
    [0, 90, 1280, 0, 3840, 2560, 11],    # IoU 1/3 with the first: kept at t_q16 21846, dropped at 21845
    [0, 80, 5120, 5120, 5120, 5376, 12],  # zero area: never suppressed
    [0, 70, 5120, 5120, 5120, 5376, 13],
], np.int32)


@pytest.mark.parametrize("iou_q16, want", [(1 << 15, [0, 2, 3, 4, 5]), (21846, [0, 2, 3, 4, 5]),
                                           (21845, [0, 2, 4, 5]), (65536, [0, 1, 2, 3, 4, 5]),
                                           (0, [0, 2, 4, 5])])
def test_nms_python_and_c_on_crafted_overlaps(iou_q16, want, host_detect):
    np.testing.assert_array_equal(nms(CRAFTED, iou_q16, 10), CRAFTED[want])
    np.testing.assert_array_equal(host_detect.nms(CRAFTED, iou_q16, 10), CRAFTED[want])
    np.testing.assert_array_equal(host_detect.nms(CRAFTED, iou_q16, 2), CRAFTED[want[:2]])


def test_decode_gives_the_intended_box_and_tie_order():
    """One class, stride 8, 320x240: equal peaks rank by index; box values follow the Q8 rule."""
    p = prepare(DetectConfig(score_threshold=0.5), (1, 30, 40, 1), HEAT_Q, (0.05, 0))
    heat = np.full((1, 30, 40, 1), -128, np.int8)
    heat[0, 10, 20, 0] = heat[0, 2, 3, 0] = 100  # two equal peaks: (2, 3) has the lower index
    heat[0, 10, 21, 0] = 100  # a neighbour as high: still a peak (equality), ranks after (10, 20)
    box = np.zeros((1, 30, 40, 4), np.int8)
    box[0, 10, 20] = [10, 10, 40, 20]  # off 0.5 cells, w 2 cells, h 1 cell
    out = detect_s8(heat, box, p)
    assert [int(r[6]) for r in out] == [2 * 40 + 3, 10 * 40 + 20, 10 * 40 + 21]
    # centre (20.5 * 8, 10.5 * 8) = (164, 84) px; size (16, 8) px -> (156, 80, 172, 88) px in Q8
    np.testing.assert_array_equal(out[1, 2:6], [156 * 256, 80 * 256, 172 * 256, 88 * 256])
    # M = round(0.05 * 8 * 2**24); a value 1 step from zero is round(M / 2**16) = 102 (0.4 px = 102.4 / 256)
    assert p.box_mult == 6710886 and p.heat_min_q == 0


def test_threshold_in_the_int8_domain_and_bad_scales():
    assert prepare(DetectConfig(score_threshold=0.3), (1, 4, 4, 1), HEAT_Q, BOX_Q).heat_min_q == -51  # 77/256 < .3
    assert prepare(DetectConfig(score_threshold=1.0), (1, 4, 4, 1), HEAT_Q, BOX_Q).heat_min_q == 128
    with pytest.raises(UnsupportedError, match="box scale"):
        prepare(DetectConfig(stride=16), (1, 4, 4, 1), HEAT_Q, (9.0, 0))


def test_log_size_table_gives_the_intended_box():
    """ln-size head: w = exp((q - zp) * scale) cells through the 256-entry Q8 table, offsets stay linear."""
    p = prepare(DetectConfig(score_threshold=0.5, log_size=True), (1, 30, 40, 1), HEAT_Q, (0.05, 0))
    heat = np.full((1, 30, 40, 1), -128, np.int8)
    heat[0, 10, 20, 0] = 100
    box = np.zeros((1, 30, 40, 4), np.int8)
    box[0, 10, 20] = [10, 10, 0, 20]  # w = e^0 = 1 cell = 8 px, h = e^1 cells = 21.75 px (Q8 5568)
    assert p.size_q8[128] == 2048 and p.size_q8[148] == round(np.exp(1.0) * 8 * 256) == 5567
    out = detect_s8(heat, box, p)
    np.testing.assert_array_equal(out[0, 2:6], [164 * 256 - 1024, 84 * 256 - 2783, 164 * 256 + 1024,
                                                84 * 256 - 2783 + 5567])
