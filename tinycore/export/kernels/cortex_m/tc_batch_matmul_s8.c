/* tc_batch_matmul_s8 (Cortex-M DSP): same signature and bytes as portable/tc_batch_matmul_s8.c.
 *
 * Both operands are activations with zero points. The products are split as
 *     sum_t (a_t - za) (b_t - zb) = sum_t (a_t - za) b_t - zb * sum_t (a_t - za),
 * the second term once per row of a (exact in int32: the exporter bounds K so that no sum can leave int32, and the
 * wrapping sums of SMLAD agree modulo 2**32). So b enters the SMLADs as plain sign-extended bytes.
 *  - transpose_b (Q K^T): b is (n, k), each output a dot product of two contiguous rows, i.e. a fully connected
 *    layer over the rows of b: four rows of b share each word of the a row (tc_dsp_dot_rows4_s8).
 *  - A V: b is (k, n) and its columns are strided. Four values of the a row (t0..t3) are one word, sign-extended
 *    with the zero point subtracted as [a0, a2] and [a1, a3] (two SXTAB16); the four words of b rows t0..t3 at
 *    columns j..j+3 are sign-extended (SXTB16, plain and rotated) and repacked (PKHBT/PKHTB) into the matching
 *    pairs [b(t0, c), b(t2, c)] and [b(t1, c), b(t3, c)] of each column c: 16 MACs in 8 SMLADs.
 * The output stage is tc_dsp_rq_fast + SSAT when the parameters allow it, else tc_requantize as in the portable
 * kernel.
 */
#include "tc_dsp.h"
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

/* [lo(x), lo(y)] and [hi(x), hi(y)] as int16 pairs: PKHBT and PKHTB. */
static inline int32_t tc_bm_pack_lo(int32_t x, int32_t y)
{
    return (int32_t)(((uint32_t)x & 0xFFFFu) | ((uint32_t)y << 16));
}

static inline int32_t tc_bm_pack_hi(int32_t x, int32_t y)
{
    return (int32_t)(((uint32_t)y & 0xFFFF0000u) | ((uint32_t)x >> 16));
}

static inline int8_t tc_bm_out(int32_t acc, const tc_batch_matmul_params *p, int fast, int32_t khi, int32_t rm1)
{
    if (fast) {
        return tc_dsp_sat8(tc_dsp_rq_fast(acc, p->mult, khi, rm1));
    }
    return tc_output_s8(tc_requantize(acc, p->mult, p->shift), p->output_zp, p->act_min, p->act_max);
}

/* -zb * sum_t (a_t - za) over one row of a: every output of the row starts from it. */
static inline int32_t tc_bm_row_offset(const int8_t *a, int32_t k, int32_t za, int32_t zb)
{
    int32_t s = 0, t;
    for (t = 0; t < k; ++t) {
        s += a[t];
    }
    return -zb * (s - za * k);
}

/* acc[c] += sum_t (a[t] - za) * b[t * n + c] for c = 0..3 (A V: b's columns j..j+3, b = &b[0][j]). */
static inline void tc_bm_av_cols4(const int8_t *a, int32_t k, int32_t za, const int8_t *b, int32_t n, int32_t acc[4])
{
    const int32_t nzp = tc_dsp_nzp(za);
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t t = 0;
    for (; t + 4 <= k; t += 4) {
        const int32_t xa = tc_load32(a + t);
        const int32_t x02 = tc_sxtab16(nzp, xa), x13 = tc_sxtab16_ror8(nzp, xa);
        const int8_t *r = b + t * n;
        const int32_t w0 = tc_load32(r), w1 = tc_load32(r + n), w2 = tc_load32(r + 2 * n), w3 = tc_load32(r + 3 * n);
        const int32_t e0 = tc_sxtb16(w0), e2 = tc_sxtb16(w2), o0 = tc_sxtb16_ror8(w0), o2 = tc_sxtb16_ror8(w2);
        const int32_t e1 = tc_sxtb16(w1), e3 = tc_sxtb16(w3), o1 = tc_sxtb16_ror8(w1), o3 = tc_sxtb16_ror8(w3);
        /* e* hold columns j, j+2 of a row; o* columns j+1, j+3 */
        a0 = tc_smlad(tc_bm_pack_lo(e0, e2), x02, a0);
        a0 = tc_smlad(tc_bm_pack_lo(e1, e3), x13, a0);
        a2 = tc_smlad(tc_bm_pack_hi(e0, e2), x02, a2);
        a2 = tc_smlad(tc_bm_pack_hi(e1, e3), x13, a2);
        a1 = tc_smlad(tc_bm_pack_lo(o0, o2), x02, a1);
        a1 = tc_smlad(tc_bm_pack_lo(o1, o3), x13, a1);
        a3 = tc_smlad(tc_bm_pack_hi(o0, o2), x02, a3);
        a3 = tc_smlad(tc_bm_pack_hi(o1, o3), x13, a3);
    }
    for (; t < k; ++t) {
        const int32_t x = a[t] - za;
        const int8_t *r = b + t * n;
        a0 += x * r[0];
        a1 += x * r[1];
        a2 += x * r[2];
        a3 += x * r[3];
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

void tc_batch_matmul_s8(const tc_batch_matmul_params *p, const int8_t *a, const int8_t *b, int8_t *out,
                        int32_t batches, int32_t m, int32_t k, int32_t n)
{
    const int fast = tc_dsp_rq_fast_ok(&p->mult, &p->shift, 1, p->output_zp, p->act_min, p->act_max);
    const int32_t rm1 = -p->shift - 1;
    const int32_t khi = fast ? tc_dsp_rq_khi(p->output_zp, rm1) : 0;
    const int32_t za = p->input1_zp, zb = p->input2_zp;
    int32_t bt, i, j, t;
    for (bt = 0; bt < batches; ++bt) {
        const int8_t *ab = a + bt * m * k;
        const int8_t *bb = b + bt * k * n;
        int8_t *ob = out + bt * m * n;
        for (i = 0; i < m; ++i) {
            const int8_t *ar = ab + i * k;
            const int32_t offset = tc_bm_row_offset(ar, k, za, zb);
            int8_t *orow = ob + i * n;
            for (j = 0; j + 4 <= n; j += 4) {
                int32_t acc[4];
                acc[0] = offset, acc[1] = offset, acc[2] = offset, acc[3] = offset;
                if (p->transpose_b) {
                    tc_dsp_dot_rows4_s8(ar, k, za, bb + j * k, k, acc);
                } else {
                    tc_bm_av_cols4(ar, k, za, bb + j, n, acc);
                }
                for (t = 0; t < 4; ++t) {
                    orow[j + t] = tc_bm_out(acc[t], p, fast, khi, rm1);
                }
            }
            for (; j < n; ++j) {
                int32_t acc = offset;
                if (p->transpose_b) {
                    acc = tc_dsp_dot_row1_s8(ar, k, za, bb + j * k, acc);
                } else {
                    for (t = 0; t < k; ++t) {
                        acc += (ar[t] - za) * bb[t * n + j];
                    }
                }
                orow[j] = tc_bm_out(acc, p, fast, khi, rm1);
            }
        }
    }
}
