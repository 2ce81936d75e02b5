"""int16 PCM conversion: rounding to nearest, saturation at both ends, exact way back."""
import numpy as np

from tinycore.audio.pcm import from_pcm16, pcm16


def test_pcm16_rounds_and_saturates():
    x = np.array([0.0, 0.5 / 32768, 1.49 / 32768, -1.51 / 32768, 1.0, 2.0, -1.0, -3.0], np.float32)
    assert pcm16(x).tolist() == [0, 0, 1, -2, 32767, 32767, -32768, -32768]  # 0.5 rounds to even


def test_from_pcm16_is_exact_inverse_on_int16():
    pcm = np.arange(-32768, 32768, 7, dtype=np.int16)
    np.testing.assert_array_equal(pcm16(from_pcm16(pcm)), pcm)
