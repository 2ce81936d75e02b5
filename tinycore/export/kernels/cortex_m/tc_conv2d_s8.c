/* tc_conv2d_s8 (Cortex-M DSP): same signature and bytes as portable/tc_conv2d_s8.c.
 *
 * The receptive field of an output pixel (KH x KW x Cin, in weight order, len values) is gathered into an int16
 * column minus the input zero point (padding taps are 0, the zero point in real terms); the columns live in the
 * caller's scratch, planned in the arena (tc_conv2d_s8_scratch_bytes), not on the stack. Multiply-accumulate is
 * SMLAD on int16 pairs (tc_dsp.h). Two paths:
 *  - block path (P x len4 <= TC_DSP_COL_MAX for some P >= 2, len4 = len rounded up to 4): P = 2..8 output pixels
 *    at once (the most that fit, then one block of those left over), one output channel at a time. Each weight
 *    word is loaded and sign-extended once for the P pixels (3 instructions), then each pixel costs one LDRD of
 *    its column and two SMLADs: 3 + 3P instructions per 4P MACs (P = 8: 27 per 32). The P accumulators of a
 *    channel are requantized together, so the channel's constants are loaded once per P outputs; with the usual
 *    parameters (tc_dsp_rq_fast_ok, decided once per call) the output stage is tc_dsp_rq_fast and SSAT, about 9
 *    instructions per output with the store. For 1x1 64 -> 64 (P = 8) that is ~1.15 instructions per MAC.
 *  - single path (one pixel left over, or columns too long for a block of two): four output channels at a time
 *    (tc_dsp_dot_rows4); columns longer than TC_DSP_COL_MAX go in chunks of whole taps, and a tap longer than
 *    that in plain C.
 *  - column-free path (p->columns == -1, chosen by the arena plan when any column would raise its peak): four
 *    output channels at a time read each input row of the receptive field in place (tc_dsp_dot_rows4_s8, SXTAB16
 *    of the input word shared by the four rows), skipping padding taps.
 * p->columns > 0 caps the block size (1: the single path only) where the plan gives a smaller column area.
 * In place (out == in: 1x1, Cout <= Cin): a block converts all its pixels' inputs before writing any output,
 * and pixel q's output only overlaps the inputs of pixels <= q, so blocks are safe; the single path still goes
 * through `scratch` as the portable kernel does.
 *
 * Block layout of P columns (len4 values each): group g (values 4g .. 4g + 3) of column j is at int16 offset
 * (g * P + j) * 4, group-permuted (tc_dsp.h), so the inner loop walks the buffer with one post-incremented
 * pointer; values len .. len4 - 1 are 0. The weight rows keep their (Cout, KH, KW, Cin) layout: a row's last,
 * partial word reads up to 3 bytes past the row, which meet those zeros; rows with fewer than that many weight
 * bytes after them (the last row, or the last few when rows are 1 or 2 bytes long) read their bytes one by one
 * instead, so nothing past the weights is read.
 */
#include <string.h>

#include "tc_dsp.h"
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

/* Block sizes 2 .. 8: the loop of P = 8 holds 8 accumulators and 6 pointers and temporaries, all 14 registers
 * (its end pointer stays on the stack). tc_conv2d_s8_col_bytes (tc_kernels.h) sizes the column area by it. */
#define TC_CONV_P_MAX TC_CONV_BLOCK_MAX

/* Taps [t0, t1) of the receptive field of output pixel (oy, ox), minus the zero point, into col (single path:
 * group-permuted, in order tail). */
