/* See kws_features.h. */
#include "kws_features.h"

static float kws_frame[TC_FE_FRAME_SAMPLES];
#if TC_FE_NOISE_SUBTRACT
static float kws_mels[TC_FE_NUM_FRAMES * TC_FE_N_MELS]; /* the noise floors need every frame before the log */
#endif
#if TC_FE_MEAN_NORMALIZE
static float kws_feats[TC_FE_NUM_FRAMES * TC_FE_N_FEATURES]; /* the means need every frame before quantizing */
#else
static float kws_row[TC_FE_N_FEATURES];
#endif

/* Where frame t's float features go: the window's array when the means are still to come, else one row. */
static float *kws_row_of(int32_t t) {
#if TC_FE_MEAN_NORMALIZE
    return &kws_feats[t * TC_FE_N_FEATURES];
#else
    (void)t;
    return kws_row;
#endif
}

/* Frame t's features are written: quantize them at once unless the means are still to come. */
static void kws_row_done(int32_t t, float scale, int32_t zero_point, int8_t *out) {
#if TC_FE_MEAN_NORMALIZE
    (void)t, (void)scale, (void)zero_point, (void)out;
#else
    tc_frontend_quantize_s8(kws_row, TC_FE_N_FEATURES, scale, zero_point, &out[t * TC_FE_N_FEATURES]);
#endif
}

void kws_features_s16(const int16_t *pcm, float scale, int32_t zero_point, int8_t *out) {
    float peak = 1.0f;
    int32_t t, i;
#if TC_FE_PEAK_NORMALIZE
    int32_t mx = 0;
    for (i = 0; i < TC_FE_CLIP_SAMPLES; ++i) {
#if TC_FE_PEAK_SIGNED
        int32_t a = pcm[i]; /* MLPerf (--frontend mlperf): the largest sample value */
#else
        int32_t a = pcm[i] < 0 ? -(int32_t)pcm[i] : (int32_t)pcm[i];
#endif
        mx = a > mx ? a : mx;
    }
    if (mx > 0) {
        peak = (float)mx / 32768.0f; /* = max |s / 32768| (or max s / 32768), exactly */
    }
#endif
    for (t = 0; t < TC_FE_NUM_FRAMES; ++t) {
        const int16_t *x = &pcm[t * TC_FE_HOP_SAMPLES];
        for (i = 0; i < TC_FE_FRAME_SAMPLES; ++i) {
            kws_frame[i] = ((float)x[i] / 32768.0f) / peak;
        }
#if TC_FE_NOISE_SUBTRACT
        tc_frontend_frame_mel(kws_frame, &kws_mels[t * TC_FE_N_MELS]);
#else
        tc_frontend_frame(kws_frame, kws_row_of(t));
        kws_row_done(t, scale, zero_point, out);
#endif
    }
#if TC_FE_NOISE_SUBTRACT
    tc_frontend_subtract_noise(kws_mels);
    for (t = 0; t < TC_FE_NUM_FRAMES; ++t) {
        tc_frontend_mel_features(&kws_mels[t * TC_FE_N_MELS], kws_row_of(t));
        kws_row_done(t, scale, zero_point, out);
    }
#endif
#if TC_FE_MEAN_NORMALIZE
    tc_frontend_mean_normalize(kws_feats);
    tc_frontend_quantize_s8(kws_feats, TC_FE_NUM_FRAMES * TC_FE_N_FEATURES, scale, zero_point, out);
#endif
}
