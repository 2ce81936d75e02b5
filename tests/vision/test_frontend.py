"""The image front end: numpy == host C byte for byte on frames of every format; its arithmetic is the intended one.

Frames: random RGB888, RGB565 and gray8 pictures (and smooth gradients) at sizes that downscale, upscale, keep
the size, change the aspect ratio (R x R'), and the 1-pixel edge cases; RGB and gray outputs; two normalisations.
"""
import ctypes
import subprocess

import numpy as np
import pytest

from tinycore.errors import DataError, UnsupportedError
from tinycore.vision.cgen import write_vision_c
from tinycore.vision.frontend import (FORMAT_CODES, FORMATS, VisionConfig, config_for_model, preprocess, quant_table,
                                      read_image, resize_bilinear, rgb888_to_rgb565, source_positions, to_colour)

HOST_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]
VWW = VisionConfig(out_h=96, out_w=96, channels=3)  # MLPerf VWW input: scale 1/255, zero point -128
IMAGENET = VisionConfig(out_h=64, out_w=80, channels=3, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                        scale=0.0187, zero_point=-14)
GRAY = VisionConfig(out_h=49, out_w=49, channels=1, mean=(0.5,), std=(0.25,), scale=0.03125, zero_point=0)
SIZES = [(120, 160), (37, 53), (96, 96), (1, 1), (2, 300), (480, 640)]