static void tc_conv_gather(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in, int32_t k_w,
                           int32_t oy, int32_t ox, int32_t t0, int32_t t1, int16_t *col)
{
    const int32_t in_c = in_dims->c;
    const int32_t n = (t1 - t0) * in_c;
    int32_t t, ic;
    for (t = t0; t < t1; ++t) {
        const int32_t iy = oy * p->stride_h - p->pad_top + (t / k_w) * p->dilation_h;
        const int32_t ix = ox * p->stride_w - p->pad_left + (t % k_w) * p->dilation_w;
        const int32_t off = (t - t0) * in_c;
        const int inside = iy >= 0 && iy < in_dims->h && ix >= 0 && ix < in_dims->w;
        const int8_t *src = inside ? in + (iy * in_dims->w + ix) * in_c : in;
        if ((in_c & 3) == 0) { /* whole groups: a word at a time */
            if (inside) {
                tc_dsp_convert_step(src, col + off, in_c, p->input_zp, 4, col + off);
            } else {
                memset(col + off, 0, (size_t)in_c * sizeof(int16_t));
            }
        } else {
            for (ic = 0; ic < in_c; ++ic) {
                col[tc_dsp_perm(off + ic, n)] = (int16_t)(inside ? src[ic] - p->input_zp : 0);
            }
        }
    }
}

/* n bytes from src to dst, a word at a time (ARMv7-M loads and stores words at any address). */
static inline void tc_conv_copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const int32_t v = tc_load32(src + i);
        memcpy(dst + i, &v, 4);
    }
    for (; i < n; ++i) {
        dst[i] = src[i];
    }
}

/* n bytes of value v (an int8 value). */
static inline void tc_conv_set_bytes(int8_t *dst, int32_t v, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = (int8_t)v;
    }
}

/* Column j of a block (dst = col + 4 * j, groups every `step` = 4P int16): output pixel (oy, ox)'s receptive
 * field. With Cin % 4 == 0 each tap converts straight from the input, a word (4 values) at a time; otherwise the
 * taps are first copied as bytes into `stage` (len4 bytes; padding taps and the len4 - len filler hold the zero
 * point, so they convert to 0) and converted in one pass. Out of line: it runs once per pixel and needs its own
 * registers. */
static __attribute__((noinline)) void tc_conv_fill(const tc_conv_params *p, const tc_dims *in_dims,
                                                   const int8_t *in, const tc_dims *filter_dims, int32_t oy,
                                                   int32_t ox, int16_t *dst, int32_t step, int8_t *stage)
{
    const int32_t in_c = in_dims->c, in_h = in_dims->h, in_w = in_dims->w, zp = p->input_zp;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, dil_h = p->dilation_h, dil_w = p->dilation_w;
    const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
    int32_t ky, kx;
    if ((in_c & 3) == 0) {
        const int32_t nzp = tc_dsp_nzp(zp);
        const int32_t words = step >> 1, tap_words = (in_c >> 2) * words;
        int32_t *d = (int32_t *)(void *)dst;
        for (ky = 0; ky < k_h; ++ky) {
            const int32_t iy = iy0 + ky * dil_h;
            const int row_inside = iy >= 0 && iy < in_h;
            const int8_t *row = row_inside ? in + iy * in_w * in_c : in;
            for (kx = 0; kx < k_w; ++kx) {
                const int32_t ix = ix0 + kx * dil_w;
                int32_t *tap_end = d + tap_words;
                if (row_inside && ix >= 0 && ix < in_w) {
                    const int8_t *src = row + ix * in_c;
                    for (; d != tap_end; d += words, src += 4) {
                        const int32_t x = tc_load32(src);
                        d[0] = tc_sxtab16(nzp, x);
                        d[1] = tc_sxtab16_ror8(nzp, x);
                    }
                } else {
                    for (; d != tap_end; d += words) {
                        d[0] = 0;
                        d[1] = 0;
                    }
                }
            }
        }
    } else {
        const int32_t row_bytes = k_w * in_c;
        int8_t *s = stage;
        for (ky = 0; ky < k_h; ++ky, s += row_bytes) {
            const int32_t iy = iy0 + ky * dil_h;
            if (iy < 0 || iy >= in_h) {
                tc_conv_set_bytes(s, zp, row_bytes);
            } else if (dil_w == 1 && ix0 >= 0 && ix0 + k_w <= in_w) { /* the row's taps are contiguous */
                tc_conv_copy_bytes(s, in + (iy * in_w + ix0) * in_c, row_bytes);
            } else {
                for (kx = 0; kx < k_w; ++kx) {
                    const int32_t ix = ix0 + kx * dil_w;
                    if (ix >= 0 && ix < in_w) {
                        tc_conv_copy_bytes(s + kx * in_c, in + (iy * in_w + ix) * in_c, in_c);
                    } else {
                        tc_conv_set_bytes(s + kx * in_c, zp, in_c);
                    }
                }
            }
        }
        tc_conv_set_bytes(s, zp, (-(int32_t)(s - stage)) & 3); /* the filler up to len4 */
        s += (-(int32_t)(s - stage)) & 3;
        tc_dsp_convert_step(stage, dst, (int32_t)(s - stage), zp, step, dst);
    }
}

