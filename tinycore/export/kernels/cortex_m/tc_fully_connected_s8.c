/* tc_fully_connected_s8 (Cortex-M DSP): same signature and bytes as portable/tc_fully_connected_s8.c.
 *
 * Column-free: the int8 input is read in place, never copied (tc_fully_connected_s8_scratch_bytes is 0, so the
 * planned arena holds only the input and output, as TFLite Micro's). Four weight rows per pass share each input
 * word: its 4 values are sign-extended once with the zero point subtracted (two SXTAB16), then each row costs one
 * LDR, two SXTB16 and two SMLAD per 4 MACs (tc_dsp_dot_rows4_s8); the last 1-3 rows go one at a time. The output
 * stage is tc_dsp_rq_fast + SSAT when every row's parameters allow it (checked once per call,
 * tc_dsp_rq_fast_ok), else tc_requantize as in the portable kernel.
 */
#include "tc_dsp.h"
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

static inline __attribute__((always_inline)) void tc_fc_finish(const int32_t *acc, int32_t o, int32_t count,
                                                               const int32_t *mult, const int32_t *shift,
                                                               int8_t *out, int32_t output_zp, int32_t act_min,
                                                               int32_t act_max, int fast)
{
    int32_t r;
    if (fast) {
        for (r = 0; r < count; ++r) {
            const int32_t rm1 = -shift[o + r] - 1;
            out[o + r] = tc_dsp_sat8(tc_dsp_rq_fast(acc[r], mult[o + r], tc_dsp_rq_khi(output_zp, rm1), rm1));
        }
        return;
    }
    for (r = 0; r < count; ++r) {
        out[o + r] = tc_output_s8(tc_requantize(acc[r], mult[o + r], shift[o + r]), output_zp, act_min, act_max);
    }
}

void tc_fully_connected_s8(const int8_t *in, int32_t n_in, const int8_t *weights, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, int8_t *out, int32_t n_out, int32_t input_zp,
                           int32_t output_zp, int32_t act_min, int32_t act_max, int8_t *scratch)
{
    const int fast = tc_dsp_rq_fast_ok(mult, shift, n_out, output_zp, act_min, act_max);
    int32_t o = 0;
    (void)scratch; /* none: tc_fully_connected_s8_scratch_bytes is 0 */
    for (; o + 4 <= n_out; o += 4) {
        int32_t acc[4];
        acc[0] = bias[o], acc[1] = bias[o + 1], acc[2] = bias[o + 2], acc[3] = bias[o + 3];
        tc_dsp_dot_rows4_s8(in, n_in, input_zp, weights + o * n_in, n_in, acc);
        tc_fc_finish(acc, o, 4, mult, shift, out, output_zp, act_min, act_max, fast);
    }
    for (; o < n_out; ++o) {
        const int32_t acc = tc_dsp_dot_row1_s8(in, n_in, input_zp, weights + o * n_in, bias[o]);
        tc_fc_finish(&acc, o, 1, mult, shift, out, output_zp, act_min, act_max, fast);
    }
}
