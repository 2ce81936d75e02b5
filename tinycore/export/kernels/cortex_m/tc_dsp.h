/* tc_dsp.h: packed 16-bit multiply-accumulate helpers for the Cortex-M DSP kernels (ARMv7E-M: M4, M7).
 *
 * Scheme (bit-exact with the portable kernels, which accumulate in int32 in the same way):
 *  - The input side of a conv's dot product (its im2col column) is converted once to int16 with
 *    the input zero point subtracted (range [-255, 255]), in a "group-permuted" order: each full group of 4
 *    values x0 x1 x2 x3 is stored as x0 x2 x1 x3. A tail of < 4 values is stored in order.
 *  - A weight word w = [w0 w1 w2 w3] gives sxtb16(w) = [w0, w2] and sxtb16(w ror 8) = [w1, w3], which line up
 *    with the two int16 pairs of the group, so two SMLADs do 4 MACs with no reordering of the weights.
 *  - Four output rows share each input load (rows4, unrolled by 16 values: the single-pixel conv path);
 *    the conv block path shares each weight load among 2..8 output pixels (block layout, tc_conv2d_s8.c).
 *  - Column-free (rows4_s8: the fully connected kernel, the conv's column-free path): the int8 input is read in
 *    place, each word sign-extended once with the zero point subtracted (SXTAB16) for four weight rows.
 *  - The output stage (requantize, add the zero point, saturate) has a fused form for the usual parameters,
 *    tc_dsp_rq_fast, bit-exact with tc_requantize (derivation below).
 * Without __ARM_FEATURE_DSP (host builds for tests) the same helpers are plain C, so the algorithm is the same.
 *
 * The int16 buffers are the conv's scratch in the arena (at most TC_DSP_COL_MAX values, 2 KiB, sized by
 * tc_conv2d_s8_scratch_bytes in tc_kernels.h, or fewer as the plan gives): callers fall back or chunk beyond that.
 */
#ifndef TC_DSP_H
#define TC_DSP_H

#include <stdint.h>
#include <string.h>

#include "tc_fixedpoint.h"
#include "tc_kernels.h"

#define TC_DSP_COL_MAX TC_COL_VALUES

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
static inline int32_t tc_smlad(int32_t a, int32_t b, int32_t acc) { return __smlad(a, b, acc); }
static inline int32_t tc_sxtb16(int32_t x) { return __sxtb16(x); }
static inline int32_t tc_smlabb(int32_t a, int32_t b, int32_t acc) { return __smlabb(a, b, acc); }
static inline int32_t tc_smlatt(int32_t a, int32_t b, int32_t acc) { return __smlatt(a, b, acc); }
/* gcc 12 does not fold a rotate into sxtb16/sxtab16, so the rotated forms are written in assembly. */
static inline int32_t tc_sxtb16_ror8(int32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
static inline int32_t tc_sxtab16(int32_t a, int32_t x) { return __sxtab16(a, x); }
static inline int32_t tc_sxtab16_ror8(int32_t a, int32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}
#else
static inline int32_t tc_lo16(int32_t x) { return (int32_t)(int16_t)(uint16_t)((uint32_t)x & 0xFFFFu); }
static inline int32_t tc_hi16(int32_t x) { return (int32_t)(int16_t)(uint16_t)((uint32_t)x >> 16); }
static inline int32_t tc_pack16(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)hi << 16) | ((uint32_t)lo & 0xFFFFu));
}
static inline int32_t tc_byte(int32_t x, int i) { return (int32_t)(int8_t)(uint8_t)((uint32_t)x >> (8 * i)); }
static inline int32_t tc_smlad(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tc_lo16(a) * tc_lo16(b)) + (uint32_t)(tc_hi16(a) * tc_hi16(b)));
}
static inline int32_t tc_smlabb(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tc_lo16(a) * tc_lo16(b)));
}
static inline int32_t tc_smlatt(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tc_hi16(a) * tc_hi16(b)));
}
static inline int32_t tc_sxtb16(int32_t x) { return tc_pack16(tc_byte(x, 0), tc_byte(x, 2)); }
static inline int32_t tc_sxtb16_ror8(int32_t x) { return tc_pack16(tc_byte(x, 1), tc_byte(x, 3)); }
static inline int32_t tc_sxtab16(int32_t a, int32_t x)
{
    return tc_pack16(tc_lo16(a) + tc_byte(x, 0), tc_hi16(a) + tc_byte(x, 2));
}
static inline int32_t tc_sxtab16_ror8(int32_t a, int32_t x)
{
    return tc_pack16(tc_lo16(a) + tc_byte(x, 1), tc_hi16(a) + tc_byte(x, 3));
}
#endif

