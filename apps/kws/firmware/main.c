/* KWS firmware main loop: test clips, then a long stream, through the C front end and the int8 model.
 *
 * For each compiled-in clip (int16 PCM, app_data.h kws_clips): front end -> int8 features -> model_invoke, then
 * prints (parsed by apps/kws/firmware_run.py):
 *   clip <k> label <argmax> fe <instructions> model <instructions>
 *   feat <int8 features, hex>
 *   out <int8 outputs, hex>
 * Then, if KWS_HAS_STREAM, the stream kws_stream_pcm: a window of KWS_WINDOW_SAMPLES every KWS_HOP_SAMPLES, each
 * printed as `win <w> start <sample> label <argmax> fe <n> model <n>` + feat/out lines, posteriors averaged by
 * kws_stream.c, and each detection as `det <class> <time_ms> <sum of Q15 posteriors>`. Ends with
 * `stack <bytes> heap <bytes>` (the deepest stack around model_invoke, the heap in use) and `done`.
 * Instruction counts come from the board counter (exact under QEMU -icount), around each call separately.
 */
#include <stdint.h>
#include <stdio.h>

#include TC_BOARD_HEADER
#include "app_data.h"
#include "kws_features.h"
#include "kws_stream.h"
#include "model.h"
#include "tc_app_output.h"

#if MODEL_INPUT_BYTES != KWS_FEATURE_BYTES
#error "the model input does not match the front end's feature map"
#endif
#if MODEL_OUTPUT_BYTES != KWS_N_CLASSES
#error "the model output does not match KWS_N_CLASSES"
#endif

static int8_t kws_in[MODEL_INPUT_BYTES];
static int8_t kws_out[MODEL_OUTPUT_BYTES];
static char kws_line[TC_HEX_LINE_BYTES(MODEL_INPUT_BYTES)];

static int32_t argmax(const int8_t *v, int32_t n) {
    int32_t i, best = 0;
    for (i = 1; i < n; ++i) {
        if (v[i] > v[best]) {
            best = i;
        }
    }
    return best;
}

/* Front end + model on one window; prints the header line and the feat/out lines. */
static int run_window(const char *what, int32_t index, uint32_t start, const int16_t *pcm) {
    unsigned long fe = 0, mi = 0, stack = 0;
    int rc;
    TC_COUNTER_BEGIN();
    kws_features_s16(pcm, MODEL_INPUT_SCALE, MODEL_INPUT_ZERO_POINT, kws_in);
    TC_COUNTER_END(fe);
    TC_STACK_PAINT();
    TC_COUNTER_BEGIN();
    rc = model_invoke(kws_in, kws_out);
    TC_COUNTER_END(mi);
    TC_STACK_USED(stack);
    tc_stack_note(stack);
    if (rc != 0) {
        printf("error model_invoke returned %d on %s %ld\n", rc, what, (long)index);
        return 1;
    }
    if (what[0] == 'w') {
        printf("win %ld start %lu label %ld fe %lu model %lu\n", (long)index, (unsigned long)start,
               (long)argmax(kws_out, MODEL_OUTPUT_BYTES), fe, mi);
    } else {
        printf("clip %ld label %ld fe %lu model %lu\n", (long)index, (long)argmax(kws_out, MODEL_OUTPUT_BYTES), fe,
               mi);
    }
    tc_print_hex("feat", kws_in, MODEL_INPUT_BYTES, kws_line);
    tc_print_hex("out", kws_out, MODEL_OUTPUT_BYTES, kws_line);
    return 0;
}

int main(void) {
    int32_t k;
    tc_board_init();
    for (k = 0; k < KWS_N_CLIPS; ++k) {
        if (run_window("clip", k, 0u, &kws_clips[k * KWS_WINDOW_SAMPLES]) != 0) {
            return 1;
        }
    }
#if KWS_HAS_STREAM
    {
        static kws_stream_t stream;
        uint16_t post[KWS_N_CLASSES];
        uint32_t start;
        int32_t w = 0, cls, sum;
        kws_stream_init(&stream);
        for (start = 0; start + KWS_WINDOW_SAMPLES <= KWS_STREAM_PCM_LEN; start += KWS_HOP_SAMPLES, ++w) {
            uint32_t time_ms = (uint32_t)(((uint64_t)(start + KWS_WINDOW_SAMPLES) * 1000u) / KWS_SAMPLE_RATE_HZ);
            if (run_window("win", w, start, &kws_stream_pcm[start]) != 0) {
                return 1;
            }
            kws_posteriors_q15(kws_out, post);
            if (kws_stream_push(&stream, post, time_ms, &cls, &sum)) {
                printf("det %ld %lu %ld\n", (long)cls, (unsigned long)time_ms, (long)sum);
            }
        }
    }
#endif
    printf("stack %lu heap %lu\n", tc_stack_note(0), tc_heap_used());
    puts("done");
    return 0;
}
