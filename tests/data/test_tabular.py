"""Tables: type inference, the reversible encoding, training-by-sampling and bad input."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ganforge.config import DataConfig
from ganforge.core.errors import ConfigError, DataError
from ganforge.data import load_dataset
from ganforge.data.tabular import infer_types, read_table, table_dataset, training_pool
from ganforge.data.tabular_transform import TableTransformer, condition_weights
from ganforge.recipes.tabular import TabularConfig


def make_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "bimodal": np.concatenate([rng.normal(-5, 0.5, n // 2), rng.normal(5, 1.0, n - n // 2)]),
        "count": rng.integers(0, 50, n),
        "color": rng.choice(["red", "green", "blue", "violet"], n, p=[0.5, 0.3, 0.15, 0.05]),
        "flag": rng.random(n) < 0.4,
        "day": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "gappy": rng.normal(100, 10, n),
    })
    df.loc[rng.random(n) < 0.15, "gappy"] = np.nan
    df.loc[rng.random(n) < 0.1, "color"] = np.nan
    return df


def test_infer_types_and_overrides():
    df = make_frame()
    assert infer_types(df) == {"bimodal": "continuous", "count": "integer", "color": "categorical",
                               "flag": "boolean", "day": "datetime", "gappy": "continuous"}
    t = infer_types(df, discrete=["count"], types={"bimodal": "integer"})
    assert t["count"] == "categorical" and t["bimodal"] == "integer"
    assert infer_types(df, target="count")["count"] == "categorical"   # whole-number targets are labels
    iso = pd.DataFrame({"when": ["2021-03-04", "2021-05-06", None]})
    assert infer_types(iso) == {"when": "datetime"}


def test_round_trip_recovers_values_categories_and_missing():
    df = make_frame()
    tt = TableTransformer.fit(df, infer_types(df), max_modes=5, max_rows=0, seed=0)
    x = tt.transform(df, seed=1)
    assert x.shape == (len(df), tt.dim) and x.dtype == np.float32
    back = tt.inverse(x)
    assert list(back.columns) == list(df.columns)
    pd.testing.assert_series_equal(back["color"], df["color"].astype(object))
    assert back["color"].isna().equals(df["color"].isna())
    assert back["flag"].dtype == bool and (back["flag"] == df["flag"]).all()
    assert back["count"].dtype == np.int64 and (back["count"] == df["count"]).all()
    assert (back["day"] == df["day"]).all()
    assert back["gappy"].isna().equals(df["gappy"].isna())
    for col in ("bimodal", "gappy"):   # float32 alpha; values within 4 sigma of their mode come back
        np.testing.assert_allclose(back[col].dropna(), df[col].dropna(), rtol=1e-5, atol=1e-4)
    # the fitted state survives JSON and decodes the same
    tt2 = TableTransformer.from_json(json.loads(json.dumps(tt.to_json())))
    pd.testing.assert_frame_equal(tt2.inverse(x), back)


def test_a_category_never_seen_in_fitting_encodes_as_all_zeros():
    df = make_frame()
    tt = TableTransformer.fit(df, infer_types(df), max_modes=5, max_rows=0, seed=0)
    new = df.head(3).copy()
    new["color"] = "orange"
    x, ref = tt.transform(new, seed=1), tt.transform(df.head(3), seed=1)
    at, width = tt.offsets()[tt.names.index("color")], tt.columns[tt.names.index("color")].width
    assert (x[:, at:at + width] == 0).all()
    np.testing.assert_array_equal(np.delete(x, range(at, at + width), 1), np.delete(ref, range(at, at + width), 1))


def test_bimodal_column_gets_two_modes():
    df = make_frame()[["bimodal"]]
    tt = TableTransformer.fit(df, {"bimodal": "continuous"}, max_modes=10, seed=0)
    means = sorted(tt.columns[0].means)
    assert len(means) >= 2 and means[0] < -3 and means[-1] > 3


def test_training_pool_follows_log_frequency():
    codes = np.array([[0]] * 900 + [[1]] * 90 + [[2]] * 10)   # one column, counts 900 / 90 / 10
    rows, cond = training_pool(codes, [3], 10_000, seed=0)
    assert len(rows) == len(cond) == 10_000
    assert np.array_equal(codes[rows, 0], cond)                  # every row holds its condition
    share = np.bincount(cond, minlength=3) / 10_000
    expect = np.log1p([900, 90, 10]) / np.log1p([900, 90, 10]).sum()
    np.testing.assert_allclose(share, expect, atol=1e-3)
    assert len(np.unique(rows[cond == 2])) == 10                 # the rare rows are all used


def test_target_share_steers_the_conditions():
    df = make_frame()
    df["label"] = np.where(df["count"] > 25, "hi", "lo")
    tt = TableTransformer.fit(df, infer_types(df), max_modes=3, seed=0)
    names = [tt.columns[i].name for i in tt.discrete_columns()]        # color, flag, label
    w = condition_weights(tt, "label", 0.5)
    assert w[names.index("label")] == 0.5 and np.isclose(w.sum(), 1.0)
    np.testing.assert_allclose(condition_weights(tt, "", 0.5), 1 / 3)   # no target: uniform
    ds = table_dataset(df, TabularConfig(target="label", target_share=0.5), seed=0)
    base = np.cumsum([0] + [len(tt.columns[i].categories) for i in tt.discrete_columns()])
    k = names.index("label")
    on_label = ((ds.y >= base[k]) & (ds.y < base[k + 1])).float().mean().item()
    assert abs(on_label - 0.5) < 0.01


def test_dataset_from_csv_and_info(tmp_path):
    path = tmp_path / "t.csv"
    make_frame(120).to_csv(path, index=False)
    ds = load_dataset(DataConfig(source="auto", path=str(path)), seed=0, tabular=TabularConfig(target="flag"))
    info = ds.info()
    assert info["kind"] == "table" and info["n"] == 120 and info["target"] == "flag"
    assert ds.y is not None and len(ds) >= 120 and ds.x.shape[1] == info["shape"][0]
    json.dumps(info)   # the data info (with the encoding) is JSON


# -- bad input: one clear line each --------------------------------------------------------------

def _one_line(exc) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_empty_frame_and_file(tmp_path):
    with pytest.raises(DataError) as e:
        read_table(pd.DataFrame({"a": []}))
    assert "no rows" in _one_line(e)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError) as e:
        read_table(str(empty))
    assert "empty.csv" in _one_line(e)


def test_all_missing_column():
    df = make_frame(30)
    df["nothing"] = np.nan
    with pytest.raises(DataError) as e:
        infer_types(df)
    assert "'nothing'" in _one_line(e) and "all missing" in _one_line(e)


def test_discrete_column_that_does_not_exist():
    with pytest.raises(DataError) as e:
        infer_types(make_frame(30), discrete=["colour"])
    assert "'colour'" in _one_line(e) and "did you mean 'color'" in _one_line(e)


def test_non_numeric_value_in_numeric_column():
    df = pd.DataFrame({"age": [str(v) for v in range(20, 40)], "x": range(20)})
    df.loc[7, "age"] = "abc"
    with pytest.raises(DataError) as e:
        infer_types(df)
    assert "'age'" in _one_line(e) and "row 7" in _one_line(e) and "'abc'" in _one_line(e)
    assert infer_types(df, discrete=["age"])["age"] == "categorical"   # the way out works
    with pytest.raises(DataError) as e:
        infer_types(pd.DataFrame({"v": ["1", "2", "oops"]}), types={"v": "continuous"})
    assert "'oops'" in _one_line(e)


def test_bad_type_name():
    with pytest.raises(ConfigError):
        infer_types(make_frame(30), types={"count": "number"})


def test_parquet_without_pyarrow_says_so(tmp_path):
    import importlib.util
    if importlib.util.find_spec("pyarrow") or importlib.util.find_spec("fastparquet"):
        pytest.skip("a Parquet engine is installed")
    with pytest.raises(DataError) as e:
        read_table(str(tmp_path / "t.parquet"))
    assert "pyarrow" in _one_line(e)


def test_table_dataset_is_seeded():
    df = make_frame(100)
    a, b = table_dataset(df, TabularConfig(), seed=3), table_dataset(df, TabularConfig(), seed=3)
    assert np.array_equal(a.x.numpy(), b.x.numpy()) and np.array_equal(a.y.numpy(), b.y.numpy())
