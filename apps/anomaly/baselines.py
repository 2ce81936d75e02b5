"""scikit-learn baselines on the same 640-value vectors, so the README shows what the network buys.

Each is fit on normal training vectors (a seeded subsample of at most MAX_FIT_VECTORS) and scores a clip by the
mean of its vectors' scores, exactly as the autoencoder: IsolationForest (-score_samples), GaussianMixture
(-log-likelihood, 4 diagonal components), PCA reconstruction MSE (8 components, the autoencoder's bottleneck).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.mixture import GaussianMixture


MAX_FIT_VECTORS = 8000
BASELINES = ("isolation_forest", "gaussian_mixture", "pca_reconstruction")


def vector_scores(name: str, train: NDArray, x: NDArray, seed: int = 0) -> NDArray[np.float64]:
    """Anomaly score (higher = more anomalous) of each row of x after fitting baseline `name` on train."""
    rng = np.random.default_rng(seed)
    fit = train[rng.choice(len(train), size=min(MAX_FIT_VECTORS, len(train)), replace=False)]
    if name == "isolation_forest":
        return -IsolationForest(n_estimators=100, random_state=seed).fit(fit).score_samples(x)
    if name == "gaussian_mixture":
        return -GaussianMixture(4, covariance_type="diag", random_state=seed, reg_covar=1e-3).fit(fit).score_samples(x)
    if name == "pca_reconstruction":
        pca = PCA(8, random_state=seed).fit(fit)
        return np.mean((x - pca.inverse_transform(pca.transform(x))) ** 2, axis=1)
    raise ValueError(f"unknown baseline {name!r}; known: {BASELINES}")


def baseline_scores(train: NDArray, x: NDArray, clip_index: NDArray, n_clips: int,
                    seed: int = 0) -> dict[str, NDArray[np.float64]]:
    """{baseline: clip scores} on the clips of x (vectors clip-major, clip_index per row): mean of vector scores."""
    counts = np.bincount(clip_index, minlength=n_clips)
    return {name: np.bincount(clip_index, weights=vector_scores(name, train, x, seed), minlength=n_clips) / counts
            for name in BASELINES}
