"""What every recipe provides to the training loop. The loop only ever sees these types.

A recipe owns its networks and forward passes and declares its phases as data: which optimizer,
which networks receive gradients, which loss, how often. Adding an application means adding a
recipe, never editing the loop.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn


@dataclass
class Batch:
    x: torch.Tensor                 # real examples, on the training device: (B, *shape)
    y: torch.Tensor | None = None   # labels (B,) or None
    extra: dict[str, torch.Tensor] = field(default_factory=dict)  # paired inputs, masks, conditions ...


LossFn = Callable[[Batch, int], "tuple[torch.Tensor, dict[str, torch.Tensor]]"]


@dataclass(frozen=True)
class Phase:
    name: str                       # "D", "G", "D_reg", ...: names the phase in logs
    opt: str                        # key into Recipe.optimizers()
    trains: tuple[str, ...]         # networks whose parameters receive gradients in this phase
    loss: LossFn                    # (batch, step) -> (scalar loss, {stat name: detached scalar})
    interval: int = 1               # run on steps where (step + 1) % interval == 0

    def due(self, step: int) -> bool:
        return (step + 1) % self.interval == 0


@dataclass(frozen=True)
class OptimSpec:
    modules: tuple[str, ...]        # networks whose parameters this optimizer updates
    lr: float
    betas: tuple[float, float]


class Recipe:
    """Base class. Subclasses fill ``nets`` in __init__ and implement the methods below."""

    name = "base"
    ema: dict[str, str] = {}        # {"G_ema": "G"}: averaged copies the loop keeps after each phase

    def __init__(self, cfg, data_info: dict, device: torch.device):
        self.cfg, self.data_info, self.device = cfg, data_info, device
        self.nets: dict[str, nn.Module] = {}
        self.gen: torch.Generator | None = None   # the loop sets the noise generator

    # -- training -------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimSpec]:
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def after_step(self, step: int, stats: dict[str, torch.Tensor]) -> None:
        """Hook for per-step controllers (for example an augmentation probability)."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-able recipe state to keep in checkpoints."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    # -- sampling -------------------------------------------------------------------------------
    def sampler_net(self) -> str:
        """The network used for samples (an EMA copy when there is one)."""
        return next(iter(self.ema), "G")

    def grid_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def generate(self, inputs: dict[str, torch.Tensor], net: str | None = None) -> torch.Tensor:
        raise NotImplementedError

    def write_grid(self, x: torch.Tensor, path: str, inputs: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError
