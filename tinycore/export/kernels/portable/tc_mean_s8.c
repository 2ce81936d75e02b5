/* tc_mean_s8: TFLite MEAN (int8) over height and width. As TFLite Micro, 1/(H*W) is folded into mult/shift at
 * export (tinycore.runtime.ops.mean.mean_multiplier), so the sum is requantized once and never divided. */
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

void tc_mean_s8(const tc_dims *in_dims, const int8_t *in, int8_t *out, int32_t input_zp, int32_t output_zp,
                int32_t mult, int32_t shift)
{
    const int32_t n = in_dims->h * in_dims->w;
    int32_t c, i;
    for (c = 0; c < in_dims->c; ++c) {
        int32_t acc = 0;
        for (i = 0; i < n; ++i) {
            acc += (int32_t)in[i * in_dims->c + c] - input_zp;
        }
        out[c] = tc_output_s8(tc_requantize(acc, mult, shift), output_zp, -128, 127);
    }
}
