/* tc_softmax_s8: TFLite Micro's int8 softmax (reference_ops::Softmax) with gemmlowp fixed point, bit for bit.
 * C twin of tinycore/runtime/ops/softmax.py. Each row: differences to the row maximum are rescaled to Q5.26,
 * exp() is gemmlowp's exp_on_negative_values (Q0.31), the sum is accumulated in Q12.19 and inverted with
 * TFLite's GetReciprocal; output scale 1/256, zero point -128. Differences below diff_min give -128. */
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

#define TC_SM_DIFF_INT_BITS 5
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

/* exp(a) for a in [-1/4, 0), Q0.31: Taylor series around -1/8. */
static int32_t tc_sm_exp_interval(int32_t a)
{
    const int32_t constant_term = 1895147668;
    const int32_t one_third = 715827883;
    const int32_t x = tc_add_wrap(a, 1 << 28);
    const int32_t x2 = tc_sat_rounding_doubling_high_mul(x, x);
    const int32_t x3 = tc_sat_rounding_doubling_high_mul(x2, x);
    const int32_t x4 = tc_sat_rounding_doubling_high_mul(x2, x2);
    const int32_t x4_over_4 = tc_rounding_divide_by_pot(x4, 2);
    const int32_t poly = tc_rounding_divide_by_pot(
        tc_add_wrap(tc_sat_rounding_doubling_high_mul(tc_add_wrap(x4_over_4, x3), one_third), x2), 1);
    return tc_add_wrap(constant_term, tc_sat_rounding_doubling_high_mul(constant_term, tc_add_wrap(x, poly)));
}

/* gemmlowp exp_on_negative_values: Q5.26 input a <= 0, Q0.31 result. */
static int32_t tc_sm_exp_on_negative_values(int32_t a)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t frac_bits = 31 - TC_SM_DIFF_INT_BITS;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t a_mod = tc_add_wrap(a & (one_quarter - 1), -one_quarter);
    const int32_t remainder = tc_wrap_int32((uint32_t)a_mod - (uint32_t)a);
    int32_t result = tc_sm_exp_interval(tc_sm_sat_shl(a_mod, TC_SM_DIFF_INT_BITS));
    int32_t k;
    for (k = 0; k < 7; ++k) {
        if (remainder & ((int32_t)1 << (frac_bits - 2 + k))) {
            result = tc_sat_rounding_doubling_high_mul(result, barrel[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
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

void tc_softmax_s8(const int8_t *in, int8_t *out, int32_t rows, int32_t cols, int32_t input_mult,
                   int32_t input_left_shift, int32_t diff_min)
{
    int32_t r, c;
    for (r = 0; r < rows; ++r) {
        const int8_t *x = in + r * cols;
        int8_t *y = out + r * cols;
        int32_t max_in_row = -128;
        int32_t sum = 0;
        int32_t headroom, bits_over_unit, scale;
        for (c = 0; c < cols; ++c) {
            max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
        }
        for (c = 0; c < cols; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t scaled = tc_sat_rounding_doubling_high_mul(tc_shl_wrap(diff, input_left_shift),
                                                                         input_mult);
                sum = tc_add_wrap(sum, tc_rounding_divide_by_pot(tc_sm_exp_on_negative_values(scaled),
                                                                 TC_SM_ACCUM_INT_BITS));
            }
        }
        headroom = tc_sm_clz32((uint32_t)sum);
        bits_over_unit = TC_SM_ACCUM_INT_BITS - headroom;
        scale = tc_sm_one_over_one_plus_x(tc_wrap_int32(((uint32_t)sum << headroom) - 2147483648u));
        for (c = 0; c < cols; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t scaled = tc_sat_rounding_doubling_high_mul(tc_shl_wrap(diff, input_left_shift),
                                                                         input_mult);
                const int32_t e = tc_sm_exp_on_negative_values(scaled);
                const int32_t v = tc_rounding_divide_by_pot(tc_sat_rounding_doubling_high_mul(scale, e),
                                                            bits_over_unit + 31 - 8) - 128;
                y[c] = tc_clamp_s8(v, -128, 127);
            } else {
                y[c] = -128;
            }
        }
    }
}
