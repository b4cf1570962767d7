"""Memorisation check: each sample beside its nearest training images, with distances.

Distances are Euclidean in the feature space of a fixed network (``digits`` for 8x8 grey images,
``lenet-mnist`` for 28x28 grey, ``random-conv`` otherwise; raw pixels when those are not
available). For scale the summary also gives the median distance from a training image to its
nearest *other* training image: a sample much closer than that to some training image is a likely
copy. Pass ``index`` to query training images themselves (each finds itself at distance 0).
"""
from __future__ import annotations

import os

import torch

from ..core.errors import ConfigError
from .common import (
    ExploreResult,
    labelled_grid,
    load_training_data,
    need_images,
    open_run,
    out_dir,
    pick_extractor,
    save_json,
    save_png,
)


@torch.no_grad()
def features(extractor, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    extractor.eval()
    return torch.cat([extractor.features(x[i:i + batch].cpu()).float() for i in range(0, x.shape[0], batch)])


@torch.no_grad()
def nearest(q: torch.Tensor, ref: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact k nearest rows of ref (M, F) for each row of q (N, F): (distances (N, k), indices (N, k)).

    Differences are formed explicitly (no |a|^2 + |b|^2 - 2ab shortcut), so identical rows give 0."""
    chunk = max(1, (1 << 23) // max(1, q.shape[0] * q.shape[1]))  # ~32 MB of differences at a time
    best_d = torch.full((q.shape[0], 0), float("inf"))
    best_i = torch.zeros((q.shape[0], 0), dtype=torch.long)
    for start in range(0, ref.shape[0], chunk):
        block = ref[start:start + chunk]
        d = ((q[:, None, :] - block[None, :, :]) ** 2).sum(-1).sqrt()         # (N, m)
        cand_d = torch.cat([best_d, d], 1)
        cand_i = torch.cat([best_i, torch.arange(start, start + block.shape[0]).expand(q.shape[0], -1)], 1)
        order = torch.sort(cand_d, dim=1, stable=True).indices[:, :k]
        best_d, best_i = cand_d.gather(1, order), cand_i.gather(1, order)
    return best_d, best_i


def memorise(run, n: int = 8, k: int = 3, seed: int = 0, index: list[int] | None = None,
             out: str | None = None) -> ExploreResult:
    """Rows: a generated sample (or training image ``index``) and its ``k`` nearest training images."""
    g, run_dir = open_run(run)
    need_images(g, "memorise")
    if k < 1:
        raise ConfigError(f"memorise needs k >= 1 neighbours, got {k}")
    data = load_training_data(g, "memorise")
    if index is not None:
        bad = [i for i in index if not 0 <= i < len(data)]
        if bad:
            raise ConfigError(f"training index {bad[0]} is out of range: the training set has {len(data)} images")
        queries, what = data.x[torch.as_tensor(index, dtype=torch.long)], [f"train {i}" for i in index]
    else:
        queries, what = g.sample(n, seed=seed).cpu(), [f"sample {i}" for i in range(n)]
    ext = pick_extractor(g.data_info)
    ref = features(ext, data.x)
    # a training query reuses its own row: recomputing it in another batch size may differ in the last bits
    q_feat = ref[torch.as_tensor(index, dtype=torch.long)] if index is not None else features(ext, queries)
    dist, idx = nearest(q_feat, ref, min(k, len(data)))
    scale = _nn_scale(ref, seed)
    q_u8, train_u8 = g.recipe.to_numpy(queries), g.recipe.to_numpy(data.x[idx.flatten()])
    train_u8 = train_u8.reshape(idx.shape[0], idx.shape[1], *train_u8.shape[1:])
    rows = [[q] + list(t) for q, t in zip(q_u8, train_u8)]
    caps = [[""] + [f"d={v:.2f}" for v in drow.tolist()] for drow in dist]
    folder = out_dir(run_dir, out)
    stem = os.path.join(folder, "memorise" + ("-train" if index is not None else ""))
    title = f"nearest training images in {ext.name} features (train-train NN median {scale:.2f})"
    path = save_png(labelled_grid(rows, what, caps, title=title), stem + ".png", rec=g.recipe.provenance())
    summary = {"tool": "memorise", "extractor": ext.name, "k": k, "seed": seed, "step": g.step,
               "train_nn_median": round(scale, 6),
               "queries": [{"query": w, "neighbours": i.tolist(), "distances": [round(v, 6) for v in d.tolist()]}
                           for w, i, d in zip(what, idx, dist)]}
    return ExploreResult("memorise", [path, save_json(summary, stem + ".json")], summary,
                         {"distances": dist.numpy(), "indices": idx.numpy()})


def _nn_scale(ref: torch.Tensor, seed: int, m: int = 500) -> float:
    """Median distance from a training image to its nearest other training image (on up to m of them)."""
    if ref.shape[0] < 2:
        return 0.0
    pick = torch.randperm(ref.shape[0], generator=torch.Generator().manual_seed(seed))[:m]
    best = torch.full((pick.shape[0],), float("inf"))
    for start in range(0, ref.shape[0], 8192):  # a scale, not a match: the fast matmul form is fine here
        d = torch.cdist(ref[pick], ref[start:start + 8192])                 # (m, chunk)
        own = (pick[:, None] - start) == torch.arange(d.shape[1])[None, :]
        best = torch.minimum(best, d.masked_fill(own, float("inf")).amin(1))
    return float(best.median())
