/* tc_gelu_s8: GELU by its 256-entry table (table[q + 128]); C twin of tinycore/runtime/ops/gelu.py. */
#include "tc_kernels.h"

void tc_gelu_s8(const int8_t *in, int8_t *out, int32_t size, const int8_t *table)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        out[i] = table[(int32_t)in[i] + 128];
    }
}
