"""Discriminator saliency: where in an image D's score is most sensitive.

The map of an image x is max over channels of |d D(x) / d x| (the gradient saliency of Simonyan,
Vedaldi & Zisserman 2014, "Deep Inside Convolutional Networks"), for real training images and for
G's samples, drawn as a heat map (each scaled to its own maximum) over the grey image.
"""
from __future__ import annotations

import os

import torch

from ..core.errors import ConfigError
from .common import (
    ExploreResult,
    d_scores,
    heat_overlay,
    labelled_grid,
    load_training_data,
    need_images,
    open_run,
    out_dir,
    save_json,
    save_png,
)


def saliency_maps(D: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(maps (N, H, W), scores) for images x (N, C, H, W); D in eval mode, its weights untouched."""
    was_training = D.training
    D.eval()
    x = x.detach().clone().requires_grad_(True)
    try:
        with torch.enable_grad():
            scores = d_scores(D, x, y)
            (grad,) = torch.autograd.grad(scores.sum(), x)
    finally:
        D.train(was_training)
    return grad.abs().amax(dim=1), scores.detach()


def saliency(run, n: int = 8, seed: int = 0, out: str | None = None) -> ExploreResult:
    """Rows: real images, their saliency, generated images, their saliency."""
    g, run_dir = open_run(run)
    need_images(g, "saliency")
    if n < 1:
        raise ConfigError(f"saliency needs n >= 1 images, got {n}")
    D = g.recipe.nets["D"]
    pack = int(getattr(D, "pack", 1))
    n = -(-n // pack) * pack  # whole PacGAN groups
    data = load_training_data(g, "saliency")
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]
    real = data.x[idx].to(g.device)
    y_real = data.y[idx].to(g.device) if g.num_classes and data.y is not None else None
    inputs = g.recipe.sample_inputs(n, seed=seed)
    fake = g.recipe.generate(inputs)
    maps_r, scores_r = saliency_maps(D, real, y_real)
    maps_f, scores_f = saliency_maps(D, fake, inputs.get("y"))
    real_u8, fake_u8 = g.recipe.to_numpy(real), g.recipe.to_numpy(fake)
    rows = [list(real_u8), [heat_overlay(i, m) for i, m in zip(real_u8, maps_r.cpu().numpy())],
            list(fake_u8), [heat_overlay(i, m) for i, m in zip(fake_u8, maps_f.cpu().numpy())]]
    folder = out_dir(run_dir, out)
    path = save_png(labelled_grid(rows, ["real", "|dD/dx|", "generated", "|dD/dx|"],
                                  title="D saliency (gradient of D's score w.r.t. pixels)"),
                    os.path.join(folder, "saliency.png"), rec=g.recipe.provenance())
    summary = {"tool": "saliency", "n": n, "seed": seed, "step": g.step, "train_index": idx.tolist(),
               "d_score_real": round(float(scores_r.mean()), 5), "d_score_fake": round(float(scores_f.mean()), 5),
               "saliency_mean_real": float(maps_r.mean()), "saliency_mean_fake": float(maps_f.mean())}
    return ExploreResult("saliency", [path, save_json(summary, os.path.join(folder, "saliency.json"))], summary,
                         {"real": real.cpu().numpy(), "fake": fake.cpu().numpy(),
                          "maps_real": maps_r.cpu().numpy(), "maps_fake": maps_f.cpu().numpy()})
