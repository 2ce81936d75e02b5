/* tc_conv2d_s8: int8 2-D convolution, int32 accumulators, per-channel requantization (TFLite Micro reference). */
#include <string.h>

#include "tc_fixedpoint.h"
#include "tc_kernels.h"

/* In place (out == in): each output pixel goes to scratch (Cout bytes) first, then over its own input pixel,
 * which it alone reads (1x1, stride 1, no padding) and which is at least as long (Cout <= Cin). */
void tc_conv2d_s8(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in, const tc_dims *filter_dims,
                  const int8_t *weights, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                  const tc_dims *out_dims, int8_t *out, int8_t *scratch)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_w = out_dims->w, out_c = out_dims->c;
    const int inplace = (const int8_t *)out == in;
    int32_t oy, ox, oc, ky, kx, ic;

    for (oy = 0; oy < out_dims->h; ++oy) {
        for (ox = 0; ox < out_w; ++ox) {
            const int32_t pixel = oy * out_w + ox;
            int8_t *dst = inplace ? scratch : out + pixel * out_c;
            for (oc = 0; oc < out_c; ++oc) {
                int32_t acc = bias[oc];
                for (ky = 0; ky < k_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                    if (iy < 0 || iy >= in_h) {
                        continue;
                    }
                    for (kx = 0; kx < k_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                        const int8_t *src;
                        const int8_t *wk;
                        if (ix < 0 || ix >= in_w) {
                            continue;
                        }
                        src = in + (iy * in_w + ix) * in_c;
                        wk = weights + ((oc * k_h + ky) * k_w + kx) * in_c;
                        for (ic = 0; ic < in_c; ++ic) {
                            acc += ((int32_t)src[ic] - p->input_zp) * (int32_t)wk[ic];
                        }
                    }
                }
                dst[oc] = tc_output_s8(tc_requantize(acc, mult[oc], shift[oc]), p->output_zp, p->act_min,
                                       p->act_max);
            }
            if (inplace) {
                memcpy(out + pixel * out_c, scratch, (size_t)out_c);
            }
        }
    }
}
