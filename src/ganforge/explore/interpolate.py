"""Interpolation between the latents of seeds: a grid (one row per pair of seeds) and an animated GIF.

Spherical interpolation (slerp, Shoemake 1985) is the default: Gaussian latents concentrate near a
sphere of radius sqrt(z_dim), and a straight line between two of them passes through the low-norm
interior the generator rarely saw (White 2016, "Sampling Generative Networks"). ``linear=True``
draws the straight line instead. Conditional models keep one class along the whole path.

Recipes whose inputs have named parts (``Recipe.latent_parts``: a video run's content and motion) move one part
with ``what`` while the others stay at the first seed's, so a grid shows, for example, one motion carried by
changing digits (``what="content"``) or one digit moving in changing ways (``what="motion"``).
"""
from __future__ import annotations

import os

import numpy as np
import torch

from ..core.errors import ConfigError
from .common import (
    ExploreResult,
    inputs_for,
    is_image,
    labelled_grid,
    open_run,
    out_dir,
    pyplot,
    save_figure,
    save_gif,
    save_json,
    save_png,
    seed_latents,
)


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of two latents (D,) at fractions t (T,) -> (T, D); exact at t = 0 and 1."""
    t = t.reshape(-1, 1).to(z0.dtype)
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(omega.sin()) < 1e-6:  # (anti)parallel latents: the arc is undefined, the line is fine
        return lerp(z0, z1, t)
    out = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / omega.sin()
    out[t.reshape(-1) == 0] = z0
    out[t.reshape(-1) == 1] = z1
    return out


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    t = t.reshape(-1, 1).to(z0.dtype)
    return (1 - t) * z0 + t * z1


def path_latents(z: torch.Tensor, frames: int, linear: bool = False) -> torch.Tensor:
    """Latents along consecutive pairs of z (S, D): (S - 1, frames, D), both ends included in each row."""
    t = torch.linspace(0, 1, frames)
    step = lerp if linear else slerp
    return torch.stack([step(z[i], z[i + 1], t) for i in range(z.shape[0] - 1)])


def interpolate(run, seeds: list[int] | None = None, frames: int = 8, linear: bool = False,
                label: int | None = None, out: str | None = None, what: str = "all",
                text: list[str] | None = None) -> ExploreResult:
    """Samples along slerp (or linear) paths seed[0] -> seed[1] -> ...; grid PNG + GIF for images,
    a path plot over the sample cloud for 2-D vectors, the recipe's grid for inputs with named parts;
    ``text`` (caption-conditioned runs): from caption to caption, one row per seed's fixed noise."""
    if text:
        return _interpolate_text(run, list(text), list(seeds if seeds is not None else [0, 1, 2, 3]), frames,
                                 linear, out)
    g, run_dir = open_run(run, parts=True)
    seeds = list(seeds if seeds is not None else [0, 1, 2, 3])
    if len(seeds) < 2:
        raise ConfigError("interpolate needs at least two seeds, e.g. --seeds 0-3")
    if frames < 2:
        raise ConfigError(f"interpolate needs at least 2 frames per pair, got {frames}")
    mode = "linear" if linear else "slerp"
    parts = g.recipe.latent_parts()
    if parts or what != "all":
        return _interpolate_parts(g, run_dir, parts or {"all": []}, what, seeds, frames, linear, label, out)
    if g.num_classes and label is None:
        label = seeds[0] % g.num_classes  # the class `ganforge sample --seeds` gives the first seed
    paths_z = path_latents(seed_latents(g, seeds).cpu(), frames, linear)  # (P, F, D)
    flat = paths_z.reshape(-1, paths_z.shape[-1])
    x = g.recipe.generate(inputs_for(g, flat, label))                     # (P*F, *shape)
    folder = out_dir(run_dir, out)
    stem = os.path.join(folder, f"interpolate-{mode}")
    written = []
    if is_image(g):
        imgs = g.recipe.to_numpy(x).reshape(paths_z.shape[0], frames, *x.shape[1:])  # (P, F, C, H, W)
        rows = [list(r) for r in imgs]
        labels = [f"{a}->{b}" for a, b in zip(seeds, seeds[1:])]
        grid = labelled_grid(rows, labels, title=f"{mode} interpolation" + _class_note(g, label))
        written.append(save_png(grid, stem + ".png", rec=g.recipe.provenance()))
        # the GIF runs the whole path forward, each pair's shared end shown once
        seq = [imgs[0, 0]] + [f for r in imgs for f in r[1:]]
        frames_img = [_enlarge(labelled_grid([[f]])) for f in seq]
        written.append(save_gif(frames_img + frames_img[-2:0:-1], stem + ".gif", rec=g.recipe.provenance()))
    else:
        written.append(_path_plot(g, x.cpu().numpy().reshape(paths_z.shape[0], frames, -1), seeds, mode,
                                  stem + ".png"))
    summary = {"tool": "interpolate", "mode": mode, "seeds": seeds, "frames": frames,
               "label": label, "step": g.step}
    written.append(save_json(summary, stem + ".json"))
    return ExploreResult("interpolate", written, summary,
                         {"latents": paths_z.numpy(), "samples": x.cpu().numpy().reshape(
                             paths_z.shape[0], frames, *x.shape[1:])})


