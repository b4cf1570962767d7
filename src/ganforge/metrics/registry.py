"""Metric registry, real-vs-real floors and ``compute``: several metrics on one pair of feature sets.

A metric is a function ``(real_feats, fake_feats, ctx) -> dict`` of JSON-able values registered
under a name in ``METRICS``. Metrics work on features, ``(N, D)`` arrays from a feature extractor
(extractors.py), whatever the modality the features came from; a metric that needs more than
features (the mixture means of ``toy_modes``, the labels of ``label_modes``) names those ``ctx``
keys in ``needs``. ``ctx`` holds the seed and metric options (see CTX_KEYS).

Floors. A distance between finite samples is not 0 even for a perfect generator, so every metric
with ``floor=True`` is reported next to the same metric between two disjoint real splits at the same
size, under the key suffix ``_floor``. Protocol (``floor_split``): n = min(N_fake, N_real // 2); the
real set is permuted with the seed and split into disjoint halves A and B of n samples each; the fake
set is subsampled to n when it is larger. The reported value is metric(A, fake_n) and the floor is
metric(A, B): same reference set, same sizes, so the two numbers are directly comparable. When the
real set has at least 2 N_fake samples nothing is dropped from the fake side; otherwise the fake set
is subsampled to N_real // 2 and ``protocol`` says so.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..core.errors import ConfigError
from ..core.registry import METRICS

MetricFn = Callable[[Any, Any, dict], dict]
ALIASES = {"fid": "fd", "fd_infinity": "fd_inf", "precision_recall": "pr", "density_coverage": "dc",
           "1nn": "one_nn", "memorization": "memorisation", "modes": "toy_modes"}
CTX_KEYS = {
    "kid_subsets": "number of KID subsets (100)",
    "kid_subset_size": "KID subset size (min(1000, n))",
    "k_pr": "k of precision/recall (3)",
    "k_dc": "k of density/coverage (5)",
    "fd_inf_ns": "fake-set sizes of FD-infinity",
    "means": "(M, D) mixture means of a toy data set",
    "sigma": "std of the toy mixture components",
    "n_std": "high-quality radius of toy_modes in sigmas (3)",
    "fake_labels": "classifier labels of the fake samples",
    "real_labels": "classifier labels of real samples (label_modes floor)",
    "n_modes": "number of label modes (10 for MNIST, 1000 for stacked MNIST)",
    "train_feats": "features of the training examples (memorisation)",
    "heldout_feats": "features of held-out real examples (memorisation)",
}


@dataclass(frozen=True)
class MetricSpec:
    name: str
    fn: MetricFn
    floor: bool               # also report metric(real split A, real split B)
    needs: tuple[str, ...]    # ctx keys that must be given


def register(name: str, floor: bool = True, needs: Iterable[str] = ()) -> Callable[[MetricFn], MetricFn]:
    def deco(fn: MetricFn) -> MetricFn:
        METRICS.register(name, MetricSpec(name, fn, floor, tuple(needs)), replace=True)
        return fn
    return deco


def available() -> list[str]:
    return METRICS.names()


def _suggest(name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.4)
    return f" (did you mean '{close[0]}'?)" if close else f" (valid: {', '.join(sorted(valid))})"


def get_metric(name: str) -> MetricSpec:
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in METRICS:
        raise ConfigError(f"unknown metric '{name}'" + _suggest(name, METRICS.names() + list(ALIASES)))
    return METRICS.get(key)


def default_metrics(ctx: dict | None = None) -> list[str]:
    """fd, kid, pr, dc; plus toy_modes when the mixture means of a toy data set are known."""
    names = ["fd", "kid", "pr", "dc"]
    if ctx and ctx.get("means") is not None and ctx.get("sigma") is not None:
        names.append("toy_modes")
    return names


# ----------------------------------------------------------------------------------------------
# Floors.

def floor_split(n_real: int, n_fake: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Indices (real A, real B, fake) of the floor protocol (module docstring) and n."""
    from .knn import MetricInputError
    n = min(n_fake, n_real // 2)
    if n < 2:
        raise MetricInputError(f"a real-vs-real floor needs at least 4 real samples, got {n_real}; "
                               "give more real samples or turn the floor off")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n_real)
    fake = np.arange(n_fake) if n == n_fake else np.sort(rng.choice(n_fake, n, replace=False))
    return np.sort(perm[:n]), np.sort(perm[n:2 * n]), fake, n


