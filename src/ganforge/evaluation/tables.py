"""The ``tables`` evaluator: a tabular run's rows (or any synthetic table file) against held-out
real rows: column shapes and pair trends (quality), train-on-synthetic-test-on-real (tstr) and
distances to the closest training record (dcr), and two membership-inference attacks (mia: by distance
to the synthetic rows; for a run's checkpoint also by its discriminator's logit); the measures are in
metrics/tabular.py.
"""
from __future__ import annotations

import os
from typing import Any

from ..core.errors import ConfigError
from ..data.tabular import read_table
from ..metrics.tabular import _metric_names, column_types, d_mia, evaluate_tables
from .base import Evaluator, refuse, register_evaluator


def evaluate_run(g, real=None, metrics: str | list[str] | None = None, target: str | None = None,
                 train=None, n: int | None = None, seed: int = 0, **other: Any) -> dict:
    """Sample a tabular run and measure it against ``real`` held-out rows (and ``train``, the rows it
    was trained on: by default the run's own data file)."""
    refuse("tables", {k: v for k, v in other.items() if not (k == "extractor" and v == "auto")},
           ("real", "metrics", "target", "train", "n", "seed"), "a tabular run")
    if not real:
        raise ConfigError("a tabular run is measured against held-out real rows: give --real test.csv")
    _metric_names(metrics)   # a typo fails before any sampling
    recipe, cfg = g.recipe, g.config
    test = read_table(real)
    train_path = train or cfg.data.path
    if train is None and train_path and not os.path.exists(train_path):
        train_path = ""
    train_df = read_table(train_path) if train_path else None
    n = int(n or (len(train_df) if train_df is not None else len(test)))
    synth = recipe.rows(n, seed=seed)
    out: dict = {"run": g.run_dir, "n": n, "real": os.fspath(real) if isinstance(real, str) else "frame",
                 "train": train_path or None}
    types = {c.name: c.type for c in recipe.tt.columns}
    out.update(evaluate_tables(test, synth, metrics, target or recipe.settings().target, train_df, types, seed))
    if "mia" in out and "D" in recipe.nets and os.path.isfile(getattr(g, "checkpoint", "")):   # model folders: no D
        out["mia_d"] = d_mia(recipe, train_df, test, seed=seed)
    from ..core.privacy import summary
    out["privacy"] = summary(g.data_info.get("privacy"))
    return out


def evaluate_files(real: str, fake: str, metrics=None, target: str | None = None, train: str | None = None,
                   seed: int = 0, **other: Any) -> dict:
    """Two table files (held-out real rows, synthetic rows from any generator), optionally the training rows."""
    refuse("tables", {k: v for k, v in other.items() if not (k == "extractor" and v == "auto")},
           ("metrics", "target", "train", "seed"), "two table files")
    test, synth = read_table(real), read_table(fake)
    train_df = read_table(train) if train else None
    out = {"run": fake, "n": len(synth), "real": real, "train": train}
    types = column_types(train_df if train_df is not None else test)
    if target in types and types[target] == "continuous":   # whole numbers with few values are classes
        v = test[target].dropna()
        if (v == v.round()).all() and v.nunique() <= 20:
            types[target] = "categorical"
    out.update(evaluate_tables(test, synth, metrics, target, train_df, types, seed))
    return out


def format_report(res: dict) -> str:
    """The result of ``evaluate_run`` as a few aligned lines."""
    lines = [f"{res['run']}: {res['n']} synthetic rows vs {res['real']}"]
    if "quality" in res:
        q = res["quality"]
        lines.append(f"quality  {q['score']:.4f}  (column shapes {q['column_shapes']:.4f}, "
                     f"column pair trends {q['column_pair_trends']:.4f})")
    if "tstr" in res:
        t = res["tstr"]
        lines.append(f"tstr     {t['metric']} on '{t['target']}': synthetic {t['synthetic']:.4f}  "
                     f"real {t['real']:.4f}  real+synthetic {t['real+synthetic']:.4f}")
    if "dcr" in res:
        d = res["dcr"]
        lines.append(f"dcr      median synthetic {d['synthetic_median']:.4f} vs holdout {d['holdout_median']:.4f}  "
                     f"exact copies {100 * d['synthetic_exact_copies']:.2f}% (holdout "
                     f"{100 * d['holdout_exact_copies']:.2f}%)")
    if "mia" in res:
        m = res["mia"]
        lines.append(f"mia      membership-inference AUC {m['auc']:.3f} (95% {m['auc_low']:.3f}-{m['auc_high']:.3f}, "
                     f"{m['n_each']} training vs {m['n_each']} held-out rows; 0.5 = no leak)")
    if "mia_d" in res:
        m = res["mia_d"]
        lines.append(f"mia (D)  discriminator-score AUC {m['auc']:.3f} (95% {m['auc_low']:.3f}-{m['auc_high']:.3f}, "
                     f"{m['n_each']} training vs {m['n_each']} held-out rows; 0.5 = no leak)")
    if "privacy" in res:
        lines.append(f"privacy  {res['privacy']}")
    return "\n".join(lines)


register_evaluator("tables", Evaluator(run=evaluate_run, files=evaluate_files, format=format_report, kinds=("table",),
                                       stem="tabular-", files_json=True))
