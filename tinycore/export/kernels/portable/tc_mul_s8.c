/* tc_mul_s8: TFLite MUL for int8 over rows x cols elements. Element (r, c) reads a[r * a_step + c] and
 * b[r * b_step + c]: a step of cols is a full tensor, 0 a (1, ..., 1, C) vector broadcast over every row.
 * out may equal a full-size input (each element is read before it is written), never a broadcast one. */
#include "tc_fixedpoint.h"
#include "tc_kernels.h"

void tc_mul_s8(const tc_mul_params *p, const int8_t *a, int32_t a_step, const int8_t *b, int32_t b_step, int8_t *out,
               int32_t rows, int32_t cols)
{
    int32_t r, c;
    for (r = 0; r < rows; ++r) {
        const int8_t *ar = a + r * a_step;
        const int8_t *br = b + r * b_step;
        int8_t *o = out + r * cols;
        for (c = 0; c < cols; ++c) {
            const int32_t prod = ((int32_t)ar[c] - p->input1_zp) * ((int32_t)br[c] - p->input2_zp);
            o[c] = tc_output_s8(tc_requantize(prod, p->mult, p->shift), p->output_zp, p->act_min, p->act_max);
        }
    }
}
