"""Layers of the StyleGAN2 networks (Karras et al. 2020, "Analyzing and improving the image quality of StyleGAN").

- Equalised learning rate (Karras et al. 2018): weights are drawn from N(0, 1 / lr_mul) and scaled at run time by
  lr_mul / sqrt(fan_in), so Adam's per-parameter steps move every layer at the same relative speed. ``EqLinear`` and
  ``EqConv2d`` subclass nn.Linear / nn.Conv2d so that the engine's switches (channels_last, spectral norm) and the
  explore tools find them; with spectral norm the run-time scale is dropped (the norm already sets the scale).
- ``ModConv``: modulated convolution with weight demodulation (StyleGAN2 eq. 1-3).
- ``lrelu``: leaky ReLU (0.2) times sqrt(2), which keeps the second moment of a unit-Gaussian input.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

LRELU_GAIN = math.sqrt(2.0)


def lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


def normalize_2nd_moment(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Pixel norm of a vector (Karras et al. 2018): x / sqrt(mean(x^2)) over the feature axis. (N, D) -> (N, D)"""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class EqLinear(nn.Linear):
    """y = x @ (W * lr_mul / sqrt(in))^T + b * lr_mul, optionally followed by ``lrelu``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, lr_mul: float = 1.0,
                 bias_init: float = 0.0, act: bool = False, sn: bool = False) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.lr_mul, self.act = lr_mul, act
        self.scale = 1.0 if sn else lr_mul / math.sqrt(in_features)
        with torch.no_grad():
            self.weight.normal_(0.0, 1.0 if sn else 1.0 / lr_mul)
            if self.bias is not None:
                self.bias.fill_(bias_init / lr_mul)
        if sn:
            spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        b = None if self.bias is None else self.bias * self.lr_mul
        y = F.linear(x, self.weight * self.scale, b)
        return lrelu(y) if self.act else y


class EqConv2d(nn.Conv2d):
    """A stride-1 'same' convolution with equalised learning rate, optionally followed by ``lrelu``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, bias: bool = True, act: bool = False,
                 sn: bool = False) -> None:
        super().__init__(c_in, c_out, kernel, padding=kernel // 2, bias=bias)
        self.act = act
        self.scale = 1.0 if sn else 1.0 / math.sqrt(c_in * kernel * kernel)
        with torch.no_grad():
            self.weight.normal_(0.0, 1.0)
            if self.bias is not None:
                self.bias.zero_()
        if sn:
            spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        y = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)
        return lrelu(y) if self.act else y


