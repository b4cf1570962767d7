"""WaveGAN-class networks on raw waveforms (Donahue et al. 2019), registered as the ``wavegan`` family.

Shape (1, S): mono clips of S samples, S = L0 * 4^k with a base length L0 in 16..63 (8,192 = 32 * 4^4,
16,384 = 16 * 4^5). G: z [+ a label embedding] -> a dense layer to (C0, L0) -> k transposed 1-D
convolutions, kernel 25 and stride 4 as in the paper, ReLU between, tanh at the end; channels halve
from model.g_width * 2^(k-1) down to model.g_width before the last layer (the paper's are 16x wider:
scaled down for a CPU). D mirrors it: k strided convolutions, kernel 25, LeakyReLU 0.2, phase shuffle
(the paper's n=2: each example's activations shifted by a random -2..2 samples, reflect-padded) after
every layer but the last, then a dense score [+ a projection of the label]. Normalisation follows
model.d_norm (spectral norm or none; the paper used none with WGAN-GP).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.errors import ConfigError
from .arch import Arch, register_arch
from .layers import ProjectionHead, maybe_sn, need_labels

KERNEL, STRIDE = 25, 4


def wave_plan(samples: int) -> tuple[int, int]:
    """(base length L0, up-sampling steps k) with samples = L0 * 4^k and 16 <= L0 < 64."""
    k, n = 0, int(samples)
    while n >= 64 and n % 4 == 0:
        n, k = n // 4, k + 1
    if not 16 <= n < 64 or k == 0:
        raise ConfigError(f"WaveGAN clips must be L0 * 4^k samples with 16 <= L0 < 64 (e.g. 4096, 8192, 16384), "
                          f"got {samples}; set audio.samples")
    return n, k


class PhaseShuffle(nn.Module):
    """Shift each example by a random whole number of samples in [-n, n], reflect-padding the edges.
    The shifts come from ``generator`` when the recipe sets one (exact resume), torch's default otherwise."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.generator: torch.Generator | None = None

    def forward(self, x: Tensor) -> Tensor:
        if self.n == 0 or not self.training:
            return x
        shifts = torch.randint(-self.n, self.n + 1, (x.shape[0],), generator=self.generator, device=x.device)
        padded = F.pad(x, (self.n, self.n), mode="reflect")
        idx = torch.arange(x.shape[-1], device=x.device) + self.n - shifts[:, None]     # (B, L)
        return padded.gather(2, idx[:, None, :].expand(-1, x.shape[1], -1))


def _widths(base: int, k: int) -> list[int]:
    return [base * 2 ** (k - 1 - i) for i in range(k)]     # channels entering each up-sampling layer


class WaveGenerator(nn.Module):
    def __init__(self, shape: tuple[int, ...], z_dim: int, width: int, num_classes: int = 0) -> None:
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        self.l0, k = wave_plan(shape[-1])
        ch = _widths(width, k)
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes else None
        self.fc = nn.Linear(z_dim * (2 if num_classes else 1), ch[0] * self.l0)
        ups = []
        for i in range(k):
            out = ch[i + 1] if i + 1 < k else 1
            ups.append(nn.ConvTranspose1d(ch[i], out, KERNEL, STRIDE, padding=11, output_padding=1))
        self.ups = nn.ModuleList(ups)
        self.c0 = ch[0]

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        need_labels(y, self.num_classes, "the WaveGAN generator")
        if self.num_classes:
            z = torch.cat([z, self.embed(y)], 1)
        h = F.relu(self.fc(z)).view(z.shape[0], self.c0, self.l0)            # (B, C0, L0)
        for i, up in enumerate(self.ups):
            h = up(h)
            h = torch.tanh(h) if i == len(self.ups) - 1 else F.relu(h)
        return h                                                              # (B, 1, S)


class WaveDiscriminator(nn.Module):
    def __init__(self, shape: tuple[int, ...], width: int, norm: str, num_classes: int = 0, shuffle: int = 2,
                 pack: int = 1) -> None:
        super().__init__()
        self.in_shape, self.pack, self.num_classes = tuple(shape), pack, num_classes
        l0, k = wave_plan(shape[-1])
        ch = list(reversed(_widths(width, k)))                                # width, 2 width, ...
        sn = norm == "spectral"
        convs, c_in = [], shape[0] * pack
        for c in ch:
            convs.append(maybe_sn(nn.Conv1d(c_in, c, KERNEL, STRIDE, padding=11), sn))
            c_in = c
        self.convs = nn.ModuleList(convs)
        self.shuffle = PhaseShuffle(shuffle)
        self.head = ProjectionHead(c_in * l0, num_classes, sn)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = x
        for i, conv in enumerate(self.convs):
            h = F.leaky_relu(conv(h), 0.2)
            if i < len(self.convs) - 1:
                h = self.shuffle(h)
        return self.head(h.flatten(1), y)


def _fits(shape: tuple[int, ...]) -> bool:
    if len(shape) != 2 or shape[0] != 1:
        return False
    try:
        wave_plan(shape[1])
    except ConfigError:
        return False
    return True


register_arch("wavegan", Arch(
    generator=lambda cfg, shape, k: WaveGenerator(shape, cfg.z_dim, cfg.g_width, k),
    discriminator=lambda cfg, shape, k: WaveDiscriminator(shape, cfg.d_width, cfg.d_norm, k, 2, cfg.pack),
    fits=_fits, needs="mono clips (1, L0 * 4^k samples)", auto=10))

__all__ = ["WaveGenerator", "WaveDiscriminator", "PhaseShuffle", "wave_plan"]
