"""Membership inference: by distance to the generated data (a DCR attack) and by the discriminator's score.

An attacker holding the generated samples guesses which real rows were in the training set: the
closer a row's nearest generated sample, the likelier it was a member (score = -distance). An
attacker holding the trained discriminator ranks rows by D's logit instead: D was fitted to call the
training rows real, so an overfitted D scores them above unseen rows (the white-box attack of
Hayes et al. 2019, LOGAN). Either attack's AUC over training rows (members) against held-out rows
(non-members) is 0.5 when the model tells nothing about membership and 1 when it separates them. The 95% interval
is DeLong's (DeLong, DeLong & Clarke-Pearson 1988), computed from midranks (Sun & Xu 2014).
Members and non-members are drawn in equal numbers, so 0.5 is the no-leak level.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import norm, rankdata

from .knn import knn_cross


def auc_delong(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """(AUC, its DeLong standard error) of scores ``pos`` (should be higher) against ``neg``; ties count half."""
    pos, neg = np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)
    m, n = len(pos), len(neg)
    if m < 2 or n < 2:
        raise ValueError("the attack needs at least two members and two non-members")
    ranks = rankdata(np.concatenate([pos, neg]))        # midranks over both groups
    v10 = (ranks[:m] - rankdata(pos)) / n               # per member: share of non-members it beats
    v01 = 1.0 - (ranks[m:] - rankdata(neg)) / m         # per non-member: share of members that beat it
    auc = float(v10.mean())
    se = float(np.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n))
    return auc, se


def _pair(members: np.ndarray, nonmembers: np.ndarray, max_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """As many members as non-members (at most ``max_rows`` of each), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    k = min(len(members), len(nonmembers), max_rows or 10 ** 12)
    pick = members[rng.choice(len(members), k, replace=False)]
    return pick, nonmembers[rng.choice(len(nonmembers), k, replace=False)]


def _interval(pos: np.ndarray, neg: np.ndarray) -> dict[str, Any]:
    auc, se = auc_delong(pos, neg)
    z = float(norm.ppf(0.975))
    return {"auc": auc, "auc_low": max(0.0, auc - z * se), "auc_high": min(1.0, auc + z * se), "n_each": len(pos)}


def score_attack(member_scores: Any, nonmember_scores: Any, max_rows: int = 5000, seed: int = 0,
                 attack: str = "a membership score (higher = member)") -> dict[str, Any]:
    """AUC with a 95% DeLong interval of any per-row membership score, members against as many non-members."""
    pos, neg = _pair(np.asarray(member_scores, np.float64).ravel(), np.asarray(nonmember_scores, np.float64).ravel(),
                     max_rows, seed)
    return {**_interval(pos, neg), "member_median_score": float(np.median(pos)),
            "nonmember_median_score": float(np.median(neg)),
            "attack": attack + "; AUC 0.5 = no leak; 95% interval by DeLong"}


def distance_attack(members: Any, nonmembers: Any, synth: Any, max_rows: int = 5000, seed: int = 0) -> dict[str, Any]:
    """The DCR attack on feature arrays (rows already encoded in one space): AUC with a 95% interval."""
    members, nonmembers = _pair(np.asarray(members, np.float32), np.asarray(nonmembers, np.float32), max_rows, seed)
    d_in = knn_cross(members, synth, 1, "generated samples")[0][:, 0].numpy()
    d_out = knn_cross(nonmembers, synth, 1, "generated samples")[0][:, 0].numpy()
    return {**_interval(-d_in, -d_out),
            "member_median_distance": float(np.median(d_in)), "nonmember_median_distance": float(np.median(d_out)),
            "attack": "distance to the nearest generated sample (score = -distance); AUC 0.5 = no leak; "
                      "95% interval by DeLong"}


__all__ = ["auc_delong", "distance_attack", "score_attack"]
