"""Differential-privacy accounting: the noise a budget needs, what a run has spent, noisy counts.

DP-SGD (Abadi et al. 2016): each step clips every example's gradient to norm ``clip`` and adds
Gaussian noise of standard deviation ``sigma * clip`` to their sum; with Poisson sampling at rate
``q`` a step is a sampled Gaussian mechanism. Its privacy over many steps is tracked by an Opacus
accountant: ``rdp`` (Renyi DP, Mironov 2017; Mironov, Talwar & Zhang 2019 for the sampled
Gaussian) or ``prv`` (numerical composition of privacy loss random variables, Gopi et al. 2021).
Opacus' Gaussian-DP accountant is not offered: it is an approximation that can underestimate the
spend. Opacus is an optional dependency.

The run record (``record``) is what data.json, checkpoints, ``ganforge info``, the report and the
model card show; a run without privacy says "not differentially private" in the same places.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .errors import ConfigError

INSTALL = "pip install ganforge[privacy]"
NOT_PRIVATE = "not differentially private"
ACCOUNTANT_NAMES = {"rdp": "RDP (Renyi DP, Mironov 2017)", "prv": "PRV (privacy loss random variables)"}


def require_opacus():
    """The opacus module, or one line saying how to install it."""
    try:
        import opacus
    except ImportError:
        raise ConfigError(f"privacy.epsilon > 0 needs Opacus, which is not installed: {INSTALL}") from None
    return opacus


def epsilon_spent(sigma: float, q: float, steps: int, delta: float, accountant: str = "rdp") -> float:
    """The epsilon of ``steps`` sampled Gaussian steps (noise multiplier ``sigma``, sample rate ``q``) at ``delta``."""
    if steps <= 0:
        return 0.0
    if sigma <= 0:
        return math.inf
    require_opacus()
    if accountant == "rdp":   # RDP composes by adding: one step's curve times the step count
        return _rdp_epsilon(_rdp_step(sigma, q), steps, delta)
    from opacus.accountants import create_accountant
    acc = create_accountant(accountant)
    acc.history = [(float(sigma), float(q), int(steps))]
    return float(acc.get_epsilon(delta=float(delta)))


# Renyi orders the bound is minimised over: a coarser grid than Opacus' default costs a slightly looser (still
# valid) epsilon, and fractional orders are the slow ones
_ORDERS = tuple([1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5, 4.0, 4.5] + list(range(5, 64)) + [80, 128, 256])


@functools.lru_cache(maxsize=256)
def _rdp_step(sigma: float, q: float) -> np.ndarray:
    """The Renyi DP of one sampled Gaussian step at each of _ORDERS."""
    from opacus.accountants.analysis.rdp import compute_rdp
    return np.asarray(compute_rdp(q=float(q), noise_multiplier=float(sigma), steps=1, orders=list(_ORDERS)))


def _rdp_epsilon(rdp_step: np.ndarray, steps: int, delta: float) -> float:
    import warnings

    from opacus.accountants.analysis.rdp import get_privacy_spent
    with warnings.catch_warnings():   # "optimal order is the largest alpha": only at tiny budgets
        warnings.simplefilter("ignore")
        eps, _ = get_privacy_spent(orders=list(_ORDERS), rdp=rdp_step * steps, delta=float(delta))
    return float(eps)


def noise_for_budget(epsilon: float, delta: float, q: float, steps: int, accountant: str = "rdp",
                     tol: float = 1e-3) -> float:
    """The smallest noise multiplier (to ``tol``, relative) whose ``steps`` steps at rate ``q`` spend at most
    ``epsilon``: a bisection on sigma, kept on the side that stays within the budget."""
    if steps <= 0:
        return 0.0
    lo, hi = 0.0, 1.0
    while epsilon_spent(hi, q, steps, delta, accountant) > epsilon:
        lo, hi = hi, hi * 2
        if hi > 1e4:
            raise ConfigError(f"privacy.epsilon={epsilon} cannot be met by {steps} steps at sample rate {q:.4g}: "
                              "raise epsilon, or lower train.steps or train.batch")
    while hi - lo > tol * hi:
        mid = (lo + hi) / 2
        if epsilon_spent(mid, q, steps, delta, accountant) > epsilon:
            lo = mid
        else:
            hi = mid
    return hi


def steps_within(epsilon: float, delta: float, q: float, sigma: float, accountant: str = "rdp",
                 at_least: int = 0) -> int:
    """The most steps at noise ``sigma`` and rate ``q`` whose spend stays within ``epsilon`` (``at_least``:
    a count known to fit, where the search starts)."""
    if sigma <= 0:
        return 0
    if accountant == "rdp":
        require_opacus()
        curve = _rdp_step(sigma, q)
        spent = lambda n: _rdp_epsilon(curve, n, delta)
    else:
        spent = lambda n: epsilon_spent(sigma, q, n, delta, accountant)
    good = max(int(at_least), 0)
    if good and spent(good) > epsilon:
        good = 0
    step = max(good // 8, 1)
    bad = good + step
    while spent(bad) <= epsilon:
        good, step = bad, step * 2
        bad = good + step
        if bad > 10 ** 9:
            return bad
    while bad - good > 1:
        mid = (good + bad) // 2
        if spent(mid) <= epsilon:
            good = mid
        else:
            bad = mid
    return good


def noisy_counts(counts, epsilon: float, rng: np.random.Generator, sensitivity: float = 1.0) -> np.ndarray:
    """Counts released by the Laplace mechanism (epsilon-DP for an L1 sensitivity ``sensitivity``), floored
    at zero; a category left with nothing keeps a small share so it can still be drawn."""
    c = np.asarray(counts, dtype=np.float64)
    out = np.maximum(c + rng.laplace(0.0, sensitivity / epsilon, size=c.shape), 0.0)
    if out.sum() <= 0:
        return np.ones_like(out)
    return np.maximum(out, 1e-3 * out.sum() / len(out))


def not_private() -> dict[str, Any]:
    return {"private": False, "summary": NOT_PRIVATE}


def summary(rec: dict[str, Any] | None) -> str:
    """One line for info, the report and the model card."""
    if not rec or not rec.get("private"):
        return NOT_PRIVATE
    spent = rec.get("epsilon_spent")
    spent_s = f"{spent:.4g}" if isinstance(spent, (int, float)) else "?"
    return (f"differentially private w.r.t. the training examples: epsilon {spent_s} spent of {rec['epsilon']:g}, "
            f"delta {rec['delta']:g} ({rec.get('accountant_name', rec['accountant'])}; "
            f"noise multiplier {rec['noise_multiplier']:.4g}, clip {rec['clip']:g}, sample rate "
            f"{rec['sample_rate']:.4g}, {rec.get('steps_spent', 0)} private steps)")


__all__ = ["require_opacus", "epsilon_spent", "noise_for_budget", "steps_within", "noisy_counts", "summary",
           "not_private", "INSTALL", "NOT_PRIVATE"]
