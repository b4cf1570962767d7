"""Self-attention over the positions of a feature map (SAGAN: Zhang, Goodfellow, Metaxas & Odena 2019).

For a map x (B, C, H, W) and N = H * W positions: queries f(x) and keys g(x) are 1x1 convolutions to C/8 channels,
values h(x) a 1x1 convolution to C/2; attention weights softmax_j(f_i . g_j) over the N positions j; the attended
values go back to C channels by a 1x1 convolution v, and the block returns x + gamma * v(...), with gamma a learned
scalar starting at 0 (so a fresh block is the identity, as in the paper). ``model.attention=S`` puts one block after
the layer of G and of D whose feature map is S x S (``check_side`` refuses a side a network does not have).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..core.errors import ConfigError


class SelfAttention(nn.Module):
    def __init__(self, channels: int, wrap=lambda m: m) -> None:
        super().__init__()
        k, v = max(1, channels // 8), max(1, channels // 2)
        self.f = wrap(nn.Conv2d(channels, k, 1, bias=False))
        self.g = wrap(nn.Conv2d(channels, k, 1, bias=False))
        self.h = wrap(nn.Conv2d(channels, v, 1, bias=False))
        self.v = wrap(nn.Conv2d(v, channels, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        b, c, hh, ww = x.shape
        q = self.f(x).flatten(2)                                                 # (B, k, N)
        key = self.g(x).flatten(2)                                               # (B, k, N)
        val = self.h(x).flatten(2)                                               # (B, v, N)
        attn = torch.softmax(q.transpose(1, 2) @ key, dim=-1)                    # (B, N, N): row i over j
        out = (val @ attn.transpose(1, 2)).view(b, -1, hh, ww)                   # (B, v, H, W)
        return x + self.gamma * self.v(out)


def check_side(side: int, sides: list[int], what: str) -> None:
    if side and side not in sides:
        raise ConfigError(f"model.attention={side}: {what}'s feature maps are {', '.join(map(str, sides))} pixels "
                          "on a side; set model.attention to one of them (0 = no attention)")


__all__ = ["SelfAttention", "check_side"]
