/* Anomaly firmware main loop: compiled-in test clips through the C front end, the int8 autoencoder and the alarm.
 *
 * Each clip (app_data.h an_clips, int16 PCM) holds the samples of the AN_FRAMES frames of its frame window (the
 * whole 10 s clip; ToyCar: MLPerf's frames 50..249). Per clip:
 *   log-mel of AN_FRAMES frames (tc_frontend_frame, hop TC_FE_HOP_SAMPLES) into an_feats (time-major);
 *   for every AN_VECTOR_STRIDE-th of the AN_VECTORS stacked vectors: quantize (tc_frontend_quantize_s8),
 *   model_invoke, and accumulate (in double) mean((target - deq(out))^2): the autoencoder's target is deq(in), all
 *   640 values; the IDNN's (AN_IDNN, apps/anomaly/idnn.py) is the centre frame of deq(in) standardised per bin,
 *   (deq(in[AN_TARGET_OFFSET + i]) - mean[i]) * inv_sd[i] over its 128 bins, with the float32 bit patterns
 *   an_mean_bits / an_inv_sd_bits (the network itself takes the raw features: its standardisation is folded in);
 *   clip score = mean over the scored vectors; alarm = score > AN_THRESHOLD (float bits in AN_THRESHOLD_BITS).
 * Prints (parsed by apps/anomaly/firmware_run.py):
 *   clip <k> fe <instructions> model <instructions, sum over vectors> alarm <0|1> score <double bits, hex>
 *   feat <int8 hex> / out <int8 hex>   for each scored vector
 * then `stack <bytes> heap <bytes>` (the deepest stack around model_invoke, the heap in use) and `done`.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include TC_BOARD_HEADER
#include "app_data.h"
#include "model.h"
#include "tc_app_output.h"
#include "tc_frontend.h"

#define AN_VECTOR_VALUES (TC_FE_FRAMES_STACKED * TC_FE_N_FEATURES)
#define AN_CLIP_SAMPLES ((AN_FRAMES - 1) * TC_FE_HOP_SAMPLES + TC_FE_FRAME_SAMPLES)

#ifdef AN_IDNN
#if MODEL_INPUT_BYTES != AN_VECTOR_VALUES || MODEL_OUTPUT_BYTES != TC_FE_N_FEATURES
#error "the IDNN takes one stacked vector of the front end and gives one frame"
#endif
#else
#if MODEL_INPUT_BYTES != AN_VECTOR_VALUES || MODEL_OUTPUT_BYTES != AN_VECTOR_VALUES
#error "the autoencoder's input and output must both be one stacked vector of the front end"
#endif
#endif

static float an_feats[AN_FRAMES * TC_FE_N_FEATURES];
static float an_frame[TC_FE_FRAME_SAMPLES];
static int8_t an_in[MODEL_INPUT_BYTES];
static int8_t an_out[MODEL_OUTPUT_BYTES];
static char an_line[TC_HEX_LINE_BYTES(MODEL_INPUT_BYTES)];

#ifdef AN_IDNN
static float bits_float(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}
#endif

static double vector_mse(void) {
    const double si = (double)MODEL_INPUT_SCALE, so = (double)MODEL_OUTPUT_SCALE;
    double acc = 0.0;
    int32_t i;
    for (i = 0; i < MODEL_OUTPUT_BYTES; ++i) {
#ifdef AN_IDNN
        double t = (si * (double)(an_in[AN_TARGET_OFFSET + i] - MODEL_INPUT_ZERO_POINT) -
                    (double)bits_float(an_mean_bits[i])) * (double)bits_float(an_inv_sd_bits[i]);
#else
        double t = si * (double)(an_in[i] - MODEL_INPUT_ZERO_POINT);
#endif
        double d = t - so * (double)(an_out[i] - MODEL_OUTPUT_ZERO_POINT);
        acc += d * d;
    }
    return acc / (double)MODEL_OUTPUT_BYTES;
}

static int run_clip(int32_t k) {
    const int16_t *pcm = &an_clips[k * AN_CLIP_SAMPLES];
    unsigned long fe = 0, mi = 0, total = 0, stack = 0;
    double score = 0.0;
    uint64_t bits;
    float threshold;
    uint32_t tbits = AN_THRESHOLD_BITS;
    int32_t t, i, v, n = 0;
    TC_COUNTER_BEGIN();
    for (t = 0; t < AN_FRAMES; ++t) {
        for (i = 0; i < TC_FE_FRAME_SAMPLES; ++i) {
            an_frame[i] = (float)pcm[t * TC_FE_HOP_SAMPLES + i] * (1.0f / 32768.0f);
        }
        tc_frontend_frame(an_frame, &an_feats[t * TC_FE_N_FEATURES]);
    }
    TC_COUNTER_END(fe);
    printf("clip %ld fe %lu\n", (long)k, fe);
    for (v = 0; v < AN_VECTORS; v += AN_VECTOR_STRIDE, ++n) {
        int rc;
        tc_frontend_quantize_s8(&an_feats[v * TC_FE_N_FEATURES], AN_VECTOR_VALUES, MODEL_INPUT_SCALE,
                                MODEL_INPUT_ZERO_POINT, an_in);
        TC_STACK_PAINT();
        TC_COUNTER_BEGIN();
        rc = model_invoke(an_in, an_out);
        TC_COUNTER_END(mi);
        TC_STACK_USED(stack);
        tc_stack_note(stack);
        total += mi;
        if (rc != 0) {
            printf("error model_invoke returned %d on clip %ld vector %ld\n", rc, (long)k, (long)v);
            return 1;
        }
        score += vector_mse();
        tc_print_hex("feat", an_in, MODEL_INPUT_BYTES, an_line);
        tc_print_hex("out", an_out, MODEL_OUTPUT_BYTES, an_line);
    }
    score /= (double)n;
    memcpy(&bits, &score, sizeof bits);
    memcpy(&threshold, &tbits, sizeof threshold);
    printf("score %ld model %lu vectors %ld alarm %d bits %08lx%08lx\n", (long)k, total, (long)n,
           score > (double)threshold ? 1 : 0, (unsigned long)(bits >> 32), (unsigned long)(bits & 0xffffffffu));
    return 0;
}

int main(void) {
    int32_t k;
    tc_board_init();
    for (k = 0; k < AN_N_CLIPS; ++k) {
        if (run_clip(k) != 0) {
            return 1;
        }
    }
    printf("stack %lu heap %lu\n", tc_stack_note(0), tc_heap_used());
    puts("done");
    return 0;
}