/* ---- Dot products of one weight row with the P columns of a block ----
 * The accumulators are named scalars a0 .. a7 (a0 .. a{P-1} used), not an array: gcc keeps an array that loops
 * index in memory, which would add a store and a load per accumulator around every row. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* One group: the weight word sign-extended once (e = [w0, w2], o = [w1, w3]), then per column one LDRD of its
 * permuted group ([x0, x2], [x1, x3]) and two SMLADs. */
#define TC_BLK_W "ldr %[o], [%[w]], #4\n\t" "sxtb16 %[e], %[o]\n\t" "sxtb16 %[o], %[o], ror #8\n\t"
#define TC_BLK_X(j) \
    "ldrd %[xa], %[xb], [%[c]], #8\n\t" \
    "smlad %[a" #j "], %[e], %[xa], %[a" #j "]\n\t" \
    "smlad %[a" #j "], %[o], %[xb], %[a" #j "]\n\t"
#define TC_BLK_G2 TC_BLK_W TC_BLK_X(0) TC_BLK_X(1)
#define TC_BLK_G3 TC_BLK_G2 TC_BLK_X(2)
#define TC_BLK_G4 TC_BLK_G3 TC_BLK_X(3)
#define TC_BLK_G5 TC_BLK_G4 TC_BLK_X(4)
#define TC_BLK_G6 TC_BLK_G5 TC_BLK_X(5)
#define TC_BLK_G7 TC_BLK_G6 TC_BLK_X(6)
#define TC_BLK_G8 TC_BLK_G7 TC_BLK_X(7)
#define TC_BLK_A2 [a0] "+r"(a0), [a1] "+r"(a1)
#define TC_BLK_A3 TC_BLK_A2, [a2] "+r"(a2)
#define TC_BLK_A4 TC_BLK_A3, [a3] "+r"(a3)
#define TC_BLK_A5 TC_BLK_A4, [a4] "+r"(a4)
#define TC_BLK_A6 TC_BLK_A5, [a5] "+r"(a5)
#define TC_BLK_A7 TC_BLK_A6, [a6] "+r"(a6)
#define TC_BLK_A8 TC_BLK_A7, [a7] "+r"(a7)
/* The n_g full groups of a weight row (advancing w): first the n_g % 4 single groups up to col_mid, then four
 * per iteration (2 loop instructions per 4 groups) up to col_end. P = 8 leaves no register for the loop bound:
 * it stays in memory and is loaded into xa, free at that point, for the compare. */
#define TC_BLK_CMP_R "cmp %[c], %[end]\n\t"
#define TC_BLK_CMP_M "ldr %[xa], %[end]\n\t" "cmp %[c], %[xa]\n\t"
#define TC_BLK_LOOP(P, body, stop, cmp, end_constraint) \
    __asm__ volatile("1:\n\t" body cmp "bne 1b\n" \
                     : TC_BLK_A##P, [c] "+r"(c), [w] "+r"(w), [e] "=&r"(e), [o] "=&r"(o), [xa] "=&r"(xa), \
                       [xb] "=&r"(xb) \
                     : [end] end_constraint(stop) \
                     : "cc", "memory")
