"""Make mlperf_golden.npz: MLPerf Tiny KWS features of a few 1 s clips, computed by TensorFlow itself.

Run ONCE with the TensorFlow venv (never imported by the project or its tests):
    /work/ext/tfvenv/bin/python tests/audio/golden/make_mlperf_golden.py
The steps are the public facts of mlcommons/tiny benchmark/training/keyword_spotting/get_dataset.py (evaluation
path): clip / its largest sample value; tf.signal.stft (480 window, 320 step, fft_length None -> 512,
tf.signal.hann_window); magnitude; tf.signal.linear_to_mel_weight_matrix (40 bins, 20-4000 Hz); log(mel + 1e-6);
tf.signal.mfccs_from_log_mel_spectrograms, first 10.
Clips (int16 PCM, as a wav file holds them; scaled by 1/32768 like tf.audio.decode_wav): a log tone sweep
50-7500 Hz, white noise at -20 dBFS, and the word "left" from espeak-ng (en-us, resampled 22050 -> 16000 Hz by
linear interpolation, placed at 0.2 s).
"""
from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import tensorflow as tf

RATE_HZ, CLIP = 16000, 16000
OUT = Path(__file__).resolve().parent / "mlperf_golden.npz"


def _word(text: str, voice: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "w.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
        with wave.open(str(path)) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    t_out = np.arange(int(len(x) * RATE_HZ / rate)) / RATE_HZ
    y = np.interp(t_out, np.arange(len(x)) / rate, x)
    out = np.zeros(CLIP)
    out[3200:3200 + min(len(y), CLIP - 3200)] = y[:CLIP - 3200]
    return out


def clips() -> np.ndarray:
    t = np.arange(CLIP) / RATE_HZ
    f0, f1 = 50.0, 7500.0
    sweep = 0.5 * np.sin(2 * np.pi * f0 * (np.exp(t * np.log(f1 / f0)) - 1) / np.log(f1 / f0))
    noise = 0.1 * np.random.default_rng(0).standard_normal(CLIP)
    word = _word("left", "en-us")
    waves = np.stack([sweep, noise, word])
    return np.clip(np.round(waves * 32768.0), -32768, 32767).astype(np.int16)


def mlperf_features(pcm16: np.ndarray) -> dict[str, np.ndarray]:
    x = tf.constant(pcm16.astype(np.float32) / 32768.0)
    x = x / tf.reduce_max(x, axis=-1, keepdims=True)
    stfts = tf.signal.stft(x, frame_length=480, frame_step=320, fft_length=None, window_fn=tf.signal.hann_window)
    mag = tf.abs(stfts)
    mel_w = tf.signal.linear_to_mel_weight_matrix(40, mag.shape[-1], RATE_HZ, 20.0, 4000.0)
    log_mel = tf.math.log(tf.tensordot(mag, mel_w, 1) + 1e-6)
    mfcc = tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :10]
    return {"mel_matrix": mel_w.numpy().T, "log_mel": log_mel.numpy(), "mfcc": mfcc.numpy(),
            "window": tf.signal.hann_window(480).numpy()}


def main() -> None:
    pcm = clips()
    feats = mlperf_features(pcm)
    np.savez_compressed(OUT, pcm16=pcm, names=np.array(["sweep", "noise", "word_left"]),
                        tf_version=np.array(tf.__version__), **feats)
    print(OUT, {k: v.shape for k, v in feats.items()}, "tf", tf.__version__)


if __name__ == "__main__":
    main()
