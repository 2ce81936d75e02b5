/* tc_conv2d_s8 (Cortex-M DSP): same signature and bytes as portable/tc_conv2d_s8.c.
 *
 * The receptive field of an output pixel (KH x KW x Cin, in weight order) is gathered into an int16 column
 * minus the input zero point (padding taps are 0, the zero point in real terms); a 1x1 stride-1 unpadded
 * convolution converts the pixel directly. Multiply-accumulate is SMLAD on int16 pairs (tc_dsp.h):
 *  - pair path (2 x column length <= TC_DSP_COL_MAX): two output pixels at once, their columns interleaved, two
 *    output channels at a time: each weight word is loaded and sign-extended once for both pixels;
 *  - single path (the last odd pixel, or longer columns): one pixel, four output channels at a time; columns
 *    longer than TC_DSP_COL_MAX go in chunks of whole taps, and a tap longer than that in plain C.
 * Both paths have consumed a pixel's input before writing its output, so the in-place 1x1 case (out == in)
 * is safe; the single path still goes through `scratch` as the portable kernel does. Requantization is
 * tc_requantize, as in the portable kernel.
 */
#include <string.h>

#include "tc_dsp.h"
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

/* Taps [t0, t1) of the receptive field of output pixel (oy, ox), minus the zero point, into col: in the
 * single layout (pair < 0) or as column `pair` (0 or 1) of the pair layout. */
static void tc_conv_gather(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in, int32_t k_w,
                           int32_t oy, int32_t ox, int32_t t0, int32_t t1, int16_t *col, int32_t pair)
{
    const int32_t in_c = in_dims->c;
    const int32_t n = (t1 - t0) * in_c;
    const int32_t step = pair < 0 ? 4 : 8;
    int32_t t, ic;
    for (t = t0; t < t1; ++t) {
        const int32_t iy = oy * p->stride_h - p->pad_top + (t / k_w) * p->dilation_h;
        const int32_t ix = ox * p->stride_w - p->pad_left + (t % k_w) * p->dilation_w;
        const int32_t off = (t - t0) * in_c;
        const int inside = iy >= 0 && iy < in_dims->h && ix >= 0 && ix < in_dims->w;
        const int8_t *src = in + (iy * in_dims->w + ix) * in_c;
        if ((in_c & 3) == 0) { /* whole groups: a word at a time */
            int16_t *dst = col + (off >> 2) * step + (pair > 0 ? 4 : 0);
            if (inside) {
                tc_dsp_convert_step(src, dst, in_c, p->input_zp, step, dst);
            } else {
                for (ic = 0; ic < in_c; ic += 4, dst += step) {
                    memset(dst, 0, 4 * sizeof(int16_t));
                }
            }
        } else {
            for (ic = 0; ic < in_c; ++ic) {
                const int32_t pos = pair < 0 ? tc_dsp_perm(off + ic, n) : tc_dsp_pair_pos(off + ic, n, pair);
                col[pos] = (int16_t)(inside ? src[ic] - p->input_zp : 0);
            }
        }
    }
}

static inline __attribute__((always_inline)) int8_t tc_conv_out(int32_t acc, int32_t oc,
                                                                const tc_conv_params *p, const int32_t *mult,
                                                                const int32_t *shift)
{
    return tc_clamp_s8(tc_requantize(acc, mult[oc], shift[oc]) + p->output_zp, p->act_min, p->act_max);
}

/* Output pixels q and q + 1 through the pair layout. */
static void tc_conv_pair(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in,
                         const tc_dims *filter_dims, const int8_t *weights, const int32_t *bias,
                         const int32_t *mult, const int32_t *shift, const tc_dims *out_dims, int8_t *out,
                         int32_t q, int pointwise, int16_t *col)
{
    const int32_t in_c = in_dims->c, out_c = out_dims->c, out_w = out_dims->w;
    const int32_t taps = filter_dims->h * filter_dims->w, len = taps * in_c, n4 = len & ~3;
    int8_t *da = out + q * out_c, *db = da + out_c;
    int32_t j, oc;
    for (j = 0; j < 2; ++j) {
        if (pointwise) {
            tc_dsp_convert_step(in + (q + j) * in_c, col + 4 * j, len, p->input_zp, 8,
                                col + 2 * n4 + j * (len - n4));
        } else {
            tc_conv_gather(p, in_dims, in, filter_dims->w, (q + j) / out_w, (q + j) % out_w, 0, taps, col, j);
        }
    }
    for (oc = 0; oc + 2 <= out_c; oc += 2) {
        int32_t acc[4];
        acc[0] = acc[2] = bias[oc];
        acc[1] = acc[3] = bias[oc + 1];
        tc_dsp_dot_pair2(col, len, weights + oc * len, len, acc);
        da[oc] = tc_conv_out(acc[0], oc, p, mult, shift);
        da[oc + 1] = tc_conv_out(acc[1], oc + 1, p, mult, shift);
        db[oc] = tc_conv_out(acc[2], oc, p, mult, shift);
        db[oc + 1] = tc_conv_out(acc[3], oc + 1, p, mult, shift);
    }
    if (oc < out_c) {
        int32_t acc[2];
        acc[0] = acc[1] = bias[oc];
        tc_dsp_dot_pair1(col, len, weights + oc * len, acc);
        da[oc] = tc_conv_out(acc[0], oc, p, mult, shift);
        db[oc] = tc_conv_out(acc[1], oc, p, mult, shift);
    }
}

