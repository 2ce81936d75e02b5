/* tc_depthwise_conv2d_s8: one filter per input channel (times depth_multiplier), per-channel requantization. */
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

static int8_t tc_dw_one(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in, const tc_dims *fd,
                        const int8_t *weights, int32_t bias, int32_t mult, int32_t shift, int32_t oy, int32_t ox,
                        int32_t oc)
{
    const int32_t ic = oc / p->depth_multiplier;
    int32_t acc = bias;
    int32_t ky, kx;
    for (ky = 0; ky < fd->h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (iy < 0 || iy >= in_dims->h) {
            continue;
        }
        for (kx = 0; kx < fd->w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
            if (ix < 0 || ix >= in_dims->w) {
                continue;
            }
            acc += ((int32_t)in[(iy * in_dims->w + ix) * in_dims->c + ic] - p->input_zp) *
                   (int32_t)weights[(ky * fd->w + kx) * fd->c + oc];
        }
    }
    return tc_output_s8(tc_requantize(acc, mult, shift), p->output_zp, p->act_min, p->act_max);
}

/* In place (out == in, depth_multiplier 1): channel by channel, the whole output plane goes to scratch
 * (OH * OW bytes) and then to out[pixel * C + c]; input channel c has been fully read by then and no other
 * channel's bytes are written. */
void tc_depthwise_conv2d_s8(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in,
                            const tc_dims *filter_dims, const int8_t *weights, const int32_t *bias,
                            const int32_t *mult, const int32_t *shift, const tc_dims *out_dims, int8_t *out,
                            int8_t *scratch)
{
    const int32_t out_w = out_dims->w, out_c = out_dims->c;
    const int32_t n_pix = out_dims->h * out_w;
    int32_t oy, ox, oc, i;

    if ((const int8_t *)out == in) {
        for (oc = 0; oc < out_c; ++oc) {
            for (oy = 0; oy < out_dims->h; ++oy) {
                for (ox = 0; ox < out_w; ++ox) {
                    scratch[oy * out_w + ox] = tc_dw_one(p, in_dims, in, filter_dims, weights, bias[oc], mult[oc],
                                                         shift[oc], oy, ox, oc);
                }
            }
            for (i = 0; i < n_pix; ++i) {
                out[i * out_c + oc] = scratch[i];
            }
        }
        return;
    }
    for (oy = 0; oy < out_dims->h; ++oy) {
        for (ox = 0; ox < out_w; ++ox) {
            int8_t *dst = out + (oy * out_w + ox) * out_c;
            for (oc = 0; oc < out_c; ++oc) {
                dst[oc] = tc_dw_one(p, in_dims, in, filter_dims, weights, bias[oc], mult[oc], shift[oc], oy, ox, oc);
            }
        }
    }
}
