/* tc_transpose_s8: out[i0][i1][i2][i3] = in at sum(i_j * in_strides[j]); the shape and the permuted input
 * strides are prepared at export (rank padded to 4); C twin of tinycore/runtime/ops/transpose.py. */
#include "tc_kernels.h"

void tc_transpose_s8(const int8_t *in, int8_t *out, const int32_t *out_shape, const int32_t *in_strides)
{
    int32_t i0, i1, i2, i3;
    for (i0 = 0; i0 < out_shape[0]; ++i0) {
        for (i1 = 0; i1 < out_shape[1]; ++i1) {
            for (i2 = 0; i2 < out_shape[2]; ++i2) {
                const int8_t *src = in + i0 * in_strides[0] + i1 * in_strides[1] + i2 * in_strides[2];
                for (i3 = 0; i3 < out_shape[3]; ++i3) {
                    *out++ = src[i3 * in_strides[3]];
                }
            }
        }
    }
}