class ModConv(nn.Module):
    """Modulated convolution (StyleGAN2 sec. 2.2): w' = s_i * w_ijk per sample, then with ``demod`` every output
    map's weights are divided by their norm, w'' = w' / sqrt(sum_ik w'^2 + eps), so unit-variance inputs give
    unit-variance outputs whatever the style. (N, C_in, H, W), w (N, w_dim) -> (N, C_out, H, W).

    ``grouped``: one grouped convolution with per-sample weights (the paper's fused form). Otherwise the
    equivalent form of the paper's eq. (2)-(3) applied to activations: scale the input by s, convolve with the
    shared weight, scale the output by the demodulation coefficients. Both compute the same function; the shared
    weight form is the default, as it measured faster on CPU (docs/architecture.md).
    """

    grouped = False

    def __init__(self, c_in: int, c_out: int, kernel: int, w_dim: int, demod: bool = True) -> None:
        super().__init__()
        self.c_in, self.c_out, self.kernel, self.demod = c_in, c_out, kernel, demod
        self.affine = EqLinear(w_dim, c_in, bias_init=1.0)   # styles start at 1: the plain convolution
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.scale = 1.0 / math.sqrt(c_in * kernel * kernel)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        s = self.affine(w)                                                # (N, C_in)
        weight = self.weight * self.scale                                 # (C_out, C_in, k, k)
        return self._grouped(x, s, weight) if self.grouped else self._shared(x, s, weight)

    def _shared(self, x: Tensor, s: Tensor, weight: Tensor) -> Tensor:
        y = F.conv2d(x * s[:, :, None, None], weight, padding=self.kernel // 2)   # (N, C_out, H, W)
        if self.demod:
            # sum_ik (s_i w_ijk)^2 = (s^2) @ (sum_k w_ijk^2)^T
            d = (s.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8).rsqrt()   # (N, C_out)
            y = y * d[:, :, None, None]
        return y

    def _grouped(self, x: Tensor, s: Tensor, weight: Tensor) -> Tensor:
        n, _, h, w_ = x.shape
        wt = weight.unsqueeze(0) * s[:, None, :, None, None]              # (N, C_out, C_in, k, k)
        if self.demod:
            wt = wt * (wt.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8).rsqrt()
        y = F.conv2d(x.reshape(1, n * self.c_in, h, w_), wt.reshape(n * self.c_out, self.c_in, self.kernel,
                                                                     self.kernel),
                     padding=self.kernel // 2, groups=n)
        return y.reshape(n, self.c_out, h, w_)


class StyleLayer(nn.Module):
    """Modulated 3x3 convolution (after a 2x bilinear up-sampling when ``up``), per-pixel noise with a learned
    strength (starting at 0, as in StyleGAN2), bias and ``lrelu``.

    Noise: fresh N(0, 1) per call in train mode (torch's global generator, which the run seeds and checkpoints);
    in eval mode the fixed map ``noise_const`` drawn at construction and saved with the weights, so samples are a
    function of the latents alone. ``noise_mode`` forces "random", "const" or "none".
    """

    def __init__(self, c_in: int, c_out: int, w_dim: int, side: int, up: bool = False) -> None:
        super().__init__()
        self.up = up
        self.conv = ModConv(c_in, c_out, 3, w_dim)
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.randn(1, 1, side, side))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.noise_mode: str | None = None

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)   # (N, C_in, 2H, 2W)
        y = self.conv(x, w)                                                  # (N, C_out, H, W)
        mode = self.noise_mode or ("random" if self.training else "const")
        if mode == "random":
            y = y + torch.randn(y.shape[0], 1, *y.shape[2:], device=y.device, dtype=y.dtype) * self.noise_strength
        elif mode == "const":
            y = y + self.noise_const * self.noise_strength
        return lrelu(y + self.bias[:, None, None])


class ToRGB(nn.Module):
    """Modulated 1x1 convolution to image channels, not demodulated (StyleGAN2 fig. 7), plus a bias."""

    def __init__(self, c_in: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModConv(c_in, channels, 1, w_dim, demod=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return self.conv(x, w) + self.bias[:, None, None]


class ResBlockD(nn.Module):
    """StyleGAN2's residual discriminator block: 3x3 conv, 3x3 conv, 2x average-pool down-sampling, plus a
    down-sampled 1x1 skip without bias; the sum is scaled by 1/sqrt(2). (N, C_in, H, W) -> (N, C_out, H/2, W/2).
    (StyleGAN2 blurs with a [1, 3, 3, 1] filter before sub-sampling; plain 2x2 averaging is used here.)"""

    def __init__(self, c_in: int, c_out: int, sn: bool = False) -> None:
        super().__init__()
        self.conv0 = EqConv2d(c_in, c_in, 3, act=True, sn=sn)
        self.conv1 = EqConv2d(c_in, c_out, 3, act=True, sn=sn)
        self.skip = EqConv2d(c_in, c_out, 1, bias=False, sn=sn)

    def forward(self, x: Tensor) -> Tensor:
        skip = self.skip(F.avg_pool2d(x, 2))
        h = F.avg_pool2d(self.conv1(self.conv0(x)), 2)
        return (h + skip) * (1.0 / math.sqrt(2.0))


__all__ = ["EqLinear", "EqConv2d", "ModConv", "StyleLayer", "ToRGB", "ResBlockD", "lrelu", "normalize_2nd_moment"]
