/* tc_avg_pool2d_s8: average over the window's pixels inside the input, rounded half away from zero (TFLite). */
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

void tc_avg_pool2d_s8(const tc_pool_params *p, const tc_dims *in_dims, const int8_t *in, const tc_dims *out_dims,
                      int8_t *out)
{
    const int32_t c_n = in_dims->c;
    int32_t oy, ox, c, y, x;
    for (oy = 0; oy < out_dims->h; ++oy) {
        const int32_t y0 = oy * p->stride_h - p->pad_top;
        const int32_t y_lo = y0 < 0 ? 0 : y0;
        const int32_t y_hi = y0 + p->filter_h > in_dims->h ? in_dims->h : y0 + p->filter_h;
        for (ox = 0; ox < out_dims->w; ++ox) {
            const int32_t x0 = ox * p->stride_w - p->pad_left;
            const int32_t x_lo = x0 < 0 ? 0 : x0;
            const int32_t x_hi = x0 + p->filter_w > in_dims->w ? in_dims->w : x0 + p->filter_w;
            const int32_t count = (y_hi - y_lo) * (x_hi - x_lo);
            for (c = 0; c < c_n; ++c) {
                int32_t acc = 0;
                for (y = y_lo; y < y_hi; ++y) {
                    for (x = x_lo; x < x_hi; ++x) {
                        acc += in[(y * in_dims->w + x) * c_n + c];
                    }
                }
                out[(oy * out_dims->w + ox) * c_n + c] =
                    tc_clamp_s8(tc_round_div_away(acc, count), p->act_min, p->act_max);
            }
        }
    }
}
