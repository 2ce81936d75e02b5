/* tc_fixedpoint.h: the only C code that rounds (integers, and the one float -> int8 quantizer). C twin of
 * tinycore/runtime/fixedpoint.py.
 *
 * gemmlowp / TFLite Micro arithmetic: saturating rounding doubling high multiply, rounding divide by a power of
 * two, requantization by a Q31 multiplier and a shift, and TFLite's rounded integer average. Every int32 wrap is
 * done on uint32 so that no signed overflow (undefined behaviour) can happen; right shifts of negative values
 * are arithmetic (as on gcc, clang and every Cortex-M compiler).
 */
#ifndef TC_FIXEDPOINT_H
#define TC_FIXEDPOINT_H

#include <stdint.h>

/* uint32 bit pattern -> int32 two's-complement value, without implementation-defined conversion. */
static inline int32_t tc_wrap_int32(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : (int32_t)(u - 2147483648u) - INT32_MAX - 1;
}

/* x << n with int32 wrap-around (n in [0, 31]). */
static inline int32_t tc_shl_wrap(int32_t x, int32_t n)
{
    return tc_wrap_int32((uint32_t)x << n);
}

/* a + b with int32 wrap-around. */
static inline int32_t tc_add_wrap(int32_t a, int32_t b)
{
    return tc_wrap_int32((uint32_t)a + (uint32_t)b);
}

/* (a * b * 2 + 2**31 rounding) >> 32; the single overflow case INT32_MIN * INT32_MIN saturates.
 *
 * gemmlowp adds nudge = ab >= 0 ? 2**30 : 1 - 2**30 and divides by 2**31 truncating toward zero. Division-free
 * form of the same value: for ab < 0 the sum is negative and truncation equals floor((ab + 1 - 2**30 + 2**31 - 1)
 * / 2**31) = floor((ab + 2**30) / 2**31), which is also the ab >= 0 value. So the result is bits 31..62 of
 * ab + 2**30 (one SMULL, one 64-bit add, two shifts on Cortex-M). Those bits are 0x80000000 only for
 * INT32_MIN * INT32_MIN (every other product gives at least INT32_MIN + 1), hence the saturation test on them. */
static inline int32_t tc_sat_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    const uint64_t sum = (uint64_t)((int64_t)a * (int64_t)b) + ((uint64_t)1 << 30);
    const uint32_t q = (uint32_t)(sum >> 31);
    return q == 0x80000000u ? INT32_MAX : tc_wrap_int32(q);
}

/* x / 2**exponent rounded half away from zero; exponent in [0, 31]. */
static inline int32_t tc_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)x >> 31);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* acc * mult * 2**(shift - 31): a positive shift is a (wrapping) left shift of acc before the multiply, a
 * negative one a rounding right shift after it (TFLite MultiplyByQuantizedMultiplier). */
static inline int32_t tc_requantize(int32_t acc, int32_t mult, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return tc_rounding_divide_by_pot(tc_sat_rounding_doubling_high_mul(tc_shl_wrap(acc, left), mult), right);
}

/* (acc +- count/2) / count truncated: TFLite's rounded integer average (count > 0). */
static inline int32_t tc_round_div_away(int32_t acc, int32_t count)
{
    const int32_t half = count / 2;
    return acc > 0 ? (acc + half) / count : (acc - half) / count;
}

/* Clamp to [lo, hi] and narrow to int8 (lo, hi inside [-128, 127]). */
static inline int8_t tc_clamp_s8(int32_t x, int32_t lo, int32_t hi)
{
    return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

/* Requantized value + output zero point, clamped to [lo, hi] and narrowed to int8, with the result of the exact
 * (unbounded) sum as the numpy runtime forms it in int64: the value is compared with the bounds moved by the zero
 * point instead (lo, hi, zp within int8, so no expression overflows), so a value within |zp| of the int32 limits
 * (a saturated requantize) clamps instead of overflowing int32 (undefined behaviour, in practice a wrap). */
static inline int8_t tc_output_s8(int32_t requantized, int32_t zp, int32_t lo, int32_t hi)
{
    return (int8_t)(requantized < lo - zp ? lo : (requantized > hi - zp ? hi : requantized + zp));
}

/* Float -> int8 as TFLite QUANTIZE: clamp(roundf(x / scale) + zero_point, -128, 127), the one float quantizer
 * (twin of quantize_float_s8 in tinycore/runtime/fixedpoint.py). One float division; the quotient is clamped to
 * +-512 (saturating for any int8 zero point) so the int conversion is defined, then rounded half away from zero
 * from its exact float fraction, as roundf does, without libm. +-inf saturate; NaN gives zero_point (real 0). */
static inline int8_t tc_quantize_float_s8(float x, float scale, int32_t zero_point)
{
    float v = x / scale;
    float frac;
    int32_t q;
    if (v != v) {
        return (int8_t)zero_point;
    }
    v = v > 512.0f ? 512.0f : (v < -512.0f ? -512.0f : v);
    q = (int32_t)v;
    frac = v - (float)q;
    q += frac >= 0.5f ? 1 : (frac <= -0.5f ? -1 : 0);
    q += zero_point;
    return (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
}

#endif /* TC_FIXEDPOINT_H */
