/* tc_kernels.h: every kernel the exported model calls, one C file per kernel (portable/ or cortex_m/).
 *
 * Layouts are NHWC with a batch of 1 (as the integer graph, tinycore/ir): a feature map is H x W x C bytes,
 * element (y, x, c) at (y * W + x) * C + c. Weights: conv2d (Cout, KH, KW, Cin); depthwise (KH, KW, C * M),
 * output channel c * M + m reads input channel c; fully connected (Nout, Nin). Biases, Q31 multipliers and
 * shifts are int32 per output channel. Activations are int8 in [-128, 127]; act_min/act_max are the clamps of a
 * fused activation. Padding is explicit: the top/left padding is given, bottom/right follow from the output
 * size. Requantization is tc_requantize (tc_fixedpoint.h). Accumulators are int32, as in TFLite Micro.
 *
 * Kernels never allocate and never fail: every argument is prepared and checked at export (tinycore.export).
 * Scratch lives in the arena (planned by tinycore.memory; rules.scratch_bytes mirrors the tc_<op>_scratch_bytes
 * functions below), never on the stack. One model.c serves both kernel sets, so a conv's scratch is sized for
 * the larger need, the Cortex-M DSP conv's int16 columns (at most TC_COL_VALUES values, fewer or none where the
 * plan says so: tc_conv_params.columns); the portable kernels use only the in-place part. In-place variants (out == in, decided by the exporter's arena plan):
 *   tc_conv2d_s8            1x1, stride 1, no padding, Cout <= Cin: scratch starts with Cout bytes (one pixel).
 *                           (A patch embedding, kernel = stride, is run in place by model.c one token row at a
 *                           time into scratch: tinycore.memory.rules.patch_rows; the kernel itself is not in place.)
 *   tc_depthwise_conv2d_s8  depth_multiplier 1: needs scratch of OH * OW bytes.
 *   tc_add_s8, tc_quantize_s8 (elementwise): out may equal an input; no scratch.
 *   tc_logistic_s8, tc_hard_swish_s8 (elementwise): out may equal in; tc_mul_s8: out may equal a full-size input.
 * Otherwise out must not overlap any input. A scratch of 0 bytes may be NULL.
 */
#ifndef TC_KERNELS_H
#define TC_KERNELS_H

#include <stdint.h>

typedef struct {
    int32_t h;
    int32_t w;
    int32_t c;
} tc_dims;

typedef struct {
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t input_zp; /* padding holds this value (0 in real terms) */
    int32_t output_zp;
    int32_t act_min;
    int32_t act_max;
    int32_t depth_multiplier; /* depthwise only; 1 for conv2d */
    int32_t columns; /* conv2d only, the columns its scratch holds: 0 as many as fit, k >= 1 at most k, -1 none */
} tc_conv_params;

typedef struct {
    int32_t filter_h;
    int32_t filter_w;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t act_min;
    int32_t act_max;
} tc_pool_params;

typedef struct {
    int32_t input1_zp;
    int32_t input2_zp;
    int32_t output_zp;
    int32_t left_shift;
    int32_t input1_mult;
    int32_t input1_shift;
    int32_t input2_mult;
    int32_t input2_shift;
    int32_t output_mult;
    int32_t output_shift;
    int32_t act_min;
    int32_t act_max;
} tc_add_params;

/* ---- Scratch sizes (bytes; multiples of 4, so that every part starts word-aligned in the arena) ---- */
#define TC_COL_VALUES 1024 /* int16 values of a DSP column buffer (cortex_m/tc_dsp.h TC_DSP_COL_MAX) */
#define TC_CONV_BLOCK_MAX 8 /* output pixels per block of the DSP conv (cortex_m/tc_conv2d_s8.c) */

static inline int32_t tc_round4(int32_t n) { return (n + 3) & ~3; }

/* Bytes of the DSP conv's column area: a block of min(8, pixels, fit, columns if > 0) columns of len4 int16 values
 * plus, when Cin % 4 != 0, len4 staging bytes; with no block of two (one pixel, columns == 1, or columns longer
 * than half the area) one column of len values, or of the whole taps that fit TC_COL_VALUES (none when one tap is
 * longer); none at all for columns == -1 (the column-free path). */
