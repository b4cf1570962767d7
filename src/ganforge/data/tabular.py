"""Tables for the tabular GAN: reading (CSV, Parquet, DataFrame), column types, and the training set.

Column types are inferred (``infer_types``) and may be overridden: strings are categorical, bools
boolean, ISO-dated strings and datetime64 datetimes, whole numbers integer, other numbers continuous.
The training set holds the encoded rows (see tabular_transform.py) drawn for training-by-sampling
(Xu et al. 2019, sec. 4.3): a discrete column is picked uniformly, one of its categories with
probability proportional to the log of its frequency, then a row holding that category. The draws
are laid out once as a pool of rows, each tagged with its condition index in ``y``; the engine's
uniform batches from the pool then follow the training-by-sampling distribution.
"""
from __future__ import annotations

import difflib
import importlib.util
import os
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..core.errors import ConfigError, DataError
from .dataset import Dataset
from .sources import Source, register_source
from .tabular_transform import COLUMN_TYPES, DISCRETE_TYPES, TableTransformer, condition_weights

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
POOL_MIN = 10_000   # pool rows at least: small tables still give varied batches


def read_table(source, name: str = "") -> pd.DataFrame:
    """A DataFrame from a DataFrame, a .csv file or a .parquet file."""
    if isinstance(source, pd.DataFrame):
        df = source.copy()
    else:
        path = os.fspath(source)
        low = path.lower()
        if low.endswith((".parquet", ".pq")):
            if importlib.util.find_spec("pyarrow") is None and importlib.util.find_spec("fastparquet") is None:
                raise DataError(f"reading {path} needs pyarrow: pip install pyarrow (or give a .csv file)")
            try:
                df = pd.read_parquet(path)
            except Exception as e:  # any reader failure is a bad file
                raise DataError(f"cannot read Parquet file {path}: {str(e).splitlines()[0]}") from None
        else:
            try:
                df = pd.read_csv(path, skipinitialspace=True)
            except pd.errors.EmptyDataError:
                raise DataError(f"{path} is empty; give a CSV file with a header line and rows") from None
            except (pd.errors.ParserError, UnicodeDecodeError, OSError) as e:
                raise DataError(f"cannot read CSV file {path}: {str(e).splitlines()[0]}") from None
    where = name or ("the data frame" if isinstance(source, pd.DataFrame) else os.fspath(source))
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise DataError(f"{where} has no rows or no columns; give a table with a header and at least one row")
    df.columns = [str(c) for c in df.columns]
    if len(set(df.columns)) != df.shape[1]:
        raise DataError(f"{where} has repeated column names; give every column its own name")
    return df


def split_names(spec) -> list[str]:
    if spec is None:
        return []
    if isinstance(spec, str):
        return [s.strip() for s in spec.split(",") if s.strip()]
    return [str(s) for s in spec]


def parse_types(spec) -> dict[str, str]:
    """``"a:integer,b:categorical"`` or a dict -> {column: type}."""
    if isinstance(spec, dict):
        pairs = list(spec.items())
    else:
        pairs = []
        for item in split_names(spec):
            col, sep, typ = item.rpartition(":")
            if not sep:
                raise ConfigError(f"tabular.types expects column:type pairs, got {item!r}")
            pairs.append((col.strip(), typ.strip()))
    for col, typ in pairs:
        if typ not in COLUMN_TYPES:
            raise ConfigError(f"column type {typ!r} for {col!r} is not one of: {', '.join(COLUMN_TYPES)}")
    return {str(c): str(t) for c, t in pairs}