def _interpolate_parts(g, run_dir: str, parts: dict, what: str, seeds: list[int], frames: int, linear: bool,
                       label: int | None, out: str | None) -> ExploreResult:
    """One row per pair of seeds, ``frames`` samples along it; only part ``what`` of the inputs moves."""
    if what not in parts or not parts[what]:
        named = ", ".join(k for k in parts if parts[k]) or "none (it walks its latent whole: leave --what out)"
        raise ConfigError(f"--what {what!r}: the parts of this run's inputs are {named}")
    base = g.recipe.sample_inputs(seeds=seeds, conditions={} if label is None else {"label": label})
    count, t, step = (len(seeds) - 1) * frames, torch.linspace(0, 1, frames), (lerp if linear else slerp)
    inputs = {k: (v[:1].expand(count, *v.shape[1:]).clone() if torch.is_tensor(v) else v) for k, v in base.items()}
    for key, part in parts[what]:
        src = base[key].cpu() if part is None else base[key][..., part].cpu()
        for i in range(len(seeds) - 1):
            path = step(src[i].reshape(-1), src[i + 1].reshape(-1), t).reshape(frames, *src.shape[1:])
            rows = slice(i * frames, (i + 1) * frames)
            if part is None:
                inputs[key][rows] = path.to(inputs[key].device)
            else:
                inputs[key][rows, ..., part] = path.to(inputs[key].device)
    x = g.recipe.generate(inputs)
    mode = "linear" if linear else "slerp"
    stem = os.path.join(out_dir(run_dir, out), f"interpolate-{what}-{mode}")
    ext = next(iter(g.recipe.formats))                     # the recipe's grid format
    written = [g.recipe.write(g.recipe.formats[ext], stem + ext, g.recipe.to_output(x, inputs), nrow=frames)]
    summary = {"tool": "interpolate", "what": what, "mode": mode, "seeds": seeds, "frames": frames,
               "moving": [k for k, _ in parts[what]], "step": g.step}
    written.append(save_json(summary, stem + ".json"))
    return ExploreResult("interpolate", written, summary,
                         {"samples": x.cpu().numpy().reshape(len(seeds) - 1, frames, *x.shape[1:])})


def _interpolate_text(run, texts: list[str], seeds: list[int], frames: int, linear: bool,
                      out: str | None) -> ExploreResult:
    """GAN-INT-CLS (Reed et al. 2016): the sentence embedding moves from caption to caption (lerp, or slerp)
    while each row keeps one seed's noise, so the rows show what the caption decides and what the noise does."""
    from .. import api
    g = run if isinstance(run, api.Generator) else api.load(os.fspath(run))
    if not hasattr(g.recipe, "caption_embeddings"):
        raise ConfigError(f"--text interpolates between captions; {g.checkpoint} is a {g.recipe.name} run, which "
                          "takes no captions")
    if len(texts) < 2 or frames < 2:
        raise ConfigError("interpolate --text needs at least two captions (--text A --text B) and 2 frames")
    emb = g.recipe.caption_embeddings(texts).cpu()                         # (k, E)
    t, step = torch.linspace(0, 1, frames), (lerp if linear else slerp)
    walk = torch.cat([step(emb[i], emb[i + 1], t)[: None if i == len(texts) - 2 else -1]
                      for i in range(len(texts) - 1)])                    # (W, E): shared ends once
    base = g.recipe.sample_inputs(seeds=seeds, conditions={"text": texts[:1]})
    z = base["z"][: len(seeds)]
    inputs = {"z": z.repeat_interleave(len(walk), 0),
              "embedding": walk.to(z.device).repeat(len(seeds), 1),
              "captions": [f"seed {s}" if j == 0 else "" for s in seeds for j in range(len(walk))],
              "per_row": len(walk)}
    x = g.recipe.generate(inputs)
    mode = "linear" if linear else "slerp"
    stem = os.path.join(out_dir(g.run_dir, out), f"interpolate-text-{mode}")
    ext = next(iter(g.recipe.formats))
    written = [g.recipe.write(g.recipe.formats[ext], stem + ext, g.recipe.to_output(x, inputs))]
    summary = {"tool": "interpolate", "what": "text", "mode": mode, "texts": texts, "seeds": seeds,
               "frames": frames, "step": g.step}
    written.append(save_json(summary, stem + ".json"))
    return ExploreResult("interpolate", written, summary,
                         {"samples": x.cpu().numpy().reshape(len(seeds), len(walk), *x.shape[1:])})


def _enlarge(img, side: int = 128):
    """GIF frames at least ``side`` pixels wide (nearest: pixels stay honest)."""
    k = max(1, -(-side // img.width))
    return img.resize((img.width * k, img.height * k), 0) if k > 1 else img


def _class_note(g, label) -> str:
    return f" (class {label})" if g.num_classes else ""


def _path_plot(g, pts: np.ndarray, seeds: list[int], mode: str, path: str) -> str:
    """Paths in data space (P, F, D>=2) over a cloud of ordinary samples."""
    plt = pyplot()
    cloud = g.sample(2000, seed=12345).cpu().numpy()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(cloud[:, 0], cloud[:, 1], s=2, c="0.8", label="samples")
    if g.data_info.get("modes") is not None:
        m = np.asarray(g.data_info["modes"])
        ax.scatter(m[:, 0], m[:, 1], marker="x", s=20, c="tab:red", label="mixture means")
    for i, p in enumerate(pts):
        ax.plot(p[:, 0], p[:, 1], "-o", ms=3, lw=1, label=f"{seeds[i]}->{seeds[i + 1]}")
    ax.set_aspect("equal")
    ax.set_title(f"{mode} interpolation in latent space, shown in data space", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return save_figure(fig, path)
