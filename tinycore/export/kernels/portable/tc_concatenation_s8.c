/* tc_concatenation_s8: TFLite CONCATENATION for int8, one input at a time. Inputs and output share one
 * quantization (the exporter requantizes first where TFLite's scales differ), so this only copies: each of the
 * `outer` slices of the input (in_inner bytes) goes to its place in the matching output slice (out_inner bytes). */
#include <string.h>

#include "tc_kernels.h"

void tc_concatenation_s8(const int8_t *in, int32_t outer, int32_t in_inner, int8_t *out, int32_t out_inner)
{
    int32_t o;
    for (o = 0; o < outer; ++o) {
        memcpy(out + o * out_inner, in + o * in_inner, (size_t)in_inner);
    }
}
