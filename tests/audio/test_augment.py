"""Audio augmentations and noise kinds: each changes the signal as its docstring states, and is seeded."""
import numpy as np
import pytest

from tinycore.audio import augment as A
from tinycore.audio import noise as N

SR = 16000


def _tone(f_hz: float, n: int = SR, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * f_hz * np.arange(n) / SR)).astype(np.float32)


def _gain_db(x: np.ndarray, y: np.ndarray) -> float:
    """Steady-state gain (the second half, after filter transients)."""
    h = len(x) // 2
    return 10 * np.log10(np.mean(y[h:].astype(np.float64) ** 2) / np.mean(x[h:].astype(np.float64) ** 2))


def test_room_impulse_response_decays_at_its_rt60_and_is_seeded():
    for rt60 in (0.3, 1.0):
        ir = A.room_impulse_response(rt60, SR, np.random.default_rng(0))
        assert len(ir) == int(rt60 * SR) and ir[0] == 1.0
        tail = ir[int(0.06 * SR):].astype(np.float64) ** 2  # after the early reflections
        t = np.arange(len(tail)) / SR
        slope = np.polyfit(t, 10 * np.log10(np.convolve(tail, np.ones(256) / 256, "same") + 1e-20), 1)[0]
        assert abs(slope - (-60.0 / rt60)) < 0.25 * 60.0 / rt60  # dB per second
    same = A.room_impulse_response(0.5, SR, np.random.default_rng(5))
    assert np.array_equal(same, A.room_impulse_response(0.5, SR, np.random.default_rng(5)))
    assert not np.array_equal(same, A.room_impulse_response(0.5, SR, np.random.default_rng(6)))


def test_reverberation_smears_a_click_and_keeps_the_peak():
    x = np.zeros(SR, np.float32)
    x[1000] = 0.5
    y = A.reverberate(x, A.room_impulse_response(0.8, SR, np.random.default_rng(1)))
    assert len(y) == SR and np.isclose(np.abs(y).max(), 0.5)
    assert np.abs(y[1000 + int(0.2 * SR):]).max() > 1e-3  # energy long after the click
    assert np.abs(y[:1000]).max() < 1e-9  # causal (FFT convolution rounding only)


def test_band_limit_and_telephone_band():
    for f, inside in ((100, False), (1000, True), (6500, False)):
        x = _tone(f)
        g = _gain_db(x, A.band_limit(x, 300, 3400, SR))
        assert (g > -1.5) if inside else (g < -12), (f, g)
        gt = _gain_db(x, A.telephone(x, SR))
        assert (gt > -2.0) if inside else (gt < -12), (f, gt)


def test_mic_resonance_boosts_its_centre_only():
    assert abs(_gain_db(_tone(3000), A.mic_resonance(_tone(3000), 3000, 12.0, 3.0, SR)) - 12.0) < 0.5
    assert abs(_gain_db(_tone(300), A.mic_resonance(_tone(300), 3000, 12.0, 3.0, SR))) < 1.0


def test_clipping_low_bit_and_mu_law():
    x = _tone(440)
    c = A.hard_clip(x, 6.0)
    assert np.isclose(np.abs(c).max(), 0.5 * 10 ** (-6 / 20))
    q = A.quantize_bits(x, 6)
    assert len(np.unique(q)) <= 2 ** 6 and 0 < np.abs(q - x).max() <= 2.0 ** -6 + 1e-7
    quiet = _tone(440, amp=0.01)
    err_mu = np.abs(A.mu_law(quiet) - quiet).max()
    err_lin = np.abs(A.quantize_bits(quiet, 8) - quiet).max()
    assert 0 < err_mu < err_lin / 4  # µ-law: fine steps near zero
    assert np.abs(A.mu_law(x) - x).max() > err_mu  # and coarse ones near full scale


