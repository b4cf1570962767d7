"""Frechet distance between Gaussian fits of two feature sets, and its 1/N extrapolation.

FD (Heusel et al. 2017, "GANs trained by a two time-scale update rule converge to a local Nash
equilibrium"; "FID" when the features come from Inception-v3):

    FD = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

with unbiased (N - 1) covariances. Tr((S_a S_b)^(1/2)) is the sum of the square roots of the
eigenvalues of S_a S_b, which equal those of the symmetric PSD matrix S_a^(1/2) S_b S_a^(1/2).
Working with that symmetric matrix (``eigh``) avoids the complex intermediate results of a general
matrix square root; the role of "a large imaginary part" is taken by a clearly negative eigenvalue,
which can only come from a matrix that is not a covariance (e.g. corrupt cached statistics) and
raises ValueError.

FD is biased upwards by roughly Tr-terms of order d^2/N; FD-infinity (Chong & Forsyth 2020,
"Effectively unbiased FID and Inception Score and where to find them") fits FD against 1/N over
several fake-set sizes and reports the intercept at 1/N = 0.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..core.errors import DataError
from .knn import MetricInputError, as_numpy64, check_features
from .registry import register

PSD_TOL = 1e-6  # negative eigenvalues below -PSD_TOL * largest |eigenvalue| are not rounding


@dataclass(frozen=True)
class FDStats:
    """Mean (D,), unbiased covariance (D, D) and sample count of a feature set, for caching."""
    mu: np.ndarray
    sigma: np.ndarray
    n: int

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"mu": self.mu, "sigma": self.sigma, "n": np.asarray([self.n], dtype=np.int64)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], where: str = "FD statistics") -> FDStats:
        if not {"mu", "sigma"} <= set(arrays):
            raise DataError(f"{where} must hold arrays 'mu' and 'sigma'; recompute the reference statistics")
        mu, sigma = np.asarray(arrays["mu"], np.float64), np.asarray(arrays["sigma"], np.float64)
        n = int(np.asarray(arrays.get("n", [0])).reshape(-1)[0])
        if mu.ndim != 1 or sigma.shape != (mu.size, mu.size):
            raise DataError(f"{where}: mu has shape {mu.shape} and sigma {sigma.shape}; "
                            "expected (D,) and (D, D); recompute the reference statistics")
        return cls(mu, sigma, n)


def _mm(*mats: np.ndarray) -> np.ndarray:
    """Chained float64 matrix product through torch, whose threading copes better than OpenBLAS's
    with a machine whose cores are busy with other work."""
    out = torch.from_numpy(mats[0])
    for m in mats[1:]:
        out = out @ torch.from_numpy(m)
    return out.numpy()


def _lapack_one_thread() -> contextlib.AbstractContextManager:
    """LAPACK eigh in one thread: OpenBLAS threads spin badly when the cores are oversubscribed,
    and a D <= 2048 decomposition takes seconds on one core."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def fd_stats(feats: Any, name: str = "features") -> FDStats:
    """Gaussian fit of (N, D) features in float64; N >= 2 for an unbiased covariance."""
    check_features(feats, name, min_rows=2)
    x = as_numpy64(feats)
    mu = x.mean(0)
    xc = x - mu
    return FDStats(mu, _mm(xc.T, xc) / (x.shape[0] - 1), x.shape[0])


def save_fd_stats(path: str | os.PathLike, stats: FDStats) -> None:
    from safetensors.numpy import save_file
    save_file({k: np.ascontiguousarray(v) for k, v in stats.to_arrays().items()}, str(path))


def load_fd_stats(path: str | os.PathLike) -> FDStats:
    from safetensors.numpy import load_file
    if not os.path.isfile(path):
        raise DataError(f"FD statistics file not found: {path}")
    try:
        arrays = load_file(str(path))
    except Exception as e:  # safetensors raises several error types for damaged files
        raise DataError(f"cannot read FD statistics {path}: {str(e).splitlines()[0]}") from None
    return FDStats.from_arrays(arrays, where=str(path))


