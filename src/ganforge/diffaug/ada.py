"""Adaptive discriminator augmentation: the controller of the augmentation probability p (Karras et al.
2020, "Training generative adversarial networks with limited data").

The overfitting signal is r_t = E[sign(D(real))] over the last ``interval`` steps: near 0 when D
cannot tell training reals from fakes, near 1 when it has memorised them. Every ``interval`` steps

    p <- clamp(p + sign(r_t - target) * batch * interval / speed, 0, 1)

so p can travel from 0 to 1 within ``speed`` real images. p and the running sums stay on the
training device as tensors: the update needs no host sync; only ``state_dict`` (at checkpoint
time) reads them back.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class ADAController:
    def __init__(self, target: float = 0.6, interval: int = 4, speed: int = 500, batch: int = 64,
                 p: float = 0.0, device: torch.device | str = "cpu") -> None:
        self.target, self.interval, self.speed, self.batch = float(target), int(interval), int(speed), int(batch)
        self.device = torch.device(device)
        self.p = torch.tensor(float(p), device=self.device)          # () current probability
        self.r_t = torch.zeros((), device=self.device)               # () last measured signal
        self._sum = torch.zeros((), device=self.device)              # sum of sign(D(real)) since the last update
        self._count = torch.zeros((), device=self.device)

    @torch.no_grad()
    def observe(self, real_logits: Tensor) -> Tensor:
        """Add one batch of D's raw real scores; returns this batch's mean sign (for logging)."""
        s = real_logits.detach().float().sign()
        self._sum += s.sum()
        self._count += s.numel()
        return s.mean()

    @torch.no_grad()
    def step(self, step: int) -> bool:
        """Adjust p after steps ``interval - 1``, ``2*interval - 1``, ...; True when it did."""
        if (step + 1) % self.interval:
            return False
        self.r_t = self._sum / self._count.clamp(min=1.0)
        delta = torch.sign(self.r_t - self.target) * (self.batch * self.interval / self.speed)
        self.p = (self.p + delta).clamp(0.0, 1.0)
        self._sum.zero_()
        self._count.zero_()
        return True

    def state_dict(self) -> dict[str, Any]:
        vals = torch.stack([self.p, self.r_t, self._sum, self._count]).cpu().tolist()  # one sync
        return dict(zip(("p", "r_t", "sum", "count"), vals))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        f32 = dict(device=self.device, dtype=torch.float32)
        self.p = torch.tensor(float(state.get("p", self.p.item())), **f32)
        self.r_t = torch.tensor(float(state.get("r_t", 0.0)), **f32)
        self._sum = torch.tensor(float(state.get("sum", 0.0)), **f32)
        self._count = torch.tensor(float(state.get("count", 0.0)), **f32)


__all__ = ["ADAController"]