@pytest.mark.parametrize("kind", A.CHANNELS)
def test_every_channel_changes_the_signal_and_is_seeded(kind):
    x = (0.3 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
    y = A.random_channel(x, kind, SR, np.random.default_rng(2))
    assert y.dtype == np.float32 and len(y) == SR and np.abs(y - x).max() > 1e-3
    assert np.array_equal(y, A.random_channel(x, kind, SR, np.random.default_rng(2)))
    with pytest.raises(ValueError, match="unknown kind"):
        A.random_channel(x, "radio", SR, np.random.default_rng(0))


def test_vtlp_moves_a_formant_by_alpha_and_keeps_alpha_one():
    n_bins = 257
    assert np.allclose(A.vtlp_matrix(1.0, n_bins, SR), np.eye(n_bins))
    spec = np.zeros(n_bins, np.float32)
    spec[64] = 1.0  # 2,000 Hz
    for alpha in (0.88, 1.12):
        warped = A.vtlp_matrix(alpha, n_bins, SR) @ spec
        centre = float((warped * np.arange(n_bins)).sum() / warped.sum())
        assert abs(centre - 64 * alpha) < 1.0, (alpha, centre)


@pytest.mark.parametrize("make", [N.fan, N.street, N.music])
def test_noise_kinds_are_unit_rms_and_seeded(make):
    x = make(SR, SR, np.random.default_rng(3))
    assert x.dtype == np.float32 and len(x) == SR and abs(np.sqrt(np.mean(x.astype(np.float64) ** 2)) - 1) < 1e-4
    assert np.array_equal(x, make(SR, SR, np.random.default_rng(3)))
    assert not np.array_equal(x, make(SR, SR, np.random.default_rng(4)))


def test_noise_kinds_have_their_character():
    p_fan = np.abs(np.fft.rfft(N.fan(SR, SR, np.random.default_rng(0)))) ** 2  # 1 Hz bins
    assert p_fan[:400].sum() > 0.8 * p_fan.sum()  # low-frequency rumble and blade tone
    p_music = np.abs(np.fft.rfft(N.music(SR, SR, np.random.default_rng(0)))) ** 2
    top = np.sort(p_music)[::-1]
    assert top[:200].sum() > 0.5 * p_music.sum()  # tonal: a few bins hold most of the power
    p_white = np.abs(np.fft.rfft(N.coloured_noise(SR, 0.0, np.random.default_rng(0)))) ** 2
    assert np.sort(p_white)[::-1][:200].sum() < 0.2 * p_white.sum()
    s = N.street(SR, SR, np.random.default_rng(7))
    env = np.sqrt(np.convolve(s.astype(np.float64) ** 2, np.ones(1600) / 1600, "valid"))
    assert env.max() / env.min() > 1.5  # swells and bursts: not stationary


def _warp_of(w: np.ndarray) -> np.ndarray:
    """Where each input bin's energy lands (centre of mass of column j of a warp matrix), in bins."""
    n = w.shape[0]
    mass = w.sum(axis=0)
    return np.where(mass > 0, (w * np.arange(n)[:, None]).sum(axis=0) / np.maximum(mass, 1e-12), np.nan)


def test_warp_matrix_follows_its_knots_and_refuses_bad_ones():
    n_bins, nyq = 257, SR / 2
    assert np.allclose(A.warp_matrix([0, nyq], [0, nyq], n_bins, SR), np.eye(n_bins))
    w = A.warp_matrix([0, 1000, 2000, nyq], [0, 1000, 2800, nyq], n_bins, SR)  # 2 kHz -> 2.8 kHz, 1 kHz stays
    spec = np.zeros(n_bins, np.float32)
    spec[[32, 64]] = 1.0  # 1,000 and 2,000 Hz
    out = w @ spec
    assert out[28:36].sum() > 0.9 and abs(float((out[80:100] * np.arange(80, 100)).sum() / out[80:100].sum())
                                            - 2800 / nyq * 256) < 1.0
    for k_in, k_out in (([0, 2000, 1500, nyq], [0, 2000, 2500, nyq]), ([0, 1000, nyq], [0, 1200, 1100, nyq]),
                        ([0, 1000, nyq], [0, 3000, 2000]), ([100, 1000, nyq], [0, 1000, nyq])):
        with pytest.raises(ValueError, match="rise strictly"):
            A.warp_matrix(k_in, k_out, n_bins, SR)


def test_vtlp_matrix_is_the_warp_of_its_knots():
    for alpha in (0.88, 1.0, 1.12):
        assert np.abs(A.vtlp_matrix(alpha, 257, SR) - A.warp_matrix(*A.vtlp_knots(alpha, SR), 257, SR)).max() < 1e-6


def test_formant_warp_is_monotone_fixes_the_ends_and_is_vtlp_at_zero_strength():
    nyq = SR / 2
    for alpha in (0.88, 1.0, 1.12):
        k0 = A.formant_warp_knots(alpha, 0.0, SR, np.random.default_rng(0))
        assert all(np.array_equal(a, b) for a, b in zip(k0, A.vtlp_knots(alpha, SR)))
    assert np.allclose(A.warp_matrix(*A.formant_warp_knots(1.0, 0.0, SR, np.random.default_rng(0)), 257, SR),
                       np.eye(257))
    rng = np.random.default_rng(1)
    ratios = []
    for i in range(200):
        alpha = (0.88, 1.0, 1.12)[i % 3]
        k_in, k_out = A.formant_warp_knots(alpha, 0.4, SR, rng)
        assert k_in[0] == k_out[0] == 0 and k_in[-1] == k_out[-1] == nyq
        assert np.all(np.diff(k_in) > 0) and np.all(np.diff(k_out) > 0)
        b = k_in[1:4]
        assert all(lo <= x <= hi for x, (lo, hi) in zip(b, A.FORMANT_BANDS_HZ))
        r = k_out[1:4] / (alpha * b)
        assert np.all((r >= 1 / 1.4 - 1e-9) & (r <= 1.4 + 1e-9))
        ratios.append(r)
        moved = _warp_of(A.warp_matrix(k_in, k_out, 257, SR))
        assert np.all(np.diff(moved[np.isfinite(moved)]) >= 0)  # the spectrum keeps its order (ties: compressed)
    ratios = np.array(ratios)
    # formants move by different factors: F1 and F2 disagree by > 10 % in many draws, both ways
    assert np.mean(ratios[:, 1] / ratios[:, 0] > 1.1) > 0.2 and np.mean(ratios[:, 1] / ratios[:, 0] < 1 / 1.1) > 0.2
    a = A.formant_warp_knots(1.0, 0.4, SR, np.random.default_rng(5))
    assert np.array_equal(a[1], A.formant_warp_knots(1.0, 0.4, SR, np.random.default_rng(5))[1])
    with pytest.raises(ValueError, match="above the warp's knee"):
        A.formant_warp_knots(1.0, 0.4, SR, rng, bands_hz=((300.0, 900.0), (4000.0, 5000.0)))
