"""read_wav: the checks both audio apps rely on, each naming the file."""
import warnings

import numpy as np
import pytest
import soundfile as sf

from tinycore.audio.wav import AudioNotice, DataError, pad_or_trim, read_wav


def test_reads_mono_pcm16_exactly(tmp_path):
    x = (np.arange(-50, 50) * 300).astype(np.int16)
    sf.write(tmp_path / "a.wav", x, 16000, subtype="PCM_16")
    np.testing.assert_array_equal(read_wav(tmp_path / "a.wav", 16000), x.astype(np.float32) / 32768)


def test_window_of_a_long_file(tmp_path):
    x = (np.arange(1000) - 500).astype(np.int16)
    sf.write(tmp_path / "n.wav", x, 16000, subtype="PCM_16")
    np.testing.assert_array_equal(read_wav(tmp_path / "n.wav", 16000, start_sample=100, num_samples=5) * 32768,
                                  [-400, -399, -398, -397, -396])
    with pytest.raises(DataError, match=r"n\.wav: window 900\.\.1100 is past the end \(1000 samples\)"):
        read_wav(tmp_path / "n.wav", 16000, start_sample=900, num_samples=200)


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "audio file not found"),
    (lambda p: p.write_bytes(b"this is not audio at all" * 10), "not a readable audio file"),
    (lambda p: sf.write(p, np.zeros(0, np.int16), 16000, subtype="PCM_16"), r"empty \(0 samples\)"),
    (lambda p: sf.write(p, np.zeros((100, 2), np.int16), 16000, subtype="PCM_16"), "has 2 channels, a mono"),
])
def test_bad_files_raise_data_error_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad_clip.wav"
    make(path)
    with pytest.raises(DataError, match=message) as e:
        read_wav(path, 16000)
    assert "bad_clip.wav" in str(e.value)


def test_channel_choice_for_multichannel(tmp_path):
    x = np.stack([np.full(10, 1000, np.int16), np.full(10, -2000, np.int16)], axis=1)
    sf.write(tmp_path / "st.wav", x, 16000, subtype="PCM_16")
    assert read_wav(tmp_path / "st.wav", 16000, channel=1)[0] * 32768 == -2000
    with pytest.raises(DataError, match="channel 2 asked for, the file has 2"):
        read_wav(tmp_path / "st.wav", 16000, channel=2)


def test_other_rate_is_resampled_with_a_notice(tmp_path):
    t = np.arange(8000) / 8000
    sf.write(tmp_path / "r8k.wav", 0.5 * np.sin(2 * np.pi * 440 * t), 8000, subtype="PCM_16")
    with pytest.warns(AudioNotice, match=r"r8k\.wav: sample rate 8000 Hz, resampled to 16000 Hz"):
        y = read_wav(tmp_path / "r8k.wav", 16000)
    assert len(y) == 16000
    peak_hz = np.argmax(np.abs(np.fft.rfft(y[2000:14000]))) * 16000 / 12000
    assert abs(peak_hz - 440) < 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_wav(tmp_path / "r8k.wav", 8000)  # same rate: no notice


def test_pad_or_trim():
    np.testing.assert_array_equal(pad_or_trim(np.ones(3), 5), [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(pad_or_trim(np.arange(7), 5), [0, 1, 2, 3, 4])
