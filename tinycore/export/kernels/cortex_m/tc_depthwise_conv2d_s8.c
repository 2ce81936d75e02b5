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
 * Row-run path (the vector path's fast case, when a row's runs fit; see "Row-run path" below): per output row and
 * group, runs of pixels with the same gathered taps, the zero point folded into each run's biases, and a whole row
 * in one assembly block; 3.96 instructions per MAC on the DS-CNN 25 x 5 x 64 layer in place (bench/kernels.py).
 * Scalar path: the channels left over (C % 4), depth_multiplier > 1 and kernels with more taps: one output
 * channel at a time, in plain C.
 *
 * In place (out == in, depth_multiplier 1; scratch holds OH * OW bytes): output pixel q of a channel group lands on
 * input pixel q of the same channels, which later output pixels may still read. Outputs wait in scratch used as a
 * ring (OH * OW / 4 pixels of 4 channels; OH * OW pixels of one channel on the scalar path) and are written out as
 * soon as no later output pixel's window starts at or before them (in raster order the first tap index of the
 * windows never decreases, checked once per call); the vector path writes them out at the end of each output row,
 * so its ring holds a row more; the row-run path's ring holds whole rows (OH * OW / 4 rounded down to rows) and
 * writes out whole rows. When the wait would exceed the ring, the groups take the scalar path, whose whole plane
 * fits.
 */
#include <stddef.h>
#include <string.h>

#include "tc_dsp.h"
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

/* Taps of the vector path's table (7 x 7): 12 bytes each on the stack. */
#define TC_DW_TAPS_MAX 49
/* Taps of the two border-shape tables (up to 5 x 5 kernels; 7 x 7 borders go row by row). */
#define TC_DW_EDGE_TAPS 25

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
    int whole_rows;  /* ... but only whole output rows (the row-run path) */
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

/* Pixels [0, limit) of a group may be written out once output pixel q = (oy, ox) is done: those before the first
 * tap of pixel q + 1 (all after the last pixel). */
static inline int32_t tc_dw_limit(const tc_dw_call *k, int32_t oy, int32_t ox, int32_t q)
{
    const int32_t out_w = k->out_dims->w;
    int32_t ft;
    if (q + 1 >= k->out_dims->h * out_w) {
        return q + 1;
    }
    if (!k->early) {
        return 0;
    }
    ft = ox + 1 < out_w ? tc_dw_first_tap(k, oy, ox + 1) : tc_dw_first_tap(k, oy + 1, 0);
    return ft < 0 ? 0 : (ft > q + 1 ? q + 1 : ft);
}

static inline int32_t tc_dw_flush_limit(const tc_dw_call *k, int32_t q)
{
    return tc_dw_limit(k, q / k->out_dims->w, q % k->out_dims->w, q);
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
        if (ft < prev || q - next + out_w > k->ring_px) { /* + out_w: the vector path writes out once per row */
            return 0;
        }
        prev = ft;
        lim = tc_dw_flush_limit(k, q);
        lim = k->whole_rows ? lim / out_w * out_w : lim;
        next = lim > next ? lim : next;
    }
    return 1;
}

/* One tap of four channels: a0..a3 += (p[off + j] - zp) * w_j. */
static inline __attribute__((always_inline)) void tc_dw_tap4(const tc_dw_tap *t, const int8_t *p, int32_t nzp,
                                                              int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
    const int32_t v = tc_load32(p + t->off);
    const int32_t e = tc_sxtab16(nzp, v), o = tc_sxtab16_ror8(nzp, v);
    *a0 = tc_smlabb(e, t->we, *a0);
    *a2 = tc_smlatt(e, t->we, *a2);
    *a1 = tc_smlabb(o, t->wo, *a1);
    *a3 = tc_smlatt(o, t->wo, *a3);
}

/* One tap in assembly: LDM of the table entry (we, wo, off in r8, r9, r10), LDR of 4 input channels, 2 SXTAB16,
 * 4 SMLAxy: 8 instructions per 4 MACs. */
#define TC_DW_TAP_ASM \
    "ldmia %[t]!, {%[we], %[wo], %[off]}\n" \
    "ldr %[v], [%[p], %[off]]\n" \
    "sxtab16 %[e], %[nzp], %[v]\n" \
    "sxtab16 %[v], %[nzp], %[v], ror #8\n" \
    "smlabb %[a0], %[e], %[we], %[a0]\n" \
    "smlatt %[a2], %[e], %[we], %[a2]\n" \
    "smlabb %[a1], %[v], %[wo], %[a1]\n" \
    "smlatt %[a3], %[v], %[wo], %[a3]\n"

