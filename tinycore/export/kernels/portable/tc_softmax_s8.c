/* tc_softmax_s8: TFLite Micro's int8 softmax (reference_ops::Softmax) with gemmlowp fixed point, bit for bit.
 * C twin of tinycore/runtime/ops/softmax.py. Each row: exp of the difference to the row maximum (gemmlowp's
 * exp_on_negative_values of the Q5.26-rescaled difference, Q0.31) is read from exp_table, made at export
 * (softmax_exp_table: 256 entries, one per difference d = max - x; 0 for differences below diff_min, which then add
 * nothing to the sum and give -128, as TFLite's test does); the sum is accumulated in Q12.19 and inverted with
 * TFLite's GetReciprocal; output scale 1/256, zero point -128. The table replaces two evaluations of exp per element (about 300 instructions on an M4)
 * by one load. */
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

#define TC_SM_ACCUM_INT_BITS 12

/* gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent: saturating left shift. */
static int32_t tc_sm_sat_shl(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return tc_shl_wrap(x, exponent);
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1: Q0.31 in and out, Newton-Raphson in Q2.29. */
static int32_t tc_sm_one_over_one_plus_x(int32_t a)
{
    const int32_t half_denominator = (int32_t)(((int64_t)a + INT32_MAX + 1) / 2);
    int32_t x = tc_add_wrap(1515870810, tc_sat_rounding_doubling_high_mul(half_denominator, -1010580540));
    int32_t i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = tc_wrap_int32(((uint32_t)1 << 29) -
                                                (uint32_t)tc_sat_rounding_doubling_high_mul(half_denominator, x));
        x = tc_add_wrap(x, tc_sm_sat_shl(tc_sat_rounding_doubling_high_mul(x, one_minus), 2));
    }
    return tc_sm_sat_shl(x, 1);
}

static int32_t tc_sm_clz32(uint32_t x)
{
    int32_t n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

void tc_softmax_s8(const int8_t *in, int8_t *out, int32_t rows, int32_t cols, const int32_t *exp_table)
{
    int32_t r, c;
    for (r = 0; r < rows; ++r) {
        const int8_t *x = in + r * cols;
        int8_t *y = out + r * cols;
        int32_t max_in_row = -128;
        int32_t sum = 0;
        int32_t headroom, shift, scale;
        for (c = 0; c < cols; ++c) {
            max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
        }
        for (c = 0; c < cols; ++c) {
            sum = tc_add_wrap(sum, tc_rounding_divide_by_pot(exp_table[max_in_row - x[c]], TC_SM_ACCUM_INT_BITS));
        }
        headroom = tc_sm_clz32((uint32_t)sum);
        shift = TC_SM_ACCUM_INT_BITS - headroom + 31 - 8;
        scale = tc_sm_one_over_one_plus_x(tc_wrap_int32(((uint32_t)sum << headroom) - 2147483648u));
        for (c = 0; c < cols; ++c) {
            const int32_t e = exp_table[max_in_row - x[c]];
            y[c] = tc_clamp_s8(tc_rounding_divide_by_pot(tc_sat_rounding_doubling_high_mul(scale, e), shift) - 128,
                               -128, 127);
        }
    }
}
