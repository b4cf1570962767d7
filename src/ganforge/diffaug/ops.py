"""Differentiable augmentation of image batches (DiffAugment, Zhao et al. 2020).

Every op is plain batched tensor arithmetic, so gradients flow through it to G. The same ops are
applied to real and generated images, which keeps D from learning the augmentations as "real".
Images are (N, C, H, W) in [-1, 1].

Each op is applied to each image independently with probability ``p`` (ADA, Karras et al. 2020).
All random numbers are drawn whatever ``p`` is, and only their effect is masked: the stream of
the run's ``torch.Generator`` then advances the same way for any ``p`` and a resumed run replays it
exactly.

Policies (Zhao et al. 2020, section 3):
- ``color``: brightness shift in [-0.5, 0.5), saturation factor in [0, 2), contrast factor in [0.5, 1.5);
- ``translation``: integer shift of up to 1/8 of the side in each axis, the border filled with 0;
- ``cutout``: one square of half the side set to 0, its centre uniform over the image.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..core.errors import ConfigError

POLICIES = ("color", "translation", "cutout")


def parse_policy(spec: str) -> tuple[str, ...]:
    """'color, translation' -> ("color", "translation"); unknown names raise ConfigError."""
    names = tuple(s.strip() for s in str(spec).split(",") if s.strip())
    bad = [n for n in names if n not in POLICIES]
    if bad:
        raise ConfigError(f"augment.policy: unknown policy '{bad[0]}'; use a comma-separated list of "
                          f"{', '.join(POLICIES)}")
    return names


def _uniform(n: int, x: Tensor, gen: torch.Generator | None) -> Tensor:
    return torch.rand(n, 1, 1, 1, generator=gen, device=x.device, dtype=x.dtype)   # (N, 1, 1, 1)


def _applied(n: int, p: float | Tensor, x: Tensor, gen: torch.Generator | None) -> Tensor:
    """(N, 1, 1, 1) boolean: which images this op touches."""
    return _uniform(n, x, gen) < p


def color(x: Tensor, p: float | Tensor = 1.0, gen: torch.Generator | None = None) -> Tensor:
    n = x.shape[0]
    shift = _uniform(n, x, gen) - 0.5
    x = x + torch.where(_applied(n, p, x, gen), shift, torch.zeros_like(shift))
    sat = _uniform(n, x, gen) * 2.0
    sat = torch.where(_applied(n, p, x, gen), sat, torch.ones_like(sat))
    mean_c = x.mean(dim=1, keepdim=True)                                   # (N, 1, H, W)
    x = (x - mean_c) * sat + mean_c
    con = _uniform(n, x, gen) + 0.5
    con = torch.where(_applied(n, p, x, gen), con, torch.ones_like(con))
    mean_all = x.mean(dim=(1, 2, 3), keepdim=True)                         # (N, 1, 1, 1)
    return (x - mean_all) * con + mean_all


def translation(x: Tensor, p: float | Tensor = 1.0, gen: torch.Generator | None = None,
                ratio: float = 0.125) -> Tensor:
    n, _, h, w = x.shape
    sy, sx = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    hit = _applied(n, p, x, gen).view(n, 1).long()
    dy = torch.randint(-sy, sy + 1, (n, 1), generator=gen, device=x.device) * hit   # (N, 1)
    dx = torch.randint(-sx, sx + 1, (n, 1), generator=gen, device=x.device) * hit
    padded = torch.nn.functional.pad(x, (sx, sx, sy, sy))                # zeros around the image
    rows = torch.arange(h, device=x.device).view(1, h) + sy - dy          # (N, H) source rows
    cols = torch.arange(w, device=x.device).view(1, w) + sx - dx          # (N, W) source columns
    b = torch.arange(n, device=x.device).view(n, 1, 1)
    out = padded[b, :, rows.view(n, h, 1), cols.view(n, 1, w)]           # (N, H, W, C)
    return out.permute(0, 3, 1, 2)


def cutout(x: Tensor, p: float | Tensor = 1.0, gen: torch.Generator | None = None,
           ratio: float = 0.5) -> Tensor:
    n, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    hit = _applied(n, p, x, gen).view(n, 1, 1)
    cy = torch.randint(0, h, (n, 1, 1), generator=gen, device=x.device)
    cx = torch.randint(0, w, (n, 1, 1), generator=gen, device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) - (cy - ch // 2)  # (N, H, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) - (cx - cw // 2)  # (N, 1, W)
    inside = (rows >= 0) & (rows < ch) & (cols >= 0) & (cols < cw)         # (N, H, W)
    keep = ~(inside & hit)
    return x * keep.unsqueeze(1).to(x.dtype)


OPS = {"color": color, "translation": translation, "cutout": cutout}


def augment(x: Tensor, policy: tuple[str, ...] | str, p: float | Tensor = 1.0,
            gen: torch.Generator | None = None) -> Tensor:
    """Apply the policy's ops in order to an image batch (N, C, H, W); same shape out."""
    if x.dim() != 4:
        raise ValueError(f"augment expects images (N, C, H, W), got shape {tuple(x.shape)}")
    names = parse_policy(policy) if isinstance(policy, str) else policy
    for name in names:
        x = OPS[name](x, p, gen)
    return x


__all__ = ["POLICIES", "parse_policy", "augment", "color", "translation", "cutout", "OPS"]