/* a[j] += sum over taps [t, end) of (p[off + j] - zp) * w_j (j = 0..3; nzp = -zp in both int16 halves; rem =
 * (end - t) % 3, a constant 0 on the row-run path). With DSP the taps go three at a time through assembly (26
 * instructions per 12 MACs with the loop branch), after the rem first ones in C; gcc 12 reloads the table fields
 * one by one and keeps the loop counter apart. */
static inline __attribute__((always_inline)) void tc_dw_taps4(const tc_dw_tap *t, const tc_dw_tap *end, int32_t rem,
                                                               const int8_t *p, int32_t nzp, int32_t a[4])
{
    int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    switch (rem) {
    case 2:
        tc_dw_tap4(t++, p, nzp, &a0, &a1, &a2, &a3);
        /* fall through */
    case 1:
        tc_dw_tap4(t++, p, nzp, &a0, &a1, &a2, &a3);
        break;
    default:
        break;
    }
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (t != end) {
        register int32_t we __asm__("r8");
        register int32_t wo __asm__("r9");
        register int32_t off __asm__("r10");
        int32_t v, e;
        __asm__ volatile("1:\n" TC_DW_TAP_ASM TC_DW_TAP_ASM TC_DW_TAP_ASM
                         "cmp %[t], %[end]\n"
                         "bne 1b\n"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [t] "+r"(t),
                           [we] "=&r"(we), [wo] "=&r"(wo), [off] "=&r"(off), [v] "=&r"(v), [e] "=&r"(e)
                         : [p] "r"(p), [nzp] "r"(nzp), [end] "r"(end)
                         : "cc", "memory");
    }
#else
    for (; t != end; ++t) {
        tc_dw_tap4(t, p, nzp, &a0, &a1, &a2, &a3);
    }
#endif
    a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3;
}

/* In-place staging state of one channel group: pixels [next, q) wait in the ring, from slot_r on. */
typedef struct {
    int32_t next, slot_w, slot_r;
} tc_dw_ring;

/* Pixel q's `width` outputs are in the ring's write slot: advance it and write out every pixel that no later
 * window reads. */
static void tc_dw_stage(const tc_dw_call *k, tc_dw_ring *r, int32_t q, int32_t oc, int32_t width)
{
    const int32_t lim = tc_dw_flush_limit(k, q), out_c = k->out_dims->c;
    r->slot_w = r->slot_w + 1 == k->ring_px ? 0 : r->slot_w + 1;
    for (; r->next < lim; ++r->next) {
        memcpy(k->out + r->next * out_c + oc, k->ring + r->slot_r * width, (size_t)width);
        r->slot_r = r->slot_r + 1 == k->ring_px ? 0 : r->slot_r + 1;
    }
}

/* The fused output stage (tc_dsp_rq_fast + SSAT, tc_dsp.h) of four channels: o[j] from a[j] with the constants
 * qc[3j .. 3j + 2] = m, khi, rm1. With DSP one LDM per channel fetches them (8 instructions per output; gcc 12
 * reloads them one by one and spills). */
static inline __attribute__((always_inline)) void tc_dw_out4(const int32_t a[4], const int32_t *qc, int8_t *o)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    register int32_t m __asm__("r8");
    register int32_t khi __asm__("r9");
    register int32_t rm1 __asm__("r10");
    int32_t lo, hi;
#define TC_DW_OUT_ASM(A, J) \
    "ldmia %[qc]!, {%[m], %[khi], %[rm1]}\n" \
    "and %[lo], %[" A "], #0x80000000\n" \
    "orr %[lo], %[lo], #0x40000000\n" \
    "add %[hi], %[khi], %[" A "], asr #31\n" \
    "smlal %[lo], %[hi], %[" A "], %[m]\n" \
    "asr %[hi], %[hi], %[rm1]\n" \
    "ssat %[hi], #8, %[hi]\n" \
    "strb %[hi], [%[o], #" J "]\n"
    __asm__ volatile(TC_DW_OUT_ASM("a0", "0") TC_DW_OUT_ASM("a1", "1") TC_DW_OUT_ASM("a2", "2")
                     TC_DW_OUT_ASM("a3", "3")
                     : [qc] "+r"(qc), [m] "=&r"(m), [khi] "=&r"(khi), [rm1] "=&r"(rm1), [lo] "=&r"(lo),
                       [hi] "=&r"(hi)
                     : [a0] "r"(a[0]), [a1] "r"(a[1]), [a2] "r"(a[2]), [a3] "r"(a[3]), [o] "r"(o)
                     : "memory");
