/* tc_conv2d_s8 (Cortex-M DSP): same signature and bytes as portable/tc_conv2d_s8.c.
 *
 * The receptive field of an output pixel (KH x KW x Cin, in weight order) is gathered into an int16 column
 * minus the input zero point (padding taps are 0, the zero point in real terms); a 1x1 stride-1 unpadded
 * convolution converts the pixel directly. Multiply-accumulate is SMLAD on int16 pairs (tc_dsp.h):
 *  - pair path (2 x column length <= TC_DSP_COL_MAX): two output pixels at once, their columns interleaved, two
 *    output channels at a time: each weight word is loaded and sign-extended once for both pixels; when 4 x column
 *    length fits, two such pairs (4 pixels) per pass, so each channel's requantization set-up serves 4 outputs;
 *  - single path (the last odd pixel, or longer columns): one pixel, four output channels at a time; columns
 *    longer than TC_DSP_COL_MAX go in chunks of whole taps, and a tap longer than that in plain C.
 * Both paths have consumed a pixel's input before writing its output, so the in-place 1x1 case (out == in)
 * is safe; the single path still goes through `scratch` as the portable kernel does. Requantization is
 * tc_requantize, or for the usual multiplier < 1 (mult != INT32_MIN, shift in [-31, -1]) the equivalent
 * two-SMLAL form tc_conv_rq_fast, bit-exact with it (derivation at tc_conv_rq_fast).
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

/* Requantization of one output channel for mult != INT32_MIN and shift in [-31, -1] (the usual case: a
 * multiplier below 1), in one 64-bit sum per value. With r = -shift, tc_requantize(acc, m, shift) is
 * floor(v / 2**r) + 1 when the remainder exceeds half (+1 for negative v), v = floor((acc * m + 2**30) / 2**31);
 * that equals floor((acc * m + 2**30 + 2**(30 + r) - 2**31 * neg) / 2**(31 + r)), neg = (acc ^ m) < 0 (wherever
 * that differs from v < 0, v is 0 and both give 0). The high word of that sum shifted right by r - 1 is the
 * result: one SMLAL for the product, one for the sign term, one ASR. No saturation: only INT32_MIN * INT32_MIN
 * saturates in tc_sat_rounding_doubling_high_mul. Checked against tc_requantize on 2e8 random and edge values. */
