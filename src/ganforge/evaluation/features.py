"""The ``features`` evaluator: metrics of a run's samples against its training data, or of two data
sets, in a feature space (metrics/extractors.py: the default one for the data, or --extractor).

Every result carries its protocol: sample counts, extractor and its sha256, seed, the reference
data, the real-vs-real floor of each distance, and the time taken.
"""
from __future__ import annotations

import os
import time
from typing import Any

import torch

from ..config import DataConfig
from ..core.errors import ConfigError
from ..core.registry import SOURCES
from ..data import held_out as load_heldout
from ..data import load_dataset
from ..metrics.protocol import auto_extractor, evaluate_arrays, featurize
from .base import Evaluator, refuse, register_evaluator
from .curves import curve_png

MAX_REAL = 20_000   # real examples read from a streaming data set (floors at n = 10,000)


def _load_data(path: str):
    """A data file or folder, or (when no such path exists) a registered data source by name: `photos-heldout`."""
    if not os.path.exists(os.path.expanduser(path)) and path in SOURCES:
        return load_dataset(DataConfig(source=path))
    return load_dataset(DataConfig(source="auto", path=path))


def _wants_memorisation(metrics) -> bool:
    if metrics is None:
        return False
    names = metrics.split(",") if isinstance(metrics, str) else metrics
    return any(n.strip().lower() in ("memorisation", "memorization") for n in names)


def parse_levels(truncation: Any) -> list[float | None]:
    """``--truncation 0.5,0.7,1.0`` (a string, a number or a list) as floats; None: one untruncated row."""
    from ..recipes.base import check_psi
    if truncation is None:
        return [None]
    items = truncation.split(",") if isinstance(truncation, str) else \
        (list(truncation) if isinstance(truncation, (list, tuple)) else [truncation])
    levels = [check_psi(str(v).strip()) for v in items if str(v).strip()]
    if not levels:
        raise ConfigError(f"--truncation needs at least one psi value, got {truncation!r}")
    return levels


