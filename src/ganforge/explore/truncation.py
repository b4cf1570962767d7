"""Truncation: the same seeds drawn at several truncation levels, to show quality traded for diversity.

Two methods, chosen with ``method``:

- ``psi`` (default): w' = w_mean + psi * (w - w_mean), the truncation trick as StyleGAN writes it
  (Karras et al. 2019), as the recipe applies it at sampling time (``Recipe.truncate``): in W space
  for a generator with a mapping network (``model.arch=style``), else on z, whose prior N(0, I) has
  its mean at the origin, so psi simply scales z toward it; psi = 1 is untouched.
- ``resample``: every latent component with |z_i| > threshold is redrawn until it falls inside
  (BigGAN's truncation trick, Brock et al. 2019); the levels are thresholds, ``inf`` = untouched.

Per level the summary gives the mean pairwise distance between samples (diversity, in the model's
pixel or vector space) and D's mean raw score on them (a rough quality signal from the run's own
discriminator).
"""
from __future__ import annotations

import math
import os

import numpy as np
import torch

from ..core.errors import ConfigError
from .common import (
    ExploreResult,
    d_scores,
    inputs_for,
    is_image,
    labelled_grid,
    open_run,
    out_dir,
    pyplot,
    save_figure,
    save_json,
    save_png,
)

DEFAULT_LEVELS = {"psi": [1.0, 0.7, 0.5, 0.3], "resample": [math.inf, 2.0, 1.0, 0.5]}


def truncate_resample(z: torch.Tensor, threshold: float, gen: torch.Generator) -> torch.Tensor:
    """Redraw components outside [-threshold, threshold] from N(0, 1) until none is left."""
    if threshold <= 0:
        raise ConfigError(f"resample thresholds must be positive, got {threshold}")
    z = z.clone()
    bad = z.abs() > threshold
    while bad.any():  # P(|z| <= t) >= 0.38 for t >= 0.5, so this ends in a few rounds
        z[bad] = torch.randn(int(bad.sum()), generator=gen)
        bad = z.abs() > threshold
    return z


def truncation(run, levels: list[float] | None = None, method: str = "psi", n: int = 8, seed: int = 0,
               label: int | None = None, n_stats: int = 256, out: str | None = None) -> ExploreResult:
    """Rows of the same ``n`` seeds at each truncation level, plus diversity and D score per level."""
    g, run_dir = open_run(run)
    if method not in DEFAULT_LEVELS:
        raise ConfigError(f"truncation method must be psi or resample, got {method!r}")
    levels = [float(v) for v in (levels if levels else DEFAULT_LEVELS[method])]
    if n < 1 or n_stats < 2:
        raise ConfigError("truncation needs n >= 1 samples per row")
    z = torch.randn(max(n, n_stats), g.recipe.z_dim, generator=torch.Generator().manual_seed(seed))
    rows, stats = [], []
    for level in levels:
        if method == "psi":   # the recipe's own truncation: W space for a generator with a mapping network
            inputs = g.recipe.truncate(inputs_for(g, z, label), level)
        else:
            inputs = inputs_for(g, truncate_resample(z, level, torch.Generator().manual_seed(seed + 1)), label)
        x = g.recipe.generate(inputs)
        rows.append(x)
        stats.append(_level_stats(g, x, inputs.get("y")))
    folder = out_dir(run_dir, out)
    stem = os.path.join(folder, f"truncation-{method}")
    name = "psi " if method == "psi" else "|z|<="
    tags = [f"{name}{v:g}" for v in levels]
    if is_image(g):
        imgs = [list(g.recipe.to_numpy(x[:n])) for x in rows]
        caps = [f"{t} div {s['diversity']:.2f}" for t, s in zip(tags, stats)]
        path = save_png(labelled_grid(imgs, caps, title=f"truncation ({method})"), stem + ".png",
                            rec=g.recipe.provenance())
    else:
        path = _scatter(g, [x.cpu().numpy() for x in rows], tags, stem + ".png")
    summary = {"tool": "truncation", "method": method, "seed": seed, "label": label, "step": g.step,
               "levels": [{"level": lv if math.isfinite(lv) else "inf", **s} for lv, s in zip(levels, stats)]}
    return ExploreResult("truncation", [path, save_json(summary, stem + ".json")], summary,
                         {"samples": torch.stack(rows).cpu().numpy()})


@torch.no_grad()
def _level_stats(g, x: torch.Tensor, y: torch.Tensor | None) -> dict[str, float]:
    flat = x.flatten(1).double()
    flat = flat - flat.mean(0, keepdim=True)  # distances unchanged; keeps cdist's matmul form from cancelling
    d = torch.cdist(flat, flat)
    n = flat.shape[0]
    diversity = float(d.sum() / (n * (n - 1)))  # mean over distinct pairs
    D = g.recipe.nets["D"]
    D.eval()
    score = float(d_scores(D, x, y).mean())
    return {"diversity": round(diversity, 5), "d_score": round(score, 5)}


def _scatter(g, points: list[np.ndarray], tags: list[str], path: str) -> str:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(points), figsize=(3 * len(points), 3.2), squeeze=False)
    modes = g.data_info.get("modes")
    for ax, p, tag in zip(axes[0], points, tags):
        if modes is not None:
            m = np.asarray(modes)
            ax.scatter(m[:, 0], m[:, 1], marker="x", c="tab:red", s=20)
        ax.scatter(p[:, 0], p[:, 1], s=3, c="tab:blue")
        ax.set_title(tag, fontsize=9)
        ax.set_aspect("equal")
    fig.suptitle("truncation: samples per level (red x: mixture means)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)
