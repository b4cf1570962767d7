"""k-NN metrics on feature sets: precision/recall, density/coverage, 1-NN two-sample test, memorisation.

- Improved precision and recall (Kynkaanniemi et al. 2019): each set's manifold is the union of balls
  around its samples with radius = distance to the k-th nearest other sample of the same set.
  precision = fraction of fake samples inside the real manifold; recall = fraction of real samples
  inside the fake manifold.
- Density and coverage (Naeem et al. 2020, "Reliable fidelity and diversity metrics for generative
  models"): with the real k-NN balls only, density = (1 / kM) sum_j #{real balls containing fake j},
  coverage = fraction of real balls containing at least one fake sample.
- 1-NN accuracy (Lopez-Paz & Oquab 2017; Xu et al. 2018): leave-one-out 1-nearest-neighbour
  classification of the pooled real+fake samples, equal sizes; 0.5 = indistinguishable, 1.0 = disjoint.
- Memorisation: distance of each fake sample to its nearest training example, against the same for
  held-out real samples (which the generator never saw).

All four of precision, recall, density and coverage come from one self-k-NN pass per set and one pass
over the real x fake distances (see knn.py), so asking for all of them costs about the same as one.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from .knn import MetricInputError, as_torch32, check_pair, knn_cross, knn_self, need_neighbours, row_blocks
from .registry import register


def _sq_radius(x: Tensor, k: int, name: str) -> Tensor:
    """Squared distance of each sample to its k-th nearest other sample, float32 (N,)."""
    dist, _ = knn_self(x, k, name, exact=False)
    return dist[:, k - 1].square().float()


def prdc(real: Any, fake: Any, k_pr: int = 3, k_dc: int = 5) -> dict:
    """Precision and recall with k = ``k_pr`` and density and coverage with k = ``k_dc`` in one pass."""
    n_r, n_f, _ = check_pair(real, fake)
    for k in (k_pr, k_dc):
        need_neighbours(n_r, k, "real features")
    need_neighbours(n_f, k_pr, "fake features")
    r, f = as_torch32(real), as_torch32(fake)
    mean = r.mean(0)
    r, f = r - mean, f - mean  # a common shift keeps the distances and the float32 accuracy
    k_max = max(k_pr, k_dc)
    r_dist, _ = knn_self(r, k_max, "real features", exact=False)
    rad_pr, rad_dc = (r_dist[:, k - 1].square().float() for k in (k_pr, k_dc))
    rad_fake = _sq_radius(f, k_pr, "fake features")

    in_real = torch.zeros(n_f, dtype=torch.bool)     # fake j inside the real manifold (precision)
    dens = torch.zeros(n_f, dtype=torch.int64)        # real k_dc-balls containing fake j
    in_fake = torch.empty(n_r, dtype=torch.bool)      # real i inside the fake manifold (recall)
    covered = torch.empty(n_r, dtype=torch.bool)      # real i's ball holds a fake sample
    for i0, i1, d in row_blocks(r, f):                # d: (rows of real, n_f) squared distances
        inside = d <= rad_dc[i0:i1, None]
        in_real |= (inside if k_pr == k_dc else d <= rad_pr[i0:i1, None]).any(0)
        in_fake[i0:i1] = (d <= rad_fake[None, :]).any(1)
        dens += inside.sum(0)
        covered[i0:i1] = inside.any(1)
    return {"precision": float(in_real.double().mean()), "recall": float(in_fake.double().mean()),
            "density": float(dens.double().sum() / (k_dc * n_f)), "coverage": float(covered.double().mean())}


def precision_recall(real: Any, fake: Any, k: int = 3) -> dict:
    """{"precision", "recall"} (Kynkaanniemi et al. 2019), k-NN balls with k = 3 by default."""
    out = prdc(real, fake, k_pr=k, k_dc=k)
    return {"precision": out["precision"], "recall": out["recall"]}


def density_coverage(real: Any, fake: Any, k: int = 5) -> dict:
    """{"density", "coverage"} (Naeem et al. 2020), k = 5 by default."""
    n_r, _, _ = check_pair(real, fake)
    need_neighbours(n_r, k, "real features")
    r, f = as_torch32(real), as_torch32(fake)
    mean = r.mean(0)
    r, f = r - mean, f - mean
    rad = _sq_radius(r, k, "real features")
    dens, covered = torch.zeros(f.shape[0], dtype=torch.int64), torch.empty(r.shape[0], dtype=torch.bool)
    for i0, i1, d in row_blocks(r, f):
        inside = d <= rad[i0:i1, None]
        dens += inside.sum(0)
        covered[i0:i1] = inside.any(1)
    return {"density": float(dens.double().sum() / (k * f.shape[0])), "coverage": float(covered.double().mean())}


def _take(x: Any, idx: np.ndarray) -> Any:
    return x[torch.as_tensor(idx)] if isinstance(x, Tensor) else np.asarray(x)[idx]


def one_nn_accuracy(real: Any, fake: Any, seed: int = 0) -> dict:
    """Leave-one-out 1-NN accuracy on real+fake pooled at equal size n = min(N_real, N_fake)
    (the larger set is subsampled with ``seed``). Also the accuracy on each half: a real accuracy
    well below 0.5 means real samples sit next to fake ones, a sign of copied training data.
    """
    n_r, n_f, _ = check_pair(real, fake)
    n = min(n_r, n_f)
    rng = np.random.default_rng(seed)
    if n_r > n:
        real = _take(real, np.sort(rng.choice(n_r, n, replace=False)))
    if n_f > n:
        fake = _take(fake, np.sort(rng.choice(n_f, n, replace=False)))
    pool = torch.cat([as_torch32(real), as_torch32(fake)])  # (2n, D)
    label = torch.arange(2 * n) >= n                          # False = real, True = fake
    _, idx = knn_self(pool, 1, "pooled real and fake features")
    correct = (label[idx[:, 0]] == label).double()
    return {"one_nn_acc": float(correct.mean()), "one_nn_acc_real": float(correct[:n].mean()),
            "one_nn_acc_fake": float(correct[n:].mean())}


def memorisation(train_feats: Any, fake_feats: Any, heldout_feats: Any) -> dict:
    """Nearest-training-example distances of fake vs held-out real samples.

    Returns medians of both, their ratio median_fake / median_heldout (about 1 for a generator that
    does not copy, well below 1 for one that does), and the fractions of fake samples strictly closer
    to the training set than the 1st and 5th percentiles of the held-out distances (about 0.01 and
    0.05 without memorisation).
    """
    check_pair(train_feats, fake_feats, ("training features", "fake features"))
    check_pair(train_feats, heldout_feats, ("training features", "held-out features"))
    d_fake = knn_cross(fake_feats, train_feats, 1, "training features")[0][:, 0].numpy()
    d_held = knn_cross(heldout_feats, train_feats, 1, "training features")[0][:, 0].numpy()
    med_fake, med_held = float(np.median(d_fake)), float(np.median(d_held))
    if med_held <= 0.0:
        raise MetricInputError("most held-out samples are copies of training samples; "
                               "hold out examples that are not in the training set")
    p1, p5 = np.percentile(d_held, [1.0, 5.0])
    from .mia import distance_attack
    mia = distance_attack(as_torch32(train_feats).numpy(), as_torch32(heldout_feats).numpy(), fake_feats)
    return {"mem_median_fake": med_fake, "mem_median_heldout": med_held, "mem_ratio": med_fake / med_held,
            "mem_frac_below_p1": float((d_fake < p1).mean()), "mem_frac_below_p5": float((d_fake < p5).mean()),
            "mia_auc": mia["auc"], "mia_auc_low": mia["auc_low"], "mia_auc_high": mia["auc_high"]}


# ----------------------------------------------------------------------------------------------
# Registered metrics. "pr" and "dc" share one prdc() result per (real, fake) pair of a compute() call.

def _prdc_cached(real: Any, fake: Any, ctx: dict) -> dict:
    cache = ctx.setdefault("_cache", {})
    key = ("prdc", id(real), id(fake))
    hit = cache.get(key)
    if hit is None or hit[0] is not real or hit[1] is not fake:
        hit = (real, fake, prdc(real, fake, k_pr=ctx.get("k_pr", 3), k_dc=ctx.get("k_dc", 5)))
        cache[key] = hit  # the tuple keeps both arrays alive, so their ids cannot be reused
    return hit[2]


@register("pr")
def _pr_metric(real: Any, fake: Any, ctx: dict) -> dict:
    out = _prdc_cached(real, fake, ctx)
    return {"precision": out["precision"], "recall": out["recall"]}


@register("dc")
def _dc_metric(real: Any, fake: Any, ctx: dict) -> dict:
    out = _prdc_cached(real, fake, ctx)
    return {"density": out["density"], "coverage": out["coverage"]}


@register("one_nn")
def _one_nn_metric(real: Any, fake: Any, ctx: dict) -> dict:
    return one_nn_accuracy(real, fake, seed=ctx.get("seed", 0))


@register("memorisation", floor=False, needs=("train_feats", "heldout_feats"))
def _memorisation_metric(real: Any, fake: Any, ctx: dict) -> dict:
    return memorisation(ctx["train_feats"], fake, ctx["heldout_feats"])
