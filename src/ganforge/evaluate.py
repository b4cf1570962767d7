"""`ganforge eval`: metrics of a run's G_ema against its training data, or of two data sets.

Every result is written as JSON with its protocol: sample counts, extractor and its sha256, seed,
the reference data, the real-vs-real floor of each distance, and the time taken.
"""
from __future__ import annotations

import datetime
import json
import os
import time
from typing import Any

import torch

from .config import DataConfig
from .core.checkpoint import atomic_write_bytes
from .core.errors import ConfigError
from .data import held_out as load_heldout
from .data import load_dataset
from .metrics.protocol import evaluate_arrays


def _load_data(path: str):
    return load_dataset(DataConfig(source="auto", path=path))


def _wants_memorisation(metrics) -> bool:
    if metrics is None:
        return False
    names = metrics.split(",") if isinstance(metrics, str) else metrics
    return any(n.strip().lower() in ("memorisation", "memorization") for n in names)


def evaluate_run(run: str, *, metrics: str | None = None, n: int | None = None, extractor: str = "auto",
                 seed: int = 0, json_path: str | None = None, data: str | None = None,
                 heldout: str | None = None) -> dict[str, Any]:
    """Sample ``n`` from the run's G_ema (seed ``seed``) and compare with the run's training data.

    ``memorisation`` compares the samples' distances to the training data with those of held-out
    real data: ``heldout`` (a data file or folder), else the examples ``data.limit`` left out."""
    from . import api
    t0 = time.perf_counter()
    g = api.load(run)
    cfg = g.config
    if data:
        cfg.data.path, cfg.data.source = data, ("auto" if cfg.data.source in ("digits", "ring8", "grid25")
                                               else cfg.data.source)
    real = load_dataset(cfg.data, seed=cfg.train.seed)
    n_real = len(real.x)
    n = n or min(10_000, n_real // 2)  # the floor compares two disjoint real halves of n each
    if n < 10:
        raise ConfigError(f"--n {n} is too small for these metrics; use at least 10")
    held = None
    if _wants_memorisation(metrics):
        held = _load_data(heldout).x if heldout else getattr(load_heldout(cfg.data, seed=cfg.train.seed), "x", None)
        if held is None:
            raise ConfigError("memorisation needs real examples the run never saw: give --heldout PATH, or train "
                              "with data.limit so the rest is held out")
    drawn = g.recipe.latents_for(n, seed=seed)
    fake = g.recipe.generate(drawn)
    res = evaluate_arrays(real.x, fake.cpu(), kind=g.data_info["kind"], metrics=metrics, extractor=extractor,
                          seed=seed, info=g.data_info, fake_labels=drawn.get("y"), real_labels=real.y,
                          train=real.x, heldout=held)
    if held is not None:
        res["protocol"]["heldout"] = heldout or "the examples data.limit left out of training"
    res["protocol"].update({"reference": f"training data: {real.name} ({n_real} examples)",
                            "generator": "G_ema", "checkpoint": g.checkpoint, "step": g.step,
                            "elapsed_s": round(time.perf_counter() - t0, 3)})
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = json_path or os.path.join(os.fspath(run) if os.path.isdir(run) else os.path.dirname(g.checkpoint),
                                     "eval", f"{stamp}.json")
    _write_json(path, res)
    res["json"] = path
    return res


def evaluate_files(real: str, fake: str, *, metrics: str | None = None, extractor: str = "auto",
                   seed: int = 0, n: int | None = None, json_path: str | None = None, train: str | None = None,
                   heldout: str | None = None) -> dict[str, Any]:
    """Compare two data sets given as NPZ (key x), image folders or IDX files.

    ``memorisation`` needs the generator's training data (``train``) and real data it never saw
    (``heldout``, default ``real``)."""
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
    res = evaluate_arrays(a.x, xb, kind=a.kind, metrics=metrics, extractor=extractor, seed=seed, info=a.info(),
                          train=tr, heldout=held)
    res["protocol"].update({"reference": f"{real} ({len(a.x)} examples)", "generated": fake,
                            "elapsed_s": round(time.perf_counter() - t0, 3)})
    if json_path:
        _write_json(json_path, res)
        res["json"] = json_path
    return res


def _write_json(path: str, res: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write_bytes(path, json.dumps(res, indent=2, default=float).encode())


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
    if p.get("reference"):
        rows.append(f"reference: {p['reference']}")
    return "\n".join(rows)
