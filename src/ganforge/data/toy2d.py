"""2-D Gaussian mixtures for mode-collapse experiments.

The protocol of PacGAN (Lin et al. 2018, "PacGAN: The power of two samples in generative adversarial
networks"), itself taken from VEEGAN (Srivastava et al. 2017):

- ``ring8``: 8 components with means on the unit circle at angles 2*pi*k/8, std 0.01 (variance 1e-4);
- ``grid25``: 25 components with means on {-4, -2, 0, 2, 4}^2, std 0.05 (variance 0.0025).

Components are equally likely. The data set keeps the means (``modes``) and the std (``sigma``) so
mode-coverage metrics can score samples against the true mixture.
"""
from __future__ import annotations

import math

import torch

from ..core.errors import DataError
from .dataset import Dataset, seeded
from .sources import Source, register_source


def ring_modes(k: int = 8, radius: float = 1.0) -> torch.Tensor:
    """(k, 2) means evenly spaced on a circle, the first on the positive x axis."""
    angles = torch.arange(k, dtype=torch.float64) * (2.0 * math.pi / k)
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def grid_modes(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    """(side*side, 2) means on a square grid centred on the origin, row by row."""
    ticks = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2.0) * spacing
    gy, gx = torch.meshgrid(ticks, ticks, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


# name -> (means, std)
TOY_SETS: dict[str, tuple[torch.Tensor, float]] = {
    "ring8": (ring_modes(8, 1.0), 0.01),
    "grid25": (grid_modes(5, 2.0), 0.05),
}


def sample_mixture(modes: torch.Tensor, sigma: float, n: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n points from the equal-weight isotropic mixture; returns (x (n, 2), component (n,))."""
    comp = torch.randint(0, modes.shape[0], (n,), generator=generator)
    x = modes[comp] + sigma * torch.randn(n, modes.shape[1], generator=generator)
    return x, comp


def make_toy(name: str, n: int, seed: int = 0, labels: bool = True) -> Dataset:
    """The toy set ``name`` with ``n`` points; the component index is the label when ``labels``."""
    if name not in TOY_SETS:
        raise DataError(f"unknown toy data set {name!r}; choose one of: {', '.join(TOY_SETS)}")
    if n <= 0:
        raise DataError(f"data.n_points must be positive, got {n}")
    modes, sigma = TOY_SETS[name]
    x, comp = sample_mixture(modes, sigma, n, seeded(seed))
    return Dataset(
        x=x, y=comp if labels else None, kind="vector", name=name, value_range=None,
        class_names=[str(k) for k in range(modes.shape[0])] if labels else None,
        modes=modes.clone(), sigma=sigma,
    )


for _name in TOY_SETS:
    register_source(_name, Source(lambda cfg, seed, path, name=_name: make_toy(name, cfg.data.n_points, seed,
                                                                                 cfg.data.labels), kind="vector"))