def _need_column(df: pd.DataFrame, col: str, what: str, where: str) -> None:
    if col not in df.columns:
        close = difflib.get_close_matches(col, list(df.columns), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; its columns are: {', '.join(df.columns)}"
        raise DataError(f"{what} '{col}' is not a column of {where}{hint}")


def _first_bad_number(s: pd.Series) -> tuple[int, str] | None:
    """(row, value) of the first non-missing value that is not a number, or None."""
    num = pd.to_numeric(s, errors="coerce")
    bad = np.flatnonzero(num.isna().to_numpy() & s.notna().to_numpy())
    return (int(bad[0]), str(s.iloc[bad[0]])) if bad.size else None


def _infer_one(s: pd.Series, col: str, where: str) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_numeric_dtype(s):
        v = s.dropna().to_numpy(dtype=np.float64)
        return "integer" if np.all(v == np.round(v)) else "continuous"
    vals = s.dropna().astype(str)
    if len(vals) and vals.map(lambda t: bool(_ISO_DATE.match(t))).all():
        return "datetime"
    # Mostly numbers with a few strays is a typo, not a category: say where it is.
    num = pd.to_numeric(vals, errors="coerce")
    if len(vals) >= 10 and num.notna().mean() >= 0.9 and num.isna().any():
        row, val = _first_bad_number(s)
        raise DataError(f"column '{col}' of {where} is numeric but row {row} holds {val!r}; fix the value, "
                        "or declare the column discrete")
    return "categorical"


def infer_types(df: pd.DataFrame, discrete=(), types=None, target: str = "",
                where: str = "the table") -> dict[str, str]:
    """{column: type} for every column, after checking that named columns exist and none is empty."""
    discrete, types = split_names(discrete), parse_types(types or {})
    for col in discrete:
        _need_column(df, col, "discrete column", where)
    for col in types:
        _need_column(df, col, "typed column", where)
    if target:
        _need_column(df, target, "target column", where)
    out = {}
    for col in df.columns:
        s = df[col]
        if s.isna().all():
            raise DataError(f"column '{col}' of {where} has no values (all missing); drop it or fill it")
        if col in types:
            out[col] = types[col]
        elif col in discrete:
            out[col] = "boolean" if pd.api.types.is_bool_dtype(s) else "categorical"
        else:
            out[col] = _infer_one(s, col, where)
            if col == target and out[col] == "integer":   # whole-number targets are class labels
                out[col] = "categorical"
    for col, typ in out.items():
        if typ in ("continuous", "integer") and not pd.api.types.is_numeric_dtype(df[col]):
            bad = _first_bad_number(df[col])
            if bad:
                raise DataError(f"column '{col}' of {where} is {typ} but row {bad[0]} holds {bad[1]!r}; "
                                "fix the value, or declare the column discrete")
        if typ == "datetime":
            try:
                pd.to_datetime(df[col], errors="raise")
            except (ValueError, TypeError):
                raise DataError(f"column '{col}' of {where} is datetime but holds values that are not dates; "
                                "fix them, or declare the column categorical") from None
    return out


def training_pool(codes: np.ndarray, n_cats: list[int], size: int, seed: int,
                  col_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows and condition indices of ``size`` training-by-sampling draws.

    ``codes`` (N, J) holds each row's category in each discrete column (``n_cats`` categories
    each; condition indices run over all of them, column after column). Each (column, category)
    receives its expected share of the pool, column weight (1/J unless ``col_weights``) times
    log-frequency share (largest remainders round it), and fills it with its rows in a seeded
    order, repeated as often as needed: rare categories are seen as often as the log-frequency
    asks, common ones without repeats."""
    rng = np.random.default_rng(seed)
    n_cols = codes.shape[1]
    col_weights = np.full(n_cols, 1.0 / n_cols) if col_weights is None else np.asarray(col_weights)
    base = np.concatenate([[0], np.cumsum(n_cats)])
    cells, share = [], []
    for j in range(n_cols):
        counts = np.bincount(codes[:, j], minlength=n_cats[j])
        logf = np.log1p(counts)   # an absent category gets log(1) = 0: no share
        for k in np.flatnonzero(counts):
            cells.append((j, k))
            share.append(logf[k] / logf.sum() * col_weights[j])
    want = np.asarray(share) * size
    m = np.floor(want).astype(np.int64)
    m[np.argsort(-(want - m), kind="stable")[:size - m.sum()]] += 1
    rows, cond = [], []
    for (j, k), count in zip(cells, m):
        if count:
            rows.append(np.resize(rng.permutation(np.flatnonzero(codes[:, j] == k)), count))
            cond.append(np.full(count, base[j] + k, dtype=np.int64))
    return np.concatenate(rows), np.concatenate(cond)


@dataclass
class TabularDataset(Dataset):
    transformer: TableTransformer | None = None
    n_rows: int = 0
    target: str = ""

    def info(self) -> dict:
        return {"name": self.name, "kind": "table", "n": self.n_rows, "shape": [int(self.x.shape[1])],
                "value_range": None, "num_classes": 0, "class_names": None, "pool": len(self),
                "target": self.target, "tabular": self.transformer.to_json()}


def table_dataset(df: pd.DataFrame, tab, seed: int, name: str = "table", privacy=None) -> TabularDataset:
    """Types, fitted transformer, encoding and the training pool of a frame (``tab``: TabularConfig).
    ``privacy`` (a PrivacyConfig with epsilon > 0): no pool, the rows once each (private training
    samples them itself), and the category counts replaced by Laplace-noised ones (``private_counts``)."""
    tab_get = (lambda k, d: getattr(tab, k, d)) if tab is not None else (lambda k, d: d)
    types = infer_types(df, tab_get("discrete", ""), tab_get("types", ""), tab_get("target", ""), name)
    tt = TableTransformer.fit(df, types, int(tab_get("max_modes", 10)), float(tab_get("mode_threshold", 0.005)),
                              int(tab_get("gmm_rows", 10_000)), seed)
    x = tt.transform(df, seed)
    disc = tt.discrete_columns()
    if privacy is not None and privacy.epsilon > 0:
        private_counts(tt, privacy.epsilon * privacy.count_share, seed)
        return TabularDataset(torch.from_numpy(x), None, "table", name, None, None,
                              transformer=tt, n_rows=len(df), target=tab_get("target", ""))
    size = max(len(df) * int(tab_get("pool", 2)), POOL_MIN)
    if disc:
        codes = np.stack([tt.codes(df, i) for i in disc], axis=1)   # (N, J)
        weights = condition_weights(tt, tab_get("target", ""), float(tab_get("target_share", 0.0)))
        rows, cond = training_pool(codes, [len(tt.columns[i].categories) for i in disc], size, seed, weights)
        y = torch.from_numpy(cond)
    else:
        rows, y = np.resize(np.random.default_rng(seed).permutation(len(df)), size), None
    return TabularDataset(torch.from_numpy(x[rows]), y, "table", name, None, None,
                          transformer=tt, n_rows=len(df), target=tab_get("target", ""))


def private_counts(tt: TableTransformer, epsilon: float, seed: int) -> None:
    """Replace every discrete column's category counts (the frequencies of conditions and of sampling) by
    an epsilon-DP release: one row moves one count in each of the J discrete columns, so the L1
    sensitivity is J and Laplace noise of scale J / epsilon covers them all. epsilon = 0: uniform counts."""
    from ..core.privacy import noisy_counts
    disc = tt.discrete_columns()
    rng = np.random.default_rng(seed * 1_000_003 + 17)
    for i in disc:
        c = tt.columns[i]
        if epsilon > 0:
            c.counts = [round(float(v), 3) for v in noisy_counts(c.counts, epsilon, rng, sensitivity=len(disc))]
        else:
            c.counts = [1] * len(c.counts)


def load_tabular(cfg, tab, seed: int, path: str, privacy=None) -> TabularDataset:
    """data.source=tabular: read ``path`` and build the training set with the tabular settings
    (``cfg``: the DataConfig, ``tab``: the [tabular] section)."""
    df = read_table(path)
    if cfg.limit and cfg.limit < len(df):
        df = df.sample(n=cfg.limit, random_state=seed).reset_index(drop=True)
    return table_dataset(df, tab, seed, name=path, privacy=privacy)


def _is_table(path: str) -> bool:
    return os.path.isfile(path) and path.lower().endswith((".csv", ".parquet", ".pq"))


register_source("tabular", Source(lambda cfg, seed, path: load_tabular(cfg.data, cfg.section("tabular"), seed, path,
                                                                     cfg.privacy),
                                  path="file", kind="table", finish=False, infer_order=2, infer=_is_table))


__all__ = ["read_table", "infer_types", "parse_types", "split_names", "training_pool", "table_dataset",
           "load_tabular", "private_counts", "TabularDataset", "DISCRETE_TYPES"]
