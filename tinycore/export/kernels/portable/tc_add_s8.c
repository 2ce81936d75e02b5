/* tc_add_s8: TFLite ADD for int8: both inputs are shifted left, rescaled to a common scale, summed, rescaled.
 * Elementwise, so out may be a or b (each element is read before it is written). */
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

void tc_add_s8(const tc_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int32_t size)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t a1 = tc_shl_wrap((int32_t)a[i] - p->input1_zp, p->left_shift);
        const int32_t b1 = tc_shl_wrap((int32_t)b[i] - p->input2_zp, p->left_shift);
        const int32_t sa = tc_requantize(a1, p->input1_mult, p->input1_shift);
        const int32_t sb = tc_requantize(b1, p->input2_mult, p->input2_shift);
        out[i] = tc_output_s8(tc_requantize(tc_add_wrap(sa, sb), p->output_mult, p->output_shift), p->output_zp,
                              p->act_min, p->act_max);
    }
}