static inline int32_t tc_conv2d_s8_col_bytes(const tc_dims *in_dims, const tc_dims *filter_dims,
                                             const tc_dims *out_dims, int32_t columns)
{
    const int32_t in_c = in_dims->c, len = filter_dims->h * filter_dims->w * in_c, len4 = tc_round4(len);
    const int32_t stage = (in_c & 3) ? len4 : 0, n_pixels = out_dims->h * out_dims->w;
    const int32_t fit = (2 * TC_COL_VALUES - stage) / (2 * len4);
    int32_t p_max = fit < TC_CONV_BLOCK_MAX ? fit : TC_CONV_BLOCK_MAX;
    if (columns < 0) {
        return 0;
    }
    if (columns > 0 && columns < p_max) {
        p_max = columns;
    }
    if (p_max >= 2 && n_pixels >= 2) {
        return (n_pixels < p_max ? n_pixels : p_max) * 2 * len4 + stage;
    }
    if (len <= TC_COL_VALUES) {
        return tc_round4(2 * len);
    }
    return in_c <= TC_COL_VALUES ? tc_round4(2 * (TC_COL_VALUES / in_c) * in_c) : 0;
}

/* conv2d scratch: [one output pixel, Cout bytes rounded to 4, only in place][column area]. The exporter sets
 * tc_conv_params.columns from the arena plan, which gives a conv fewer columns or none (the column-free path)
 * where the column area would raise the arena's peak (memory first); fewer columns are slower. */
static inline int32_t tc_conv2d_s8_scratch_bytes(const tc_dims *in_dims, const tc_dims *filter_dims,
                                                 const tc_dims *out_dims, int inplace, int32_t columns)
{
    return (inplace ? tc_round4(out_dims->c) : 0) + tc_conv2d_s8_col_bytes(in_dims, filter_dims, out_dims, columns);
}

/* depthwise scratch: one output channel (OH * OW bytes), only in place. */
static inline int32_t tc_depthwise_conv2d_s8_scratch_bytes(const tc_dims *out_dims, int inplace)
{
    return inplace ? out_dims->h * out_dims->w : 0;
}

/* fully connected scratch: none; both kernels read the int8 input in place (the DSP one sign-extends each input
 * word once for four weight rows). Kept as a function so that the export and its test name every kernel's need. */
static inline int32_t tc_fully_connected_s8_scratch_bytes(int32_t n_in)
{
    (void)n_in;
    return 0;
}

/* filter_dims: h = KH, w = KW, c = Cin; weights (Cout, KH, KW, Cin), Cout = out_dims->c.
 * scratch: tc_conv2d_s8_scratch_bytes(in_dims, filter_dims, out_dims, out == in, p->columns) bytes. */
void tc_conv2d_s8(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in, const tc_dims *filter_dims,
                  const int8_t *weights, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                  const tc_dims *out_dims, int8_t *out, int8_t *scratch);

/* filter_dims: h = KH, w = KW, c = C * M; weights (KH, KW, C * M). */
void tc_depthwise_conv2d_s8(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in,
                            const tc_dims *filter_dims, const int8_t *weights, const int32_t *bias,
                            const int32_t *mult, const int32_t *shift, const tc_dims *out_dims, int8_t *out,
                            int8_t *scratch);

/* in: n_in values (the input flattened in row-major order); weights (n_out, n_in).
 * scratch: tc_fully_connected_s8_scratch_bytes(n_in) bytes (0: may be NULL). */
void tc_fully_connected_s8(const int8_t *in, int32_t n_in, const int8_t *weights, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, int8_t *out, int32_t n_out, int32_t input_zp,
                           int32_t output_zp, int32_t act_min, int32_t act_max, int8_t *scratch);

/* TFLite ADD (int8): size elements of a and b. */
void tc_add_s8(const tc_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int32_t size);

/* Windows count only pixels inside the input; input and output share one quantization. */
void tc_avg_pool2d_s8(const tc_pool_params *p, const tc_dims *in_dims, const int8_t *in, const tc_dims *out_dims,
                      int8_t *out);
void tc_max_pool2d_s8(const tc_pool_params *p, const tc_dims *in_dims, const int8_t *in, const tc_dims *out_dims,
                      int8_t *out);

/* TFLite MEAN over H and W: in (H, W, C) -> out (C); mult/shift already include 1/(H*W) (TFLite Micro folds it). */
void tc_mean_s8(const tc_dims *in_dims, const int8_t *in, int8_t *out, int32_t input_zp, int32_t output_zp,
                int32_t mult, int32_t shift);

/* Reshape moves no data; called only when the arena plan puts input and output at different offsets. */
void tc_reshape(const int8_t *in, int8_t *out, int32_t size);