#undef TC_DW_OUT_ASM
#else
    int32_t j;
    for (j = 0; j < 4; ++j) {
        o[j] = tc_dsp_sat8(tc_dsp_rq_fast(a[j], qc[3 * j], qc[3 * j + 1], qc[3 * j + 2]));
    }
#endif
}

/* Valid taps of a border pixel, gathered from the table once per border shape (ky0, ky1, kx0, kx1); two shapes
 * are kept, so that a window overhanging left and right alternates between them without regathering. */
typedef struct {
    tc_dw_tap taps[2][TC_DW_EDGE_TAPS];
    int32_t key[2], n[2], last;
} tc_dw_edges;

/* Gathers the valid taps of a new border shape into the slot not used last; returns the slot. */
static __attribute__((noinline)) int32_t tc_dw_edge_gather(tc_dw_edges *e, const tc_dw_tap *tab, int32_t k_w,
                                                           int32_t key)
{
    const int32_t ky0 = key & 0xFF, ky1 = (key >> 8) & 0xFF, kx0 = (key >> 16) & 0xFF, kx1 = key >> 24;
    const int32_t slot = 1 - e->last;
    int32_t ky, kx;
    e->key[slot] = key, e->n[slot] = 0;
    for (ky = ky0; ky < ky1; ++ky) {
        for (kx = kx0; kx < kx1; ++kx) {
            e->taps[slot][e->n[slot]++] = tab[ky * k_w + kx];
        }
    }
    return slot;
}

/* The valid taps of a border pixel (*n of them); the lookup is inline, the gathering (rare) is not. */
static inline __attribute__((always_inline)) const tc_dw_tap *tc_dw_edge_taps(tc_dw_edges *e, const tc_dw_tap *tab,
                                                                               int32_t k_w, int32_t ky0, int32_t ky1,
                                                                               int32_t kx0, int32_t kx1, int32_t *n)
{
    const int32_t key = ky0 | ky1 << 8 | kx0 << 16 | kx1 << 24;
    const int32_t slot = e->key[0] == key ? 0 : (e->key[1] == key ? 1 : tc_dw_edge_gather(e, tab, k_w, key));
    e->last = slot;
    *n = e->n[slot];
    return e->taps[slot];
}

/* Vector path: output channels oc .. oc + 3 of every pixel, table tab (this group's weights). `fast`: the
 * output stage is tc_dsp_rq_fast; `staged`: in place through the ring (both constants in each caller, so that
 * the pixel loop tests neither). */