def _psd_eigh(m: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of a symmetric PSD matrix with rounding-level negatives set to 0."""
    with _lapack_one_thread():
        w, v = np.linalg.eigh((m + m.T) / 2.0)
    scale = max(float(np.abs(w).max()), 1e-300)
    if w.min() < -PSD_TOL * scale:
        raise MetricInputError(f"{what} is not positive semi-definite (eigenvalue {w.min():.3g}); "
                               "the statistics are corrupt, recompute them from features")
    return np.clip(w, 0.0, None), v


def _sqrt_psd(sigma: np.ndarray) -> np.ndarray:
    w, v = _psd_eigh(sigma, "covariance")
    return _mm(v * np.sqrt(w), v.T)


def _trace_sqrt_product(root_a: np.ndarray, sigma_b: np.ndarray) -> float:
    """Tr((S_a S_b)^(1/2)) given S_a^(1/2)."""
    w, _ = _psd_eigh(_mm(root_a, sigma_b, root_a), "S_a^1/2 S_b S_a^1/2")
    return float(np.sqrt(w).sum())


def _check_stats(s: FDStats, name: str) -> None:
    if not (np.isfinite(s.mu).all() and np.isfinite(s.sigma).all()):
        raise MetricInputError(f"{name} statistics contain NaN or infinite values; recompute them")
    asym = np.abs(s.sigma - s.sigma.T).max()
    if asym > 1e-8 * max(np.abs(s.sigma).max(), 1e-300):
        raise MetricInputError(f"{name} covariance is not symmetric; the statistics are corrupt, recompute them")


def fd_from_stats(a: FDStats, b: FDStats, root_a: np.ndarray | None = None) -> float:
    """FD between two Gaussian fits; ``root_a`` = S_a^(1/2) when already known."""
    if a.mu.shape != b.mu.shape:
        raise MetricInputError(f"real features have {a.mu.size} features but fake features have "
                               f"{b.mu.size}; extract both with the same feature extractor")
    _check_stats(a, "first")
    _check_stats(b, "second")
    root_a = _sqrt_psd(a.sigma) if root_a is None else root_a
    diff = a.mu - b.mu
    fd = diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2.0 * _trace_sqrt_product(root_a, b.sigma)
    return max(float(fd), 0.0)  # a squared distance: only rounding makes it negative


def _stats(x: Any, name: str) -> FDStats:
    return x if isinstance(x, FDStats) else fd_stats(x, name)


def frechet_distance(feat_a: Any, feat_b: Any) -> float:
    """FD between two (N, D) feature sets; either may be cached :class:`FDStats` instead."""
    return fd_from_stats(_stats(feat_a, "real features"), _stats(feat_b, "fake features"))


def default_fd_inf_sizes(n_fake: int, points: int = 10) -> list[int]:
    """Evenly spaced sizes from N/5 to N (Chong & Forsyth use 15 sizes from 5k to 50k)."""
    return sorted({int(round(v)) for v in np.linspace(max(2, n_fake // 5), n_fake, points)})


def fd_infinity(feat_real: Any, feat_fake: Any, ns: Sequence[int] | None = None, seed: int = 0) -> dict:
    """FD at several fake-set sizes N (random subsets without replacement), a least-squares line
    FD = fd_inf + slope / N, and its intercept. The real side always uses all of ``feat_real``.

    Returns {"fd_inf": intercept, "fd_inf_slope": slope, "fd_inf_points": [[N, FD], ...]}.
    """
    real = _stats(feat_real, "real features")
    n_fake, d = check_features(feat_fake, "fake features", min_rows=2)
    if d != real.mu.size:
        raise MetricInputError(f"real features have {real.mu.size} features but fake features have {d}; "
                               "extract both with the same feature extractor")
    sizes = sorted({int(n) for n in (ns if ns is not None else default_fd_inf_sizes(n_fake))})
    if len(sizes) < 2 or sizes[0] < 2 or sizes[-1] > n_fake:
        raise MetricInputError(f"FD-infinity needs at least two different sizes between 2 and the "
                               f"{n_fake} fake samples, got {list(ns) if ns is not None else sizes}")
    fake = as_numpy64(feat_fake)
    rng = np.random.default_rng(seed)
    root = _sqrt_psd(real.sigma)
    points = []
    for n in sizes:
        sub = fake[rng.choice(n_fake, n, replace=False)] if n < n_fake else fake
        points.append([n, fd_from_stats(real, fd_stats(sub), root_a=root)])
    inv_n = np.array([1.0 / n for n, _ in points])
    slope, intercept = np.polyfit(inv_n, np.array([v for _, v in points]), 1)
    return {"fd_inf": float(intercept), "fd_inf_slope": float(slope), "fd_inf_points": points}


@register("fd")
def _fd_metric(real: Any, fake: Any, ctx: dict) -> dict:
    return {"fd": frechet_distance(real, fake)}


@register("fd_inf")
def _fd_inf_metric(real: Any, fake: Any, ctx: dict) -> dict:
    return fd_infinity(real, fake, ns=ctx.get("fd_inf_ns"), seed=ctx.get("seed", 0))
