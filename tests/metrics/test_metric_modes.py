"""Mode statistics on hand-built point sets with known answers."""
import math

import numpy as np
import pytest
import torch

from ganforge.metrics import label_kl_split, label_modes, reverse_kl_uniform, toy_modes

SIGMA = 0.01
RING = np.stack([np.cos(np.arange(8) * 2 * np.pi / 8), np.sin(np.arange(8) * 2 * np.pi / 8)], 1)  # (8, 2)


def _around(mode: int, count: int, radius: float, rng) -> np.ndarray:
    """``count`` points at exactly ``radius`` from ring mode ``mode`` in random directions."""
    angle = rng.uniform(0, 2 * np.pi, count)
    return RING[mode] + radius * np.stack([np.cos(angle), np.sin(angle)], 1)


def test_three_of_eight_modes_with_off_mode_points():
    rng = np.random.default_rng(0)
    pts = np.concatenate([
        _around(0, 30, 1.0 * SIGMA, rng),
        _around(2, 20, 2.5 * SIGMA, rng),
        _around(5, 10, 2.9 * SIGMA, rng),
        _around(1, 4, 3.5 * SIGMA, rng),   # nearest to mode 1 but outside 3 sigma: not high quality
        np.zeros((6, 2)),                  # the ring's centre, far from every mode
    ])
    out = toy_modes(pts, RING, SIGMA)
    assert out["modes"] == 3
    assert out["high_quality"] == pytest.approx(60 / 70)
    q = np.array([30, 20, 10]) / 60  # empty modes contribute 0 log 0 = 0
    assert out["reverse_kl"] == pytest.approx(float(np.sum(q * np.log(8 * q))))
    assert toy_modes(pts, RING, SIGMA, n_std=4.0)["modes"] == 4  # now mode 1's points count
    assert toy_modes(pts, RING, SIGMA, min_count=15)["modes"] == 2


def test_uniform_collapsed_and_empty_extremes():
    rng = np.random.default_rng(1)
    uniform = np.concatenate([_around(m, 5, SIGMA, rng) for m in range(8)])
    assert toy_modes(torch.from_numpy(uniform), torch.from_numpy(RING), SIGMA) == {
        "modes": 8, "high_quality": 1.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}
    collapsed = toy_modes(_around(3, 50, SIGMA, rng), RING, SIGMA)
    assert collapsed["modes"] == 1 and collapsed["reverse_kl"] == pytest.approx(math.log(8))
    nothing = toy_modes(np.zeros((5, 2)), RING, SIGMA)
    assert nothing == {"modes": 0, "high_quality": 0.0, "reverse_kl": None}


def test_label_modes():
    assert label_modes([0, 0, 1, 1], 4) == {"modes": 2, "reverse_kl": pytest.approx(math.log(2))}
    stacked = label_modes(np.repeat(np.arange(1000), 3), 1000)
    assert stacked == {"modes": 1000, "reverse_kl": pytest.approx(0.0, abs=1e-12)}
    skewed = label_modes(torch.tensor([7] * 90 + [3] * 10), 10)
    assert skewed["modes"] == 2
    assert skewed["reverse_kl"] == pytest.approx(0.9 * math.log(9) + 0.1 * math.log(1))


def test_label_kl_split_adds_up_and_tells_skew_from_dependence():
    rng = np.random.default_rng(0)
    skewed = rng.choice(10, size=(20_000, 3), p=[0.19] + [0.09] * 9)   # every position favours 0
    split = label_kl_split(skewed)
    full = label_modes(skewed @ np.array([100, 10, 1]), 1000)["reverse_kl"]
    assert split["reverse_kl"] == pytest.approx(full)
    assert split["reverse_kl"] == pytest.approx(sum(split["position_kl"]) + split["multi_information"])
    one = 0.19 * math.log(1.9) + 0.81 * math.log(0.9)                    # KL of one position
    assert split["position_kl"] == pytest.approx([one] * 3, abs=0.004)
    assert split["multi_information"] < 0.03                            # independent: only sampling noise
    copied = np.repeat(rng.integers(0, 10, size=(20_000, 1)), 3, axis=1)  # uniform digits, all three equal
    dep = label_kl_split(torch.from_numpy(copied))
    assert dep["position_kl"] == pytest.approx([0.0] * 3, abs=0.002)
    assert dep["multi_information"] == pytest.approx(2 * math.log(10), abs=0.01)
    with pytest.raises(ValueError, match=r"\(N, k\) integer array in \[0, 10\)"):
        label_kl_split(np.array([[0, 10]]))


def test_reverse_kl_helper():
    assert reverse_kl_uniform(np.zeros(4, dtype=int)) is None
    assert reverse_kl_uniform(np.array([1, 0, 0, 0])) == pytest.approx(math.log(4))


def test_mode_input_errors():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        label_modes([0, 10], 10)
    with pytest.raises(ValueError, match="integers"):
        label_modes([0.5, 1.0], 10)
    with pytest.raises(ValueError, match="non-empty"):
        label_modes([], 10)
    with pytest.raises(ValueError, match="sigma must be positive"):
        toy_modes(np.zeros((3, 2)), RING, 0.0)
    with pytest.raises(ValueError, match="mixture means have 2 features but samples have 3"):
        toy_modes(np.zeros((3, 3)), RING, SIGMA)
