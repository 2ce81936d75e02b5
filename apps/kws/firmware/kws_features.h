/* KWS features for the firmware: one window of int16 PCM -> the model's int8 input, frame by frame.
 *
 * Same result as apps/kws/stream.py's Python path (torch front end + quantize_float_s8) up to float rounding
 * at a quantization boundary: each sample is s / 32768 (exact), the window is divided by its peak |s| / 32768
 * (if the config peak-normalizes; max s / 32768 with TC_FE_PEAK_SIGNED, the MLPerf front end), then each frame goes through tc_frontend_frame and is quantized at once with
 * tc_frontend_quantize_s8. Only one frame is held as float (TC_FE_FRAME_SAMPLES floats), not the whole window,
 * unless the config mean-normalizes (TC_FE_MEAN_NORMALIZE): then the window's float features are kept
 * (TC_FE_NUM_FRAMES x TC_FE_N_FEATURES floats), their means over the frames subtracted, then quantized. With
 * TC_FE_NOISE_SUBTRACT the window's mel energies are kept (TC_FE_NUM_FRAMES x TC_FE_N_MELS floats), each band's
 * noise floor subtracted (tc_frontend_subtract_noise), then each frame goes on through tc_frontend_mel_features.
 */
#ifndef KWS_FEATURES_H
#define KWS_FEATURES_H

#include <stdint.h>

#include "tc_frontend.h"

#if TC_FE_FRAMES_STACKED != 1
#error "kws_features: the KWS model input is the (T, F) feature map; frames_stacked must be 1"
#endif

#define KWS_FEATURE_BYTES (TC_FE_NUM_FRAMES * TC_FE_N_FEATURES)

/* pcm: TC_FE_CLIP_SAMPLES samples; out: KWS_FEATURE_BYTES int8, time-major (T, F), quantized with the model
 * input's scale and zero point. */
void kws_features_s16(const int16_t *pcm, float scale, int32_t zero_point, int8_t *out);

#endif /* KWS_FEATURES_H */
