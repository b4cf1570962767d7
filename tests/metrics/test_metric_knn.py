"""Chunked k-NN against brute force; precision/recall, density/coverage, 1-NN, memorisation."""
import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from ganforge.metrics import (
    density_coverage,
    knn_cross,
    knn_self,
    memorisation,
    one_nn_accuracy,
    prdc,
    precision_recall,
)
from ganforge.metrics import knn as knn_mod


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Force several (uneven) blocks so the merging across blocks is exercised on small data."""
    monkeypatch.setattr(knn_mod, "SELF_BLOCK", 110)
    monkeypatch.setattr(knn_mod, "BLOCK_ELEMENTS", 110 * 300)


def test_knn_self_and_cross_match_brute_force(tiny_blocks):
    rng = np.random.default_rng(0)
    x, q = rng.standard_normal((200, 5)) + 50.0, rng.standard_normal((90, 5)) + 50.0  # far from 0
    dist, idx = knn_self(x, 4)
    full = cdist(x, x)
    np.fill_diagonal(full, np.inf)
    want = np.sort(full, axis=1)[:, :4]
    np.testing.assert_allclose(dist.numpy(), want, rtol=1e-5)
    np.testing.assert_array_equal(idx.numpy(), np.argsort(full, axis=1)[:, :4])
    cdist_, cidx = knn_cross(q, x, 3)
    cross = cdist(q, x)
    np.testing.assert_allclose(cdist_.numpy(), np.sort(cross, axis=1)[:, :3], rtol=1e-5)
    np.testing.assert_array_equal(cidx.numpy(), np.argsort(cross, axis=1)[:, :3])


def test_exact_copy_has_distance_zero():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 8)) * 100.0
    dist, idx = knn_cross(x[:10], x, 1)
    assert dist[:, 0].tolist() == [0.0] * 10 and idx[:, 0].tolist() == list(range(10))


def _prdc_brute(real, fake, k):
    rr, ff, rf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    r_rad = np.sort(rr, axis=1)[:, k]  # column 0 is the sample itself
    f_rad = np.sort(ff, axis=1)[:, k]
    inside = rf <= r_rad[:, None]      # (real i, fake j): fake j in real i's ball
    return {"precision": inside.any(0).mean(), "recall": (rf <= f_rad[None, :]).any(1).mean(),
            "density": inside.sum() / (k * len(fake)), "coverage": inside.any(1).mean()}


@pytest.mark.parametrize("k", [1, 5])
def test_prdc_matches_brute_force(tiny_blocks, k):
    rng = np.random.default_rng(k)
    real = rng.standard_normal((300, 6))
    fake = rng.standard_normal((250, 6)) * 1.3 + 0.4
    got, want = prdc(real, fake, k_pr=k, k_dc=k), _prdc_brute(real, fake, k)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-9), key
    assert precision_recall(real, fake, k=k) == {"precision": got["precision"], "recall": got["recall"]}
    assert density_coverage(real, fake, k=k) == pytest.approx({"density": got["density"], "coverage": got["coverage"]})


def test_prdc_detects_dropped_modes_and_bad_fidelity():
    rng = np.random.default_rng(9)
    real = rng.standard_normal((1000, 4))
    collapsed = real[real[:, 0] > 0.5][:300] + 0.01 * rng.standard_normal((300, 4))  # one region only
    out = prdc(real, collapsed)
    assert out["precision"] > 0.9 and out["recall"] < 0.5 and out["coverage"] < 0.5
    noisy = prdc(real, rng.standard_normal((1000, 4)) * 3.0)  # spread far outside the data
    assert noisy["precision"] < 0.5 and noisy["density"] < 0.5


@pytest.mark.slow
def test_naeem_two_gaussians_1000d():
    # Naeem et al. 2020 publish, for two independent 10,000-sample N(0, I_1000) sets and k=5:
    # precision 0.4772, recall 0.4705, density 1.0555, coverage 0.9735. Over 8 seeds we measured
    # precision 0.456-0.495, recall 0.457-0.490, density 0.880-1.129, coverage 0.957-0.981 (density
    # varies most: in 1000-D a few "hub" real points have balls that hold many fake points). The
    # tolerances cover that seed-to-seed spread with some margin; a wrong k or ball rule moves the
    # values well outside them.
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(10000, 1000, generator=g), torch.randn(10000, 1000, generator=g)
    out = prdc(real, fake, k_pr=5, k_dc=5)
    assert out["precision"] == pytest.approx(0.4772, abs=0.04)
    assert out["recall"] == pytest.approx(0.4705, abs=0.04)
    assert out["density"] == pytest.approx(1.0555, abs=0.2)
    assert out["coverage"] == pytest.approx(0.9735, abs=0.025)


def test_one_nn_accuracy():
    rng = np.random.default_rng(10)
    same = one_nn_accuracy(rng.standard_normal((1500, 8)), rng.standard_normal((1000, 8)), seed=0)
    assert same["one_nn_acc"] == pytest.approx(0.5, abs=0.05)  # n=1000 per side: std ~0.016
    disjoint = one_nn_accuracy(rng.standard_normal((500, 8)), rng.standard_normal((500, 8)) + 20.0)
    assert disjoint == {"one_nn_acc": 1.0, "one_nn_acc_real": 1.0, "one_nn_acc_fake": 1.0}
    real = rng.standard_normal((400, 8))
    copies = one_nn_accuracy(real, real.copy())  # every sample's nearest neighbour is its copy
    assert copies["one_nn_acc"] == 0.0


def test_memorisation_flags_copies_not_fresh_samples():
    rng = np.random.default_rng(11)
    train, heldout = rng.standard_normal((3000, 16)), rng.standard_normal((1000, 16))
    copied = memorisation(train, train[:500] + 1e-3 * rng.standard_normal((500, 16)), heldout)
    assert copied["mem_frac_below_p1"] == 1.0 and copied["mem_ratio"] < 0.01
    fresh = memorisation(train, rng.standard_normal((1000, 16)), heldout)
    assert fresh["mem_ratio"] == pytest.approx(1.0, abs=0.1)
    assert fresh["mem_frac_below_p1"] < 0.04 and fresh["mem_frac_below_p5"] < 0.1  # expected 0.01, 0.05
    assert fresh["mem_median_heldout"] == copied["mem_median_heldout"] > 0