#define TC_BLK_DOT_CMP(P, cmp, end_constraint) \
    do { \
        const int16_t *c = col; \
        int32_t e, o, xa, xb; \
        if (c != col_mid) { \
            TC_BLK_LOOP(P, TC_BLK_G##P, col_mid, cmp, end_constraint); \
        } \
        if (c != col_end) { \
            TC_BLK_LOOP(P, TC_BLK_G##P TC_BLK_G##P TC_BLK_G##P TC_BLK_G##P, col_end, cmp, end_constraint); \
        } \
    } while (0)
#define TC_BLK_DOT(P) TC_BLK_DOT_CMP(P, TC_BLK_CMP_R, "r")
#define TC_BLK_DOT8() TC_BLK_DOT_CMP(8, TC_BLK_CMP_M, "m")
#else
/* Plain C twin (host builds): a[j] += the n_g full groups of column j times weight row w. */
static void tc_conv_dot_block_c(int32_t *a, const int16_t *col, const int8_t *w, int32_t n_g, int32_t P)
{
    const int32_t *cw = (const int32_t *)(const void *)col;
    int32_t g, j;
    for (g = 0; g < n_g; ++g, w += 4) {
        const int32_t v = tc_load32(w), e = tc_sxtb16(v), o = tc_sxtb16_ror8(v);
        for (j = 0; j < P; ++j, cw += 2) {
            a[j] = tc_smlad(e, cw[0], a[j]);
            a[j] = tc_smlad(o, cw[1], a[j]);
        }
    }
}
#define TC_BLK_DOT(P) \
    do { \
        int32_t a_[TC_CONV_P_MAX] = {a0, a1, a2, a3, a4, a5, a6, a7}; \
        (void)col_mid; /* the asm loop's split point */ \
        tc_conv_dot_block_c(a_, col, w, n_g, P); \
        a0 = a_[0], a1 = a_[1], a2 = a_[2], a3 = a_[3], a4 = a_[4], a5 = a_[5], a6 = a_[6], a7 = a_[7]; \
        w += 4 * n_g; \
    } while (0)
#define TC_BLK_DOT8() TC_BLK_DOT(8)
#endif

/* The `tail` (1..3) bytes at w as a word, upper bytes 0, without reading past them. */
static inline int32_t tc_conv_load_tail(const int8_t *w, int32_t tail)
{
    uint32_t v = (uint8_t)w[0];
    if (tail > 1) {
        v |= (uint32_t)(uint8_t)w[1] << 8;
    }
    if (tail > 2) {
        v |= (uint32_t)(uint8_t)w[2] << 16;
    }
    return (int32_t)v;
}

/* Output stage outside the fast case (tc_dsp_rq_fast_ok false), one channel: outputs d[i * stride] from acc[i],
 * i < count. Out of line and taking an array, so that only this branch of the block code spills accumulators. */
static __attribute__((noinline)) void tc_conv_rq_general(const int32_t *acc, int32_t count, int8_t *d,
                                                         int32_t stride, int32_t m, int32_t s,
                                                         const tc_conv_params *p)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        d[i * stride] = tc_output_s8(tc_requantize(acc[i], m, s), p->output_zp, p->act_min, p->act_max);
    }
}

typedef struct {
    const int16_t *col; /* the block's P columns */
    int32_t len;        /* values per column before padding to a multiple of 4 */
    const int8_t *weights;
    const int32_t *bias, *mult, *shift;
    int32_t out_c;
    int32_t word_rows; /* rows 0 .. word_rows - 1 may read their partial last word whole (see the top) */
    int8_t *dst;       /* output of the block's first pixel; pixel j's at dst + j * out_c */
    int fast;          /* tc_dsp_rq_fast_ok for the whole call */
    const tc_conv_params *p;
} tc_conv_block;

/* Column j's share of the zero-padded last group (weight word split into e, o; cw: the group's words). */
#define TC_BLK_TAIL(j) \
    if (P > j) { \
        a##j = tc_smlad(e, cw[2 * j], a##j); \
        a##j = tc_smlad(o, cw[2 * j + 1], a##j); \
    }
