"""Networks of the tabular GAN, after the architecture of Xu et al. 2019 (CTGAN, appendix).

G: h0 = z (+) cond; each block h_{i+1} = h_i (+) ReLU(BN(FC(h_i))) (residual by concatenation);
a linear head gives raw scores for every encoded output (activations are applied by the recipe).
D: PacGAN (Lin et al. 2018) takes ``pack`` rows (each with its condition) as one input, then
FC -> LeakyReLU(0.2) -> Dropout per hidden layer, and a linear score.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class TabularGenerator(nn.Module):
    """(N, z_dim + cond_dim) -> raw outputs (N, out_dim)."""

    def __init__(self, in_dim: int, widths: list[int], out_dim: int) -> None:
        super().__init__()
        blocks, d = [], in_dim
        for w in widths:
            blocks.append(nn.Sequential(nn.Linear(d, w), nn.BatchNorm1d(w), nn.ReLU()))
            d += w
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(d, out_dim)

    def forward(self, h: Tensor) -> Tensor:
        for block in self.blocks:
            h = torch.cat([h, block(h)], dim=1)   # (N, d + w)
        return self.head(h)


class TabularDiscriminator(nn.Module):
    """(N // pack, pack * row_dim) packed rows -> raw scores (N // pack,)."""

    def __init__(self, row_dim: int, widths: list[int], pack: int, dropout: float) -> None:
        super().__init__()
        self.pack, self.in_dim = pack, row_dim * pack
        layers: list[nn.Module] = []
        d = self.in_dim
        for w in widths:
            layers += [nn.Linear(d, w), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            d = w
        layers.append(nn.Linear(d, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"discriminator expects packed rows of shape (N, {self.in_dim}), got {tuple(x.shape)}")
        return self.net(x).squeeze(1)

