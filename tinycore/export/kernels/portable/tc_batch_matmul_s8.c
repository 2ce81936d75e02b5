/* tc_batch_matmul_s8: out[b] = requantize((a[b] - zp1) (b[b] - zp2)) for each of batches products;
 * a[b] is (m, k), b[b] is (k, n), or (n, k) when transpose_b; C twin of tinycore/runtime/ops/batch_matmul.py. */
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

void tc_batch_matmul_s8(const tc_batch_matmul_params *p, const int8_t *a, const int8_t *b, int8_t *out,
                        int32_t batches, int32_t m, int32_t k, int32_t n)
{
    int32_t bt, i, j, t;
    const int32_t step_k = p->transpose_b ? 1 : n;  /* distance between b[.., t, j] and b[.., t + 1, j] */
    const int32_t step_n = p->transpose_b ? k : 1;
    for (bt = 0; bt < batches; ++bt) {
        const int8_t *ab = a + bt * m * k;
        const int8_t *bb = b + bt * k * n;
        int8_t *ob = out + bt * m * n;
        for (i = 0; i < m; ++i) {
            for (j = 0; j < n; ++j) {
                int32_t acc = 0;
                for (t = 0; t < k; ++t) {
                    acc += ((int32_t)ab[i * k + t] - p->input1_zp) * ((int32_t)bb[t * step_k + j * step_n] -
                                                                     p->input2_zp);
                }
                ob[i * n + j] = tc_output_s8(tc_requantize(acc, p->mult, p->shift), p->output_zp, p->act_min,
                                             p->act_max);
            }
        }
    }
}
