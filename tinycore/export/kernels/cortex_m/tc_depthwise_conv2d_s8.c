/* tc_depthwise_conv2d_s8 (Cortex-M DSP): same signature and bytes as portable/tc_depthwise_conv2d_s8.c.
 *
 * Vector path (depth_multiplier 1, at most TC_DW_TAPS_MAX taps): four channels at a time, channel groups outside,
 * output pixels inside. Per group a tap table on the stack holds, for each tap, the group's four weights
 * sign-extended as two int16 pairs ([w0 w2], [w1 w3]) and the tap's byte offset in the input, so one LDM
 * gives a tap's weights and offset. Per pixel and tap: one LDR of the four input channels, two SXTAB16 that
 * subtract the input zero point ([x0 x2], [x1 x3] as int16), and four SMLABB/SMLATT (one MAC each, since every
 * channel has its own sum). No buffer is needed: the 4 accumulators, the table pointer and the input pointer
 * stay in registers (register blocking over channels). Pixels whose window is inside the input run the whole
 * table; border pixels run, per valid kernel row, the valid taps of that row (padding taps are skipped, as in the
 * portable kernel, which is zero in real terms). The output stage is tc_dsp_rq_fast + SSAT when every channel
 * allows it (tc_dsp_rq_fast_ok), else tc_requantize.
 * Scalar path: the channels left over (C % 4), depth_multiplier > 1 and kernels with more taps: one output
 * channel at a time, in plain C.
 *
 * In place (out == in, depth_multiplier 1; scratch holds OH * OW bytes): output pixel q of a channel group lands on
 * input pixel q of the same channels, which later output pixels may still read. Outputs wait in scratch used as a
 * ring (OH * OW / 4 pixels of 4 channels; OH * OW pixels of one channel on the scalar path) and are written out as
 * soon as no later output pixel's window starts at or before them (in raster order the first tap index of the
 * windows never decreases, checked once per call). When the wait would exceed the ring, the groups take the
 * scalar path, whose whole plane fits.
 */
#include <string.h>

#include "tc_dsp.h"
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

/* Taps of the vector path's table (7 x 7): 12 bytes each on the stack. */
#define TC_DW_TAPS_MAX 49

typedef struct {
    int32_t we;  /* weights of channels 0 and 2, int16 each */
    int32_t wo;  /* weights of channels 1 and 3 */
    int32_t off; /* byte offset of the tap from the window's first tap */
} tc_dw_tap;

typedef struct {
    const tc_conv_params *p;
    const tc_dims *in_dims, *fd, *out_dims;
    const int8_t *in, *weights;
    const int32_t *bias, *mult, *shift;
    int8_t *out;
    int8_t *ring;    /* NULL: outputs go straight to out; else in place, staged here */
    int32_t ring_px; /* pixels (of one group) the ring holds */
    int early;       /* write staged pixels out as soon as no later window reads them (tc_dw_ring_fits) */
    int fast;        /* tc_dsp_rq_fast_ok for every channel */
} tc_dw_call;

/* Kernel indices [k0, k1) of a window starting at i0 (dilation d) that fall inside [0, n). */
static inline void tc_dw_range(int32_t i0, int32_t k, int32_t d, int32_t n, int32_t *k0, int32_t *k1)
{
    const int32_t lo = i0 < 0 ? (-i0 + d - 1) / d : 0;
    const int32_t hi = n - 1 - i0 < 0 ? 0 : (n - 1 - i0) / d + 1;
    *k0 = lo;
    *k1 = hi < k ? (hi < lo ? lo : hi) : k;
}

/* Input pixel index of the first tap of output pixel (oy, ox) (may be negative). */
static inline int32_t tc_dw_first_tap(const tc_dw_call *k, int32_t oy, int32_t ox)
{
    const tc_conv_params *p = k->p;
    return (oy * p->stride_h - p->pad_top) * k->in_dims->w + ox * p->stride_w - p->pad_left;
}

/* Pixels [0, limit) of a group may be written out once output pixel q is done: those before the first tap of
 * pixel q + 1 (all after the last pixel). */
static inline int32_t tc_dw_flush_limit(const tc_dw_call *k, int32_t q)
{
    const int32_t out_w = k->out_dims->w, n = k->out_dims->h * out_w;
    int32_t ft;
    if (q + 1 >= n) {
        return n;
    }
    if (!k->early) {
        return 0;
    }
    ft = tc_dw_first_tap(k, (q + 1) / out_w, (q + 1) % out_w);
    return ft < 0 ? 0 : (ft > q + 1 ? q + 1 : ft);
}