/* Output of column j, fast output stage. */
#define TC_BLK_OUT(j) \
    if (P > j) { \
        d[j * out_c] = tc_dsp_sat8(tc_dsp_rq_fast(a##j, m, khi, rm1)); \
    }

/* Every output channel of a block of P pixels (P constant after inlining). The channel's bias, multiplier and
 * shift are read after its dot product: the asm's memory clobber would otherwise keep them live (on the stack)
 * across it. */
static inline __attribute__((always_inline)) void tc_conv_block_channels(const tc_conv_block *b, const int P)
{
    const int32_t len = b->len, n_g = len >> 2, tail = len & 3, out_c = b->out_c;
    const int32_t zp = b->p->output_zp, fast = b->fast;
    const int32_t *bias = b->bias, *mult = b->mult, *shift = b->shift;
    const int16_t *col = b->col, *col_mid = col + 4 * P * (n_g & 3), *col_end = col + 4 * P * n_g;
    const int8_t *w = b->weights; /* advanced row by row by the dot product and the tail */
    int8_t *d = b->dst;
    int32_t oc;
    for (oc = 0; oc < out_c; ++oc, ++d) {
        int32_t a0, a1, a2, a3, a4, a5, a6, a7;
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = bias[oc];
        if (P == 2) {
            TC_BLK_DOT(2);
        } else if (P == 3) {
            TC_BLK_DOT(3);
        } else if (P == 4) {
            TC_BLK_DOT(4);
        } else if (P == 5) {
            TC_BLK_DOT(5);
        } else if (P == 6) {
            TC_BLK_DOT(6);
        } else if (P == 7) {
            TC_BLK_DOT(7);
        } else {
            TC_BLK_DOT8();
        }
        if (tail) {
            const int32_t v = oc < b->word_rows ? tc_load32(w) : tc_conv_load_tail(w, tail);
            const int32_t e = tc_sxtb16(v), o = tc_sxtb16_ror8(v);
            const int32_t *cw = (const int32_t *)(const void *)col_end;
            TC_BLK_TAIL(0) TC_BLK_TAIL(1) TC_BLK_TAIL(2) TC_BLK_TAIL(3)
            TC_BLK_TAIL(4) TC_BLK_TAIL(5) TC_BLK_TAIL(6) TC_BLK_TAIL(7)
            w += tail;
        }
        if (fast) {
            const int32_t m = mult[oc], rm1 = -shift[oc] - 1, khi = tc_dsp_rq_khi(zp, rm1);
            TC_BLK_OUT(0) TC_BLK_OUT(1) TC_BLK_OUT(2) TC_BLK_OUT(3)
            TC_BLK_OUT(4) TC_BLK_OUT(5) TC_BLK_OUT(6) TC_BLK_OUT(7)
        } else {
            const int32_t acc[TC_CONV_P_MAX] = {a0, a1, a2, a3, a4, a5, a6, a7};
            tc_conv_rq_general(acc, P, d, out_c, mult[oc], shift[oc], b->p);
        }
    }
}

/* One function per block size, so that each keeps its accumulators in registers. */
static __attribute__((noinline)) void tc_conv_block2(const tc_conv_block *b) { tc_conv_block_channels(b, 2); }
static __attribute__((noinline)) void tc_conv_block3(const tc_conv_block *b) { tc_conv_block_channels(b, 3); }
static __attribute__((noinline)) void tc_conv_block4(const tc_conv_block *b) { tc_conv_block_channels(b, 4); }
static __attribute__((noinline)) void tc_conv_block5(const tc_conv_block *b) { tc_conv_block_channels(b, 5); }
static __attribute__((noinline)) void tc_conv_block6(const tc_conv_block *b) { tc_conv_block_channels(b, 6); }
static __attribute__((noinline)) void tc_conv_block7(const tc_conv_block *b) { tc_conv_block_channels(b, 7); }
static __attribute__((noinline)) void tc_conv_block8(const tc_conv_block *b) { tc_conv_block_channels(b, 8); }

/* Output pixels q .. q + n_px - 1 (2 <= n_px <= TC_CONV_P_MAX) through the block path; b->dst is pixel q's
 * output. A 1x1 stride-1 unpadded convolution with Cin % 4 == 0 converts each pixel straight from the input. */
static void tc_conv_run_block(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in,
                              const tc_dims *filter_dims, const tc_dims *out_dims, int32_t q, int32_t n_px,
                              int pointwise, int16_t *col, int8_t *stage, const tc_conv_block *b)
{
    const int32_t out_w = out_dims->w, in_c = in_dims->c;
    int32_t j;
    if (pointwise && (in_c & 3) == 0) {
        for (j = 0; j < n_px; ++j) {
            tc_dsp_convert_step(in + (q + j) * in_c, col + 4 * j, in_c, p->input_zp, 4 * n_px, col);
        }
    } else {
        for (j = 0; j < n_px; ++j) {
            tc_conv_fill(p, in_dims, in, filter_dims, (q + j) / out_w, (q + j) % out_w, col + 4 * j, 4 * n_px,
                         stage);
        }
    }
    switch (n_px) {
    case 2: tc_conv_block2(b); break;
    case 3: tc_conv_block3(b); break;
    case 4: tc_conv_block4(b); break;
    case 5: tc_conv_block5(b); break;
    case 6: tc_conv_block6(b); break;
    case 7: tc_conv_block7(b); break;
    default: tc_conv_block8(b); break;
    }
}

/* Requantized output of channel oc (single path). */
static inline __attribute__((always_inline)) int8_t tc_conv_out(int32_t acc, int32_t oc, const tc_conv_params *p,
                                                                const int32_t *mult, const int32_t *shift, int fast)
{
    if (fast) {
        const int32_t rm1 = -shift[oc] - 1;
        return tc_dsp_sat8(tc_dsp_rq_fast(acc, mult[oc], tc_dsp_rq_khi(p->output_zp, rm1), rm1));
    }
    return tc_output_s8(tc_requantize(acc, mult[oc], shift[oc]), p->output_zp, p->act_min, p->act_max);
}

/* Output pixel q alone, into dst: four output channels at a time, chunked columns. */
static void tc_conv_single(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in,
                           const tc_dims *filter_dims, const int8_t *weights, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, const tc_dims *out_dims, int8_t *dst,
                           int32_t q, int pointwise, int fast, int16_t *col)
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
        tc_conv_gather(p, in_dims, in, k_w, oy, ox, 0, taps, col);
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
                tc_conv_gather(p, in_dims, in, k_w, oy, ox, t0, t1, col);
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
            dst[oc + r] = tc_conv_out(acc[r], oc + r, p, mult, shift, fast);
        }
    }
}

