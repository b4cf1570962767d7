"""DCGAN generator and discriminator (Radford et al. 2016) for square images.

An image side must be ``s0 * 2**k`` with a base grid ``s0`` in 3..7 and k >= 1 up/down steps
(8, 12, 16, 24, 28, 32, 48, 56, 64, 96, 112, 128, ...). The base grid is taken in [4, 8), so
12 = 6*2, 28 = 7*4, 64 = 4*16; s0 = 3 would only serve side 6, below the smallest side (8).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..core.errors import ConfigError
from .arch import Arch, register_arch
from .attention import SelfAttention, check_side
from .layers import GNorm, MinibatchStdDev, ProjectionHead, dcgan_init_, maybe_sn, need_labels

MIN_SIZE = 8
MAX_WIDTH_MULT = 8  # widths double toward the base grid, capped at 8x the configured width


def plan(size: int) -> tuple[int, int]:
    """(s0, k): base grid side and number of stride-2 steps for an image side; ValueError if none."""
    k, s0 = 0, size
    while s0 >= 8 and s0 % 2 == 0:
        s0, k = s0 // 2, k + 1
    if size < MIN_SIZE or not 3 <= s0 <= 7 or k < 1:
        raise ValueError(size)
    return s0, k


def valid_sizes(upto: int = 256) -> list[int]:
    return sorted({s0 * 2 ** k for s0 in range(3, 8) for k in range(1, 12)
                   if MIN_SIZE <= s0 * 2 ** k <= upto})


def check_image_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """Validate (C, H, W) for the DCGAN networks and return (s0, k); ConfigError otherwise."""
    _, h, w = shape
    if h == w:
        try:
            return plan(h)
        except ValueError:
            pass
    sizes = valid_sizes(max(256, 2 * h))
    below = [s for s in sizes if s <= h][-2:]
    above = [s for s in sizes if s > h][:2]
    near = ", ".join(str(s) for s in below + above)
    what = f"{h}x{w}" + ("" if h == w else " (not square)")
    raise ConfigError(f"dcgan networks cannot take {what} images (side must be s0*2^k, s0 in 3..7, >= 8); "
                      f"nearby valid sides: {near}; set data.size to one of them with data.resize=resize")


def _widths(base: int, n: int) -> list[int]:
    """n block widths from the base grid outward: base*2^(n-1), ..., base*2, base (capped)."""
    return [base * min(2 ** (n - 1 - j), MAX_WIDTH_MULT) for j in range(n)]


class DCGANGenerator(nn.Module):
    """z (N, z_dim) [+ labels] -> images (N, C, H, W) in [-1, 1].

    ``convs`` > 0 deepens G without changing its shape: that many 3x3 stride-1 convolutions, each
    with G's norm and a ReLU, follow every hidden block (the base grid and each up-sampling).
    """

    def __init__(self, shape: tuple[int, ...], z_dim: int, width: int, norm: str,
                 num_classes: int = 0, cond: str = "embed", convs: int = 0, attention: int = 0) -> None:
        super().__init__()
        s0, k = check_image_shape(shape)
        self.shape, self.z_dim, self.num_classes, self.s0 = tuple(shape), z_dim, num_classes, s0
        widths = _widths(width, k)  # widths[0] at the base grid, widths[-1] = width
        sides = [s0 * 2 ** j for j in range(k)]
        check_side(attention, sides, "G")
        self.attn_at = sides.index(attention) if attention else -1  # SAGAN block after this hidden block
        self.attn = SelfAttention(widths[self.attn_at]) if attention else None
        norm_kind = "cbn" if num_classes > 0 and cond == "cbn" else norm
        # label embedding keeps torch's N(0, 1) init: the same scale as z it is joined to
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes > 0 and cond == "embed" else None
        in_dim = z_dim * (2 if self.embed is not None else 1)
        bias = norm_kind == "none"  # a bias right before batch norm is cancelled by it
        self.fc = dcgan_init_(nn.Linear(in_dim, widths[0] * s0 * s0, bias=bias))
        self.norms = nn.ModuleList([GNorm(norm_kind, c, num_classes) for c in widths])
        self.ups = nn.ModuleList(
            dcgan_init_(nn.ConvTranspose2d(widths[j], widths[j + 1], 4, 2, 1, bias=bias))
            for j in range(k - 1))
        self.to_img = dcgan_init_(nn.ConvTranspose2d(widths[-1], shape[0], 4, 2, 1))
        self.act = nn.ReLU(inplace=True)
        # extra[j]: the 3x3 convolutions after hidden block j, with their norms
        self.extra = nn.ModuleList(nn.ModuleList(
            dcgan_init_(nn.Conv2d(c, c, 3, 1, 1, bias=bias)) for _ in range(convs)) for c in widths)
        self.extra_norms = nn.ModuleList(nn.ModuleList(
            GNorm(norm_kind, c, num_classes) for _ in range(convs)) for c in widths)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"generator expects z of shape (N, {self.z_dim}), got {tuple(z.shape)}")
        need_labels(y, self.num_classes, "generator")
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], dim=1)                     # (N, 2 * z_dim)
        h = self.fc(z).view(z.shape[0], -1, self.s0, self.s0)          # (N, C0, s0, s0)
        h = self._attend(0, self._extra(0, self.act(self.norms[0](h, y)), y))
        for j, (up, norm) in enumerate(zip(self.ups, self.norms[1:]), start=1):
            h = self._attend(j, self._extra(j, self.act(norm(up(h), y)), y))  # resolution doubles
        return self.to_img(h).tanh()                                    # (N, C, H, W)

    def _attend(self, j: int, h: Tensor) -> Tensor:
        return self.attn(h) if j == self.attn_at else h

    def _extra(self, j: int, h: Tensor, y: Tensor | None) -> Tensor:
        for conv, norm in zip(self.extra[j], self.extra_norms[j]):
            h = self.act(norm(conv(h), y))                              # same size and width
        return h


class DCGANDiscriminator(nn.Module):
    """Images (N, C*pack, H, W) [+ labels] -> raw scores (N,).

    With PacGAN ``pack`` > 1 the caller concatenates ``pack`` samples along channels. With
    ``mbstd`` > 0 a minibatch-stddev map is appended at the base grid, before the head. ``convs`` > 0
    puts that many 3x3 stride-1 convolutions (with D's norm and a LeakyReLU) after every down-sampling.
    """

    def __init__(self, shape: tuple[int, ...], width: int, norm: str, num_classes: int = 0,
                 mbstd: int = 0, pack: int = 1, convs: int = 0, attention: int = 0) -> None:
        super().__init__()
        s0, k = check_image_shape(shape)
        check_side(attention, [shape[1] // 2 ** (i + 1) for i in range(k)], "D")
        self.num_classes, self.pack = num_classes, pack
        self.in_shape = (shape[0] * pack, shape[1], shape[2])
        widths = _widths(width, k)[::-1]  # width, 2*width, ... toward the base grid
        sn = norm == "spectral"
        layers: list[nn.Module] = []
        c_in = self.in_shape[0]
        for i, c in enumerate(widths):
            use_bn = norm == "batch" and i > 0  # DCGAN habit: no batch norm on the first conv
            layers.append(maybe_sn(dcgan_init_(nn.Conv2d(c_in, c, 4, 2, 1, bias=not use_bn)), sn))
            if use_bn:
                layers.append(dcgan_init_(nn.BatchNorm2d(c)))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            for _ in range(convs):                                      # deeper, same size and width
                layers.append(maybe_sn(dcgan_init_(nn.Conv2d(c, c, 3, 1, 1, bias=norm != "batch")), sn))
                if norm == "batch":
                    layers.append(dcgan_init_(nn.BatchNorm2d(c)))
                layers.append(nn.LeakyReLU(0.2, inplace=True))
            if attention == shape[1] // 2 ** (i + 1):                        # SAGAN block at this side
                layers.append(SelfAttention(c, lambda m: maybe_sn(m, sn)))
            c_in = c
        if mbstd > 0:
            layers.append(MinibatchStdDev(mbstd))
            c_in += 1
        self.features = nn.Sequential(*layers)
        self.head = ProjectionHead(c_in * s0 * s0, num_classes, sn)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"discriminator expects x of shape (N, {', '.join(map(str, self.in_shape))})"
                             f"{' (pack samples along channels)' if self.pack > 1 else ''}, got {tuple(x.shape)}")
        phi = self.features(x).flatten(1)                               # (N, C_base * s0 * s0)
        return self.head(phi, y)


register_arch("dcgan", Arch(
    generator=lambda cfg, shape, k: DCGANGenerator(shape, cfg.z_dim, cfg.g_width, cfg.g_norm, k, cfg.cond_g,
                                                   cfg.g_convs, getattr(cfg, "attention", 0)),
    discriminator=lambda cfg, shape, k: DCGANDiscriminator(shape, cfg.d_width, cfg.d_norm, k, cfg.mbstd, cfg.pack,
                                                           cfg.d_convs, getattr(cfg, "attention", 0)),
    fits=lambda shape: len(shape) == 3, needs="image data (C, H, W)", auto=10))