/* Whether in-place staging through a ring of k->ring_px pixels never overflows and never writes a pixel that a
 * later window reads (first taps in raster order never decrease). */
static int tc_dw_ring_fits(const tc_dw_call *k)
{
    const int32_t out_w = k->out_dims->w, n = k->out_dims->h * out_w;
    int32_t q, next = 0, prev = tc_dw_first_tap(k, 0, 0);
    for (q = 0; q < n; ++q) {
        const int32_t ft = tc_dw_first_tap(k, q / out_w, q % out_w);
        int32_t lim;
        if (ft < prev || q - next >= k->ring_px) {
            return 0;
        }
        prev = ft;
        lim = tc_dw_flush_limit(k, q);
        next = lim > next ? lim : next;
    }
    return 1;
}

/* a[j] += sum over taps [t, end) of (p[off + j] - zp) * w_j (j = 0..3; nzp = -zp in both int16 halves). */
static inline __attribute__((always_inline)) void tc_dw_taps4(const tc_dw_tap *t, const tc_dw_tap *end,
                                                               const int8_t *p, int32_t nzp, int32_t a[4])
{
    int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    for (; t != end; ++t) {
        const int32_t v = tc_load32(p + t->off);
        const int32_t e = tc_sxtab16(nzp, v), o = tc_sxtab16_ror8(nzp, v);
        a0 = tc_smlabb(e, t->we, a0);
        a2 = tc_smlatt(e, t->we, a2);
        a1 = tc_smlabb(o, t->wo, a1);
        a3 = tc_smlatt(o, t->wo, a3);
    }
    a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3;
}

/* Accumulator of output channel oc at the window starting at input (iy0, ix0), valid taps [ky0, ky1) x [kx0, kx1). */
static int32_t tc_dw_scalar(const tc_dw_call *k, int32_t oc, int32_t iy0, int32_t ix0, int32_t ky0, int32_t ky1,
                            int32_t kx0, int32_t kx1)
{
    const tc_conv_params *p = k->p;
    const int32_t in_w = k->in_dims->w, in_c = k->in_dims->c, k_w = k->fd->w, out_c = k->out_dims->c;
    const int8_t *src = k->in + oc / p->depth_multiplier;
    int32_t acc = k->bias[oc], ky, kx;
    for (ky = ky0; ky < ky1; ++ky) {
        const int32_t row = (iy0 + ky * p->dilation_h) * in_w + ix0;
        for (kx = kx0; kx < kx1; ++kx) {
            acc += ((int32_t)src[(row + kx * p->dilation_w) * in_c] - p->input_zp) *
                   (int32_t)k->weights[(ky * k_w + kx) * out_c + oc];
        }
    }
    return acc;
}

/* Output channels oc .. oc + width - 1 (width 4: vector path with table tab; width 1: scalar path) for every
 * pixel, straight to out or through the ring. */