/* Output pixel q into dst without a column (p->columns == -1): four output channels at a time, each input row of
 * the receptive field read in place (tc_dsp_dot_rows4_s8), as one run of KW * Cin values when its taps are
 * contiguous and inside the input, else tap by tap; padding taps are skipped (their value is the zero point).
 * Out of line: the dot product's assembly needs 13 registers, which the caller's live values would not leave. */
static __attribute__((noinline)) void tc_conv_direct(const tc_conv_params *p, const tc_dims *in_dims,
                                                    const int8_t *in, const tc_dims *filter_dims,
                                                    const int8_t *weights, const int32_t *bias,
                                                    const int32_t *mult, const int32_t *shift,
                                                    const tc_dims *out_dims, int8_t *dst, int32_t q, int fast)
{
    const int32_t in_c = in_dims->c, in_h = in_dims->h, in_w = in_dims->w, zp = p->input_zp;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, out_c = out_dims->c, len = k_h * k_w * in_c;
    const int32_t iy0 = (q / out_dims->w) * p->stride_h - p->pad_top;
    const int32_t ix0 = (q % out_dims->w) * p->stride_w - p->pad_left;
    const int whole_rows = p->dilation_w == 1 && ix0 >= 0 && ix0 + k_w <= in_w;
    int32_t oc, r, ky, kx;
    for (oc = 0; oc < out_c; oc += 4) {
        const int32_t rows = out_c - oc < 4 ? out_c - oc : 4;
        int32_t acc[4] = {0, 0, 0, 0};
        for (r = 0; r < rows; ++r) {
            acc[r] = bias[oc + r];
        }
        for (ky = 0; ky < k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dilation_h;
            const int8_t *w_row = weights + oc * len + ky * k_w * in_c;
            if (iy < 0 || iy >= in_h) {
                continue;
            }
            for (kx = 0; kx < k_w; kx += whole_rows ? k_w : 1) {
                const int32_t ix = ix0 + kx * p->dilation_w, n = whole_rows ? k_w * in_c : in_c;
                const int8_t *x, *w = w_row + kx * in_c;
                if (ix < 0 || ix >= in_w) {
                    continue;
                }
                x = in + (iy * in_w + ix) * in_c;
                if (rows == 4 && n < 16) { /* short runs (small Cin): no call */
                    tc_dsp_dot_rows4_s8_short(x, n, zp, w, len, acc);
                } else if (rows == 4) {
                    tc_dsp_dot_rows4_s8(x, n, zp, w, len, acc);
                } else {
                    for (r = 0; r < rows; ++r) {
                        acc[r] = tc_dsp_dot_row1_s8(x, n, zp, w + r * len, acc[r]);
                    }
                }
            }
        }
        for (r = 0; r < rows; ++r) {
            dst[oc + r] = tc_conv_out(acc[r], oc + r, p, mult, shift, fast);
        }
    }
}

