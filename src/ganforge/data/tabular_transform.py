"""A reversible encoding of a table into the vectors the tabular GAN trains on.

Continuous columns (and integers, datetimes) get mode-specific normalisation (Xu et al. 2019,
"Modeling Tabular Data using Conditional GAN", sec. 4.2): a variational Gaussian mixture is fitted
per column, each value is assigned a mode k sampled from its posterior, and encoded as the scalar
alpha = (x - mu_k) / (4 sigma_k) (clipped to [-0.99, 0.99]) plus a one-hot of k. Discrete columns
are one-hot over their categories. A missing discrete value is a category of its own; a missing
continuous value gets a two-way indicator (present / missing) after the mode one-hot.

The fitted state is plain JSON (``to_json`` / ``from_json``), so a checkpoint can decode samples
without the training data.
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

NUMERIC_TYPES = ("continuous", "integer", "datetime")
DISCRETE_TYPES = ("categorical", "boolean")
COLUMN_TYPES = NUMERIC_TYPES + DISCRETE_TYPES
_ALPHA_CLIP = 0.99   # keeps alpha inside tanh's open range so G can reach every encoded value
_NS_PER_S = 1_000_000_000
_UNITS = {"D": 86400, "h": 3600, "min": 60, "s": 1}   # datetime resolutions, coarsest first


@dataclass
class ColumnInfo:
    name: str
    type: str                                         # one of COLUMN_TYPES
    has_missing: bool = False
    # numeric columns
    means: list[float] = field(default_factory=list)  # active mixture modes
    stds: list[float] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    lo: float = 0.0                                   # observed range (in seconds for datetimes)
    hi: float = 0.0
    fill: float = 0.0                                 # stands in for missing values before encoding
    unit: str = ""                                    # datetimes: resolution "D", "h", "min" or "s"
    # discrete columns: JSON values, None for the missing category
    categories: list[Any] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    @property
    def discrete(self) -> bool:
        return self.type in DISCRETE_TYPES

    @property
    def width(self) -> int:
        if self.discrete:
            return len(self.categories)
        return 1 + len(self.means) + (2 if self.has_missing else 0)

    def spans(self) -> list[tuple[int, str]]:
        """(width, activation) of each output block: tanh for alpha, softmax for one-hots."""
        if self.discrete:
            return [(len(self.categories), "softmax")]
        out = [(1, "tanh"), (len(self.means), "softmax")]
        return out + [(2, "softmax")] if self.has_missing else out


def _py(v: Any) -> Any:
    """A pandas/numpy scalar as a JSON value (None when missing)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return v.item() if isinstance(v, np.generic) else v


def _sort_key(v: Any) -> tuple:
    return (v is None, type(v).__name__, v if v is not None else 0)


