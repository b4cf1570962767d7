"""The two real-vs-generated image detectors, both giving a logit (> 0: generated) per image.

- ``cnn``: a small convolutional classifier on the pixels (three 3x3 blocks, the last two strided, global
  average and max pooling, one linear layer). Wang et al. (2020) showed that a plain CNN trained on one GAN's
  images, with blur and JPEG augmentation, carries over to other GANs; this is that idea at CPU size.
- ``spectrum``: Durall et al. (2020): the azimuthally averaged log power spectrum of the grey image (one value
  per integer radius from the centre of the shifted 2-D FFT), standardised with the training set's mean and
  std, then logistic regression. Up-sampling layers leave periodic traces at high frequencies that this
  one-dimensional profile shows.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

KINDS = ("cnn", "spectrum")


def grey(x: Tensor) -> Tensor:
    """(N, C, H, W) in [0, 1] -> (N, H, W), ITU-R BT.601 luma for colour."""
    if x.shape[1] == 3:
        return 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    return x[:, 0]


def n_bins(h: int, w: int) -> int:
    """Radii 0 .. the corner of the shifted spectrum, rounded to integers."""
    return round(((h // 2) ** 2 + (w // 2) ** 2) ** 0.5) + 1


def radial_spectrum(x: Tensor) -> Tensor:
    """(N, C, H, W) in [0, 1] -> (N, R): mean log power per integer radius out to the corners, R = n_bins(H, W)."""
    g = grey(x)
    g = g - g.mean((1, 2), keepdim=True)
    power = torch.fft.fftshift(torch.fft.fft2(g).abs().pow(2), dim=(-2, -1))
    h, w = g.shape[-2:]
    yy, xx = torch.meshgrid(torch.arange(h) - h // 2, torch.arange(w) - w // 2, indexing="ij")
    r = torch.sqrt(yy.float() ** 2 + xx.float() ** 2).round().long().flatten()
    bins = n_bins(h, w)
    logp = torch.log(power.flatten(1) + 1e-8)
    total = torch.zeros(len(x), bins).index_add_(1, r, logp)
    return total / torch.bincount(r, minlength=bins).clamp_min(1)


class SpectrumDetector(nn.Module):
    def __init__(self, bins: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(bins))
        self.register_buffer("std", torch.ones(bins))
        self.linear = nn.Linear(bins, 1)

    def fit_scaler(self, x: Tensor) -> None:
        f = radial_spectrum(x)
        self.mean.copy_(f.mean(0))
        self.std.copy_(f.std(0).clamp_min(1e-4))

    def forward(self, x: Tensor) -> Tensor:
        return self.linear((radial_spectrum(x) - self.mean) / self.std).squeeze(1)


class CNNDetector(nn.Module):
    def __init__(self, channels: int, width: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1), nn.LeakyReLU(0.2))
        self.head = nn.Linear(8 * width, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.body(x * 2 - 1)
        return self.head(torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)).squeeze(1)


def build(kind: str, shape: list[int], width: int = 32) -> nn.Module:
    """The detector ``kind`` for images of ``shape`` (C, H, W)."""
    if kind == "cnn":
        return CNNDetector(shape[0], width)
    return SpectrumDetector(n_bins(shape[1], shape[2]))


__all__ = ["KINDS", "build", "radial_spectrum", "CNNDetector", "SpectrumDetector"]