static inline __attribute__((always_inline)) void tc_dw_channels4(const tc_dw_call *k, const tc_dw_tap *tab,
                                                                   int32_t oc, int fast, int staged)
{
    const tc_conv_params *p = k->p;
    const int32_t in_h = k->in_dims->h, in_w = k->in_dims->w, in_c = k->in_dims->c;
    const int32_t k_h = k->fd->h, k_w = k->fd->w, out_w = k->out_dims->w, out_c = k->out_dims->c;
    const int32_t sw = p->stride_w, dw = p->dilation_w, zp = p->output_zp, taps = k_h * k_w;
    const int32_t nzp = tc_dsp_nzp(p->input_zp);
    const int32_t b0 = k->bias[oc], b1 = k->bias[oc + 1], b2 = k->bias[oc + 2], b3 = k->bias[oc + 3];
    const int8_t *in_c0 = k->in + oc;
    int32_t m[4], khi[4], rm1[4], qc[12];
    tc_dw_edges edges;
    int8_t *ring_w = k->ring, *ring_r = k->ring, *ring_end = k->ring + 4 * k->ring_px;
    int32_t oy, ox, j, ox_lo = 0, ox_hi, q = 0, next = 0;
    for (j = 0; j < 4; ++j) {
        m[j] = k->mult[oc + j];
        rm1[j] = -k->shift[oc + j] - 1;
        khi[j] = fast ? tc_dsp_rq_khi(zp, rm1[j]) : 0;
        qc[3 * j] = m[j], qc[3 * j + 1] = khi[j], qc[3 * j + 2] = rm1[j];
    }
    edges.key[0] = edges.key[1] = -1, edges.last = 0;
    /* columns [ox_lo, ox_hi) have the whole window inside the input's width */
    while (ox_lo < out_w && ox_lo * sw - p->pad_left < 0) {
        ++ox_lo;
    }
    for (ox_hi = ox_lo; ox_hi < out_w && ox_hi * sw - p->pad_left + (k_w - 1) * dw < in_w; ++ox_hi) {
    }
    for (oy = 0; oy < k->out_dims->h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        const int32_t first = iy0 * in_w - p->pad_left; /* first taps: this row's, the next row's */
        const int32_t first_next_row = first + p->stride_h * in_w;
        const int8_t *px = in_c0 + first * in_c;
        int8_t *dst = k->out + oy * out_w * out_c + oc;
        int32_t ky0, ky1, ky;
        tc_dw_range(iy0, k_h, p->dilation_h, in_h, &ky0, &ky1);
        for (ox = 0; ox < out_w; ++ox, ++q, px += sw * in_c, dst += out_c) {
            int32_t a[4] = {b0, b1, b2, b3};
            int8_t *o = staged ? ring_w : dst;
            if (ky1 - ky0 == k_h && ox >= ox_lo && ox < ox_hi) {
                tc_dw_taps4(tab, tab + taps, taps % 3, px, nzp, a);
            } else {
                int32_t kx0, kx1, n_edge;
                tc_dw_range(ox * sw - p->pad_left, k_w, dw, in_w, &kx0, &kx1);
                if (taps <= TC_DW_EDGE_TAPS) {
                    const tc_dw_tap *e = tc_dw_edge_taps(&edges, tab, k_w, ky0, ky1, kx0, kx1, &n_edge);
                    tc_dw_taps4(e, e + n_edge, n_edge % 3, px, nzp, a);
                } else {
                    for (ky = ky0; ky < ky1; ++ky) {
                        tc_dw_taps4(tab + ky * k_w + kx0, tab + ky * k_w + kx1, (kx1 - kx0) % 3, px, nzp, a);
                    }
                }
            }
            if (fast) {
                tc_dw_out4(a, qc, o);
            } else {
                for (j = 0; j < 4; ++j) {
                    o[j] = tc_output_s8(tc_requantize(a[j], m[j], -rm1[j] - 1), zp, p->act_min, p->act_max);
                }
            }
            if (staged) {
                ring_w = ring_w + 4 == ring_end ? k->ring : ring_w + 4;
            }
        }
        if (staged) { /* as tc_dw_stage, once per row: what the next row's windows no longer read */
            const int32_t lim = oy + 1 < k->out_dims->h ? first_next_row : q;
            int8_t *to = k->out + next * out_c + oc;
            for (; next < lim && next < q; ++next, to += out_c) {
                memcpy(to, ring_r, 4);
                ring_r = ring_r + 4 == ring_end ? k->ring : ring_r + 4;
            }
        }
    }
}

/* Row-run path (fused output stage, at most TC_DW_RUNS_MAX runs per row): an output row is a few runs of pixels
 * side by side whose windows have the same valid taps: every column whose window is inside the input's width is
 * one run, every other column a run of its own. Each run's taps are gathered once per channel group and kind of row
 * (valid kernel rows ky0..ky1) and padded to a multiple of 3 with taps of weight 0 at a valid tap's offset, so the
 * pixel loop has no bound test, no remainder and no border lookup. The input zero point goes into each run's
 * biases (bias - zp * sum of the run's weights, exact in wrapping int32 arithmetic), so the taps sign-extend the
 * input alone and a register is left for the output pointer. */
#define TC_DW_RUNS_MAX 8
#define TC_DW_POOL_TAPS 40 /* 3 x 3: 21 */
#define TC_DW_ROW_PX 64 /* output pixels of a row */

typedef struct {
    int32_t bias[4];          /* the channels' biases minus zp times the sum of the run's weights */
    const tc_dw_tap *t, *end; /* the run's taps, a nonzero multiple of 3 */
    int32_t n;                /* pixels */
} tc_dw_run;

