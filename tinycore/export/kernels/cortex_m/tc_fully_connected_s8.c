/* tc_fully_connected_s8 (Cortex-M DSP): same signature and bytes as portable/tc_fully_connected_s8.c.
 *
 * The input is converted once to int16 minus its zero point (tc_dsp.h), then four weight rows at a time are
 * multiplied with SMLAD (2 MACs per instruction). Inputs longer than TC_DSP_COL_MAX are taken in chunks, each
 * converted again for every group of four rows. The output stage is tc_dsp_rq_fast + SSAT when every row's
 * parameters allow it (checked once per call, tc_dsp_rq_fast_ok), else tc_requantize as in the portable kernel.
 * The int16 input copy lives in the caller's scratch (planned in the arena), not on the stack.
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
    int16_t *col = (int16_t *)(void *)scratch; /* tc_fully_connected_s8_scratch_bytes(n_in), in the arena */
    const int32_t one_chunk = n_in <= TC_DSP_COL_MAX;
    const int fast = tc_dsp_rq_fast_ok(mult, shift, n_out, output_zp, act_min, act_max);
    int32_t o = 0;
    if (one_chunk) { /* the usual case: the input converted once, four rows per pass with nothing else to do */
        tc_dsp_convert(in, col, n_in, input_zp);
        for (; o + 4 <= n_out; o += 4) {
            int32_t acc[4];
            acc[0] = bias[o], acc[1] = bias[o + 1], acc[2] = bias[o + 2], acc[3] = bias[o + 3];
            tc_dsp_dot_rows4(col, n_in, weights + o * n_in, n_in, acc);
            tc_fc_finish(acc, o, 4, mult, shift, out, output_zp, act_min, act_max, fast);
        }
    }
    for (; o < n_out; o += 4) { /* the last 1-3 rows, or every row of a chunked input */
        const int32_t rows = n_out - o < 4 ? n_out - o : 4;
        int32_t acc[4] = {0, 0, 0, 0};
        int32_t k0, r;
        for (r = 0; r < rows; ++r) {
            acc[r] = bias[o + r];
        }
        for (k0 = 0; k0 < n_in; k0 += TC_DSP_COL_MAX) {
            const int32_t len = n_in - k0 < TC_DSP_COL_MAX ? n_in - k0 : TC_DSP_COL_MAX;
            const int8_t *w = weights + o * n_in + k0;
            if (!one_chunk) {
                tc_dsp_convert(in + k0, col, len, input_zp);
            }
            if (rows == 4) {
                tc_dsp_dot_rows4(col, len, w, n_in, acc);
            } else {
                for (r = 0; r < rows; ++r) {
                    acc[r] = tc_dsp_dot_row1(col, len, w + r * n_in, acc[r]);
                }
            }
        }
        tc_fc_finish(acc, o, rows, mult, shift, out, output_zp, act_min, act_max, fast);
    }
}
