"""tc_fixedpoint.h equals tinycore/runtime/fixedpoint.py on edge values, built with ASan + UBSan (no UB)."""
import numpy as np

from tinycore.export.codegen import KERNELS_DIR
from tinycore.export.emit import c_array
from tinycore.export.host import compile_program, run_program
from tinycore.runtime.fixedpoint import (INT32_MAX, INT32_MIN, quantize_float_s8, requantize, round_div_away,
                                         rounding_divide_by_pot, saturating_rounding_doubling_high_mul, wrap_int32)
from tests.runtime.test_quantize_float import BOUNDARIES

EDGE = [INT32_MIN, INT32_MIN + 1, -(1 << 30), -(1 << 30) - 1, -3, -2, -1, 0, 1, 2, 3, (1 << 30) - 1, 1 << 30,
        INT32_MAX - 1, INT32_MAX]


def _values(seed: int):
    rng = np.random.default_rng(seed)
    a = np.array(EDGE + rng.integers(INT32_MIN, INT32_MAX, 60, endpoint=True).tolist()
                 + rng.integers(-3000, 3000, 40).tolist(), np.int64)
    b = np.array(EDGE + rng.integers(0, INT32_MAX, 100, endpoint=True).tolist(), np.int64)
    aa, bb = np.meshgrid(a, b, indexing="ij")
    return aa.reshape(-1), bb.reshape(-1)


# float from its bit pattern (exact: no decimal printing in between)
F32_FROM_BITS = ("#include <string.h>\n"
                 "static float tc_f(int32_t bits) { float f; memcpy(&f, &bits, sizeof f); return f; }\n")


def _run_c(tmp_path, body: str, arrays: dict[str, np.ndarray], n: int, prelude: str = "") -> np.ndarray:
    src = tmp_path / "fp.c"
    decls = "\n".join(c_array("int32_t", k, v) for k, v in arrays.items())
    src.write_text(f"#include <stdio.h>\n#include \"tc_fixedpoint.h\"\n{prelude}{decls}\nint main(void) {{\n"
                   f"    int i;\n    for (i = 0; i < {n}; ++i) {{ printf(\"%ld\\n\", (long)({body})); }}\n"
                   "    return 0;\n}\n")
    exe = compile_program([src], tmp_path / "fp", include_dirs=[KERNELS_DIR / "include"], sanitize=True,
                          extra_flags=["-Wno-unused-const-variable"])
    return np.array([int(v) for v in run_program(exe, 60).split()], np.int64)


def test_doubling_high_mul_and_requantize_match(tmp_path):
    a, m = _values(0)
    rng = np.random.default_rng(1)
    shift = rng.integers(-31, 31, a.size)
    shift[:31] = np.arange(-31, 0)
    arrays = {"va": a, "vm": m, "vs": shift}
    got = _run_c(tmp_path, "tc_sat_rounding_doubling_high_mul(va[i], vm[i])", arrays, a.size)
    np.testing.assert_array_equal(got, saturating_rounding_doubling_high_mul(a, m))
    got = _run_c(tmp_path, "tc_requantize(va[i], vm[i], vs[i])", arrays, a.size)
    np.testing.assert_array_equal(got, requantize(a, m, shift))


def test_min_times_min_saturates_in_c(tmp_path):
    arrays = {"va": np.array([INT32_MIN]), "vm": np.array([INT32_MIN])}
    assert _run_c(tmp_path, "tc_sat_rounding_doubling_high_mul(va[i], vm[i])", arrays, 1).tolist() == [INT32_MAX]


def test_rounding_divide_shift_wrap_and_average_match(tmp_path):
    a, _ = _values(2)
    a = a[:3000]
    e = np.arange(a.size) % 32
    arrays = {"va": a, "ve": e, "vc": (np.arange(a.size) % 49) + 1}
    np.testing.assert_array_equal(_run_c(tmp_path, "tc_rounding_divide_by_pot(va[i], ve[i])", arrays, a.size),
                                  rounding_divide_by_pot(a, e))
    np.testing.assert_array_equal(_run_c(tmp_path, "tc_shl_wrap(va[i], ve[i])", arrays, a.size),
                                  wrap_int32(a << e))
    np.testing.assert_array_equal(_run_c(tmp_path, "tc_add_wrap(va[i], va[(i + 7) % 3000])", arrays, a.size),
                                  wrap_int32(a + np.roll(a, -7)))
    small = np.clip(a, -(1 << 20), 1 << 20)
    arrays["vsmall"] = small
    np.testing.assert_array_equal(_run_c(tmp_path, "tc_round_div_away(vsmall[i], vc[i])", arrays, a.size),
                                  round_div_away(small, arrays["vc"]))


def test_float_quantizer_matches_python(tmp_path):
    """tc_quantize_float_s8 == quantize_float_s8 at the rounding boundaries, saturation, +-inf and NaN, and on
    random floats around the ties, for several scales and zero points."""
    rng = np.random.default_rng(3)
    edges = np.float32([b[0] for b in BOUNDARIES] + [np.inf, -np.inf, np.nan, 3e38, -3e38, 1e-45])
    ties = (np.arange(-140, 140) + np.float32(0.5)).astype(np.float32)
    near = np.concatenate([np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf))])
    values = np.concatenate([edges, ties, near, rng.normal(0, 60, 400).astype(np.float32)])
    for scale, zp in [(1.0, 0), (0.6, 7), (0.0372, -128), (3.1e-5, 127)]:
        x = (values * np.float32(scale)).astype(np.float32)
        x[:len(edges)] = edges  # the edges as inputs too (not only as quotients)
        bits = int(np.float32(scale).view(np.int32))
        got = _run_c(tmp_path, f"tc_quantize_float_s8(tc_f(vx[i]), tc_f({bits}), {zp})", {"vx": x.view(np.int32)},
                     x.size, prelude=F32_FROM_BITS)
        np.testing.assert_array_equal(got, quantize_float_s8(x, scale, zp), err_msg=f"scale {scale} zp {zp}")