typedef struct {
    tc_dw_run runs[TC_DW_RUNS_MAX];
    const tc_dw_run *px_run[TC_DW_ROW_PX]; /* each pixel's run */
    int32_t n_runs, ky0, ky1;
    tc_dw_tap pool[TC_DW_POOL_TAPS];
} tc_dw_rows;

/* What a row's assembly reads at fixed offsets: the output constants (m, khi, rm1 per channel), where the next
 * output goes and its step (in place the ring, ring .. ring_end, holds whole rows; ring_end NULL: straight to out),
 * the input window's step, the window of the row's first pixel, the next pixel's run and the row's window end. */
typedef struct {
    int32_t qc[12];
    int8_t *o;
    int32_t out_step, in_step;
    int8_t *ring, *ring_end;
    const int8_t *px;
    const tc_dw_run *const *px_run;
    const int8_t *px_end;
} tc_dw_state;

/* A run's biases: bias[j] - zp * (sum of channel j's weights over the run's taps), wrapping as int32. */
static void tc_dw_run_bias(tc_dw_run *run, const int32_t *bias, int32_t zp)
{
    uint32_t sum[4] = {0, 0, 0, 0};
    const tc_dw_tap *t;
    int32_t j;
    for (t = run->t; t != run->end; ++t) {
        sum[0] += (uint32_t)(int32_t)(int16_t)(t->we & 0xFFFF), sum[2] += (uint32_t)(t->we >> 16);
        sum[1] += (uint32_t)(int32_t)(int16_t)(t->wo & 0xFFFF), sum[3] += (uint32_t)(t->wo >> 16);
    }
    for (j = 0; j < 4; ++j) {
        run->bias[j] = tc_wrap_int32((uint32_t)bias[j] - (uint32_t)zp * sum[j]);
    }
}

/* Plans the runs of a row whose valid kernel rows are [ky0, ky1) from the table tab (columns [ox_lo, ox_hi) have
 * their whole window inside the input's width; bias: the group's biases); 0 when they exceed TC_DW_RUNS_MAX or the
 * pool, or a run has no valid tap. A row with fewer valid kernel rows (at least one) needs no more runs or taps
 * than a full one, so one check with the full rows decides a call. */
static int tc_dw_plan_rows(tc_dw_rows *r, const tc_dw_call *k, const tc_dw_tap *tab, int32_t ky0, int32_t ky1,
                           int32_t ox_lo, int32_t ox_hi, const int32_t *bias)
{
    const tc_conv_params *p = k->p;
    const int32_t k_w = k->fd->w, out_w = k->out_dims->w;
    int32_t ox = 0, used = 0, ky, kx, i;
    r->n_runs = 0, r->ky0 = ky0, r->ky1 = ky1;
    while (ox < out_w) {
        int32_t n = 1, kx0 = 0, kx1 = k_w, start = used;
        tc_dw_run *run = &r->runs[r->n_runs];
        if (ox >= ox_lo && ox < ox_hi) {
            n = ox_hi - ox;
        } else {
            tc_dw_range(ox * p->stride_w - p->pad_left, k_w, p->dilation_w, k->in_dims->w, &kx0, &kx1);
        }
        if (r->n_runs == TC_DW_RUNS_MAX || out_w > TC_DW_ROW_PX || ky1 <= ky0 || kx1 <= kx0 ||
            used + (ky1 - ky0) * (kx1 - kx0) + 2 > TC_DW_POOL_TAPS) {
            return 0;
        }
        for (ky = ky0; ky < ky1; ++ky) {
            for (kx = kx0; kx < kx1; ++kx) {
                r->pool[used++] = tab[ky * k_w + kx];
            }
        }
        while ((used - start) % 3 != 0) {
            r->pool[used] = r->pool[start];
            r->pool[used].we = r->pool[used].wo = 0;
            ++used;
        }
        run->t = r->pool + start, run->end = r->pool + used, run->n = n;
        tc_dw_run_bias(run, bias, p->input_zp);
        for (i = 0; i < n; ++i) {
            r->px_run[ox + i] = run;
        }
        ++r->n_runs;
        ox += n;
    }
    return 1;
}

/* One pixel's output stage in the row's assembly: channel J's sum in register rJ, constants from r4 (advanced),
 * output byte J at r6. */
