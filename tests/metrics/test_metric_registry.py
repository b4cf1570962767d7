"""compute(), the registry, real-vs-real floors, and one-line errors for bad input."""
import json

import numpy as np
import pytest
import torch

from ganforge.core.errors import ConfigError, DataError
from ganforge.metrics import (
    compute,
    default_metrics,
    density_coverage,
    floor_split,
    frechet_distance,
    kid,
    memorisation,
    one_nn_accuracy,
    precision_recall,
    registry,
    with_floor,
)


def _gauss(rng, n, d=8, shift=0.0):
    return rng.standard_normal((n, d)) + shift


def test_compute_defaults_with_floors_is_json():
    rng = np.random.default_rng(0)
    real, fake = _gauss(rng, 1000), _gauss(rng, 400, shift=0.5)
    out = compute(None, real, fake, seed=0, kid_subsets=4)
    for key in ("fd", "kid", "kid_std", "precision", "recall", "density", "coverage"):
        assert isinstance(out[key], float) and isinstance(out[key + "_floor"], float)
    assert out["fd"] > 5 * out["fd_floor"] and out["kid"] > out["kid_floor"]
    assert out["protocol"]["n_eval"] == 400 and out["protocol"]["n_real"] == 1000
    assert out["protocol"]["metrics"] == ["fd", "kid", "pr", "dc"]
    json.dumps(out, allow_nan=False)


def test_floor_equals_value_for_a_perfect_generator():
    # Fake drawn from the real distribution: the value and its floor estimate the same thing.
    rng = np.random.default_rng(1)
    out = compute(["fd", "one_nn"], _gauss(rng, 1200), _gauss(rng, 600), seed=3)
    assert 0.5 < out["fd"] / out["fd_floor"] < 2.0
    assert out["one_nn_acc"] == pytest.approx(0.5, abs=0.06)
    assert out["one_nn_acc_floor"] == pytest.approx(0.5, abs=0.06)


def test_floor_split_protocol():
    a, b, f, n = floor_split(1000, 300, seed=0)
    assert n == 300 and len(a) == len(b) == 300 and not set(a) & set(b) and list(f) == list(range(300))
    a, b, f, n = floor_split(500, 300, seed=0)  # real < 2 * fake: halves of the real set, fake subsampled
    assert n == 250 and len(f) == 250 and len(set(f)) == 250 and not set(a) & set(b)
    with pytest.raises(ValueError, match="at least 4 real samples"):
        floor_split(3, 10)


def test_with_floor_on_a_plain_function():
    rng = np.random.default_rng(2)
    real, fake = torch.from_numpy(_gauss(rng, 600)), torch.from_numpy(_gauss(rng, 200, shift=1.0))
    out = with_floor(frechet_distance, real, fake, seed=0, name="fd")
    assert set(out) == {"fd", "fd_floor", "floor_n"} and out["floor_n"] == 200
    assert out["fd"] > 5.0 > out["fd_floor"]  # shift contributes |(1, ..., 1)|^2 = 8
    assert set(with_floor(kid, real, fake, n_subsets=3)) == {"kid", "kid_std", "kid_floor", "kid_std_floor", "floor_n"}


def test_vector_defaults_add_toy_modes_and_floor_off_uses_all_samples():
    means = np.array([[1.0, 0.0], [-1.0, 0.0]])
    rng = np.random.default_rng(3)
    real = means[rng.integers(0, 2, 400)] + 0.01 * rng.standard_normal((400, 2))
    fake = means[np.zeros(100, dtype=int)] + 0.01 * rng.standard_normal((100, 2))  # one mode only
    assert default_metrics() == ["fd", "kid", "pr", "dc"]
    assert default_metrics({"means": means, "sigma": 0.01})[-1] == "toy_modes"
    out = compute(None, real, fake, floor=False, means=means, sigma=0.01, kid_subsets=5)
    assert out["modes"] == 1 and out["reverse_kl"] == pytest.approx(np.log(2))
    assert out["protocol"]["n_eval"] is None and "fd_floor" not in out
    floored = compute("toy_modes", real, fake, means=means, sigma=0.01)
    assert floored["modes_floor"] == 2 and floored["reverse_kl_floor"] < 0.05


