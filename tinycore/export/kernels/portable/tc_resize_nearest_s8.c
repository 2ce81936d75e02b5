/* tc_resize_nearest_s8: TFLite RESIZE_NEAREST_NEIGHBOR for int8. The source row and column of every output
 * pixel are constant tables computed at export (TFLite's float32 index arithmetic, tinycore.runtime.ops.resize). */
#include <string.h>

#include "tc_kernels.h"

void tc_resize_nearest_s8(const tc_dims *in_dims, const int8_t *in, const tc_dims *out_dims, int8_t *out,
                          const int32_t *rows, const int32_t *cols)
{
    const int32_t c = in_dims->c;
    int32_t y, x;
    for (y = 0; y < out_dims->h; ++y) {
        const int8_t *src_row = in + rows[y] * in_dims->w * c;
        for (x = 0; x < out_dims->w; ++x) {
            memcpy(out, src_row + cols[x] * c, (size_t)c);
            out += c;
        }
    }
}