#define TC_DW_ROW_OUT(J) \
    "ldmia r4!, {r8, r9, r10}\n" \
    "and r5, r" #J ", #0x80000000\n" \
    "orr r5, r5, #0x40000000\n" \
    "add r11, r9, r" #J ", asr #31\n" \
    "smlal r5, r11, r" #J ", r8\n" \
    "asr r11, r11, r10\n" \
    "ssat r11, #8, r11\n" \
    "strb r11, [r6, #" #J "]\n"

/* One tap of the row's assembly: table entry (we, wo, off) from r4 (advanced) into r8-r10, window at r7. */
#define TC_DW_ROW_TAP \
    "ldmia r4!, {r8, r9, r10}\n" \
    "ldr r11, [r7, r10]\n" \
    "sxtb16 r12, r11\n" \
    "sxtb16 r11, r11, ror #8\n" \
    "smlabb r0, r12, r8, r0\n" \
    "smlatt r2, r12, r8, r2\n" \
    "smlabb r1, r11, r9, r1\n" \
    "smlatt r3, r11, r9, r3\n"

/* One output row of a channel group (s->px .. s->px_end: the windows of its pixels; s->px_run: their runs), its
 * outputs STEP apart (an instruction string that advances r6). One assembly block with the state in lr and the
 * output pointer in r6: per pixel one LDM sets the sums to the pixel's run's biases and loads its taps' bounds;
 * besides the taps (26 instructions per 3) and the output stage (32), 11 instructions per pixel in place, 12
 * otherwise. */
#define TC_DW_ROW_ASM(STEP) \
    "ldr r7, [%[s], #68]\n" \
    "ldr r6, [%[s], #48]\n" \
    "1:\n" \
    "ldr r12, [%[s], #72]\n" \
    "ldr r11, [r12], #4\n" \
    "str r12, [%[s], #72]\n" \
    "ldmia r11, {r0, r1, r2, r3, r4, r5}\n" \
    "2:\n" TC_DW_ROW_TAP TC_DW_ROW_TAP TC_DW_ROW_TAP \
    "cmp r4, r5\n" \
    "bne 2b\n" \
    "mov r4, %[s]\n" \
    TC_DW_ROW_OUT(0) TC_DW_ROW_OUT(1) TC_DW_ROW_OUT(2) TC_DW_ROW_OUT(3) \
    STEP \
    "ldr r12, [%[s], #56]\n" \
    "add r7, r7, r12\n" \
    "ldr r12, [%[s], #76]\n" \
    "cmp r7, r12\n" \
    "bne 1b\n" \
    "str r6, [%[s], #48]\n"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
typedef char tc_dw_state_layout[offsetof(tc_dw_state, px_end) == 76 && offsetof(tc_dw_run, end) == 20 ? 1 : -1];
#define TC_DW_ROW_CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "cc", "memory"
#endif

/* The row blocks use r7, the Thumb frame pointer when one is kept (-O0, -fno-omit-frame-pointer): their functions
 * omit it whatever the build flags. */
#if defined(__GNUC__) && !defined(__clang__)
#define TC_DW_ROW_ATTRS __attribute__((noinline, optimize("omit-frame-pointer")))
#else
#define TC_DW_ROW_ATTRS __attribute__((noinline))
#endif

/* The row in C (hosts): the same sums, output stage and order. */
static inline void tc_dw_row_c(tc_dw_state *s)
{
    const int8_t *px;
    for (px = s->px; px != s->px_end; px += s->in_step) {
        const tc_dw_run *run = *s->px_run++;
        int32_t a[4] = {run->bias[0], run->bias[1], run->bias[2], run->bias[3]};
        tc_dw_taps4(run->t, run->end, 0, px, 0, a);
        tc_dw_out4(a, s->qc, s->o);
        s->o += s->out_step;
    }
}

/* A row staged in the ring (4 bytes per pixel; the ring holds whole rows, so a row never wraps). */
static TC_DW_ROW_ATTRS void tc_dw_row_staged(tc_dw_state *s)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    register tc_dw_state *st __asm__("lr") = s;
    __asm__ volatile(TC_DW_ROW_ASM("add r6, r6, #4\n") : : [s] "r"(st) : TC_DW_ROW_CLOBBERS);
#else
    tc_dw_row_c(s);
#endif
}