static inline __attribute__((always_inline)) int32_t tc_conv_rq_fast(int32_t acc, int32_t m, int64_t k,
                                                                     int32_t rm1)
{
    const int32_t neg = (int32_t)(((uint32_t)acc ^ (uint32_t)m) >> 31);
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t lo = (uint32_t)k;
    int32_t hi = (int32_t)(k >> 32);
    __asm__("smlal %[lo], %[hi], %[a], %[m]\n"
            "smlal %[lo], %[hi], %[t], %[c]\n"
            : [lo] "+&r"(lo), [hi] "+&r"(hi)
            : [a] "r"(acc), [m] "r"(m), [t] "r"(neg), [c] "r"(INT32_MIN));
    return hi >> rm1;
#else
    const int64_t sum = k + (int64_t)acc * m + (int64_t)neg * (int64_t)INT32_MIN;
    return (int32_t)(sum >> 32) >> rm1;
#endif
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* tc_conv_rq_fast with its 64-bit constant given as (hi, lo) words (the caller may fold in a zero point). */
static inline __attribute__((always_inline)) int32_t tc_conv_rq_fast_zp(int32_t acc, int32_t m, uint32_t lo,
                                                                        int32_t hi, int32_t rm1)
{
    const int32_t neg = (int32_t)(((uint32_t)acc ^ (uint32_t)m) >> 31);
    __asm__("smlal %[lo], %[hi], %[a], %[m]\n"
            "smlal %[lo], %[hi], %[t], %[c]\n"
            : [lo] "+&r"(lo), [hi] "+&r"(hi)
            : [a] "r"(acc), [m] "r"(m), [t] "r"(neg), [c] "r"(INT32_MIN));
    return hi >> rm1;
}
#endif

/* Outputs d[i * stride] = requantized acc[2 * i] + zp clamped to [lo, hi], i < count (2 or 4): one channel. */
static inline __attribute__((always_inline)) void tc_conv_rq_channel(const int32_t *acc, int8_t *d,
                                                                     int32_t stride, int32_t count, int32_t mult,
                                                                     int32_t shift, const tc_conv_params *p,
                                                                     int full)
{
    const int32_t zp = p->output_zp, lo = p->act_min, hi = p->act_max;
    int32_t i;
    (void)full; /* only the DSP build has a saturating clamp */
    if (mult == INT32_MIN || shift >= 0 || shift < -31) {
        for (i = 0; i < count; ++i) {
            d[i * stride] = tc_clamp_s8(tc_requantize(acc[2 * i], mult, shift) + zp, lo, hi);
        }
        return;
    }
    {
        const int32_t rm1 = -shift - 1;
        const int64_t k = ((int64_t)1 << 30) + ((int64_t)1 << (30 - shift));
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
        if (full) {
            for (i = 0; i < count; ++i) {
                d[i * stride] = (int8_t)__ssat(tc_conv_rq_fast(acc[2 * i], mult, k, rm1) + zp, 8);
            }
            return;
        }
#endif
        for (i = 0; i < count; ++i) {
            d[i * stride] = tc_clamp_s8(tc_conv_rq_fast(acc[2 * i], mult, k, rm1) + zp, lo, hi);
        }
    }
}

/* The 8 outputs of a 4-pixel, 2-channel pass: d[i * stride + k] from acc[2 * i + k]. Out of line so that the
 * channel loop of the caller keeps its registers; the fast path is unrolled. */
static __attribute__((noinline)) void tc_conv_rq8(const int32_t *acc, int8_t *d, int32_t stride,
                                                  const int32_t *mult, const int32_t *shift,
                                                  const tc_conv_params *p)
{
    int32_t k;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    const int32_t zp = p->output_zp;
    int32_t i;
    if (p->act_min == -128 && p->act_max == 127) {
        for (k = 0; k < 2; ++k) {
            const int32_t m = mult[k], s = shift[k];
            if (m == INT32_MIN || s >= 0 || s < -23 || zp < -128 || zp > 127) {
                break;
            }
        }
        if (k == 2) {
#pragma GCC unroll 2
            for (k = 0; k < 2; ++k) {
                /* the 64-bit constant of tc_conv_rq_fast plus zp * 2**(32 + rm1), which adds zp after the shift:
                 * |high word| < 2**30 + 2**22 * 129 < 2**31 for rm1 <= 22, so it cannot wrap */
                const int32_t m = mult[k], rm1 = -shift[k] - 1;
                const uint32_t lo = rm1 == 0 ? 0xC0000000u : 0x40000000u;
                const int32_t hi = ((1 << rm1) >> 1) + zp * (1 << rm1);
#pragma GCC unroll 4
                for (i = 0; i < 4; ++i) {
                    d[i * stride + k] = (int8_t)__ssat(tc_conv_rq_fast_zp(acc[2 * i + k], m, lo, hi, rm1), 8);
                }
            }
            return;
        }
    }
#endif
    for (k = 0; k < 2; ++k) {
        tc_conv_rq_channel(acc + k, d + k, stride, 4, mult[k], shift[k], p, 0);
    }
}

static inline __attribute__((always_inline)) int8_t tc_conv_out(int32_t acc, int32_t oc,
                                                                const tc_conv_params *p, const int32_t *mult,
                                                                const int32_t *shift)
{
    return tc_clamp_s8(tc_requantize(acc, mult[oc], shift[oc]) + p->output_zp, p->act_min, p->act_max);
}

/* The channel loop of a 4-pixel pass (two pair-layout columns at col and col + 2 * len), two output channels at
 * a time; returns the number of channels done (out_c rounded down to even). Its own function so that only the
 * loop's pointers stay live. */
static __attribute__((noinline)) int32_t tc_conv_quad_channels(const int16_t *col, int32_t len, const int8_t *weights,
                                                               const int32_t *bias, const int32_t *mult,
                                                               const int32_t *shift, int32_t out_c, int8_t *dst,
                                                               const tc_conv_params *p)
{
    const int32_t end = out_c & ~1;
    const int16_t *col_b = col + 2 * len;
    int32_t oc;
    for (oc = 0; oc < end; oc += 2, weights += 2 * len) {
        int32_t acc[8];
        acc[0] = acc[2] = acc[4] = acc[6] = bias[oc];
        acc[1] = acc[3] = acc[5] = acc[7] = bias[oc + 1];
        tc_dsp_dot_pair2(col, len, weights, len, acc);
        tc_dsp_dot_pair2(col_b, len, weights, len, acc + 4);
        tc_conv_rq8(acc, dst + oc, out_c, mult + oc, shift + oc, p);
    }
    return end;
}

/* Output pixels q .. q + 2 * n_pairs - 1 (n_pairs 1 or 2) through the pair layout, pair j at col + 2 * len * j:
 * two output channels at a time, so each channel's requantization constants serve 2 * n_pairs outputs. */
static void tc_conv_pair(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in,
                         const tc_dims *filter_dims, const int8_t *weights, const int32_t *bias,
                         const int32_t *mult, const int32_t *shift, const tc_dims *out_dims, int8_t *out,
                         int32_t q, int32_t n_pairs, int pointwise, int16_t *col)
{
    const int32_t in_c = in_dims->c, out_c = out_dims->c, out_w = out_dims->w;
    const int32_t taps = filter_dims->h * filter_dims->w, len = taps * in_c, n4 = len & ~3;
    const int full = p->act_min == -128 && p->act_max == 127; /* clamp is saturation to int8 */
    int8_t *dst = out + q * out_c;
    int32_t j, oc;
    for (j = 0; j < 2 * n_pairs; ++j) {
        int16_t *c = col + 2 * len * (j >> 1);
        if (pointwise) {
            tc_dsp_convert_step(in + (q + j) * in_c, c + 4 * (j & 1), len, p->input_zp, 8,
                                c + 2 * n4 + (j & 1) * (len - n4));
        } else {
            tc_conv_gather(p, in_dims, in, filter_dims->w, (q + j) / out_w, (q + j) % out_w, 0, taps, c, j & 1);
        }
    }
    if (n_pairs == 2) {
        oc = tc_conv_quad_channels(col, len, weights, bias, mult, shift, out_c, dst, p);
    } else {
        for (oc = 0; oc + 2 <= out_c; oc += 2) {
            int32_t acc[4];
            acc[0] = acc[2] = bias[oc];
            acc[1] = acc[3] = bias[oc + 1];
            tc_dsp_dot_pair2(col, len, weights + oc * len, len, acc);
            tc_conv_rq_channel(acc, dst + oc, out_c, 2, mult[oc], shift[oc], p, full);
            tc_conv_rq_channel(acc + 1, dst + oc + 1, out_c, 2, mult[oc + 1], shift[oc + 1], p, full);
        }
    }
    if (oc < out_c) {
        for (j = 0; j < n_pairs; ++j) {
            int32_t acc[2];
            acc[0] = acc[1] = bias[oc];
            tc_dsp_dot_pair1(col + 2 * len * j, len, weights + oc * len, acc);
            dst[2 * j * out_c + oc] = tc_conv_out(acc[0], oc, p, mult, shift);
            dst[(2 * j + 1) * out_c + oc] = tc_conv_out(acc[1], oc, p, mult, shift);
        }
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
    if (4 * len <= TC_DSP_COL_MAX) {
        for (; q + 4 <= n_pixels; q += 4) {
            tc_conv_pair(p, in_dims, in, filter_dims, weights, bias, mult, shift, out_dims, out, q, 2, pointwise,
                         col);
        }
    }
    if (2 * len <= TC_DSP_COL_MAX) {
        for (; q + 2 <= n_pixels; q += 2) {
            tc_conv_pair(p, in_dims, in, filter_dims, weights, bias, mult, shift, out_dims, out, q, 1, pointwise,
                         col);
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