def take(x: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of a numpy array or torch tensor, keeping its type."""
    return x[torch.as_tensor(idx)] if isinstance(x, torch.Tensor) else np.asarray(x)[idx]


def _as_dict(value: Any, name: str) -> dict:
    return value if isinstance(value, dict) else {name: float(value)}


def with_floor(metric_fn: Callable[..., Any], real: Any, fake: Any, seed: int = 0,
               name: str | None = None, **kwargs: Any) -> dict:
    """``metric_fn(A, fake_n, **kwargs)`` and its floor ``metric_fn(A, B, **kwargs)`` (keys + "_floor").

    ``metric_fn`` returns a dict or a float (stored under ``name``, default the function's name).
    """
    from .knn import check_pair
    n_r, n_f, _ = check_pair(real, fake)
    ia, ib, jf, n = floor_split(n_r, n_f, seed)
    ra = take(real, ia)
    key = name or getattr(metric_fn, "__name__", "value")
    value = _as_dict(metric_fn(ra, take(fake, jf), **kwargs), key)
    floor = _as_dict(metric_fn(ra, take(real, ib), **kwargs), key)
    return {**value, **{f"{k}_floor": v for k, v in floor.items()}, "floor_n": n}


# ----------------------------------------------------------------------------------------------
# compute.

def _resolve(names: str | Iterable[str] | None, ctx: dict) -> list[MetricSpec]:
    if names is None:
        names = default_metrics(ctx)
    elif isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    specs: list[MetricSpec] = []
    for name in names:
        spec = get_metric(name)
        missing = [k for k in spec.needs if ctx.get(k) is None]
        if missing:
            raise ConfigError(f"metric '{spec.name}' needs {', '.join(missing)}; "
                              "give them or leave the metric out")
        if spec not in specs:
            specs.append(spec)
    if not specs:
        raise ConfigError("no metric requested; name at least one of: " + ", ".join(available()))
    return specs


def _merge_into(out: dict, part: dict, metric: str) -> None:
    for k, v in part.items():
        if k in out:
            raise RuntimeError(f"metric '{metric}' reports key '{k}' already reported by another metric")
        out[k] = v


def compute(names: str | Iterable[str] | None, real_feats: Any, fake_feats: Any, seed: int = 0,
            floor: bool = True, **ctx: Any) -> dict:
    """Run the named metrics (None = ``default_metrics``) on two feature sets and merge their dicts.

    Returns the metric values at the top level (with ``<key>_floor`` for floored metrics) and
    ``"protocol"``: seed, set sizes, the evaluation size n and the options used.
    """
    from .knn import check_pair
    for key in ctx:
        if key not in CTX_KEYS:
            raise ConfigError(f"unknown metric option '{key}'" + _suggest(key, list(CTX_KEYS)))
    specs = _resolve(names, ctx)
    n_r, n_f, dim = check_pair(real_feats, fake_feats)
    run_ctx = {**ctx, "seed": seed}
    use_floor = floor and any(s.floor for s in specs)
    if use_floor:
        ia, ib, jf, n = floor_split(n_r, n_f, seed)
        real_a, real_b, fake_n = take(real_feats, ia), take(real_feats, ib), take(fake_feats, jf)
    out: dict[str, Any] = {}
    for spec in specs:
        if use_floor and spec.floor:
            _merge_into(out, spec.fn(real_a, fake_n, run_ctx), spec.name)
            floor_part = spec.fn(real_a, real_b, run_ctx)
            _merge_into(out, {f"{k}_floor": v for k, v in floor_part.items()}, spec.name)
        else:
            _merge_into(out, spec.fn(real_feats, fake_feats, run_ctx), spec.name)
    options = {k: v for k, v in ctx.items() if isinstance(v, (int, float, str, bool))}
    out["protocol"] = {
        "metrics": [s.name for s in specs], "seed": seed, "dim": dim,
        "n_real": n_r, "n_fake": n_f, "n_eval": n if use_floor else None,
        "floor": ("metric(real A, fake) vs metric(real A, real B), disjoint real splits of n_eval; "
                  "fake subsampled to n_eval") if use_floor else "none",
        "options": options,
    }
    return out
