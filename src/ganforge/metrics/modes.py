"""Mode statistics: known mixture means (2-D toys) or labels from a frozen classifier (MNIST).

Following PacGAN (Lin et al. 2018, "PacGAN: The power of two samples in generative adversarial
networks"), after VEEGAN (Srivastava et al. 2017):

- a sample is *high quality* when its distance to the nearest mean is at most ``n_std * sigma``;
- a mode is *captured* when it is the nearest mean of at least ``min_count`` high-quality samples
  (1 in PacGAN's tables);
- *reverse KL* is KL(q || p) = sum_i q_i log(q_i / p_i), where q is the histogram of the high-quality
  samples over the modes (normalised over high-quality samples only) and p is uniform, p_i = 1/M.
  Empty modes have q_i = 0 and contribute 0 (0 log 0 = 0): missing modes are not punished by an
  infinite term, they show up as the mass piled on the other modes. The value lies in [0, log M]:
  0 = all modes equally filled, log M = everything on one mode. With no high-quality sample at all q
  is undefined and "reverse_kl" is None.

For labels, q is the histogram of the predicted labels over all samples (stacked MNIST: 1000 modes).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .knn import MetricInputError, as_torch32, check_pair
from .registry import register


def reverse_kl_uniform(counts: np.ndarray) -> float | None:
    """KL(q || uniform) with q = counts / counts.sum(); 0 log 0 = 0; None if all counts are 0."""
    total = counts.sum()
    if total == 0:
        return None
    q = counts[counts > 0] / total
    return float(np.sum(q * np.log(q * counts.size)))


def toy_modes(samples: Any, means: Any, sigma: float, n_std: float = 3.0, min_count: int = 1) -> dict:
    """{"modes": captured modes, "high_quality": fraction of high-quality samples, "reverse_kl"}."""
    check_pair(means, samples, ("mixture means", "samples"))
    if not sigma > 0:
        raise MetricInputError(f"mixture sigma must be positive, got {sigma}")
    x, mu = as_torch32(samples).double(), as_torch32(means).double()
    dist, nearest = torch.cdist(x, mu).min(dim=1)      # (N,) distance to and index of the nearest mean
    hq = dist <= n_std * sigma
    counts = torch.bincount(nearest[hq], minlength=mu.shape[0]).numpy()
    return {"modes": int((counts >= min_count).sum()), "high_quality": float(hq.double().mean()),
            "reverse_kl": reverse_kl_uniform(counts)}


def label_modes(labels: Any, n_modes: int) -> dict:
    """{"modes": modes with >= 1 sample, "reverse_kl": KL(q || uniform)} for integer labels in [0, n_modes)."""
    lab = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if lab.ndim != 1 or lab.size == 0:
        raise MetricInputError(f"labels must be a non-empty 1-D array, got shape {lab.shape}")
    if lab.dtype.kind not in "iu" and not (lab.dtype.kind == "f" and np.all(lab == np.round(lab))):
        raise MetricInputError(f"labels must be integers, got dtype {lab.dtype}")
    lab = lab.astype(np.int64)
    if n_modes < 1 or lab.min() < 0 or lab.max() >= n_modes:
        raise MetricInputError(f"labels must lie in [0, {n_modes}), got values from {lab.min()} to {lab.max()}")
    counts = np.bincount(lab, minlength=n_modes)
    return {"modes": int((counts > 0).sum()), "reverse_kl": reverse_kl_uniform(counts)}


def label_kl_split(digits: Any, base: int = 10) -> dict:
    """Split the KL of stacked labels into per-position parts (stacked MNIST: three digits).

    ``digits`` is (N, k) integers in [0, base). The label 'sum_j digits[:, j] * base**(k-1-j)' has
    KL(q || uniform over base**k) = sum_j KL(q_j || uniform over base) + KL(q || q_1 ... q_k):
    the positions' own KLs plus the multi-information between positions (0 when independent).
    Returns {"reverse_kl", "position_kl": [k floats], "multi_information"}."""
    d = digits.detach().cpu().numpy() if isinstance(digits, torch.Tensor) else np.asarray(digits)
    if d.ndim != 2 or d.size == 0 or d.dtype.kind not in "iu" or d.min() < 0 or d.max() >= base:
        raise MetricInputError(f"digits must be a non-empty (N, k) integer array in [0, {base}), "
                               f"got shape {d.shape} and dtype {d.dtype}")
    k = d.shape[1]
    joint = np.bincount(d.astype(np.int64) @ (base ** np.arange(k - 1, -1, -1)), minlength=base ** k)
    shares = [np.bincount(d[:, j], minlength=base) for j in range(k)]
    prod = shares[0] / len(d)
    for s in shares[1:]:
        prod = np.multiply.outer(prod, s / len(d))
    q, prod = joint / len(d), prod.ravel()
    nz = q > 0
    return {"reverse_kl": reverse_kl_uniform(joint), "position_kl": [reverse_kl_uniform(s) for s in shares],
            "multi_information": float(np.sum(q[nz] * np.log(q[nz] / prod[nz])))}


@register("toy_modes", needs=("means", "sigma"))
def _toy_modes_metric(real: Any, fake: Any, ctx: dict) -> dict:
    # Only the fake side is scored; the floor (fake replaced by a real split) is the real data's own score.
    dims, means = np.shape(fake)[-1], np.asarray(ctx["means"])
    if means.ndim != 2 or means.shape[1] != dims:
        from ..core.errors import ConfigError
        raise ConfigError(f"toy_modes scores the samples themselves against the {means.shape[-1]}-D mixture means, "
                          f"not {dims}-D features: use the raw extractor")
    return toy_modes(fake, ctx["means"], float(ctx["sigma"]), n_std=ctx.get("n_std", 3.0))


@register("label_modes", floor=False, needs=("fake_labels", "n_modes"))
def _label_modes_metric(real: Any, fake: Any, ctx: dict) -> dict:
    """Labels are not features, so the floor comes from ``real_labels`` when given. Mode counts grow
    with the number of samples, so with a floor both sides use n = min(#real, #fake) labels."""
    fake_lab, n_modes = np.asarray(ctx["fake_labels"]), int(ctx["n_modes"])
    full = label_modes(fake_lab, n_modes)  # also validates the labels before any indexing
    if ctx.get("real_labels") is None:
        return full
    real_lab = np.asarray(ctx["real_labels"])
    label_modes(real_lab, n_modes)
    n = min(len(real_lab), len(fake_lab))
    rng = np.random.default_rng(ctx.get("seed", 0))
    out = label_modes(fake_lab[rng.choice(len(fake_lab), n, replace=False)], n_modes)
    floor = label_modes(real_lab[rng.choice(len(real_lab), n, replace=False)], n_modes)
    return {**out, **{f"{k}_floor": v for k, v in floor.items()}, "label_modes_n": n}
