"""Latent projection: the latent whose sample best reproduces a given image (or training example).

z is optimised with Adam against pixel MSE plus a feature loss (squared distance in the feature space
of a fixed network, relative to the target's feature energy), from several random starts at once;
the best start wins. Conditional models use the training label of an ``index`` target, the given
``label``, or else try every class (up to 10) and keep the best. The reconstruction error is the
pixel MSE in the model's [-1, 1] space, also given as PSNR; the error of unoptimised random samples
against the same target is reported beside it for scale.
"""
from __future__ import annotations

import math
import os

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..core.errors import ConfigError, DataError
from .common import (
    ExploreResult,
    is_image,
    labelled_grid,
    load_training_data,
    open_run,
    out_dir,
    pick_extractor,
    pyplot,
    save_figure,
    save_json,
    save_png,
)


def read_target_image(path: str, shape: tuple[int, ...]) -> torch.Tensor:
    """A PNG/JPEG file as one image (1, C, H, W) in [-1, 1], converted and resized to the model's shape."""
    c, h, w = shape
    try:
        with Image.open(path) as im:
            im = im.convert("L" if c == 1 else "RGB")
            if im.size != (w, h):
                im = im.resize((w, h), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.float32)
    except FileNotFoundError:
        raise DataError(f"image file not found: {path}") from None
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"cannot read image {path}: {e}") from None
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(arr / 127.5 - 1.0).unsqueeze(0)


def _target(g, image: str | None, index: int | None) -> tuple[torch.Tensor, int | None, str]:
    if (image is None) == (index is None):
        raise ConfigError("project needs exactly one target: an image file (--image FILE.png) or a training "
                          "index (--index I)")
    if image is not None:
        if not is_image(g):
            raise ConfigError("this run models vectors; project a training example with --index I instead of an image")
        return read_target_image(image, tuple(g.data_info["shape"])), None, os.path.basename(image)
    data = load_training_data(g, "project")
    if not 0 <= index < len(data):
        raise ConfigError(f"training index {index} is out of range: the training set has {len(data)} examples")
    y = int(data.y[index]) if data.y is not None else None
    return data.x[index:index + 1].float(), y, f"train {index}"


def project(run, image: str | None = None, index: int | None = None, label: int | None = None,
            steps: int = 300, restarts: int = 4, lr: float = 0.05, feature_weight: float = 0.1,
            seed: int = 0, out: str | None = None) -> ExploreResult:
    g, run_dir = open_run(run)
    if steps < 1 or restarts < 1:
        raise ConfigError(f"project needs steps >= 1 and restarts >= 1, got {steps} and {restarts}")
    target, y_true, name = _target(g, image, index)
    target = target.to(g.device)
    if g.num_classes:
        label = label if label is not None else y_true
        classes = [label] if label is not None else list(range(min(g.num_classes, 10)))
    else:
        classes = [None]
    G = g.recipe.nets[g.recipe.sampler_net()]
    G.eval()
    ext = pick_extractor(g.data_info) if is_image(g) and feature_weight > 0 else None
    use_feat = ext is not None and ext.name != "raw"
    with torch.no_grad():
        t_feat = ext.features(target) if use_feat else None
    z0 = torch.randn(len(classes) * restarts, g.recipe.z_dim, generator=torch.Generator().manual_seed(seed))
    y = None if classes == [None] else torch.tensor(classes).repeat_interleave(restarts).to(g.device)
    z = z0.clone().to(g.device).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)

    def losses(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mse = (x - target).pow(2).flatten(1).mean(1)                       # (B,)
        if not use_feat:
            return mse, mse
        f = ext.features(x)
        feat = (f - t_feat).pow(2).mean(1) / t_feat.pow(2).mean().clamp_min(1e-8)
        return mse + feature_weight * feat, mse

    with torch.no_grad():
        start_mse = losses(G(z, y))[1]
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        total, _ = losses(G(z, y))
        total.sum().backward()  # the starts are independent, so one sum optimises each alone
        opt.step()
    with torch.no_grad():
        x = G(z, y)
        total, mse = losses(x)
    best = int(total.argmin())
    rec, err = x[best:best + 1], float(mse[best])
    summary = {"tool": "project", "target": name, "steps": steps, "restarts": restarts, "lr": lr,
               "feature_loss": ext.name if use_feat else None, "feature_weight": feature_weight if use_feat else 0.0,
               "label": None if y is None else int(y[best]), "mse": err,
               "psnr_db": round(10 * math.log10(4.0 / max(err, 1e-12)), 3),  # peak-to-peak range 2 in [-1, 1]
               "random_sample_mse": float(start_mse.mean()), "step": g.step,
               "z": [round(v, 6) for v in z[best].detach().cpu().tolist()]}
    folder = out_dir(run_dir, out)
    tag = f"train{index}" if index is not None else os.path.splitext(os.path.basename(image))[0]
    stem = os.path.join(folder, f"project-{tag}")
    path = _picture(g, target, rec, summary, stem + ".png")
    return ExploreResult("project", [path, save_json(summary, stem + ".json")], summary,
                         {"target": target.cpu().numpy(), "reconstruction": rec.cpu().numpy(),
                          "z": z[best].detach().cpu().numpy()})


def _picture(g, target: torch.Tensor, rec: torch.Tensor, summary: dict, path: str) -> str:
    title = f"target | reconstruction | |difference|   MSE {summary['mse']:.4f}  PSNR {summary['psnr_db']:.1f} dB"
    if is_image(g):
        diff = ((rec - target).abs().clamp(0, 2) - 1.0)  # |diff| in [0, 2] shown as [-1, 1]: black = equal
        cells = list(g.recipe.to_numpy(torch.cat([target, rec, diff])))
        return save_png(labelled_grid([cells], title=title), path, rec=g.recipe.provenance())
    plt = pyplot()
    cloud = g.sample(2000, seed=12345).cpu().numpy()
    t, r = target.cpu().numpy()[0], rec.cpu().numpy()[0]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(cloud[:, 0], cloud[:, 1], s=2, c="0.8", label="samples")
    ax.scatter([t[0]], [t[1]], marker="x", s=60, c="tab:red", label="target")
    ax.scatter([r[0]], [r[1]], marker="o", s=30, facecolors="none", edgecolors="tab:blue", label="reconstruction")
    ax.set_title(f"projection: MSE {summary['mse']:.4g}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)
