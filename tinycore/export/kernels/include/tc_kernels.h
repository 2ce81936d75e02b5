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
 * In-place variants (out == in, decided by the exporter's arena plan):
 *   tc_conv2d_s8            1x1, stride 1, no padding, Cout <= Cin: needs scratch of Cout bytes.
 *   tc_depthwise_conv2d_s8  depth_multiplier 1: needs scratch of OH * OW bytes.
 *   tc_add_s8, tc_quantize_s8 (elementwise): out may equal an input; no scratch.
 * Otherwise out must not overlap any input and scratch may be NULL.
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

/* filter_dims: h = KH, w = KW, c = Cin; weights (Cout, KH, KW, Cin), Cout = out_dims->c. */
void tc_conv2d_s8(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in, const tc_dims *filter_dims,
                  const int8_t *weights, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                  const tc_dims *out_dims, int8_t *out, int8_t *scratch);

/* filter_dims: h = KH, w = KW, c = C * M; weights (KH, KW, C * M). */
void tc_depthwise_conv2d_s8(const tc_conv_params *p, const tc_dims *in_dims, const int8_t *in,
                            const tc_dims *filter_dims, const int8_t *weights, const int32_t *bias,
                            const int32_t *mult, const int32_t *shift, const tc_dims *out_dims, int8_t *out,
                            int8_t *scratch);

/* in: n_in values (the input flattened in row-major order); weights (n_out, n_in). */
void tc_fully_connected_s8(const int8_t *in, int32_t n_in, const int8_t *weights, const int32_t *bias,
                           const int32_t *mult, const int32_t *shift, int8_t *out, int32_t n_out, int32_t input_zp,
                           int32_t output_zp, int32_t act_min, int32_t act_max);

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

/* TFLite int8 softmax over each row of cols values; output scale 1/256, zero point -128. */
void tc_softmax_s8(const int8_t *in, int8_t *out, int32_t rows, int32_t cols, int32_t input_mult,
                   int32_t input_left_shift, int32_t diff_min);

/* TFLite QUANTIZE int8 -> int8 (another scale and zero point). */
void tc_quantize_s8(const int8_t *in, int8_t *out, int32_t size, int32_t input_zp, int32_t output_zp, int32_t mult,
                    int32_t shift);

/* ---- transformer ops (MCUFormer, issue #14) ---- */

/* Integer LayerNorm over rows of d values (see tinycore/runtime/ops/layer_norm.py); gamma int8 (d), bias int32 (d);
 * mult/shift requantize gamma * 2^22 (x - mean) / sqrt(ssq) + bias. in and out may not overlap. */
void tc_layer_norm_s8(const int8_t *in, int8_t *out, int32_t rows, int32_t d, const int8_t *gamma,
                      const int32_t *bias, int32_t mult, int32_t shift, int32_t output_zp);

/* GELU (or any int8 -> int8 function) by a 256-entry table indexed by x + 128; out may equal in. */
void tc_gelu_s8(const int8_t *in, int8_t *out, int32_t size, const int8_t *table);

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
