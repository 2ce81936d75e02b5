/* tc_quantize_s8: TFLite QUANTIZE int8 -> int8. Elementwise, so out may equal in. */
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

void tc_quantize_s8(const int8_t *in, int8_t *out, int32_t size, int32_t input_zp, int32_t output_zp, int32_t mult,
                    int32_t shift)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        out[i] = tc_output_s8(tc_requantize((int32_t)in[i] - input_zp, mult, shift), output_zp, -128, 127);
    }
}