/* A row written straight to out (s->out_step apart). */
static TC_DW_ROW_ATTRS void tc_dw_row_direct(tc_dw_state *s)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    register tc_dw_state *st __asm__("lr") = s;
    __asm__ volatile(TC_DW_ROW_ASM("ldr r12, [%[s], #52]\nadd r6, r6, r12\n") : : [s] "r"(st) : TC_DW_ROW_CLOBBERS);
#else
    tc_dw_row_c(s);
#endif
}

/* Whether the row-run path takes the call: every output row has a valid kernel row (with dilation a middle row
 * may have none) and the full rows' plan fits. */
static __attribute__((noinline)) int tc_dw_rows_fit(const tc_dw_call *k, const tc_dw_tap *tab, int32_t ox_lo,
                                                    int32_t ox_hi)
{
    const tc_conv_params *p = k->p;
    tc_dw_rows rows;
    int32_t oy, ky0, ky1;
    for (oy = 0; oy < k->out_dims->h; ++oy) {
        tc_dw_range(oy * p->stride_h - p->pad_top, k->fd->h, p->dilation_h, k->in_dims->h, &ky0, &ky1);
        if (ky1 <= ky0) {
            return 0;
        }
    }
    return tc_dw_plan_rows(&rows, k, tab, 0, k->fd->h, ox_lo, ox_hi, k->bias);
}

/* Row-run path for output channels oc .. oc + 3 (tc_dw_rows_fit said yes). In place, output rows wait in the ring
 * (whole rows, k->whole_rows) and are written out a whole row at a time once no later window reads them. */
static __attribute__((noinline)) void tc_dw_channels4_rows(const tc_dw_call *k, const tc_dw_tap *tab, int32_t oc,
                                                           int32_t ox_lo, int32_t ox_hi)
{
    tc_dw_rows plan, *rows = &plan;
    const tc_conv_params *p = k->p;
    const int32_t in_w = k->in_dims->w, in_c = k->in_dims->c, out_w = k->out_dims->w, out_c = k->out_dims->c;
    const int32_t out_h = k->out_dims->h, k_h = k->fd->h, first_step = p->stride_h * in_w;
    tc_dw_state g;
    int8_t *ring_r = k->ring, *to = k->out + oc;
    int32_t oy, j, i, done = 0, first = -p->pad_top * in_w - p->pad_left;
    g.ring = k->ring;
    g.ring_end = k->ring ? k->ring + 4 * k->ring_px : NULL;
    g.o = k->ring ? k->ring : k->out + oc;
    g.out_step = k->ring ? 4 : out_c, g.in_step = p->stride_w * in_c;
    for (j = 0; j < 4; ++j) {
        const int32_t rm1 = -k->shift[oc + j] - 1;
        g.qc[3 * j] = k->mult[oc + j], g.qc[3 * j + 1] = tc_dsp_rq_khi(p->output_zp, rm1), g.qc[3 * j + 2] = rm1;
    }
    rows->ky0 = rows->ky1 = -1; /* planned at the first row */
    for (oy = 0; oy < out_h; ++oy, first += first_step) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        int32_t ky0 = 0, ky1 = k_h;
        if (iy0 < 0 || iy0 + (k_h - 1) * p->dilation_h >= k->in_dims->h) {
            tc_dw_range(iy0, k_h, p->dilation_h, k->in_dims->h, &ky0, &ky1);
        }
        if (ky0 != rows->ky0 || ky1 != rows->ky1) {
            tc_dw_plan_rows(rows, k, tab, ky0, ky1, ox_lo, ox_hi, k->bias + oc);
        }
        g.px = k->in + oc + first * in_c, g.px_end = g.px + out_w * g.in_step, g.px_run = rows->px_run;
        if (!k->ring) {
            tc_dw_row_direct(&g);
            continue;
        }
        tc_dw_row_staged(&g);
        if (g.o == g.ring_end) {
            g.o = g.ring;
        }
        /* write out the rows before the next row's first tap (all after the last row), never a row not yet
         * computed: with stride > 1 the next row's first tap runs ahead of the output rows */
        j = oy + 1 < out_h ? (first + first_step) / out_w : out_h;
        j = j > oy + 1 ? oy + 1 : j;
        for (; done < j; ++done) {
            for (i = 0; i < out_w; ++i, to += out_c) {
                memcpy(to, ring_r + 4 * i, 4);
            }
            ring_r += 4 * out_w;
            if (ring_r == g.ring_end) {
                ring_r = g.ring;
            }
        }
    }
}

