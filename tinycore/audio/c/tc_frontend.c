/* Audio front end in float32 C99: window, radix-2 real FFT, |X|^power, sparse mel, optional noise-floor
 * subtraction, log, DCT. See tc_frontend.h. */
#include "tc_frontend.h"
#include "tc_fixedpoint.h"

#include <math.h>

#define TC_FE_HALF (TC_FE_N_FFT / 2)

/* The windowed frame, zero-padded to n_fft; read as TC_FE_HALF interleaved complex values by the FFT. */
static float tc_fe_buf[TC_FE_N_FFT];
static float tc_fe_spec[TC_FE_N_BINS];
static float tc_fe_logmel[TC_FE_N_MELS]; /* a frame's mel energies, then their logs (in place) */

/* In-place iterative radix-2 DIT FFT of TC_FE_HALF complex values (re, im interleaved) in tc_fe_buf.
 * Twiddle for an m-point stage, index j: exp(-2 pi i j / m) = tc_fe_twiddle[(TC_FE_N_FFT / m) * j]. */
static void tc_fe_complex_fft(void) {
    float *z = tc_fe_buf;
    int32_t i, j = 0, m;
    for (i = 0; i < TC_FE_HALF - 1; ++i) { /* bit-reversal permutation */
        int32_t bit = TC_FE_HALF >> 1;
        if (i < j) {
            float tr = z[2 * i], ti = z[2 * i + 1];
            z[2 * i] = z[2 * j];
            z[2 * i + 1] = z[2 * j + 1];
            z[2 * j] = tr;
            z[2 * j + 1] = ti;
        }
        while (j & bit) {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
    }
    for (m = 2; m <= TC_FE_HALF; m <<= 1) {
        int32_t half = m >> 1, step = TC_FE_N_FFT / m, k;
        for (k = 0; k < TC_FE_HALF; k += m) {
            for (i = 0; i < half; ++i) {
                float wr = tc_fe_twiddle[2 * (step * i)], wi = -tc_fe_twiddle[2 * (step * i) + 1];
                float *a = &z[2 * (k + i)], *b = &z[2 * (k + i + half)];
                float tr = b[0] * wr - b[1] * wi, ti = b[0] * wi + b[1] * wr;
                b[0] = a[0] - tr;
                b[1] = a[1] - ti;
                a[0] += tr;
                a[1] += ti;
            }
        }
    }
}

/* Real FFT of the n_fft real values in tc_fe_buf (via the half-size complex FFT), then |X[k]|^power for
 * k = 0..n_fft/2 into tc_fe_spec. X[k] = E[k] + W^k O[k], E = (Z[k] + conj Z[M-k]) / 2,
 * O = -i (Z[k] - conj Z[M-k]) / 2, W = exp(-2 pi i / n_fft), M = n_fft / 2. */
static void tc_fe_power_spectrum(void) {
    const float *z = tc_fe_buf;
    int32_t k;
    tc_fe_complex_fft();
    for (k = 0; k <= TC_FE_HALF; ++k) {
        int32_t a = (k == TC_FE_HALF) ? 0 : k, b = (k == 0) ? 0 : TC_FE_HALF - k;
        float zr = z[2 * a], zi = z[2 * a + 1], cr = z[2 * b], ci = -z[2 * b + 1];
        float er = 0.5f * (zr + cr), ei = 0.5f * (zi + ci);
        float orr = 0.5f * (zi - ci), oi = -0.5f * (zr - cr);
        float wr = 1.0f, wi = 0.0f, xr, xi, p;
        if (k < TC_FE_HALF) {
            wr = tc_fe_twiddle[2 * k];
            wi = -tc_fe_twiddle[2 * k + 1];
        } else {
            wr = -1.0f;
        }
        xr = er + wr * orr - wi * oi;
        xi = ei + wr * oi + wi * orr;
        p = xr * xr + xi * xi;
#if TC_FE_POWER == 1
        tc_fe_spec[k] = sqrtf(p);
#else
        tc_fe_spec[k] = p;
#endif
    }
}

void tc_frontend_frame_mel(const float *frame, float *mel) {
    int32_t i, m, pos = 0;
    for (i = 0; i < TC_FE_FRAME_SAMPLES; ++i) {
        tc_fe_buf[i] = frame[i] * tc_fe_window[i];
    }
    for (; i < TC_FE_N_FFT; ++i) {
        tc_fe_buf[i] = 0.0f;
    }
    tc_fe_power_spectrum();
    for (m = 0; m < TC_FE_N_MELS; ++m) {
        const float *w = &tc_fe_mel_weight[pos];
        const float *s = &tc_fe_spec[tc_fe_mel_start[m]];
        float acc = 0.0f;
        for (i = 0; i < (int32_t)tc_fe_mel_len[m]; ++i) {
            acc += w[i] * s[i];
        }
        pos += tc_fe_mel_len[m];
        mel[m] = acc;
    }
}

void tc_frontend_mel_features(const float *mel, float *out) {
    int32_t i, m;
    for (m = 0; m < TC_FE_N_MELS; ++m) {
        float v = mel[m] + TC_FE_LOG_OFFSET;
#if TC_FE_LOG_10LOG10
        tc_fe_logmel[m] = 10.0f * log10f(v);
#else
        tc_fe_logmel[m] = logf(v);
#endif
    }
#if TC_FE_N_MFCC > 0
    for (i = 0; i < TC_FE_N_MFCC; ++i) {
        const float *d = &tc_fe_dct[i * TC_FE_N_MELS];
        float acc = 0.0f;
        for (m = 0; m < TC_FE_N_MELS; ++m) {
            acc += d[m] * tc_fe_logmel[m];
        }
        out[i] = acc;
    }
#else
    (void)i;
    for (m = 0; m < TC_FE_N_MELS; ++m) {
        out[m] = tc_fe_logmel[m];
    }
#endif
}

void tc_frontend_frame(const float *frame, float *out) {
    tc_frontend_frame_mel(frame, tc_fe_logmel);
    tc_frontend_mel_features(tc_fe_logmel, out); /* mel may be tc_fe_logmel: each value is read before written */
}

void tc_frontend_subtract_noise(float *mels) {
    int32_t t, m;
    for (m = 0; m < TC_FE_N_MELS; ++m) {
        float lowest = mels[m], cut, keep;
        for (t = 1; t < TC_FE_NUM_FRAMES; ++t) {
            float e = mels[t * TC_FE_N_MELS + m];
            lowest = e < lowest ? e : lowest;
        }
        cut = TC_FE_NOISE_SUBTRACT_BETA * lowest;
        keep = TC_FE_NOISE_FLOOR * lowest;
        for (t = 0; t < TC_FE_NUM_FRAMES; ++t) {
            float e = mels[t * TC_FE_N_MELS + m] - cut;
            mels[t * TC_FE_N_MELS + m] = e > keep ? e : keep;
        }
    }
}

void tc_frontend_clip(const float *clip, float *out) {
    static float frame[TC_FE_FRAME_SAMPLES];
#if TC_FE_NOISE_SUBTRACT
    static float mels[TC_FE_NUM_FRAMES * TC_FE_N_MELS]; /* the floors need every frame before the log */
#endif
    int32_t t, i;
    float peak = 1.0f;
#if TC_FE_PEAK_NORMALIZE
    float mx = 0.0f;
    for (i = 0; i < TC_FE_CLIP_SAMPLES; ++i) {
#if TC_FE_PEAK_SIGNED
        float a = clip[i]; /* MLPerf: the largest sample value, not |x| */
#else
        float a = fabsf(clip[i]);
#endif
        mx = a > mx ? a : mx;
    }
    if (mx > 0.0f) {
        peak = mx;
    }
#endif
    for (t = 0; t < TC_FE_NUM_FRAMES; ++t) {
        const float *x = &clip[t * TC_FE_HOP_SAMPLES];
        for (i = 0; i < TC_FE_FRAME_SAMPLES; ++i) {
            frame[i] = x[i] / peak;
        }
#if TC_FE_NOISE_SUBTRACT
        tc_frontend_frame_mel(frame, &mels[t * TC_FE_N_MELS]);
#else
        tc_frontend_frame(frame, &out[t * TC_FE_N_FEATURES]);
#endif
    }
#if TC_FE_NOISE_SUBTRACT
    tc_frontend_subtract_noise(mels);
    for (t = 0; t < TC_FE_NUM_FRAMES; ++t) {
        tc_frontend_mel_features(&mels[t * TC_FE_N_MELS], &out[t * TC_FE_N_FEATURES]);
    }
#endif
#if TC_FE_MEAN_NORMALIZE
    tc_frontend_mean_normalize(out);
#endif
}

void tc_frontend_mean_normalize(float *feats) {
    int32_t t, f;
    for (f = 0; f < TC_FE_N_FEATURES; ++f) {
        float sum = 0.0f, mean;
        for (t = 0; t < TC_FE_NUM_FRAMES; ++t) {
            sum += feats[t * TC_FE_N_FEATURES + f];
        }
        mean = sum / (float)TC_FE_NUM_FRAMES;
        for (t = 0; t < TC_FE_NUM_FRAMES; ++t) {
            feats[t * TC_FE_N_FEATURES + f] -= mean;
        }
    }
}

void tc_frontend_quantize_s8(const float *x, int32_t n, float scale, int32_t zero_point, int8_t *out) {
    int32_t i;
    for (i = 0; i < n; ++i) {
        out[i] = tc_quantize_float_s8(x[i], scale, zero_point);
    }
}
