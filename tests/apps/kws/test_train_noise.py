"""Noise drawn anew per training batch (NoiseMixer): the stated SNR, speech only, replayed from the seed."""
import numpy as np
import torch

from apps.kws.augment import NoiseMixer
from tinycore.audio.noise import active_power

SILENCE = 10


def _batch(n: int = 40):
    g = torch.Generator().manual_seed(1)
    waves = torch.zeros(n, 16000)
    waves[:, 5000:11000] = 0.2 * torch.randn(n, 6000, generator=g)
    labels = torch.zeros(n, dtype=torch.long)
    labels[:5] = SILENCE
    return waves, labels


def _mixer(**kw) -> NoiseMixer:
    sources = np.random.default_rng(2).standard_normal((6, 16000)).astype(np.float32)
    return NoiseMixer(sources, skip_label=SILENCE, per_kind=2, **kw)


def test_noise_at_the_drawn_snr_on_speech_only():
    waves, labels = _batch()
    torch.manual_seed(0)
    out = _mixer(p=1.0, snr_db=(7.0, 7.0))(waves, labels)
    assert torch.equal(out[:5], waves[:5])  # _silence_ is noise already
    for i in range(5, len(waves)):
        noise = (out[i] - waves[i]).double().numpy()
        snr = 10 * np.log10(active_power(waves[i].numpy()) / np.mean(noise ** 2))
        assert abs(snr - 7.0) < 0.05


def test_probability_and_replay_from_the_seed():
    waves, labels = _batch(200)
    mixer = _mixer(p=0.5)
    torch.manual_seed(3)
    a = mixer(waves, labels)
    torch.manual_seed(3)
    assert torch.equal(a, mixer(waves, labels))
    torch.manual_seed(4)
    assert not torch.equal(a, mixer(waves, labels))
    noisy = (a[5:] != waves[5:]).any(dim=1).float().mean()
    assert 0.35 < noisy < 0.65
    assert torch.equal(_mixer(p=0.0)(waves, labels), waves)


def test_every_kind_and_babble_is_drawn():
    mixer = _mixer()
    torch.manual_seed(0)
    drawn = {tuple(mixer._noise(16000)[:4].tolist()) for _ in range(400)}
    assert len(drawn) > 50  # bank clips with random shifts and signs, and babble sums
    assert len(mixer.kinds) == 7 and mixer.bank.shape == (7, 2, 16000)