def to_numbers(s: pd.Series, ctype: str) -> np.ndarray:
    """A numeric column as float64 (NaN for missing); datetimes as seconds since 1970."""
    if ctype == "datetime":
        t = pd.to_datetime(s, errors="raise")
        out = t.astype("int64").to_numpy().astype(np.float64) / _NS_PER_S
        out[t.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(s, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)


def fit_modes(v: np.ndarray, max_modes: int, threshold: float, max_rows: int,
              seed: int) -> tuple[list[float], list[float], list[float]]:
    """Means, stds and weights of the active modes of a 1-D variational Gaussian mixture."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import BayesianGaussianMixture
    rng = np.random.default_rng(seed)
    if max_rows and len(v) > max_rows:   # a subsample pins the modes down as well, much faster
        v = rng.choice(v, max_rows, replace=False)
    span = float(v.max() - v.min())
    floor = max(span * 1e-4, abs(float(v.mean())) * 1e-9, 1e-9)   # a mode never has zero width
    k = min(max_modes, len(np.unique(v)))
    if k <= 1:
        return [float(v[0])], [max(floor, 1.0 if span == 0 else span)], [1.0]
    # A Dirichlet-process prior with a small concentration leaves unneeded modes with ~0 weight.
    bgm = BayesianGaussianMixture(n_components=k, weight_concentration_prior_type="dirichlet_process",
                                  weight_concentration_prior=1e-3, covariance_type="diag",
                                  max_iter=100, n_init=1, random_state=seed)
    from threadpoolctl import threadpool_limits
    with warnings.catch_warnings(), threadpool_limits(1):   # 1-D fits gain nothing from threads
        warnings.simplefilter("ignore", ConvergenceWarning)
        bgm.fit(v.reshape(-1, 1))
    w = bgm.weights_
    keep = np.flatnonzero(w > threshold)
    if keep.size == 0:
        keep = np.array([int(np.argmax(w))])
    weights = w[keep] / w[keep].sum()
    stds = np.maximum(np.sqrt(bgm.covariances_[keep, 0]), floor)
    return bgm.means_[keep, 0].tolist(), stds.tolist(), weights.tolist()


def mode_posterior(x: np.ndarray, c: ColumnInfo) -> np.ndarray:
    """(N, K) posterior probability of each active mode for values x (N,)."""
    mu, sd, w = (np.asarray(a, dtype=np.float64) for a in (c.means, c.stds, c.weights))
    z = (x[:, None] - mu) / sd
    logp = np.log(w) - np.log(sd) - 0.5 * z * z
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=1, keepdims=True)


class TableTransformer:
    """Fitted column encoders: ``transform`` a frame to (N, D) float32, ``inverse`` back."""

    def __init__(self, columns: list[ColumnInfo]):
        self.columns = columns
        self.names = [c.name for c in columns]

    # -- fitting --------------------------------------------------------------------------------
    @classmethod
    def fit(cls, df: pd.DataFrame, types: dict[str, str], max_modes: int = 10, threshold: float = 0.005,
            max_rows: int = 0, seed: int = 0) -> TableTransformer:
        cols = []
        for i, name in enumerate(df.columns):
            s, ctype = df[name], types[name]
            miss = s.isna().to_numpy()
            if ctype in DISCRETE_TYPES:
                counts = s[~miss].astype(object).value_counts(sort=False)
                cats = sorted(((_py(v), int(n)) for v, n in counts.items()), key=lambda t: _sort_key(t[0]))
                if miss.any():
                    cats.append((None, int(miss.sum())))
                cols.append(ColumnInfo(name, ctype, bool(miss.any()), categories=[c for c, _ in cats],
                                       counts=[n for _, n in cats]))
                continue
            v = to_numbers(s, ctype)
            ok = v[~np.isnan(v)]
            means, stds, weights = fit_modes(ok, max_modes, threshold, max_rows, seed + i)
            unit = ""
            if ctype == "datetime":
                unit = next((u for u, sec in _UNITS.items() if np.all(np.mod(ok, sec) == 0)), "")
            cols.append(ColumnInfo(name, ctype, bool(miss.any()), means, stds, weights, float(ok.min()),
                                   float(ok.max()), float(ok.mean()), unit))
        return cls(cols)

    # -- layout ---------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return sum(c.width for c in self.columns)

    def spans(self) -> list[tuple[int, int, str]]:
        """(start, width, activation) of every output block, in column order."""
        out, at = [], 0
        for c in self.columns:
            for w, act in c.spans():
                out.append((at, w, act))
                at += w
        return out

    def offsets(self) -> list[int]:
        return list(np.cumsum([0] + [c.width for c in self.columns])[:-1])

    def discrete_columns(self) -> list[int]:
        return [i for i, c in enumerate(self.columns) if c.discrete]

    def codes(self, df: pd.DataFrame, i: int) -> np.ndarray:
        """Category index of every row of discrete column i; -1 for a value never seen in fitting."""
        c = self.columns[i]
        s = df[c.name]
        present = pd.Index([v for v in c.categories if v is not None], dtype=object)
        out = present.get_indexer(pd.Index(s.astype(object))).astype(np.int64)
        miss = s.isna().to_numpy()
        out[miss] = len(present) if c.has_missing else -1
        return out

    # -- encoding -------------------------------------------------------------------------------
    def transform(self, df: pd.DataFrame, seed: int = 0) -> np.ndarray:
        """(N, dim) float32; the mode of each continuous value is sampled from its posterior."""
        rng = np.random.default_rng(seed)
        n = len(df)
        out = np.zeros((n, self.dim), dtype=np.float32)
        for c, at in zip(self.columns, self.offsets()):
            if c.discrete:   # a category never seen in fitting (code -1) stays all zeros
                code = self.codes(df, self.names.index(c.name))
                out[np.flatnonzero(code >= 0), at + code[code >= 0]] = 1.0
                continue
            v = to_numbers(df[c.name], c.type)
            miss = np.isnan(v)
            v = np.where(miss, c.fill, v)
            cdf = np.cumsum(mode_posterior(v, c), axis=1)
            k = np.minimum((rng.random((n, 1)) > cdf).sum(axis=1), len(c.means) - 1)
            mu, sd = np.asarray(c.means)[k], np.asarray(c.stds)[k]
            out[:, at] = np.clip((v - mu) / (4 * sd), -_ALPHA_CLIP, _ALPHA_CLIP)
            out[np.arange(n), at + 1 + k] = 1.0
            if c.has_missing:
                out[np.arange(n), at + 1 + len(c.means) + miss.astype(np.int64)] = 1.0
        return out

    def inverse(self, x: np.ndarray, clip: bool = True) -> pd.DataFrame:
        """Decode (N, dim) rows: argmax over each one-hot block, alpha back to a value."""
        x = np.asarray(x, dtype=np.float64)
        data = {}
        for c, at in zip(self.columns, self.offsets()):
            if c.discrete:
                data[c.name] = _categories_out(c, x[:, at:at + c.width].argmax(axis=1))
                continue
            k = x[:, at + 1:at + 1 + len(c.means)].argmax(axis=1)
            alpha = np.clip(x[:, at], -1.0, 1.0)
            v = alpha * 4 * np.asarray(c.stds)[k] + np.asarray(c.means)[k]
            if clip:
                v = np.clip(v, c.lo, c.hi)
            miss = (x[:, at + c.width - 1] > x[:, at + c.width - 2]) if c.has_missing else np.zeros(len(v), bool)
            data[c.name] = _numbers_out(c, v, miss)
        return pd.DataFrame(data)

    # -- JSON -----------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"columns": [asdict(c) for c in self.columns]}

    @classmethod
    def from_json(cls, d: dict) -> TableTransformer:
        return cls([ColumnInfo(**c) for c in d["columns"]])


def condition_weights(tt: TableTransformer, target: str = "", target_share: float = 0.0) -> np.ndarray:
    """How often each discrete column is the condition: uniformly (Xu et al. 2019), or with
    ``target_share`` of the draws on a discrete ``target`` and the rest shared by the others."""
    disc = [tt.columns[i].name for i in tt.discrete_columns()]
    w = np.full(len(disc), 1.0 / max(len(disc), 1))
    if target in disc and 0.0 < target_share <= 1.0 and len(disc) > 1:
        w[:] = (1.0 - target_share) / (len(disc) - 1)
        w[disc.index(target)] = target_share
    return w


def _categories_out(c: ColumnInfo, codes: np.ndarray) -> pd.Series:
    cats = c.categories
    present = [v for v in cats if v is not None]
    if c.type == "boolean":
        dtype = "boolean" if c.has_missing else bool
    elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        dtype = "Int64" if c.has_missing else np.int64
    elif present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        dtype = np.float64
    else:
        dtype = object
    values = np.empty(len(cats), dtype=object)
    values[:] = [np.nan if v is None and dtype in (object, np.float64) else v for v in cats]
    return pd.Series(values[codes], dtype=dtype)


def _numbers_out(c: ColumnInfo, v: np.ndarray, miss: np.ndarray) -> pd.Series:
    if c.type == "datetime":   # at the training resolution; "" keeps sub-second values
        step = _UNITS.get(c.unit)
        secs = np.round(v / step) * step if step else v
        t = pd.to_datetime(np.round(secs * _NS_PER_S).astype(np.int64), unit="ns")
        return pd.Series(t).mask(miss)
    if c.type == "integer":
        s = pd.Series(np.round(v).astype(np.int64), dtype="Int64" if c.has_missing else np.int64)
    else:
        s = pd.Series(v)
    return s.mask(miss) if c.has_missing else s