static inline int32_t tc_load32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4); /* one LDR: ARMv7-M allows unaligned word loads */
    return v;
}

/* The zero point negated in both halfwords: the SXTAB16 addend that subtracts it from two int8 values. */
static inline int32_t tc_dsp_nzp(int32_t zp)
{
    return (int32_t)(((uint32_t)(-zp) << 16) | ((uint32_t)(-zp) & 0xFFFFu));
}

/* Position of value k of a column of n values in the group-permuted order. */
static inline int32_t tc_dsp_perm(int32_t k, int32_t n)
{
    return k < (n & ~3) ? ((k & ~3) | ((k & 1) << 1) | ((k & 2) >> 1)) : k;
}

/* Groups of 4 values of src - zp as two int16 pairs, one group every `step` int16 (4: one column, 4P: column of
 * a block of P, tc_conv2d_s8.c); the n % 4 tail values go to tail[] in order. dst must be 4-byte aligned.
 * Two groups per iteration, each stored with one STRD. */
static inline void tc_dsp_convert_step(const int8_t *src, int16_t *dst, int32_t n, int32_t zp, int32_t step,
                                       int16_t *tail)
{
    const int32_t nzp = tc_dsp_nzp(zp);
    const int8_t *s = src, *end8 = src + (n & ~7);
    int32_t *d = (int32_t *)(void *)dst;
    const int32_t words = step / 2;
    int32_t k;
    for (; s != end8; s += 8) {
        const int32_t x = tc_load32(s), y = tc_load32(s + 4);
        int32_t *d1 = d + words;
        d[0] = tc_sxtab16(nzp, x);
        d[1] = tc_sxtab16_ror8(nzp, x);
        d1[0] = tc_sxtab16(nzp, y);
        d1[1] = tc_sxtab16_ror8(nzp, y);
        d = d1 + words;
    }
    if (n & 4) {
        const int32_t x = tc_load32(s);
        d[0] = tc_sxtab16(nzp, x);
        d[1] = tc_sxtab16_ror8(nzp, x);
    }
    for (k = n & ~3; k < n; ++k) {
        tail[k - (n & ~3)] = (int16_t)(src[k] - zp);
    }
}

/* dst (group-permuted, n values) = src - zp. dst must be 4-byte aligned. */
static inline void tc_dsp_convert(const int8_t *src, int16_t *dst, int32_t n, int32_t zp)
{
    tc_dsp_convert_step(src, dst, n, zp, 4, dst + (n & ~3));
}

/* One group of 4 column values against rows 1, 3, 0, 2 (rows 0 and 2 post-increment their pointers). */
#define TC_DSP_ROWS4_GROUP \
    "ldr %[v], [%[p0], %[s]]\n" \
    "sxtb16 %[t], %[v]\n" \
    "smlad %[a1], %[t], %[x02], %[a1]\n" \
    "sxtb16 %[v], %[v], ror #8\n" \
    "smlad %[a1], %[v], %[x13], %[a1]\n" \
    "ldr %[v], [%[p2], %[s]]\n" \
    "sxtb16 %[t], %[v]\n" \
    "smlad %[a3], %[t], %[x02], %[a3]\n" \
    "sxtb16 %[v], %[v], ror #8\n" \
    "smlad %[a3], %[v], %[x13], %[a3]\n" \
    "ldr %[v], [%[p0]], #4\n" \
    "sxtb16 %[t], %[v]\n" \
    "smlad %[a0], %[t], %[x02], %[a0]\n" \
    "sxtb16 %[v], %[v], ror #8\n" \
    "smlad %[a0], %[v], %[x13], %[a0]\n" \
    "ldr %[v], [%[p2]], #4\n" \
    "sxtb16 %[t], %[v]\n" \
    "smlad %[a2], %[t], %[x02], %[a2]\n" \
    "sxtb16 %[v], %[v], ror #8\n" \
    "smlad %[a2], %[v], %[x13], %[a2]\n"

