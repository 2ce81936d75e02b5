/* tc_layer_norm_s8: integer LayerNorm over rows of d values (C twin of tinycore/runtime/ops/layer_norm.py).
 * Mean in Q4 from non-negative u = x + 128, 64-bit sum of squared deviations, even shift to [2^28, 2^30), integer
 * square root by TC_LN_ISQRT_ITERATIONS Newton steps from a fixed start, one division per row for the inverse,
 * z = 2^22 (x - mean) / sqrt(ssq), acc = gamma z + bias, requantized. */
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

#define TC_LN_ISQRT_ITERATIONS 4
#define TC_LN_ISQRT_START (3 << 13)
#define TC_LN_Z_FRAC_BITS 22

static int32_t tc_ln_bit_length(uint64_t v)
{
    int32_t n = 0;
    while (v) {
        v >>= 1;
        ++n;
    }
    return n;
}

void tc_layer_norm_s8(const int8_t *in, int8_t *out, int32_t rows, int32_t d, const int8_t *gamma,
                      const int32_t *bias, int32_t mult, int32_t shift, int32_t output_zp)
{
    int32_t row, i, k;
    for (row = 0; row < rows; ++row) {
        const int8_t *x = in + row * d;
        int8_t *y = out + row * d;
        uint32_t sum = 0;
        uint64_t ssq = 0;
        int32_t mean, e, s, inv = 0;
        for (i = 0; i < d; ++i) {
            sum += (uint32_t)((int32_t)x[i] + 128);
        }
        mean = (int32_t)((2u * 16u * (uint64_t)sum + (uint64_t)d) / (2u * (uint64_t)d));
        for (i = 0; i < d; ++i) {
            const int32_t dev = 16 * ((int32_t)x[i] + 128) - mean;
            ssq += (uint64_t)((int64_t)dev * dev);
        }
        e = 30 - tc_ln_bit_length(ssq);
        e -= e & 1;
        s = e / 2 - (30 - TC_LN_Z_FRAC_BITS);
        if (ssq != 0) {
            const uint32_t v = (uint32_t)(e >= 0 ? ssq << e : ssq >> -e);
            uint32_t r = TC_LN_ISQRT_START;
            for (k = 0; k < TC_LN_ISQRT_ITERATIONS; ++k) {
                r = (r + v / r) >> 1;
            }
            inv = (int32_t)((1u << 30) / r);
        }
        for (i = 0; i < d; ++i) {
            const int32_t prod = (16 * ((int32_t)x[i] + 128) - mean) * inv;
            const int32_t z = s >= 0 ? (int32_t)((int64_t)prod * ((int64_t)1 << s))
                                     : tc_rounding_divide_by_pot(prod, -s);
            const int32_t acc = (int32_t)gamma[i] * z + bias[i];
            y[i] = tc_output_s8(tc_requantize(acc, mult, shift), output_zp, -128, 127);
        }
    }
}
