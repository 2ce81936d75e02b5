"""The formant-warp option of KWS training: off by default (plain VTLP, bit for bit), a seeded bank when on."""
import numpy as np
import torch

from apps.kws import augment as KA
from apps.kws.frontend import KWS_FRONTEND
from tinycore.audio.augment import vtlp_matrix


def test_off_by_default_keeps_the_vtlp_filterbanks():
    assert KA.FORMANT_WARP == 0.0
    c = KA.SpeedPerturbCollate(KWS_FRONTEND)
    want = torch.stack([c.frontend.mel @ torch.from_numpy(vtlp_matrix(a, KWS_FRONTEND.n_bins, 16000))
                        for a in KA.VTLP_FACTORS])
    assert torch.equal(c.mels, want)


def test_on_builds_a_seeded_bank_of_distinct_warps_and_features_of_the_right_shape():
    c = KA.SpeedPerturbCollate(KWS_FRONTEND, formant_warp=0.3)
    assert c.mels.shape == (KA.WARP_BANK, KWS_FRONTEND.n_mels, KWS_FRONTEND.n_bins)
    assert torch.equal(c.mels, KA.SpeedPerturbCollate(KWS_FRONTEND, formant_warp=0.3).mels)  # same every run
    flat = c.mels.reshape(len(c.mels), -1)
    assert len(torch.unique(flat, dim=0)) == KA.WARP_BANK
    plain = KA.SpeedPerturbCollate(KWS_FRONTEND).mels
    assert not any(torch.allclose(m, p) for m in c.mels[:7] for p in plain)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    batch = [(torch.from_numpy(0.1 * rng.standard_normal(16000).astype(np.float32)), torch.tensor(i % 12))
             for i in range(4)]
    x, y = c(batch)
    assert x.shape == (4, 1, 49, 10) and torch.isfinite(x).all() and y.tolist() == [0, 1, 2, 3]
