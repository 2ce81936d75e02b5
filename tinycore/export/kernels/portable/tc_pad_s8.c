/* tc_pad_s8: constant padding of a feature map. */
#include <string.h>

#include "tc_kernels.h"

void tc_pad_s8(const tc_dims *in_dims, const int8_t *in, int8_t *out, int32_t pad_top, int32_t pad_bottom,
               int32_t pad_left, int32_t pad_right, int32_t pad_value)
{
    const int32_t c_n = in_dims->c;
    const int32_t out_w = in_dims->w + pad_left + pad_right;
    const int32_t out_h = in_dims->h + pad_top + pad_bottom;
    const size_t row_bytes = (size_t)(in_dims->w * c_n);
    int32_t y;
    memset(out, pad_value, (size_t)(out_h * out_w * c_n));
    for (y = 0; y < in_dims->h; ++y) {
        memcpy(out + ((y + pad_top) * out_w + pad_left) * c_n, in + y * in_dims->w * c_n, row_bytes);
    }
}
