/* Audio front end for the firmware: clip -> (T, F) float32 features -> int8 model input.
 *
 * C twin of tinycore/audio/features.py (torch); equal to it within the tolerance tests/audio/test_c_frontend.py
 * states. The settings and tables (window, twiddles, sparse mel filters, DCT) are generated from a FrontendConfig
 * by tinycore/audio/ctables.py into tc_frontend_config.h / tc_frontend_tables.c; every buffer is static and sized
 * by those macros (no malloc). Not reentrant: one front end per firmware.
 */
#ifndef TC_FRONTEND_H
#define TC_FRONTEND_H

#include <stdint.h>

#include "tc_frontend_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One frame: TC_FE_FRAME_SAMPLES samples (already peak-normalized if the config asks) -> TC_FE_N_FEATURES
 * values. */
void tc_frontend_frame(const float *frame, float *out);

/* The two halves of tc_frontend_frame: one frame -> TC_FE_N_MELS mel energies (window, FFT, mel filters), and
 * mel energies -> TC_FE_N_FEATURES values (log of energy + TC_FE_LOG_OFFSET, then the DCT if TC_FE_N_MFCC > 0). */
void tc_frontend_frame_mel(const float *frame, float *mel);
void tc_frontend_mel_features(const float *mel, float *out);

/* Spectral subtraction over TC_FE_NUM_FRAMES x TC_FE_N_MELS mel energies (time-major), in place: each band's floor
 * is its smallest energy over the frames, every energy e becomes max(e - TC_FE_NOISE_SUBTRACT_BETA * floor,
 * TC_FE_NOISE_FLOOR * floor). What tc_frontend_clip does between the two halves when TC_FE_NOISE_SUBTRACT is 1. */
void tc_frontend_subtract_noise(float *mels);

/* One clip: TC_FE_CLIP_SAMPLES samples in [-1, 1) -> TC_FE_NUM_FRAMES x TC_FE_N_FEATURES values, time-major.
 * With TC_FE_FRAMES_STACKED = n, model input vector i is the contiguous run out[i * F .. (i + n) * F). */
void tc_frontend_clip(const float *clip, float *out);

/* Subtract from each of the TC_FE_N_FEATURES features its mean over the TC_FE_NUM_FRAMES frames of feats (time-
 * major), in place: what tc_frontend_clip does last when TC_FE_MEAN_NORMALIZE is 1. */
void tc_frontend_mean_normalize(float *feats);

/* x / scale, rounded half away from zero (roundf), + zero_point, clamped to [-128, 127]: TFLite QUANTIZE, by
 * tc_quantize_float_s8 (tc_fixedpoint.h). Same integers as tinycore.runtime.fixedpoint.quantize_float_s8. */
void tc_frontend_quantize_s8(const float *x, int32_t n, float scale, int32_t zero_point, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* TC_FRONTEND_H */
