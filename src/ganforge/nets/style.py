"""StyleGAN2-class generator and residual discriminator (Karras et al. 2019, 2020), sized for CPU.

G: z (pixel-normed, joined with a pixel-normed label embedding when conditional) -> mapping MLP of
``model.map_layers`` equalised layers with learning-rate multiplier 0.01 -> w (w_dim = z_dim). Synthesis starts
from a learned constant on the s0 x s0 base grid (the DCGAN plan: any side ``s0 * 2**k``, see dcgan.py) and at
every resolution runs modulated, demodulated 3x3 convolutions with per-pixel noise (one at the base grid, two
after each bilinear up-sampling) and a skip-connection output: each resolution's ToRGB is added to the up-sampled
image so far. The image is the linear output of the last sum (no tanh, as in StyleGAN2); samples are clamped to
[-1, 1] when written. Widths double toward the base grid from ``model.g_width``, capped at 4x.

``w_avg`` (buffer) is an EMA (beta 0.995) of the mapping output, updated by train-mode forwards; ``psi`` < 1 pulls
w toward it (W-space truncation; one average for all classes, not one per class). In train mode, with probability
``model.style_mix`` a batch takes a second latent's w from a random layer on (style mixing regularisation).
Noise is random in train mode and a fixed saved map in eval mode (style_layers.StyleLayer).

D: StyleGAN2's residual D: a 1x1 fromRGB, residual blocks down to the base grid, then minibatch stddev (when
``model.mbstd`` > 0), a 3x3 convolution, a dense layer and the projection head. ``model.d_norm``: none (StyleGAN2,
meant to go with reg.r1) or spectral; batch norm is refused.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..core.errors import ConfigError
from .arch import Arch, register_arch
from .dcgan import check_image_shape
from .layers import MinibatchStdDev, ProjectionHead, check_choice, need_labels
from .style_layers import EqConv2d, EqLinear, ResBlockD, StyleLayer, ToRGB, normalize_2nd_moment

MAX_WIDTH_MULT = 4     # channels double toward the base grid, capped at 4x the configured width
MAP_LR_MUL = 0.01      # learning-rate multiplier of the mapping network (Karras et al. 2019, 2020)
W_AVG_BETA = 0.995     # decay of the running mean of w used for truncation (StyleGAN2)


def _widths(base: int, k: int) -> list[int]:
    """k + 1 widths from the base grid outward: base * min(2**(k - j), 4), j = 0..k."""
    return [base * min(2 ** (k - j), MAX_WIDTH_MULT) for j in range(k + 1)]


class StyleGenerator(nn.Module):
    """G(z, y=None, psi=1.0) -> images (N, C, H, W); also ``mapping(z, y, psi)`` -> w and ``synthesis(w)``."""

    latent_space = "w"

    def __init__(self, shape: tuple[int, ...], z_dim: int, width: int, num_classes: int = 0,
                 map_layers: int = 4, style_mix: float = 0.9) -> None:
        super().__init__()
        s0, k = check_image_shape(shape)
        self.shape, self.z_dim, self.num_classes, self.w_dim = tuple(shape), z_dim, num_classes, z_dim
        self.style_mix = style_mix
        in_dim = z_dim * (2 if num_classes > 0 else 1)
        # registered first: explore's directions tool takes the first linear layer's output by default
        self.mapping_net = nn.Sequential(*[EqLinear(in_dim if i == 0 else z_dim, z_dim, lr_mul=MAP_LR_MUL, act=True)
                                           for i in range(map_layers)])
        self.embed = EqLinear(num_classes, z_dim) if num_classes > 0 else None   # one-hot label -> embedding
        self.register_buffer("w_avg", torch.zeros(z_dim))
        widths = _widths(width, k)
        sides = [s0 * 2 ** j for j in range(k + 1)]
        self.const = nn.Parameter(torch.randn(widths[0], s0, s0))
        layers, rgbs = [StyleLayer(widths[0], widths[0], z_dim, s0)], [ToRGB(widths[0], shape[0], z_dim)]
        for j in range(1, k + 1):
            layers += [StyleLayer(widths[j - 1], widths[j], z_dim, sides[j], up=True),
                       StyleLayer(widths[j], widths[j], z_dim, sides[j])]
            rgbs.append(ToRGB(widths[j], shape[0], z_dim))
        self.layers, self.rgbs = nn.ModuleList(layers), nn.ModuleList(rgbs)
        self.num_ws = len(layers) + len(rgbs)   # each modulated layer reads its own copy of w

    def mapping(self, z: Tensor, y: Tensor | None = None, psi: float = 1.0) -> Tensor:
        """z (N, z_dim) [+ labels (N,)] -> w (N, w_dim); ``psi`` < 1 truncates toward ``w_avg``."""
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"generator expects z of shape (N, {self.z_dim}), got {tuple(z.shape)}")
        need_labels(y, self.num_classes, "generator")
        x = normalize_2nd_moment(z)
        if self.embed is not None:
            onehot = nn.functional.one_hot(y.long(), self.num_classes).to(z.dtype)    # (N, K)
            x = torch.cat([x, normalize_2nd_moment(self.embed(onehot))], dim=1)    # (N, 2 * z_dim)
        w = self.mapping_net(x)                                                   # (N, w_dim)
        return w if psi == 1.0 else self.w_avg.lerp(w, psi)

    def synthesis(self, w: Tensor) -> Tensor:
        """w (N, w_dim) or one per layer (N, num_ws, w_dim) -> images (N, C, H, W)."""
        if w.dim() == 2:
            w = w.unsqueeze(1).expand(-1, self.num_ws, -1)                        # (N, num_ws, w_dim)
        if w.dim() != 3 or w.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"synthesis expects w of shape (N, {self.w_dim}) or (N, {self.num_ws}, {self.w_dim}), "
                             f"got {tuple(w.shape)}")
        h = self.const.unsqueeze(0).expand(w.shape[0], -1, -1, -1)                # (N, C0, s0, s0)
        h = self.layers[0](h, w[:, 0])
        img = self.rgbs[0](h, w[:, 1])                                            # (N, C, s0, s0)
        i = 2
        for j, rgb in enumerate(self.rgbs[1:]):
            h = self.layers[2 * j + 2](self.layers[2 * j + 1](h, w[:, i]), w[:, i + 1])   # resolution doubles
            img = nn.functional.interpolate(img, scale_factor=2.0, mode="bilinear", align_corners=False)
            img = img + rgb(h, w[:, i + 2])
            i += 3
        return img

    def forward(self, z: Tensor, y: Tensor | None = None, psi: float = 1.0) -> Tensor:
        w = self.mapping(z, y)                                                    # (N, w_dim)
        if self.training:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().mean(dim=0).lerp(self.w_avg, W_AVG_BETA))
        if psi != 1.0:
            w = self.w_avg.lerp(w, psi)
        ws = w.unsqueeze(1).expand(-1, self.num_ws, -1)                           # (N, num_ws, w_dim)
        if self.training and self.style_mix > 0 and torch.rand([]).item() < self.style_mix:
            cutoff = int(torch.randint(1, self.num_ws, []).item())
            w2 = self.mapping(torch.randn_like(z), y)
            ws = torch.cat([ws[:, :cutoff], w2.unsqueeze(1).expand(-1, self.num_ws - cutoff, -1)], dim=1)
        return self.synthesis(ws)


class StyleDiscriminator(nn.Module):
    """Images (N, C*pack, H, W) [+ labels] -> raw scores (N,); residual blocks down to the base grid."""

    def __init__(self, shape: tuple[int, ...], width: int, norm: str, num_classes: int = 0,
                 mbstd: int = 0, pack: int = 1) -> None:
        super().__init__()
        s0, k = check_image_shape(shape)
        sn = norm == "spectral"
        self.num_classes, self.pack = num_classes, pack
        self.in_shape = (shape[0] * pack, shape[1], shape[2])
        widths = _widths(width, k)[::-1]                                          # outermost first
        self.from_rgb = EqConv2d(self.in_shape[0], widths[0], 1, act=True, sn=sn)
        self.blocks = nn.Sequential(*[ResBlockD(widths[j], widths[j + 1], sn) for j in range(k)])
        c = widths[-1]
        self.mbstd = MinibatchStdDev(mbstd) if mbstd > 0 else None
        self.conv = EqConv2d(c + (1 if mbstd > 0 else 0), c, 3, act=True, sn=sn)
        self.fc = EqLinear(c * s0 * s0, c, act=True, sn=sn)
        self.head = ProjectionHead(c, num_classes, sn)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"discriminator expects x of shape (N, {', '.join(map(str, self.in_shape))})"
                             f"{' (pack samples along channels)' if self.pack > 1 else ''}, got {tuple(x.shape)}")
        h = self.blocks(self.from_rgb(x))                                         # (N, C_base, s0, s0)
        if self.mbstd is not None:
            h = self.mbstd(h)
        return self.head(self.fc(self.conv(h).flatten(1)), y)


def check_style(cfg) -> None:
    """One line for each option the style networks cannot honour."""
    check_choice("model.d_norm", cfg.d_norm, ("spectral", "none"))
    if cfg.map_layers < 1:
        raise ConfigError(f"model.map_layers must be >= 1, got {cfg.map_layers}")
    if not 0.0 <= cfg.style_mix <= 1.0:
        raise ConfigError(f"model.style_mix must be in [0, 1], got {cfg.style_mix}")
    for key, off in (("g_sn", False), ("g_convs", 0), ("d_convs", 0), ("attention", 0)):
        if getattr(cfg, key) != off:
            raise ConfigError(f"model.{key} is a dcgan option; model.arch=style has no such layers: "
                              f"set model.{key}={str(off).lower()}")


def _generator(cfg, shape, k):
    check_style(cfg)
    if k > 0 and cfg.cond_g != "embed":
        raise ConfigError("model.arch=style takes labels through the mapping network: set model.cond_g=embed")
    return StyleGenerator(shape, cfg.z_dim, cfg.g_width, k, cfg.map_layers, cfg.style_mix)


def _discriminator(cfg, shape, k):
    check_style(cfg)
    return StyleDiscriminator(shape, cfg.d_width, cfg.d_norm, k, cfg.mbstd, cfg.pack)


register_arch("style", Arch(generator=_generator, discriminator=_discriminator,
                            fits=lambda shape: len(shape) == 3, needs="image data (C, H, W)", auto=5))

__all__ = ["StyleGenerator", "StyleDiscriminator", "check_style"]
