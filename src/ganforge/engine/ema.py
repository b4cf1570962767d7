"""Exponential moving average of a network's weights (Yazici et al. 2019; Karras et al. 2018)."""
from __future__ import annotations

import torch
from torch import nn


def ema_beta(beta: float, step: int, warmup: int) -> float:
    """Decay at ``step``: ramps linearly from 0 (a plain copy) to ``beta`` over ``warmup`` steps,
    so early G_ema is not dragged toward the random initial weights."""
    if warmup <= 0:
        return beta
    return beta * min(1.0, step / warmup)


class EmaPair:
    """G_ema <- G in two foreach calls per step. The tensor lists are gathered once: walking the
    module tree every step cost more than the update itself for small MLPs. Valid while the
    networks keep their tensors (loading a checkpoint copies into them in place)."""

    def __init__(self, target: nn.Module, source: nn.Module) -> None:
        self.t_params, self.s_params = list(target.parameters()), list(source.parameters())
        # buffers (batch-norm running statistics, spectral-norm vectors) follow the live network
        pairs = [(t, s) for t, s in zip(target.buffers(), source.buffers())]
        self.t_bufs, self.s_bufs = [t for t, _ in pairs], [s for _, s in pairs]

    @torch.no_grad()
    def update(self, beta: float) -> None:
        if beta == 0.0:
            torch._foreach_copy_(self.t_params, self.s_params)
        else:
            torch._foreach_lerp_(self.t_params, self.s_params, 1.0 - beta)
        if self.t_bufs:
            torch._foreach_copy_(self.t_bufs, self.s_bufs)


def ema_update(target: nn.Module, source: nn.Module, beta: float) -> None:
    """One update of ``target`` toward ``source`` (the loop keeps an EmaPair instead)."""
    EmaPair(target, source).update(beta)
