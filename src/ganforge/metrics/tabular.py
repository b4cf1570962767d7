"""Measures of synthetic tables: fidelity, utility, privacy.

- ``quality``: SDMetrics' QualityReport, the mean of column shapes (per-column KS / TV
  complement) and column-pair trends (correlation / contingency similarity), each in [0, 1].
- ``tstr``: train on synthetic, test on real (Esteban et al. 2017; Xu et al. 2019 sec. 5): a
  gradient-boosted model fitted on synthetic rows is scored on held-out real rows, next to the same
  model fitted on the real training rows and on both. F1 of the rarer class for binary targets,
  accuracy for multiclass, R^2 for numbers.
- ``dcr``: distance to the closest training record, of synthetic rows and of held-out real rows.
- ``mia``: a membership-inference attack by distance to the closest synthetic row (metrics/mia.py).
  Synthetic rows no closer to the training rows than unseen real rows are is the privacy ask; exact
  copies are counted.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..core.errors import DataError

SDTYPES = {"continuous": "numerical", "integer": "numerical", "datetime": "datetime",
           "categorical": "categorical", "boolean": "boolean"}


def column_types(df: pd.DataFrame) -> dict[str, str]:
    """Column types of a frame by dtype alone (for frames without a fitted model)."""
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_bool_dtype(s):
            out[c] = "boolean"
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[c] = "datetime"
        elif pd.api.types.is_numeric_dtype(s):
            out[c] = "continuous"
        else:
            out[c] = "categorical"
    return out


def _aligned(real: pd.DataFrame, synth: pd.DataFrame, types: dict[str, str] | None) -> tuple:
    missing = [c for c in real.columns if c not in synth.columns]
    if missing:
        raise DataError(f"the synthetic rows lack the real data's column '{missing[0]}'; compare tables "
                        "with the same columns")
    if len(real) == 0 or len(synth) == 0:
        raise DataError("cannot measure an empty table; give real and synthetic rows")
    types = {c: t for c, t in (types or column_types(real)).items() if c in real.columns}
    real, synth = real[list(types)].copy(), synth[list(types)].copy()
    for c, t in types.items():   # one dtype per column on both sides
        if t == "datetime":
            real[c], synth[c] = pd.to_datetime(real[c]), pd.to_datetime(synth[c])
        elif t in ("continuous", "integer"):
            real[c], synth[c] = (pd.to_numeric(real[c]).astype(float), pd.to_numeric(synth[c]).astype(float))
        else:
            real[c], synth[c] = real[c].astype(object), synth[c].astype(object)
    return real, synth, types


def quality(real: pd.DataFrame, synth: pd.DataFrame, types: dict[str, str] | None = None) -> dict:
    """SDMetrics QualityReport: {"score", "column_shapes", "column_pair_trends"}, each in [0, 1]."""
    from sdmetrics.reports import QualityReport
    real, synth, types = _aligned(real, synth, types)
    meta = {"tables": {"table": {"columns": {c: {"sdtype": SDTYPES[t]} for c, t in types.items()}}}}
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate({"table": real}, {"table": synth}, meta, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {"score": float(report.get_score()), "column_shapes": float(props.get("Column Shapes", np.nan)),
            "column_pair_trends": float(props.get("Column Pair Trends", np.nan))}


def _task(real: pd.Series, ctype: str) -> str:
    if ctype in ("categorical", "boolean"):
        return "binary" if real.nunique(dropna=False) <= 2 else "multiclass"
    return "regression"


def _features(frames: list[pd.DataFrame], types: dict[str, str]) -> tuple[list[np.ndarray], list[bool]]:
    """Numeric matrices for several frames with one shared category coding; NaN stays missing."""
    cols, cat_mask = [], []
    for c, t in types.items():
        if t in ("categorical", "boolean"):
            joined = pd.concat([f[c].astype(str).where(f[c].notna()) for f in frames], ignore_index=True)
            codes, uniq = pd.factorize(joined)
            codes = np.where(codes < 0, np.nan, codes).astype(float)
            cols.append(np.split(codes, np.cumsum([len(f) for f in frames])[:-1]))
            cat_mask.append(len(uniq) <= 250)   # histogram GBMs take at most 255 categories
        else:
            conv = [pd.to_datetime(f[c]).astype("int64").to_numpy() / 1e9 if t == "datetime"
                    else pd.to_numeric(f[c]).to_numpy(dtype=float) for f in frames]
            cols.append(conv)
            cat_mask.append(False)
    mats = [np.stack([col[i] for col in cols], axis=1) if cols else np.zeros((len(f), 0))
            for i, f in enumerate(frames)]
    return mats, cat_mask


def _score(task: str, y_true: np.ndarray, y_pred: np.ndarray, positive) -> float:
    from sklearn.metrics import accuracy_score, f1_score, r2_score
    if task == "binary":
        return float(f1_score(y_true, y_pred, pos_label=positive, zero_division=0))
    if task == "multiclass":
        return float(accuracy_score(y_true, y_pred))
    return float(r2_score(y_true, y_pred))


def _fit_predict(task: str, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, cat_mask: list[bool],
                 seed: int) -> np.ndarray:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    if task != "regression" and len(np.unique(y)) < 2:   # one class only: the model can only say it
        return np.full(len(X_test), y[0], dtype=object)
    Model = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits
    model = Model(random_state=seed, categorical_features=np.asarray(cat_mask, bool) if any(cat_mask) else None)
    with threadpool_limits(1):   # OpenMP threads that wait on a busy CPU slow small fits by 100x
        return model.fit(X, y).predict(X_test)


def tstr(train: pd.DataFrame, test: pd.DataFrame, synth: pd.DataFrame, target: str,
         types: dict[str, str] | None = None, seed: int = 0) -> dict:
    """Train-synthetic-test-real next to train-real and train-real-plus-synthetic scores."""
    if target not in train.columns:
        raise DataError(f"target column '{target}' is not in the real data; give --target one of: "
                        f"{', '.join(map(str, train.columns))}")
    train, synth, types = _aligned(train, synth, types)
    test = _aligned(train, test, types)[1]
    feats = {c: t for c, t in types.items() if c != target}
    task = _task(train[target], types[target])
    ys = []
    for f in (train, test, synth):
        y = f[target].astype(str).to_numpy() if task != "regression" else f[target].to_numpy(dtype=float)
        ys.append(y)
    keep = [~pd.isna(f[target]).to_numpy() for f in (train, test, synth)]
    (X_tr, X_te, X_sy), cat_mask = _features([train, test, synth], feats)
    positive = pd.Series(ys[0][keep[0]]).value_counts().index[-1] if task == "binary" else None
    out = {"task": task, "metric": {"binary": "f1", "multiclass": "accuracy", "regression": "r2"}[task],
           "target": target, "positive": positive, "model": "hist-gradient-boosting"}
    sets = {"real": (X_tr[keep[0]], ys[0][keep[0]]), "synthetic": (X_sy[keep[2]], ys[2][keep[2]])}
    sets["real+synthetic"] = (np.concatenate([sets["real"][0], sets["synthetic"][0]]),
                              np.concatenate([sets["real"][1], sets["synthetic"][1]]))
    for name, (X, y) in sets.items():
        if len(y) == 0:
            raise DataError(f"the {name} rows have no value in target column '{target}'")
        pred = _fit_predict(task, X, y, X_te[keep[1]], cat_mask, seed)
        out[name] = _score(task, ys[1][keep[1]], pred, positive)
    return out


def _encode(frames: list[pd.DataFrame], types: dict[str, str], ref: pd.DataFrame) -> list[np.ndarray]:
    """Numbers scaled to [0, 1] by the reference range (missing -> -1), categories one-hot / sqrt(2),
    so one differing category adds 1 to the squared distance, as a full-range number does."""
    out = [[] for _ in frames]
    for c, t in types.items():
        if t in ("categorical", "boolean"):
            cats = pd.Index(ref[c].astype(str).unique())
            for i, f in enumerate(frames):
                codes = cats.get_indexer(f[c].astype(str))
                hot = np.zeros((len(f), len(cats)), np.float32)
                hot[np.flatnonzero(codes >= 0), codes[codes >= 0]] = np.sqrt(0.5)
                out[i].append(hot)
        else:
            conv = [pd.to_datetime(f[c]).astype("int64").to_numpy() / 1e9 if t == "datetime"
                    else pd.to_numeric(f[c]).to_numpy(dtype=float) for f in frames + [ref]]
            lo, hi = np.nanmin(conv[-1]), np.nanmax(conv[-1])
            for i in range(len(frames)):
                v = (conv[i] - lo) / (hi - lo if hi > lo else 1.0)
                out[i].append(np.where(np.isnan(v), -1.0, v).astype(np.float32)[:, None])
    return [np.concatenate(parts, axis=1) for parts in out]


def dcr(train: pd.DataFrame, holdout: pd.DataFrame, synth: pd.DataFrame, types: dict[str, str] | None = None,
        max_rows: int = 5000, seed: int = 0) -> dict:
    """Distance to closest record (in training rows) of synthetic rows vs. held-out real rows."""
    from .knn import knn_cross
    train, synth, types = _aligned(train, synth, types)
    holdout = _aligned(train, holdout, types)[1]
    rng = np.random.default_rng(seed)
    pick = lambda f: f.iloc[rng.choice(len(f), max_rows, replace=False)] if max_rows and len(f) > max_rows else f
    synth, holdout = pick(synth), pick(holdout)
    X_tr, X_sy, X_ho = _encode([train, synth, holdout], types, train)
    d_sy = knn_cross(X_sy, X_tr, 1)[0][:, 0].numpy()
    d_ho = knn_cross(X_ho, X_tr, 1)[0][:, 0].numpy()
    p5 = float(np.percentile(d_ho, 5))
    return {"synthetic_median": float(np.median(d_sy)), "holdout_median": float(np.median(d_ho)),
            "synthetic_p5": float(np.percentile(d_sy, 5)), "holdout_p5": p5,
            "ratio": float(np.median(d_sy) / max(np.median(d_ho), 1e-12)),
            "synthetic_exact_copies": float(np.mean(d_sy < 1e-6)), "holdout_exact_copies": float(np.mean(d_ho < 1e-6)),
            "synthetic_closer_than_holdout_p5": float(np.mean(d_sy < p5))}





def mia(train: pd.DataFrame, holdout: pd.DataFrame, synth: pd.DataFrame, types: dict[str, str] | None = None,
        max_rows: int = 5000, seed: int = 0) -> dict:
    """Membership inference by distance to the closest synthetic row: training rows (members) against held-out
    rows, in the encoding ``dcr`` uses (metrics/mia.py); AUC 0.5 = no leak, with a 95% DeLong interval."""
    from .mia import distance_attack
    train, synth, types = _aligned(train, synth, types)
    holdout = _aligned(train, holdout, types)[1]
    X_tr, X_sy, X_ho = _encode([train, synth, holdout], types, train)
    return distance_attack(X_tr, X_ho, X_sy, max_rows=max_rows, seed=seed)


def d_mia(recipe, train: pd.DataFrame, holdout: pd.DataFrame, max_rows: int = 5000, seed: int = 0,
          encode_seed: int | None = None) -> dict:
    """Membership inference by the trained discriminator's logit (``recipe.d_scores``, Hayes et al. 2019): training
    rows against as many held-out rows; AUC 0.5 = no leak, with a 95% DeLong interval (metrics/mia.py). Rows are
    encoded with ``encode_seed`` (default: the run's train.seed), so the training rows in their training order get
    the very encoding D was trained on, as a white-box attacker who knows the pipeline would give them."""
    from .mia import score_attack
    enc = int(recipe.cfg.train.seed if encode_seed is None else encode_seed)
    return score_attack(recipe.d_scores(train, seed=enc), recipe.d_scores(holdout, seed=enc), max_rows, seed,
                        attack="the discriminator's logit (higher = member)")


METRICS = ("quality", "tstr", "dcr", "mia")


def _metric_names(metrics) -> list[str]:
    from ..data.tabular import split_names
    names = split_names(metrics) or list(METRICS)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise DataError(f"unknown tabular metric '{unknown[0]}'; choose from {', '.join(METRICS)}")
    return names


def evaluate_tables(test: pd.DataFrame, synth: pd.DataFrame, metrics=None, target: str | None = None,
                    train: pd.DataFrame | None = None, types: dict[str, str] | None = None,
                    seed: int = 0) -> dict:
    """quality / tstr / dcr of ``synth`` against held-out ``test`` rows (tstr and dcr also need ``train``)."""
    out: dict = {}
    for name in _metric_names(metrics):
        if name == "quality":
            out["quality"] = quality(test, synth, types)
            continue
        if train is None:
            raise DataError(f"{name} needs the real training rows: give --train FILE")
        if name == "tstr":
            if not target:
                raise DataError("tstr needs a target column: give --target COLUMN")
            out["tstr"] = tstr(train, test, synth, target, types, seed)
        elif name == "mia":
            out["mia"] = mia(train, test, synth, types, seed=seed)
        else:
            out["dcr"] = dcr(train, test, synth, types, seed=seed)
    return out


__all__ = ["quality", "tstr", "dcr", "mia", "d_mia", "column_types", "evaluate_tables", "SDTYPES"]
