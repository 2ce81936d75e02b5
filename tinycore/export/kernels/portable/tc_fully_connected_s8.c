/* tc_fully_connected_s8: int8 matrix-vector product, per-output requantization. */
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

void tc_fully_connected_s8(const int8_t *in, int32_t n_in, const int8_t *weights, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, int8_t *out, int32_t n_out, int32_t input_zp,
                           int32_t output_zp, int32_t act_min, int32_t act_max, int8_t *scratch)
{
    int32_t o, i;
    (void)scratch; /* none: tc_fully_connected_s8_scratch_bytes is 0 */
    for (o = 0; o < n_out; ++o) {
        const int8_t *row = weights + o * n_in;
        int32_t acc = bias[o];
        for (i = 0; i < n_in; ++i) {
            acc += ((int32_t)in[i] - input_zp) * (int32_t)row[i];
        }
        out[o] = tc_output_s8(tc_requantize(acc, mult[o], shift[o]), output_zp, act_min, act_max);
    }
}
