"""Discovered directions, after GANSpace (Härkönen et al. 2020, "GANSpace: Discovering Interpretable
GAN Controls", NeurIPS).

PCA of an intermediate activation of G over many random latents gives orthonormal directions
V (k, D_act) in activation space and each one's share of the variance. For generators without a
style space (ours feed z straight into the network) the paper moves them back to the latent space by
linear regression: with PCA coordinates x_j = V (a_j - mean) of sample j, solve
U = argmin_U sum_j ||U x_j - z_j||^2; column u_i is the latent step per unit of coordinate i. An
edit of t standard deviations along component i is z + t * sigma_i * u_i. PCA coordinates are
uncorrelated, so regressing on the top k alone gives the same columns as regressing on all of them.

The activation is the output of the first hidden layer (its normalisation, before the ReLU, when
there is one; else the first linear layer), taken with a forward hook. For class-conditional models
the label is held fixed: one PCA and one edit grid per class.
"""
from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from ..core.errors import ConfigError
from .common import ExploreResult, inputs_for, labelled_grid, need_images, open_run, out_dir, save_json, save_png


def default_layer(G: nn.Module) -> str:
    names = dict(G.named_modules())
    if "norms.0" in names:
        return "norms.0"
    for name, m in G.named_modules():
        if isinstance(m, (nn.Linear, nn.ConvTranspose2d, nn.Conv2d)):
            return name
    raise ConfigError("cannot find a hidden layer in the generator for the PCA; give layer=<module name>")


@torch.no_grad()
def activations(G: nn.Module, layer: str, inputs: dict[str, torch.Tensor], batch: int = 512) -> torch.Tensor:
    """Flattened output of module ``layer`` for every input. (N, D_act)"""
    modules = dict(G.named_modules())
    if layer not in modules:
        close = [n for n in modules if n][:12]
        raise ConfigError(f"generator has no module '{layer}'; some of its modules: {', '.join(close)}")
    grabbed: list[torch.Tensor] = []
    hook = modules[layer].register_forward_hook(lambda m, a, out: grabbed.append(out.detach().flatten(1).clone()))
    was_training = G.training
    G.eval()
    try:
        z, y = inputs["z"], inputs.get("y")
        for i in range(0, z.shape[0], batch):
            G(z[i:i + batch], None if y is None else y[i:i + batch])
    finally:
        hook.remove()
        G.train(was_training)
    return torch.cat(grabbed).double()


def pca_directions(acts: torch.Tensor, z: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
    """PCA of acts (N, D_act) and the latent directions by least squares; see the module docstring."""
    mean = acts.mean(0, keepdim=True)
    centred = acts - mean
    _, s, vt = torch.linalg.svd(centred, full_matrices=False)   # s: (r,), vt: (r, D_act)
    k = min(k, vt.shape[0])
    var = s ** 2
    explained = var[:k] / var.sum().clamp_min(1e-30)
    comps = vt[:k]                                               # (k, D_act), orthonormal rows
    coords = centred @ comps.T                                   # (N, k)
    sigma = coords.std(0)
    zc = z.double() - z.double().mean(0, keepdim=True)
    # U x ~ z, solved row-wise as coords @ U^T ~ z: U^T = lstsq(coords, z) -> (k, z_dim)
    u = torch.linalg.lstsq(coords, zc).solution                  # (k, z_dim): row i = latent step per unit
    return {"components": comps, "explained": explained, "sigma": sigma, "latent_dirs": u, "mean": mean}


def directions(run, k: int = 5, n: int = 2000, seed: int = 0, sigmas: float = 3.0, steps: int = 7,
               label: int | list[int] | None = None, layer: str | None = None, out: str | None = None) -> ExploreResult:
    """For each of the top ``k`` components, a row of edits of one base sample from -sigmas to +sigmas."""
    g, run_dir = open_run(run)
    need_images(g, "directions")
    if k < 1 or steps < 2 or n < 2 * k:
        raise ConfigError(f"directions needs k >= 1, steps >= 2 and n >= 2k latents (got k={k}, steps={steps}, n={n})")
    G = g.recipe.nets[g.recipe.sampler_net()]
    layer = layer or default_layer(G)
    if not g.num_classes:
        classes = [None]
    else:  # one PCA per class: the label changes the activations far more than z does
        classes = list(range(min(g.num_classes, 10))) if label is None else [int(c) for c in np.atleast_1d(label)]
    z = torch.randn(n, g.recipe.z_dim, generator=torch.Generator().manual_seed(seed + 101))
    base = torch.randn(1, g.recipe.z_dim, generator=torch.Generator().manual_seed(seed))
    ts = torch.linspace(-sigmas, sigmas, steps, dtype=torch.float64)
    folder = out_dir(run_dir, out)
    written, summary, arrays = [], {"tool": "directions", "layer": layer, "n": n, "k": k, "seed": seed,
                                    "step": g.step, "classes": {}}, {}
    for c in classes:
        acts = activations(G, layer, inputs_for(g, z, c))
        res = pca_directions(acts, z, k)
        edits = (base.double() + ts.view(1, -1, 1) * (res["sigma"].view(-1, 1, 1) * res["latent_dirs"].unsqueeze(1)))
        x = g.recipe.generate(inputs_for(g, edits.reshape(-1, z.shape[1]).float(), c))  # (k*steps, C, H, W)
        imgs = g.recipe.to_numpy(x).reshape(len(res["explained"]), steps, *x.shape[1:])
        tag = "" if c is None else f"-class{c}"
        labels_row = [f"PC{i} {100 * float(e):.1f}%" for i, e in enumerate(res["explained"])]
        title = f"GANSpace directions at {layer}{'' if c is None else f', class {c}'}: -{sigmas:g} to +{sigmas:g} sigma"
        written.append(save_png(labelled_grid([list(r) for r in imgs], labels_row, title=title),
                                os.path.join(folder, f"directions{tag}.png"), rec=g.recipe.provenance()))
        key = "all" if c is None else str(c)
        summary["classes"][key] = {"explained_variance": [round(float(e), 6) for e in res["explained"]],
                                   "sigma": [round(float(s), 6) for s in res["sigma"]]}
        arrays.update({f"{name}{tag}": t.numpy() for name, t in res.items()})
        arrays[f"edits{tag}"] = imgs
    written.append(save_json(summary, os.path.join(folder, "directions.json")))
    return ExploreResult("directions", written, summary, arrays)