def evaluate_run(g, *, metrics: str | None = None, n: int | None = None, extractor: str = "auto",
                 seed: int = 0, heldout: str | None = None, truncation: Any = None, **other: Any) -> dict[str, Any]:
    """Sample ``n`` from the run's G_ema (seed ``seed``) and compare with the run's training data.

    ``memorisation`` compares the samples' distances to the training data with those of held-out
    real data: ``heldout`` (a data file or folder), else the examples ``data.limit`` left out.
    ``truncation`` (psi levels): the same latents measured at each level, one row each under
    ``by_truncation``; the main metrics are those at psi 1 when it is among them, else the first level."""
    refuse("features", other, (), f"a {g.recipe.name} run (give a RUN, or --real and --fake, not both)")
    t0 = time.perf_counter()
    levels = parse_levels(truncation)
    if levels != [None] and not g.recipe.truncation_keys:
        raise ConfigError(f"--truncation needs a generator of Gaussian latents; a {g.recipe.name} run has none")
    cfg = g.config
    data = load_dataset(cfg, seed=cfg.train.seed)
    if getattr(data, "streaming", False):   # the reference comes into memory as a seeded subset
        data = data.take(MAX_REAL, seed)
    n_real = len(data)
    n = n or min(10_000, n_real // 2)  # the floor compares two disjoint real halves of n each
    if n < 10:
        raise ConfigError(f"--n {n} is too small for these metrics; use at least 10")
    held = None
    if _wants_memorisation(metrics):
        held = _load_data(heldout).x if heldout else getattr(load_heldout(cfg, seed=cfg.train.seed), "x", None)
        if held is None:
            raise ConfigError("memorisation needs real examples the run never saw: give --heldout PATH, or train "
                              "with data.limit so the rest is held out")
    rows, f_real = [], None
    for psi in levels:
        real, fake, extra = g.recipe.eval_samples(data, n, seed, **({} if psi is None else {"truncation": psi}))
        if f_real is None:
            name = auto_extractor(g.data_info) if extractor == "auto" else extractor
            f_real = featurize(name, real, g.data_info)[0]
        res = evaluate_arrays(real, fake.cpu(), metrics=metrics, extractor=extractor, seed=seed, info=g.data_info,
                              fake_labels=extra.get("fake_labels"), real_labels=extra.get("real_labels", data.y),
                              train=data.x, heldout=held, real_features=f_real)
        res["metrics"].update(g.recipe.eval_checks(real, fake.cpu(), seed))
        rows.append((psi, res))
    res = next((r for psi, r in rows if psi == 1.0), rows[0][1])
    if levels != [None]:
        res["by_truncation"] = [{"psi": psi, **r["metrics"]} for psi, r in rows]
        res["protocol"]["truncation"] = levels
    if held is not None:
        res["protocol"]["heldout"] = heldout or "the examples data.limit left out of training"
    res["protocol"].update({"reference": f"training data: {data.name} ({n_real} examples)",
                            "generator": "G_ema", "checkpoint": g.checkpoint, "step": g.step,
                            "elapsed_s": round(time.perf_counter() - t0, 3)})
    return res


def evaluate_files(real: str, fake: str, *, metrics: str | None = None, extractor: str = "auto",
                   seed: int = 0, n: int | None = None, train: str | None = None,
                   heldout: str | None = None, **other: Any) -> dict[str, Any]:
    """Compare two data sets given as NPZ (key x), image folders or IDX files.

    ``memorisation`` needs the generator's training data (``train``) and real data it never saw
    (``heldout``, default ``real``)."""
    refuse("features", other, (), "two data files of images or vectors")
    t0 = time.perf_counter()
    a, b = _load_data(real), _load_data(fake)
    tr = held = None
    if _wants_memorisation(metrics):
        if not train:
            raise ConfigError("memorisation of two files needs the generator's training data: give --train PATH "
                              "(and --heldout PATH, default --real)")
        tr, held = _load_data(train).x, (_load_data(heldout).x if heldout else a.x)
    if a.kind != b.kind:
        raise ConfigError(f"{real} holds {a.kind} data but {fake} holds {b.kind} data")
    xb = b.x
    if n:
        if n > len(xb):
            raise ConfigError(f"--n {n} is more than the {len(xb)} examples in {fake}")
        xb = xb[torch.randperm(len(xb), generator=torch.Generator().manual_seed(seed))[:n]]
    res = evaluate_arrays(a.x, xb, metrics=metrics, extractor=extractor, seed=seed, info=a.info(),
                          train=tr, heldout=held)
    res["protocol"].update({"reference": f"{real} ({len(a.x)} examples)", "generated": fake,
                            "elapsed_s": round(time.perf_counter() - t0, 3)})
    return res


def format_table(res: dict[str, Any]) -> str:
    m, p = res["metrics"], res["protocol"]
    rows = [f"{'metric':<16}{'value':>12}{'real floor':>14}"]
    for k, v in m.items():
        if k.endswith("_floor") or not isinstance(v, (int, float)):
            continue
        floor = m.get(f"{k}_floor")
        rows.append(f"{k:<16}{v:>12.5g}" + (f"{floor:>14.5g}" if isinstance(floor, (int, float)) else ""))
    rows.append(f"protocol: n_real={p.get('n_real')} n_fake={p.get('n_fake')} n_eval={p.get('n_eval')} "
                f"extractor={p.get('extractor')} ({str(p.get('extractor_sha256', ''))[:12]}) seed={p.get('seed')} "
                f"time={p.get('elapsed_s')}s")
    if res.get("by_truncation"):
        cols = [k for k in ("fd", "kid", "precision", "recall", "density", "coverage", "is")
                if k in res["by_truncation"][0]]
        rows.append("by truncation: " + f"{'psi':>6}" + "".join(f"{k:>11}" for k in cols))
        for r in res["by_truncation"]:
            rows.append(" " * 15 + f"{r['psi']:>6.3g}" + "".join(f"{r[k]:>11.4g}" for k in cols))
    if p.get("reference"):
        rows.append(f"reference: {p['reference']}")
    return "\n".join(rows)


def plot(res: dict[str, Any], json_path: str) -> list[str]:
    """Precision against recall, one point per truncation level, beside the JSON (two or more levels)."""
    rows = res.get("by_truncation") or []
    if len(rows) < 2 or "precision" not in rows[0] or "recall" not in rows[0]:
        return []
    m = res["metrics"]
    floor = (m["recall_floor"], m["precision_floor"]) if "recall_floor" in m and "precision_floor" in m else None
    return [curve_png([("this run", rows)], "recall", "precision", ("psi", "psi"),
                      ("recall (diversity)", "precision (fidelity)"), json_path, floor)]


register_evaluator("features", Evaluator(run=evaluate_run, files=evaluate_files, format=format_table, extra=plot))