/* Four int8 input values (post-incremented pointer c) as [x0 - zp, x2 - zp] and [x1 - zp, x3 - zp]. */
#define TC_DSP_S8_LOAD \
    "ldr %[v], [%[c]], #4\n" \
    "sxtab16 %[x02], %[nzp], %[v]\n" \
    "sxtab16 %[x13], %[nzp], %[v], ror #8\n"

/* Plain-C form of one group of 4 values, given as the int16 pairs x02 = [x0, x2] and x13 = [x1, x3], against
 * weight rows w0 .. w3 at offset k, into the accumulators a0 .. a3 (scalars of the caller). */
#define TC_DSP_ROWS4_C(k, x02_expr, x13_expr) \
    do { \
        const int32_t x02_ = (x02_expr), x13_ = (x13_expr); \
        int32_t v_; \
        v_ = tc_load32(w0 + (k)); a0 = tc_smlad(tc_sxtb16(v_), x02_, a0); a0 = tc_smlad(tc_sxtb16_ror8(v_), x13_, a0); \
        v_ = tc_load32(w1 + (k)); a1 = tc_smlad(tc_sxtb16(v_), x02_, a1); a1 = tc_smlad(tc_sxtb16_ror8(v_), x13_, a1); \
        v_ = tc_load32(w2 + (k)); a2 = tc_smlad(tc_sxtb16(v_), x02_, a2); a2 = tc_smlad(tc_sxtb16_ror8(v_), x13_, a2); \
        v_ = tc_load32(w3 + (k)); a3 = tc_smlad(tc_sxtb16(v_), x02_, a3); a3 = tc_smlad(tc_sxtb16_ror8(v_), x13_, a3); \
    } while (0)

/* acc[r] += sum_k col[k] * w[r * w_stride + k] for r = 0..3 (col group-permuted, n values, 8-byte aligned).
 * With DSP the loop over 16 values is assembly (gcc 12 spills registers here): per 4 values one LDRD of the
 * column, then per row one LDR, two SXTB16 and two SMLAD: 86 instructions per 64 MACs with the loop branch. */