/* Other output stages and kernels whose rows need more runs or taps. */
static __attribute__((noinline)) void tc_dw_channels4_general(const tc_dw_call *k, const tc_dw_tap *tab,
                                                              int32_t oc)
{
    tc_dw_channels4(k, tab, oc, k->fast, k->ring != NULL);
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

/* Scalar path: output channel oc of every pixel, straight to out or through the ring. */
static void tc_dw_channel1(const tc_dw_call *k, int32_t oc)
{
    const tc_conv_params *p = k->p;
    const int32_t out_w = k->out_dims->w, out_c = k->out_dims->c;
    int32_t oy, ox, q = 0;
    tc_dw_ring r = {0, 0, 0};
    for (oy = 0; oy < k->out_dims->h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        int32_t ky0, ky1;
        tc_dw_range(iy0, k->fd->h, p->dilation_h, k->in_dims->h, &ky0, &ky1);
        for (ox = 0; ox < out_w; ++ox, ++q) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            int32_t kx0, kx1;
            int8_t *o = k->ring ? k->ring + r.slot_w : k->out + q * out_c + oc;
            tc_dw_range(ix0, k->fd->w, p->dilation_w, k->in_dims->w, &kx0, &kx1);
            *o = tc_output_s8(tc_requantize(tc_dw_scalar(k, oc, iy0, ix0, ky0, ky1, kx0, kx1), k->mult[oc],
                                            k->shift[oc]),
                              p->output_zp, p->act_min, p->act_max);
            if (k->ring) {
                tc_dw_stage(k, &r, q, oc, 1);
            }
        }
    }
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
    int32_t oc = 0, t, ox_lo = 0, ox_hi, use_rows, vector;
    k.p = p, k.in_dims = in_dims, k.fd = filter_dims, k.out_dims = out_dims, k.in = in, k.weights = weights;
    k.bias = bias, k.mult = mult, k.shift = shift, k.out = out;
    k.fast = tc_dsp_rq_fast_ok(mult, shift, out_c, p->output_zp, p->act_min, p->act_max);
    k.ring = inplace ? scratch : NULL;
    k.early = 1, k.whole_rows = 0;
    if (p->depth_multiplier == 1 && taps <= TC_DW_TAPS_MAX && out_c >= 4) {
        for (t = 0; t < taps; ++t) {
            tab[t].off = ((t / k_w) * p->dilation_h * in_dims->w + (t % k_w) * p->dilation_w) * in_dims->c;
            tab[t].we = tab[t].wo = 0;
        }
        /* columns [ox_lo, ox_hi) have the whole window inside the input's width */
        while (ox_lo < out_dims->w && ox_lo * p->stride_w - p->pad_left < 0) {
            ++ox_lo;
        }
        for (ox_hi = ox_lo; ox_hi < out_dims->w &&
                            ox_hi * p->stride_w - p->pad_left + (k_w - 1) * p->dilation_w < in_dims->w;
             ++ox_hi) {
        }
        k.ring_px = n_pix / 4 / out_dims->w * out_dims->w; /* the row path's ring holds whole rows */
        k.whole_rows = 1;
        use_rows = k.fast && (!inplace || tc_dw_ring_fits(&k)) && tc_dw_rows_fit(&k, tab, ox_lo, ox_hi);
        k.whole_rows = 0;
        if (!use_rows) {
            k.ring_px = n_pix / 4;
        }
        vector = use_rows || !inplace || tc_dw_ring_fits(&k);
        for (; vector && oc + 4 <= out_c; oc += 4) {
            for (t = 0; t < taps; ++t) {
                const int32_t w = tc_load32(weights + t * out_c + oc);
                tab[t].we = tc_sxtb16(w);
                tab[t].wo = tc_sxtb16_ror8(w);
            }
            if (use_rows) {
                tc_dw_channels4_rows(&k, tab, oc, ox_lo, ox_hi);
            } else {
                tc_dw_channels4_general(&k, tab, oc);
            }
        }
    }
    k.ring_px = n_pix;
    k.early = 0; /* the whole plane of one channel fits: write it out after its last pixel */
    for (; oc < out_c; ++oc) {
        tc_dw_channel1(&k, oc);
    }
}
