/* Streaming decision of the KWS firmware, integer only: the C twin of apps/kws/stream.py (see its docstring).
 *
 * Settings come from app_data.h (generated from apps.kws.stream.StreamConfig): KWS_N_CLASSES (<= 32),
 * KWS_AVERAGE_WINDOWS (K), KWS_THRESHOLD_Q15, KWS_SUPPRESSION_MS, KWS_BACKGROUND_MASK (bit c set: class c is
 * never reported) and the table kws_exp_q16[256] = round(65536 * exp(-d * output_scale)).
 */
#ifndef KWS_STREAM_H
#define KWS_STREAM_H

#include <stdint.h>

#include "app_data.h"

typedef struct {
    uint16_t post[KWS_AVERAGE_WINDOWS][KWS_N_CLASSES]; /* Q15 posteriors of the last K windows (ring) */
    int32_t count;                                      /* windows pushed so far */
    int32_t has_last;                                   /* a detection was made */
    uint32_t last_ms;                                   /* its time */
} kws_stream_t;

void kws_stream_init(kws_stream_t *s);

/* int8 logits (KWS_N_CLASSES) -> Q15 posteriors: floor(E[max - q_c] * 32768 / sum_j E[max - q_j]). */
void kws_posteriors_q15(const int8_t *logits, uint16_t *post);

/* Adds one window's posteriors (its end at time_ms); returns 1 and sets *cls and *sum (the K-window sum of
 * the class's Q15 posteriors) when it is a detection, else 0. */
int kws_stream_push(kws_stream_t *s, const uint16_t *post, uint32_t time_ms, int32_t *cls, int32_t *sum);

#endif /* KWS_STREAM_H */