/* Constant padding: out is (H + pad_top + pad_bottom, W + pad_left + pad_right, C). */
void tc_pad_s8(const tc_dims *in_dims, const int8_t *in, int8_t *out, int32_t pad_top, int32_t pad_bottom,
               int32_t pad_left, int32_t pad_right, int32_t pad_value);

/* TFLite int8 softmax over each row of cols values; output scale 1/256, zero point -128. exp_table[d] (256 entries)
 * is the Q0.31 exp of a difference d = max - x to the row maximum, 0 below diff_min. */
void tc_softmax_s8(const int8_t *in, int8_t *out, int32_t rows, int32_t cols, const int32_t *exp_table);

/* TFLite QUANTIZE int8 -> int8 (another scale and zero point). */
void tc_quantize_s8(const int8_t *in, int8_t *out, int32_t size, int32_t input_zp, int32_t output_zp, int32_t mult,
                    int32_t shift);

/* ---- transformer ops (MCUFormer, issue #14) ---- */

/* Integer LayerNorm over rows of d values (see tinycore/runtime/ops/layer_norm.py); gamma int8 (d), bias int32 (d);
 * mult/shift requantize gamma * 2^22 (x - mean) / sqrt(ssq) + bias. out may equal in (element i is read before
 * it is written); no other overlap. */
void tc_layer_norm_s8(const int8_t *in, int8_t *out, int32_t rows, int32_t d, const int8_t *gamma,
                      const int32_t *bias, int32_t mult, int32_t shift, int32_t output_zp);

/* GELU (or any int8 -> int8 function) by a 256-entry table indexed by x + 128; out may equal in. */
void tc_gelu_s8(const int8_t *in, int8_t *out, int32_t size, const int8_t *table);

/* --- detection / MobileNetV3 ops --- */

typedef struct {
    int32_t input1_zp;
    int32_t input2_zp;
    int32_t output_zp;
    int32_t mult;
    int32_t shift;
    int32_t act_min;
    int32_t act_max;
} tc_mul_params;

/* TFLite CONCATENATION: copies one input, outer slices of in_inner bytes, into slices of out_inner bytes (out
 * points at the input's place in the first slice); called once per input. */
void tc_concatenation_s8(const int8_t *in, int32_t outer, int32_t in_inner, int8_t *out, int32_t out_inner);

/* TFLite RESIZE_NEAREST_NEIGHBOR: rows[out_h] and cols[out_w] are the source indices (computed at export). */
void tc_resize_nearest_s8(const tc_dims *in_dims, const int8_t *in, const tc_dims *out_dims, int8_t *out,
                          const int32_t *rows, const int32_t *cols);

/* One int8 function of one int8 value by its table, table[x + 128] (elementwise; out may equal in). */
static inline void tc_lookup_s8(const int8_t *in, int8_t *out, int32_t size, const int8_t *table)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        out[i] = table[(int32_t)in[i] + 128];
    }
}

/* TFLite LOGISTIC (output scale 1/256, zero point -128) and HARD_SWISH by their 256-entry tables. */
void tc_logistic_s8(const int8_t *in, int8_t *out, int32_t size, const int8_t *table);
void tc_hard_swish_s8(const int8_t *in, int8_t *out, int32_t size, const int8_t *table);

/* TFLite MUL: rows x cols outputs; a_step / b_step are cols (full tensor) or 0 (a (1, ..., 1, C) vector). */
void tc_mul_s8(const tc_mul_params *p, const int8_t *a, int32_t a_step, const int8_t *b, int32_t b_step, int8_t *out,
               int32_t rows, int32_t cols);


typedef struct {
    int32_t input1_zp;
    int32_t input2_zp;
    int32_t output_zp;
    int32_t mult;
    int32_t shift;
    int32_t act_min;
    int32_t act_max;
    int32_t transpose_b;
} tc_batch_matmul_params;

/* batches products of a (m, k) by b (k, n), or by b (n, k) transposed when p->transpose_b; out (m, n) each. */
void tc_batch_matmul_s8(const tc_batch_matmul_params *p, const int8_t *a, const int8_t *b, int8_t *out,
                        int32_t batches, int32_t m, int32_t k, int32_t n);

/* Axis permutation of a rank-4 (padded) tensor: out_shape and the input strides taken in output axis order. */
void tc_transpose_s8(const int8_t *in, int8_t *out, const int32_t *out_shape, const int32_t *in_strides);

#endif /* TC_KERNELS_H */