def test_memorisation_and_label_modes_through_compute():
    rng = np.random.default_rng(4)
    train, held = _gauss(rng, 800), _gauss(rng, 300)
    out = compute("memorisation", held, train[:200], train_feats=train, heldout_feats=held)
    assert out["mem_frac_below_p1"] == 1.0 and "mem_ratio_floor" not in out
    lab = compute(["label_modes"], held, train[:200], fake_labels=np.zeros(200, dtype=int), n_modes=10,
                  real_labels=np.arange(300) % 10)
    assert lab["modes"] == 1 and lab["modes_floor"] == 10 and lab["label_modes_n"] == 200


def test_registry_errors_suggest_names():
    rng = np.random.default_rng(5)
    real, fake = _gauss(rng, 50), _gauss(rng, 50)
    with pytest.raises(ConfigError, match="did you mean 'fd'"):
        compute(["fdd"], real, fake)
    with pytest.raises(ConfigError, match="did you mean 'precision_recall'"):
        compute("precison_recall", real, fake)
    with pytest.raises(ConfigError, match="2-D mixture means, not 8-D features"):
        compute(["toy_modes"], real, fake, means=np.zeros((2, 2)), sigma=1.0)
    with pytest.raises(ConfigError, match="needs train_feats, heldout_feats"):
        compute(["memorisation"], real, fake)
    with pytest.raises(ConfigError, match="did you mean 'kid_subsets'"):
        compute(["kid"], real, fake, kid_subset=3)


def test_register_custom_metric():
    registry.register("mean_gap")(lambda r, f, ctx: {"mean_gap": float(np.abs(np.mean(r) - np.mean(f)))})
    try:
        rng = np.random.default_rng(6)
        out = compute(["mean_gap", "fd"], _gauss(rng, 200), _gauss(rng, 100, shift=2.0))
        assert out["mean_gap"] > 1.5 > out["mean_gap_floor"]
        assert "mean_gap" in registry.available()
    finally:
        registry.METRICS.unregister("mean_gap")
    assert "mean_gap" not in registry.available()


BAD_CALLS = {
    "fd": lambda a, b: frechet_distance(a, b),
    "kid": lambda a, b: kid(a, b, n_subsets=2),
    "pr": lambda a, b: precision_recall(a, b),
    "dc": lambda a, b: density_coverage(a, b),
    "one_nn": lambda a, b: one_nn_accuracy(a, b),
    "memorisation": lambda a, b: memorisation(a, b, a),
    "compute": lambda a, b: compute(None, a, b),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
@pytest.mark.parametrize("real, fake, message", [
    (np.zeros((20, 4)), np.zeros((20, 5)), "have 4 features but"),
    (np.zeros((0, 4)), np.zeros((20, 4)), "is empty"),
    (np.zeros(20), np.zeros((20, 4)), r"must have shape \(N, D\)"),
    (np.full((20, 4), np.nan), np.zeros((20, 4)), "NaN or infinite"),
])
def test_bad_input_is_one_line_value_error(name, real, fake, message):
    with pytest.raises(ValueError, match=message) as err:
        BAD_CALLS[name](real, fake)
    assert isinstance(err.value, DataError) and "\n" not in str(err.value)


def test_too_few_samples_for_k():
    rng = np.random.default_rng(7)
    with pytest.raises(ValueError, match="real features has 3 samples, too few for k=3"):
        precision_recall(_gauss(rng, 3), _gauss(rng, 10), k=3)
    with pytest.raises(ValueError, match="fake features has 3 samples, too few for k=3"):
        precision_recall(_gauss(rng, 10), _gauss(rng, 3), k=3)
    with pytest.raises(ValueError, match="too few for k=5"):
        density_coverage(_gauss(rng, 5), _gauss(rng, 10), k=5)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(_gauss(rng, 1), _gauss(rng, 10))
