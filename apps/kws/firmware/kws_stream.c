/* See kws_stream.h and apps/kws/stream.py: same integers, same decisions. */
#include "kws_stream.h"

#include <string.h>

#if KWS_N_CLASSES > 32
#error "kws_stream: KWS_BACKGROUND_MASK holds at most 32 classes"
#endif

void kws_stream_init(kws_stream_t *s) { memset(s, 0, sizeof(*s)); }

void kws_posteriors_q15(const int8_t *logits, uint16_t *post) {
    uint32_t e[KWS_N_CLASSES], sum = 0;
    int32_t c, mx = logits[0];
    for (c = 1; c < KWS_N_CLASSES; ++c) {
        mx = logits[c] > mx ? logits[c] : mx;
    }
    for (c = 0; c < KWS_N_CLASSES; ++c) {
        e[c] = kws_exp_q16[mx - logits[c]];
        sum += e[c]; /* >= 65536: the top class contributes E[0] */
    }
    for (c = 0; c < KWS_N_CLASSES; ++c) {
        post[c] = (uint16_t)((e[c] << 15) / sum); /* e <= 65536, so e << 15 <= 2^31 fits */
    }
}

int kws_stream_push(kws_stream_t *s, const uint16_t *post, uint32_t time_ms, int32_t *cls, int32_t *sum) {
    int32_t sums[KWS_N_CLASSES];
    int32_t c, k, top = 0;
    memcpy(s->post[s->count % KWS_AVERAGE_WINDOWS], post, sizeof(s->post[0]));
    s->count += 1;
    if (s->count < KWS_AVERAGE_WINDOWS) {
        return 0;
    }
    for (c = 0; c < KWS_N_CLASSES; ++c) {
        sums[c] = 0;
        for (k = 0; k < KWS_AVERAGE_WINDOWS; ++k) {
            sums[c] += s->post[k][c];
        }
        if (sums[c] > sums[top]) {
            top = c; /* strict: ties keep the lowest index, as numpy.argmax */
        }
    }
    if ((((uint32_t)KWS_BACKGROUND_MASK) >> top) & 1u) {
        return 0;
    }
    if (sums[top] < (int32_t)KWS_AVERAGE_WINDOWS * (int32_t)KWS_THRESHOLD_Q15) {
        return 0;
    }
    if (s->has_last && time_ms - s->last_ms < (uint32_t)KWS_SUPPRESSION_MS) {
        return 0;
    }
    s->has_last = 1;
    s->last_ms = time_ms;
    *cls = top;
    *sum = sums[top];
    return 1;
}
