"""Tabular measures on tiny frames: each must separate a faithful table from a broken one."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ganforge.core.errors import DataError
from ganforge.metrics.tabular import dcr, quality, tstr

TYPES = {"x": "continuous", "n": "integer", "c": "categorical", "label": "categorical"}


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    c = rng.choice(["a", "b", "c"], n)
    # the label depends on x and c, so a model can learn it from good rows
    label = np.where((x > 0.3) | (c == "c"), "yes", "no")
    return pd.DataFrame({"x": x, "n": rng.integers(0, 10, n), "c": c, "label": label})


@pytest.fixture(scope="module")
def data():
    return frame(400, 0), frame(200, 1), frame(400, 2)   # train, held-out test, "synthetic" from the same law


def broken(df: pd.DataFrame, seed: int = 9) -> pd.DataFrame:
    """Same columns, wrong law: shifted numbers, one category, labels at random."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(4, 0.1, len(df)), "n": np.full(len(df), 9), "c": "a",
                         "label": rng.choice(["yes", "no"], len(df))})


def test_quality_separates_good_from_broken(data):
    train, test, good = data
    q_good, q_bad = quality(test, good, TYPES), quality(test, broken(good), TYPES)
    assert set(q_good) == {"score", "column_shapes", "column_pair_trends"}
    assert 0.85 < q_good["score"] <= 1.0
    assert q_bad["score"] < q_good["score"] - 0.3


def test_tstr_reports_real_synthetic_and_both(data):
    train, test, good = data
    t = tstr(train, test, good, "label", TYPES)
    assert t["task"] == "binary" and t["metric"] == "f1" and t["positive"] in ("yes", "no")
    assert t["real"] > 0.85 and t["synthetic"] > 0.85 and t["real+synthetic"] > 0.85
    bad = tstr(train, test, broken(good), "label", TYPES)
    assert bad["synthetic"] < t["synthetic"] - 0.2
    assert bad["real"] == pytest.approx(t["real"])                  # the baseline does not move


def test_tstr_regression_and_multiclass(data):
    train, test, good = data
    r = tstr(train, test, good, "x", TYPES)
    assert r["task"] == "regression" and r["metric"] == "r2" and r["synthetic"] > 0.2
    m = tstr(train, test, good, "c", TYPES)
    # c is uniform over three values and shows only through the label: chance is 1/3, knowing the
    # label helps, and rows from the same law teach it as well as the real ones
    assert m["task"] == "multiclass" and m["synthetic"] > 0.4 and abs(m["synthetic"] - m["real"]) < 0.1
    positive = tstr(train, test, good, "label", TYPES)["positive"]
    one_class = good.assign(label="yes" if positive == "no" else "no")   # never the class F1 is about
    assert tstr(train, test, one_class, "label", TYPES)["synthetic"] == 0.0
    with pytest.raises(DataError, match="target column 'income'"):
        tstr(train, test, good, "income", TYPES)


def test_dcr_flags_copies(data):
    train, test, good = data
    copies = dcr(train, test, train.iloc[:200], TYPES)
    assert copies["synthetic_exact_copies"] == 1.0 and copies["synthetic_median"] == 0.0
    fresh = dcr(train, test, good, TYPES)
    assert fresh["synthetic_exact_copies"] == 0.0
    assert 0.5 < fresh["ratio"] < 2.0                          # as far from train as unseen real rows
    assert fresh["holdout_median"] > 0


def test_bad_tables():
    a = frame(20, 0)
    with pytest.raises(DataError, match="lack"):
        quality(a, a.drop(columns=["c"]), TYPES)
    with pytest.raises(DataError, match="empty"):
        quality(a, a.iloc[:0], TYPES)