/* Output pixel q alone, into dst: four output channels at a time, chunked columns. */
static void tc_conv_single(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in,
                           const tc_dims *filter_dims, const int8_t *weights, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, const tc_dims *out_dims, int8_t *dst,
                           int32_t q, int pointwise, int16_t *col)
{
    const int32_t in_c = in_dims->c, k_w = filter_dims->w, out_c = out_dims->c;
    const int32_t oy = q / out_dims->w, ox = q % out_dims->w;
    const int32_t taps = filter_dims->h * k_w, len = taps * in_c;
    const int32_t taps_per_chunk = in_c <= TC_DSP_COL_MAX ? TC_DSP_COL_MAX / in_c : 0;
    const int one_chunk = len <= TC_DSP_COL_MAX;
    int32_t oc, r, t0, k;
    if (one_chunk && pointwise) {
        tc_dsp_convert(in + q * in_c, col, in_c, p->input_zp);
    } else if (one_chunk) {
        tc_conv_gather(p, in_dims, in, k_w, oy, ox, 0, taps, col, -1);
    }
    for (oc = 0; oc < out_c; oc += 4) {
        const int32_t rows = out_c - oc < 4 ? out_c - oc : 4;
        int32_t acc[4] = {0, 0, 0, 0};
        for (r = 0; r < rows; ++r) {
            acc[r] = bias[oc + r];
        }
        for (t0 = 0; taps_per_chunk == 0 && t0 < taps; ++t0) { /* one tap longer than the buffer: plain C */
            const int32_t iy = oy * p->stride_h - p->pad_top + (t0 / k_w) * p->dilation_h;
            const int32_t ix = ox * p->stride_w - p->pad_left + (t0 % k_w) * p->dilation_w;
            if (iy < 0 || iy >= in_dims->h || ix < 0 || ix >= in_dims->w) {
                continue;
            }
            for (r = 0; r < rows; ++r) {
                const int8_t *wr = weights + (oc + r) * len + t0 * in_c;
                const int8_t *src = in + (iy * in_dims->w + ix) * in_c;
                for (k = 0; k < in_c; ++k) {
                    acc[r] += ((int32_t)src[k] - p->input_zp) * (int32_t)wr[k];
                }
            }
        }
        for (t0 = 0; taps_per_chunk > 0 && t0 < taps; t0 += taps_per_chunk) {
            const int32_t t1 = taps - t0 < taps_per_chunk ? taps : t0 + taps_per_chunk;
            const int32_t n = (t1 - t0) * in_c;
            const int8_t *w = weights + oc * len + t0 * in_c;
            if (!one_chunk) {
                tc_conv_gather(p, in_dims, in, k_w, oy, ox, t0, t1, col, -1);
            }
            if (rows == 4) {
                tc_dsp_dot_rows4(col, n, w, len, acc);
            } else {
                for (r = 0; r < rows; ++r) {
                    acc[r] = tc_dsp_dot_row1(col, n, w + r * len, acc[r]);
                }
            }
        }
        for (r = 0; r < rows; ++r) {
            dst[oc + r] = tc_conv_out(acc[r], oc + r, p, mult, shift);
        }
    }
}

void tc_conv2d_s8(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in, const tc_dims *filter_dims,
                  const int8_t *weights, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                  const tc_dims *out_dims, int8_t *out, int8_t *scratch)
{
    int16_t col[TC_DSP_COL_MAX] __attribute__((aligned(8)));
    const int32_t len = filter_dims->h * filter_dims->w * in_dims->c;
    const int32_t n_pixels = out_dims->h * out_dims->w, out_c = out_dims->c;
    const int pointwise = filter_dims->h * filter_dims->w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                          p->pad_top == 0 && p->pad_left == 0 && in_dims->h == out_dims->h &&
                          in_dims->w == out_dims->w;
    const int inplace = (const int8_t *)out == in;
    int32_t q = 0;
    if (2 * len <= TC_DSP_COL_MAX) {
        for (; q + 2 <= n_pixels; q += 2) {
            tc_conv_pair(p, in_dims, in, filter_dims, weights, bias, mult, shift, out_dims, out, q, pointwise, col);
        }
    }
    for (; q < n_pixels; ++q) {
        int8_t *dst = inplace ? scratch : out + q * out_c;
        tc_conv_single(p, in_dims, in, filter_dims, weights, bias, mult, shift, out_dims, dst, q, pointwise, col);
        if (inplace) {
            memcpy(out + q * out_c, scratch, (size_t)out_c);
        }
    }
}
