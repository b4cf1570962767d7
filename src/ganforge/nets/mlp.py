"""Fully connected generator and discriminator for 2-D toy data and vectors (images are flattened).

Linear layers keep PyTorch's default (Kaiming-uniform) init: with narrow layers and no batch
norm, the DCGAN N(0, 0.02) init shrinks the signal layer after layer and toy runs stall.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .arch import Arch, register_arch
from .layers import GNorm, MinibatchStdDev, ProjectionHead, maybe_sn, need_labels


class MLPGenerator(nn.Module):
    """z (N, z_dim) [+ labels] -> (N, *shape); linear output for vectors, tanh for images."""

    def __init__(self, shape: tuple[int, ...], z_dim: int, width: int, layers: int, norm: str,
                 num_classes: int = 0, cond: str = "embed") -> None:
        super().__init__()
        self.shape, self.z_dim, self.num_classes = tuple(shape), z_dim, num_classes
        self.squash = len(shape) == 3  # image data lives in [-1, 1]
        norm_kind = "cbn" if num_classes > 0 and cond == "cbn" else norm
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes > 0 and cond == "embed" else None
        dims = [z_dim * (2 if self.embed is not None else 1)] + [width] * layers
        bias = norm_kind == "none"  # batch norm cancels a preceding bias
        self.fcs = nn.ModuleList(nn.Linear(a, b, bias=bias) for a, b in zip(dims[:-1], dims[1:]))
        self.norms = nn.ModuleList(GNorm(norm_kind, width, num_classes, dims=1) for _ in range(layers))
        self.out = nn.Linear(dims[-1], math.prod(shape))
        self.act = nn.ReLU(inplace=True)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"generator expects z of shape (N, {self.z_dim}), got {tuple(z.shape)}")
        need_labels(y, self.num_classes, "generator")
        h = z if self.embed is None else torch.cat([z, self.embed(y)], dim=1)
        for fc, norm in zip(self.fcs, self.norms):
            h = self.act(norm(fc(h), y))
        x = self.out(h).view(z.shape[0], *self.shape)
        return x.tanh() if self.squash else x


class MLPDiscriminator(nn.Module):
    """(N, D*pack) vectors or (N, C*pack, H, W) images, flattened [+ labels] -> raw scores (N,).

    With PacGAN ``pack`` > 1 the caller concatenates ``pack`` samples along the first data axis
    (features, or channels for images). ``mbstd`` > 0 appends one minibatch-stddev feature
    before the head.
    """

    def __init__(self, shape: tuple[int, ...], width: int, layers: int, norm: str,
                 num_classes: int = 0, mbstd: int = 0, pack: int = 1) -> None:
        super().__init__()
        self.num_classes, self.pack = num_classes, pack
        self.in_shape = (shape[0] * pack, *shape[1:])
        sn = norm == "spectral"
        mods: list[nn.Module] = [nn.Flatten(1)]
        d_in = math.prod(self.in_shape)
        for i in range(layers):
            use_bn = norm == "batch" and i > 0  # as in the DCGAN critic: none on the input layer
            mods.append(maybe_sn(nn.Linear(d_in, width, bias=not use_bn), sn))
            if use_bn:
                mods.append(nn.BatchNorm1d(width))
            mods.append(nn.LeakyReLU(0.2, inplace=True))
            d_in = width
        if mbstd > 0:
            mods.append(MinibatchStdDev(mbstd))
            d_in += 1
        self.features = nn.Sequential(*mods)
        self.head = ProjectionHead(d_in, num_classes, sn)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"discriminator expects x of shape (N, {', '.join(map(str, self.in_shape))})"
                             f"{' (pack samples along the first data axis)' if self.pack > 1 else ''}, "
                             f"got {tuple(x.shape)}")
        return self.head(self.features(x), y)                           # (N,)


register_arch("mlp", Arch(
    generator=lambda cfg, shape, k: MLPGenerator(shape, cfg.z_dim, cfg.g_width, cfg.mlp_layers, cfg.g_norm, k,
                                                 cfg.cond_g),
    discriminator=lambda cfg, shape, k: MLPDiscriminator(shape, cfg.d_width, cfg.mlp_layers, cfg.d_norm, k,
                                                         cfg.mbstd, cfg.pack),
    fits=lambda shape: len(shape) in (1, 3), needs="vectors (D,) or images (C, H, W)", auto=1))