void tc_conv2d_s8(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in, const tc_dims *filter_dims,
                  const int8_t *weights, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                  const tc_dims *out_dims, int8_t *out, int8_t *scratch)
{
    const int32_t len = filter_dims->h * filter_dims->w * in_dims->c, len4 = (len + 3) & ~3;
    const int32_t n_pixels = out_dims->h * out_dims->w, out_c = out_dims->c;
    const int pointwise = filter_dims->h * filter_dims->w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                          p->pad_top == 0 && p->pad_left == 0 && in_dims->h == out_dims->h &&
                          in_dims->w == out_dims->w;
    const int inplace = (const int8_t *)out == in;
    /* scratch (tc_conv2d_s8_scratch_bytes): [in place: one output pixel, Cout rounded to 4][column area] */
    int16_t *col = (int16_t *)(void *)(scratch + (inplace ? tc_round4(out_c) : 0));
    const int32_t col_bytes = 2 * TC_DSP_COL_MAX; /* the most a column area uses: the fit below as before */
    const int fast = tc_dsp_rq_fast_ok(mult, shift, out_c, p->output_zp, p->act_min, p->act_max);
    /* Bytes of the block's staging area (tc_conv_fill), after the columns in col[]. */
    const int32_t stage_bytes = (in_dims->c & 3) ? len4 : 0;
    const int32_t fit = (col_bytes - stage_bytes) / (2 * len4);
    const int32_t fit_max = fit < TC_CONV_P_MAX ? fit : TC_CONV_P_MAX;
    const int32_t p_max = p->columns > 0 && p->columns < fit_max ? p->columns : fit_max; /* the plan's cap */
    int32_t q = 0;
    if (p->columns < 0) { /* column-free: the scratch holds at most the in-place pixel */
        for (; q < n_pixels; ++q) {
            int8_t *dst = inplace ? scratch : out + q * out_c;
            tc_conv_direct(p, in_dims, in, filter_dims, weights, bias, mult, shift, out_dims, dst, q, fast);
            if (inplace) {
                memcpy(out + q * out_c, scratch, (size_t)out_c);
            }
        }
        return;
    }
    if (p_max >= 2 && n_pixels >= 2) {
        const int32_t n_blk = n_pixels < p_max ? n_pixels : p_max;
        tc_conv_block b;
        b.len = len, b.weights = weights, b.bias = bias, b.mult = mult, b.shift = shift, b.out_c = out_c;
        b.word_rows = out_c - (4 - (len & 3) + len - 1) / len; /* rows followed by >= 4 - tail weight bytes */
        b.fast = fast, b.p = p, b.col = col;
        while (n_pixels - q >= 2) { /* blocks of n_blk, then one of the 2..n_blk - 1 left over */
            const int32_t n_px = n_pixels - q < n_blk ? n_pixels - q : n_blk;
            b.dst = out + q * out_c;
            tc_conv_run_block(p, in_dims, in, filter_dims, out_dims, q, n_px, pointwise, col,
                              (int8_t *)(col + n_px * len4), &b);
            q += n_px;
        }
    }
    for (; q < n_pixels; ++q) {
        int8_t *dst = inplace ? scratch : out + q * out_c;
        tc_conv_single(p, in_dims, in, filter_dims, weights, bias, mult, shift, out_dims, dst, q, pointwise, fast,
                       col);
        if (inplace) {
            memcpy(out + q * out_c, scratch, (size_t)out_c);
        }
    }
}
