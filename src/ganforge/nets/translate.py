"""Networks of the translation recipes (recipes/translate.py, recipes/cyclegan.py).

- ``UNet`` (Ronneberger et al. 2015, as pix2pix uses it: Isola et al. 2017): an encoder of 4x4 stride-2
  convolutions down to 1x1 (LeakyReLU 0.2), a decoder of 4x4 stride-2 transposed convolutions (ReLU) back up, each
  decoder level joined with the encoder level of the same size (skip connections), tanh out. No norm on the first
  encoder layer and at the 1x1 bottleneck (a norm over one pixel would zero it).
- ``ResnetGenerator`` (Johnson et al. 2016, CycleGAN's generator): a 7x7 convolution, two stride-2 down-samplings,
  ``blocks`` residual blocks, two up-samplings, a 7x7 convolution, tanh. Reflection padding as published.
- ``PatchDiscriminator`` (pix2pix's PatchGAN): 4x4 convolutions, ``layers`` of them stride 2, then two stride 1; one
  logit per overlapping patch, (N, 1, h, w). Its receptive field is 16 pixels for layers=1, 34 for 2, 70 for 3.
- ``ImagePool`` (Shrivastava et al. 2017, as CycleGAN uses it): a buffer of past generated images D also learns
  from. Its images and count are buffers, so checkpoints keep them and a resumed run draws the same images.

Norms: ``instance`` (affine-free InstanceNorm, CycleGAN's), ``batch`` or ``none``.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..core.errors import ConfigError

NORMS = ("instance", "batch", "none")


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"translate.norm = {kind!r} is not one of: {', '.join(NORMS)}")


def unet_depth(size: int) -> int:
    """Stride-2 levels that take a size x size image down to 1x1; the side must be a power of two >= 8."""
    if size < 8 or size & (size - 1):
        raise ConfigError(f"the U-Net needs a square image whose side is a power of two, at least 8; got {size} "
                          "(set translate.size to 32, 64, 128 ...)")
    return size.bit_length() - 1


class UNet(nn.Module):
    def __init__(self, c_in: int, c_out: int, size: int, width: int = 32, max_width: int = 256,
                 norm: str = "instance") -> None:
        super().__init__()
        depth = unet_depth(size)
        widths = [min(width * 2 ** i, max_width) for i in range(depth)]       # encoder outputs, 1 per level
        self.down = nn.ModuleList()
        prev = c_in
        for i, w in enumerate(widths):
            first, last = i == 0, i == depth - 1
            layers: list[nn.Module] = [] if first else [nn.LeakyReLU(0.2)]
            layers.append(nn.Conv2d(prev, w, 4, 2, 1, bias=first or last or norm != "batch"))
            if not (first or last):
                layers.append(norm_layer(norm, w))
            self.down.append(nn.Sequential(*layers))
            prev = w
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):          # level i up-samples to the size of encoder level i - 1
            c_in_up = widths[i] if i == depth - 1 else 2 * widths[i]
            out = c_out if i == 0 else widths[i - 1]
            layers = [nn.ReLU(), nn.ConvTranspose2d(c_in_up, out, 4, 2, 1)]
            layers += [nn.Tanh()] if i == 0 else [norm_layer(norm, out)]
            self.up.append(nn.Sequential(*layers))

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)                       # (N, w_i, S / 2^(i+1), S / 2^(i+1))
        skips.pop()                               # the bottleneck is x itself
        for layer in self.up:
            x = layer(x)
            if skips:
                x = torch.cat([x, skips.pop()], 1)
        return x


class ResBlock(nn.Module):
    def __init__(self, c: int, norm: str) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), norm_layer(norm, c), nn.ReLU(),
                                  nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), norm_layer(norm, c))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    def __init__(self, c_in: int, c_out: int, size: int, width: int = 32, blocks: int = 6,
                 norm: str = "instance") -> None:
        super().__init__()
        if size % 4:
            raise ConfigError(f"the ResNet generator needs an image side divisible by 4, got {size}")
        w = width
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(c_in, w, 7), norm_layer(norm, w), nn.ReLU()]
        for k in (1, 2):
            layers += [nn.Conv2d(w * k, w * 2 * k, 3, 2, 1), norm_layer(norm, w * 2 * k), nn.ReLU()]
        layers += [ResBlock(4 * w, norm) for _ in range(blocks)]
        for k in (4, 2):
            layers += [nn.ConvTranspose2d(w * k, w * k // 2, 3, 2, 1, output_padding=1),
                       norm_layer(norm, w * k // 2), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, c_out, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    def __init__(self, c_in: int, width: int = 32, layers: int = 2, norm: str = "instance") -> None:
        super().__init__()
        seq: list[nn.Module] = [nn.Conv2d(c_in, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        w = width
        for i in range(1, layers + 1):            # layers - 1 more stride-2 convolutions, then one stride 1
            out = width * min(2 ** i, 8)
            seq += [nn.Conv2d(w, out, 4, 2 if i < layers else 1, 1), norm_layer(norm, out), nn.LeakyReLU(0.2)]
            w = out
        seq.append(nn.Conv2d(w, 1, 4, 1, 1))
        self.net = nn.Sequential(*seq)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)                        # (N, 1, h, w) patch logits


class ImagePool(nn.Module):
    """Past generated images: while fewer than ``size`` are stored each new one is kept and returned; then each new
    image, with probability 1/2, is returned as it is, else swapped with a random stored one which is returned."""

    def __init__(self, size: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(max(size, 1), *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, fake: Tensor, gen: torch.Generator | None) -> Tensor:
        if self.size == 0:
            return fake
        out = fake.clone()
        coins = torch.rand(len(fake), generator=gen, device=fake.device)
        slots = torch.randint(0, self.size, (len(fake),), generator=gen, device=fake.device)
        for i in range(len(fake)):
            n = int(self.count)
            if n < self.size:
                self.images[n] = fake[i]
                self.count += 1
            elif coins[i] < 0.5:
                j = int(slots[i])
                out[i] = self.images[j].clone()
                self.images[j] = fake[i]
        return out


__all__ = ["UNet", "ResnetGenerator", "PatchDiscriminator", "ImagePool", "NORMS", "norm_layer", "unet_depth"]
