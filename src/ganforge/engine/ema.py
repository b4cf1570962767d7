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


@torch.no_grad()
def ema_update(target: nn.Module, source: nn.Module, beta: float) -> None:
    t_params = list(target.parameters())
    s_params = list(source.parameters())
    if beta == 0.0:
        torch._foreach_copy_(t_params, s_params)
    else:
        torch._foreach_lerp_(t_params, s_params, 1.0 - beta)
    # buffers (batch-norm running statistics, spectral-norm vectors) follow the live network
    for tb, sb in zip(target.buffers(), source.buffers()):
        tb.copy_(sb)