static inline void tc_dsp_dot_rows4(const int16_t *col, int32_t n, const int8_t *w, int32_t w_stride,
                                    int32_t acc[4])
{
    const int8_t *w0 = w, *w1 = w + w_stride, *w2 = w + 2 * w_stride, *w3 = w + 3 * w_stride;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t k = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (n >= 16) {
        const int8_t *p0 = w0, *p2 = w2;
        const int16_t *c = col, *end = col + (n & ~15);
        int32_t x02, x13, v, t;
        __asm__ volatile(
            "1:\n"
            "ldrd %[x02], %[x13], [%[c]], #8\n"
            TC_DSP_ROWS4_GROUP
            "ldrd %[x02], %[x13], [%[c]], #8\n"
            TC_DSP_ROWS4_GROUP
            "ldrd %[x02], %[x13], [%[c]], #8\n"
            TC_DSP_ROWS4_GROUP
            "ldrd %[x02], %[x13], [%[c]], #8\n"
            TC_DSP_ROWS4_GROUP
            "cmp %[c], %[end]\n"
            "bne 1b\n"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [p0] "+r"(p0), [p2] "+r"(p2),
              [c] "+r"(c), [x02] "=&r"(x02), [x13] "=&r"(x13), [v] "=&r"(v), [t] "=&r"(t)
            : [s] "r"(w_stride), [end] "r"(end)
            : "cc", "memory");
        k = n & ~15;
    }
#endif
    for (; k + 4 <= (n & ~3); k += 4) {
        const int32_t *c = (const int32_t *)(const void *)(col + k);
        TC_DSP_ROWS4_C(k, c[0], c[1]);
    }
    for (; k < n; ++k) {
        const int32_t x = col[k];
        a0 += x * w0[k];
        a1 += x * w1[k];
        a2 += x * w2[k];
        a3 += x * w3[k];
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* Returns acc + sum_k col[k] * w[k] (col group-permuted, n values). */
static inline int32_t tc_dsp_dot_row1(const int16_t *col, int32_t n, const int8_t *w, int32_t acc)
{
    const int32_t *c = (const int32_t *)(const void *)col;
    int32_t k = 0;
    for (; k + 4 <= (n & ~3); k += 4) {
        const int32_t v = tc_load32(w + k);
        acc = tc_smlad(tc_sxtb16(v), c[0], acc);
        acc = tc_smlad(tc_sxtb16_ror8(v), c[1], acc);
        c += 2;
    }
    for (; k < n; ++k) {
        acc += col[k] * w[k];
    }
    return acc;
}

/* ---- Column-free dot products: the int8 input read in place (fully connected, the conv's column-free path) ----
 * Each word of 4 input values x0 x1 x2 x3 is sign-extended once with the zero point subtracted (SXTAB16 of the
 * packed -zp: [x0 - zp, x2 - zp] and [x1 - zp, x3 - zp]), then shared by four weight rows, each of which costs one
 * LDR, two SXTB16 and two SMLAD per 4 MACs as in tc_dsp_dot_rows4. No int16 copy of the input exists anywhere. */

/* acc[r] += sum_k (x[k] - zp) * w[r * w_stride + k] for r = 0..3 in plain C (with the DSP intrinsics): the
 * short runs of the conv's column-free path (n < 16, no call) and the tail of tc_dsp_dot_rows4_s8. */
static inline void tc_dsp_dot_rows4_s8_short(const int8_t *x, int32_t n, int32_t zp, const int8_t *w,
                                             int32_t w_stride, int32_t acc[4])
{
    const int8_t *w0 = w, *w1 = w + w_stride, *w2 = w + 2 * w_stride, *w3 = w + 3 * w_stride;
    const int32_t nzp = tc_dsp_nzp(zp);
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        const int32_t xv = tc_load32(x + k);
        TC_DSP_ROWS4_C(k, tc_sxtab16(nzp, xv), tc_sxtab16_ror8(nzp, xv));
    }
    for (; k < n; ++k) {
        const int32_t xv = x[k] - zp;
        a0 += xv * w0[k];
        a1 += xv * w1[k];
        a2 += xv * w2[k];
        a3 += xv * w3[k];
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* acc[r] += sum_k (x[k] - zp) * w[r * w_stride + k] for r = 0..3; x is int8, n values, any alignment.
 * With DSP the loop over 16 values is assembly: per 4 values one LDR of the input and two SXTAB16, then per row
 * one LDR, two SXTB16 and two SMLAD; its end pointer is kept in memory (13 registers are in use):
 * 92 + 3 instructions per 64 MACs. Out of line, so that no caller's live values compete for those registers
 * (inlined, gcc 12 finds no allocation for the M55). */
static __attribute__((noinline, unused)) void tc_dsp_dot_rows4_s8(const int8_t *x, int32_t n, int32_t zp,
                                                                   const int8_t *w, int32_t w_stride, int32_t acc[4])
{
    int32_t k = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (n >= 16) {
        const int32_t nzp = tc_dsp_nzp(zp);
        const int8_t *p0 = w, *p2 = w + 2 * w_stride, *c = x, *end = x + (n & ~15);
        int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
        int32_t x02, x13, v, t;
        __asm__ volatile(
            "1:\n"
            TC_DSP_S8_LOAD TC_DSP_ROWS4_GROUP
            TC_DSP_S8_LOAD TC_DSP_ROWS4_GROUP
            TC_DSP_S8_LOAD TC_DSP_ROWS4_GROUP
            TC_DSP_S8_LOAD TC_DSP_ROWS4_GROUP
            "ldr %[v], %[end]\n"
            "cmp %[c], %[v]\n"
            "bne 1b\n"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [p0] "+r"(p0), [p2] "+r"(p2),
              [c] "+r"(c), [x02] "=&r"(x02), [x13] "=&r"(x13), [v] "=&r"(v), [t] "=&r"(t)
            : [s] "r"(w_stride), [nzp] "r"(nzp), [end] "m"(end)
            : "cc", "memory");
        acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
        k = n & ~15;
    }
#endif
    if (k < n) { /* the tail (none for multiples of 16: nothing to set up) */
        tc_dsp_dot_rows4_s8_short(x + k, n - k, zp, w + k, w_stride, acc);
    }
}

/* Returns acc + sum_k (x[k] - zp) * w[k] (x int8, n values). */
static inline int32_t tc_dsp_dot_row1_s8(const int8_t *x, int32_t n, int32_t zp, const int8_t *w, int32_t acc)
{
    const int32_t nzp = tc_dsp_nzp(zp);
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        const int32_t xv = tc_load32(x + k), v = tc_load32(w + k);
        acc = tc_smlad(tc_sxtb16(v), tc_sxtab16(nzp, xv), acc);
        acc = tc_smlad(tc_sxtb16_ror8(v), tc_sxtab16_ror8(nzp, xv), acc);
    }
    for (; k < n; ++k) {
        acc += (x[k] - zp) * w[k];
    }
    return acc;
}

/* ---- Fused requantization (the output stage of conv and FC) ----
 *
 * tc_requantize(acc, m, shift) + zp, for m >= 0 and shift in [-23, -2], as one 64-bit multiply-accumulate and one
 * shift. With r = -shift, tc_requantize is v = floor((acc * m + 2**30) / 2**31) (tc_fixedpoint.h) followed by
 * floor((v + 2**(r-1) - [v < 0]) / 2**r) (the rounding divide: ties away from zero). The two floors nest:
 *     result + zp = floor(X / 2**(31 + r)),  X = acc * m + 2**30 + 2**(30 + r) + zp * 2**(31 + r) - 2**31 * neg,
 * neg = [v < 0]. neg = [acc < 0] gives the same result: the two differ only when acc < 0 and
 * acc * m >= -2**30 (m >= 0), where v = 0, and X - zp * 2**(31 + r) then lies in [0, 2**(31 + r)) either way.
 * X is built as words hi:lo with lo = 2**30 + 2**31 * neg, hi = khi - neg, khi = (2 * zp + 1) * 2**(r - 2)
 * (tc_dsp_rq_khi), then acc * m is added (SMLAL) and the result is hi >> (r - 1).
 * Range: |acc * m| < 2**62, |zp * 2**(31 + r)| <= 2**61 for r <= 23 and zp in [-128, 127], so X and its high word
 * cannot wrap; m >= 0 also rules out the one saturating product (INT32_MIN * INT32_MIN) of tc_requantize.
 * Other parameters take tc_requantize (the callers check once per call, tc_dsp_rq_fast_ok). */

/* The per-channel constant of tc_dsp_rq_fast; rm1 = -shift - 1 in [1, 22]. */
static inline int32_t tc_dsp_rq_khi(int32_t zp, int32_t rm1)
{
    return tc_wrap_int32((uint32_t)(2 * zp + 1) << rm1) >> 1;
}

static inline __attribute__((always_inline)) int32_t tc_dsp_rq_fast(int32_t acc, int32_t m, int32_t khi,
                                                                     int32_t rm1)
{
    const uint32_t lo = ((uint32_t)acc & 0x80000000u) | 0x40000000u;
    const int32_t hi = khi + (acc >> 31);
    const uint64_t x = (((uint64_t)(uint32_t)hi << 32) | lo) + (uint64_t)((int64_t)acc * m); /* SMLAL */
    return tc_wrap_int32((uint32_t)(x >> 32)) >> rm1;
}

/* Whether the output stage of n channels can use tc_dsp_rq_fast followed by a saturation to int8 (the clamp is
 * the whole int8 range). One pass over the channels per kernel call, so that the per-output code has no test. */
static inline int tc_dsp_rq_fast_ok(const int32_t *mult, const int32_t *shift, int32_t n, int32_t zp,
                                    int32_t act_min, int32_t act_max)
{
    int32_t i;
    if (act_min != -128 || act_max != 127 || zp < -128 || zp > 127) {
        return 0;
    }
    for (i = 0; i < n; ++i) {
        if (mult[i] < 0 || shift[i] > -2 || shift[i] < -23) {
            return 0;
        }
    }
    return 1;
}

/* x saturated to int8: SSAT on the DSP cores. */
static inline int8_t tc_dsp_sat8(int32_t x)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    return (int8_t)__ssat(x, 8);
#else
    return (int8_t)(x < -128 ? -128 : (x > 127 ? 127 : x));
#endif
}

#endif /* TC_DSP_H */