static inline __attribute__((always_inline)) void tc_dw_channels(const tc_dw_call *k, const tc_dw_tap *tab,
                                                                  int32_t oc, int32_t width)
{
    const tc_conv_params *p = k->p;
    const int32_t in_h = k->in_dims->h, in_w = k->in_dims->w, in_c = k->in_dims->c;
    const int32_t k_h = k->fd->h, k_w = k->fd->w, out_w = k->out_dims->w, out_c = k->out_dims->c;
    const int32_t n_pix = k->out_dims->h * out_w, zp = p->output_zp;
    const int32_t nzp = (int32_t)(((uint32_t)(-p->input_zp) << 16) | ((uint32_t)(-p->input_zp) & 0xFFFFu));
    const int8_t *in_c0 = k->in + oc;
    int32_t m[4], khi[4], rm1[4];
    int32_t oy, ox, j, q = 0, next = 0, slot_w = 0, slot_r = 0;
    for (j = 0; j < width; ++j) {
        m[j] = k->mult[oc + j];
        rm1[j] = -k->shift[oc + j] - 1;
        khi[j] = k->fast ? tc_dsp_rq_khi(zp, rm1[j]) : 0;
    }
    for (oy = 0; oy < k->out_dims->h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        int32_t ky0, ky1, ky;
        tc_dw_range(iy0, k_h, p->dilation_h, in_h, &ky0, &ky1);
        for (ox = 0; ox < out_w; ++ox, ++q) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            int32_t kx0, kx1;
            int32_t a[4];
            int8_t v[4];
            tc_dw_range(ix0, k_w, p->dilation_w, in_w, &kx0, &kx1);
            if (width == 4) {
                const int8_t *px = in_c0 + (iy0 * in_w + ix0) * in_c;
                a[0] = k->bias[oc], a[1] = k->bias[oc + 1], a[2] = k->bias[oc + 2], a[3] = k->bias[oc + 3];
                if (ky1 - ky0 == k_h && kx1 - kx0 == k_w) {
                    tc_dw_taps4(tab, tab + k_h * k_w, px, nzp, a);
                } else {
                    for (ky = ky0; ky < ky1; ++ky) {
                        tc_dw_taps4(tab + ky * k_w + kx0, tab + ky * k_w + kx1, px, nzp, a);
                    }
                }
            } else {
                a[0] = tc_dw_scalar(k, oc, iy0, ix0, ky0, ky1, kx0, kx1);
            }
            for (j = 0; j < width; ++j) {
                v[j] = k->fast ? tc_dsp_sat8(tc_dsp_rq_fast(a[j], m[j], khi[j], rm1[j]))
                               : tc_output_s8(tc_requantize(a[j], m[j], -rm1[j] - 1), zp, p->act_min, p->act_max);
            }
            if (k->ring == NULL) {
                memcpy(k->out + q * out_c + oc, v, (size_t)width);
            } else {
                const int32_t lim = tc_dw_flush_limit(k, q);
                memcpy(k->ring + slot_w * width, v, (size_t)width);
                slot_w = slot_w + 1 == k->ring_px ? 0 : slot_w + 1;
                for (; next < lim; ++next) {
                    memcpy(k->out + next * out_c + oc, k->ring + slot_r * width, (size_t)width);
                    slot_r = slot_r + 1 == k->ring_px ? 0 : slot_r + 1;
                }
            }
        }
    }
    (void)n_pix;
}

/* One function per width, so that each keeps its accumulators in registers. */
static __attribute__((noinline)) void tc_dw_channels4(const tc_dw_call *k, const tc_dw_tap *tab, int32_t oc)
{
    tc_dw_channels(k, tab, oc, 4);
}

static __attribute__((noinline)) void tc_dw_channels1(const tc_dw_call *k, int32_t oc)
{
    tc_dw_channels(k, NULL, oc, 1);
}

void tc_depthwise_conv2d_s8(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in,
                            const tc_dims *filter_dims, const int8_t *weights, const int32_t *bias,
                            const int32_t *mult, const int32_t *shift, const tc_dims *out_dims, int8_t *out,
                            int8_t *scratch)
{
    tc_dw_tap tab[TC_DW_TAPS_MAX];
    const int32_t k_w = filter_dims->w, taps = filter_dims->h * k_w, out_c = out_dims->c;
    const int32_t n_pix = out_dims->h * out_dims->w;
    const int inplace = (const int8_t *)out == in;
    tc_dw_call k;
    int32_t oc = 0, t;
    k.p = p, k.in_dims = in_dims, k.fd = filter_dims, k.out_dims = out_dims, k.in = in, k.weights = weights;
    k.bias = bias, k.mult = mult, k.shift = shift, k.out = out;
    k.fast = tc_dsp_rq_fast_ok(mult, shift, out_c, p->output_zp, p->act_min, p->act_max);
    k.ring = inplace ? scratch : NULL;
    k.ring_px = n_pix / 4;
    k.early = 1;
    if (p->depth_multiplier == 1 && taps <= TC_DW_TAPS_MAX && out_c >= 4 && (!inplace || tc_dw_ring_fits(&k))) {
        for (t = 0; t < taps; ++t) {
            tab[t].off = ((t / k_w) * p->dilation_h * in_dims->w + (t % k_w) * p->dilation_w) * in_dims->c;
        }
        for (; oc + 4 <= out_c; oc += 4) {
            for (t = 0; t < taps; ++t) {
                const int32_t w = tc_load32(weights + t * out_c + oc);
                tab[t].we = tc_sxtb16(w);
                tab[t].wo = tc_sxtb16_ror8(w);
            }
            tc_dw_channels4(&k, tab, oc);
        }
    }
    k.ring_px = n_pix;
    k.early = 0; /* the whole plane of one channel fits: write it out after its last pixel */
    for (; oc < out_c; ++oc) {
        tc_dw_channels1(&k, oc);
    }
}