def make_frame(fmt: str, h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if fmt == "rgb565":
        return rng.integers(0, 1 << 16, (h, w), dtype=np.uint16)
    return rng.integers(0, 256, (h, w, 3) if fmt == "rgb888" else (h, w), dtype=np.uint8)


@pytest.fixture(scope="module")
def host_vision(tmp_path_factory):
    d = tmp_path_factory.mktemp("tc_vision")
    sources = write_vision_c(IMAGENET, d)
    (d / "cfg.c").write_text('#include "tc_vision_config.h"\n'  # the generated header compiles and holds the table
                             "const int8_t *cfg_table(void) { return tc_vision_table; }\n"
                             "int32_t cfg_size(void) { return TC_VISION_OUT_H * 10000 + TC_VISION_OUT_W * 10 "
                             "+ TC_VISION_CHANNELS; }\n")
    sources.append(d / "cfg.c")
    so = d / "libtc_vision.so"
    res = subprocess.run(["cc", *HOST_FLAGS, "-shared", "-fPIC", "-o", str(so), *map(str, sources)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    lib = ctypes.CDLL(str(so))
    f = lib.tc_vision_preprocess
    f.argtypes = [ctypes.c_void_p, *[ctypes.c_int32] * 6, ctypes.c_void_p, ctypes.c_void_p]
    f.restype = ctypes.c_int32

    def run(frame: np.ndarray, fmt: str, config: VisionConfig, code: int | None = None) -> tuple[int, np.ndarray]:
        frame = np.ascontiguousarray(frame)
        table = np.ascontiguousarray(quant_table(config))
        out = np.full((config.out_h, config.out_w, config.channels), 99, np.int8)
        rc = f(frame.ctypes.data_as(ctypes.c_void_p), FORMAT_CODES[fmt] if code is None else code, frame.shape[0],
               frame.shape[1], config.out_h, config.out_w, config.channels, table.ctypes.data_as(ctypes.c_void_p),
               out.ctypes.data_as(ctypes.c_void_p))
        return rc, out
    lib.cfg_table.restype = ctypes.POINTER(ctypes.c_int8)
    run.table = np.ctypeslib.as_array(lib.cfg_table(), (3 * 256,)).copy()
    run.size = lib.cfg_size()
    return run


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("config", [VWW, IMAGENET, GRAY], ids=["vww", "imagenet", "gray"])
def test_c_equals_numpy_byte_for_byte(fmt, config, host_vision):
    for i, (h, w) in enumerate(SIZES):
        frame = make_frame(fmt, h, w, seed=i)
        rc, c_out = host_vision(frame, fmt, config)
        assert rc == 0
        np.testing.assert_array_equal(c_out, preprocess(frame, fmt, config), err_msg=f"{fmt} {h}x{w}")


def test_same_size_is_the_identity_and_constant_stays_constant():
    frame = make_frame("rgb888", 37, 53, seed=1).astype(np.int32)
    np.testing.assert_array_equal(resize_bilinear(frame, 37, 53), frame)
    flat = np.full((30, 41, 3), 173, np.int32)
    for h, w in [(96, 96), (7, 200), (1, 1)]:
        assert (resize_bilinear(flat, h, w) == 173).all()


def _float_bilinear(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Half-pixel-centre bilinear in float64 (TF resize_bilinear(half_pixel_centers=True), OpenCV INTER_LINEAR)."""
    def axis(n_in, n_out):
        s = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        i0 = np.floor(s).astype(int)
        return i0, np.minimum(i0 + 1, n_in - 1), s - i0
    y0, y1, fy = axis(img.shape[0], out_h)
    x0, x1, fx = axis(img.shape[1], out_w)
    fx, fy = fx[None, :, None], fy[:, None, None]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


@pytest.mark.parametrize("size", [(96, 96), (64, 80), (300, 7)])
def test_fixed_point_resize_is_within_one_of_float(size):
    img = make_frame("rgb888", 120, 160, seed=3).astype(np.float64)
    err = np.abs(resize_bilinear(img.astype(np.int32), *size) - _float_bilinear(img, *size))
    # Q8 positions (rounded to nearest) are off by <= 1/512 pixel per axis; with the final rounding the error on
    # noise stays below 1 LSB (measured 0.84 max, 0.27 mean; with truncated positions it was 1.45 max)
    assert err.max() < 1.0 and err.mean() < 0.3, f"|fixed - float|: max {err.max():.3f}, mean {err.mean():.3f}"


def test_source_positions_half_pixel():
    i0, i1, w = source_positions(4, 2)  # output pixel centres at source 0.5 and 2.5
    assert list(i0) == [0, 2] and list(i1) == [1, 3] and list(w) == [128, 128]
    i0, i1, w = source_positions(2, 4)  # upscale: -0.25 clamps to 0; 0.25, 0.75; 1.25 clamps to 1
    assert list(i0) == [0, 0, 0, 1] and list(i1) == [1, 1, 1, 1] and list(w) == [0, 64, 192, 0]


def test_colour_conversions():
    rgb = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [8, 4, 200]]], np.uint8)
    np.testing.assert_array_equal(to_colour(rgb888_to_rgb565(rgb), "rgb565", 3)[0],
                                  [[255, 255, 255], [0, 0, 0], [255, 0, 0], [8, 4, 206]])
    np.testing.assert_array_equal(to_colour(rgb, "rgb888", 1)[0, :, 0], [255, 0, 77, 27])  # BT.601 luma in Q8 (77/256 > 0.299)
    gray = np.array([[0, 17, 255]], np.uint8)
    np.testing.assert_array_equal(to_colour(gray, "gray8", 3)[0], [[0] * 3, [17] * 3, [255] * 3])


def test_generated_header(host_vision):
    np.testing.assert_array_equal(host_vision.table, quant_table(IMAGENET).ravel())
    assert host_vision.size == 64 * 10000 + 80 * 10 + 3


def test_quant_tables():
    np.testing.assert_array_equal(quant_table(VWW), np.tile(np.arange(-128, 128), (3, 1)))
    t = quant_table(GRAY)[0]  # (p/255 - 0.5) / 0.25 / (1/32): -64 .. 64
    assert t[0] == -64 and t[255] == 64 and t[128] == 0 and np.all(np.diff(t.astype(int)) >= 0)


def test_bad_arguments(host_vision, tmp_path):
    frame = make_frame("rgb888", 10, 10, seed=0)
    rc, out = host_vision(frame, "rgb888", VWW, code=7)
    assert rc == -1 and (out == 99).all()
    with pytest.raises(DataError, match=r"rgb565 frame must be \(H, W\) uint16"):
        preprocess(frame, "rgb565", VWW)
    with pytest.raises(UnsupportedError, match="frame format 'yuv'"):
        preprocess(frame, "yuv", VWW)
    with pytest.raises(UnsupportedError, match="channels 2"):
        VisionConfig(channels=2)
    (tmp_path / "x.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="x.jpg: not a readable image"):
        read_image(tmp_path / "x.jpg")


def test_read_image_round_trip(tmp_path):
    from PIL import Image

    frame = make_frame("rgb888", 20, 30, seed=2)
    Image.fromarray(frame).save(tmp_path / "f.png")
    np.testing.assert_array_equal(read_image(tmp_path / "f.png"), frame)


def test_config_from_real_models():
    from tests.tflite.tflm import FIXTURES
    from tinycore.tflite import load_model

    vww = config_for_model(load_model(FIXTURES / "vww_96_int8.tflite"))  # MLPerf VWW: pixels / 255
    assert (vww.out_h, vww.out_w, vww.channels, vww.zero_point) == (96, 96, 3, -128)
    np.testing.assert_array_equal(quant_table(vww), np.tile(np.arange(-128, 128), (3, 1)))
    person = config_for_model(load_model(FIXTURES / "person_detect.tflite"), mean=(0.5,), std=(0.5,))  # TFLM
    assert (person.out_h, person.out_w, person.channels, person.zero_point) == (96, 96, 1, -1)
    t = quant_table(person)[0].astype(int)
    # 1.0 / 0.0078431377 is 127.49999 in float32 (as TFLite QUANTIZE computes it): white -> 127 - 1 = 126
    assert t[0] == -128 and t[255] == 126 and np.all(np.diff(t) >= 0)
    frame = make_frame("rgb565", 120, 160, seed=4)  # a QVGA-ish RGB565 camera frame -> the model's gray input
    assert preprocess(frame, "rgb565", person).shape == (96, 96, 1)
    with pytest.raises(UnsupportedError, match="an image model takes"):
        config_for_model(load_model(FIXTURES / "ad01_int8.tflite"))  # (1, 640) vectors
