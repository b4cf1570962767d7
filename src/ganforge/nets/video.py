"""Networks for clips (N, C, T, H, W) in [-1, 1].

- ``MoCoGenerator`` (MoCoGAN, Tulyakov et al. 2018): a clip's latent is a content code z_c (fixed for the clip) and
  one motion code per frame, z_m(t) = GRU(eps_t, h_{t-1}) with h_0 = a linear map of a noise vector z_0 and eps_t
  fresh Gaussian noise each frame. A frame generator shared over time (the DCGAN generator, nets/dcgan.py) draws
  frame t from [z_c, z_m(t)] (and the class embedding when conditional). Any number of frames can be drawn: the GRU
  runs on for as many eps_t as it is given.
- ``Conv3dGenerator`` (the TGAN / VGAN-like baseline, Vondrick et al. 2016; Saito et al. 2017): one latent z through
  a dense layer to a (4w, T/8, H/8, W/8) block and three transposed 3-D convolutions (kernel 4, stride 2) that double
  time and space, batch norm and ReLU between, tanh at the end. Its clips have exactly the trained length.
- ``VideoDiscriminator`` (MoCoGAN's D_V): three 3-D convolutions (kernel 4, stride 2, padding 1: time and space
  halve), LeakyReLU 0.2, spectral norm with model.d_norm=spectral, with model.mbstd > 0 a minibatch standard
  deviation map (Karras et al. 2018), then a projection head (Miyato & Koyama 2018)
  for class-conditional runs. The image discriminator D_I on single frames is the DCGAN discriminator.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..core.errors import ConfigError
from .dcgan import DCGANGenerator
from .layers import MinibatchStdDev, ProjectionHead, dcgan_init_, maybe_sn, need_labels


class MoCoGenerator(nn.Module):
    def __init__(self, channels: int, size: int, content: int, motion: int, noise: int, width: int,
                 num_classes: int = 0, norm: str = "batch") -> None:
        super().__init__()
        self.content, self.motion, self.noise, self.num_classes = content, motion, noise, num_classes
        self.z_dim = content + motion              # z = [z_c, z_0]; eps (N, T, noise) separately
        self.h0 = nn.Linear(motion, motion)
        self.gru = nn.GRUCell(noise, motion)
        self.frame = DCGANGenerator((channels, size, size), content + motion, width, norm, num_classes)

    def motion_codes(self, z0: Tensor, eps: Tensor) -> Tensor:
        """(N, motion), (N, T, noise) -> (N, T, motion)."""
        h, out = torch.tanh(self.h0(z0)), []
        for t in range(eps.shape[1]):
            h = self.gru(eps[:, t], h)
            out.append(h)
        return torch.stack(out, 1)

    def forward(self, z: Tensor, eps: Tensor, y: Tensor | None = None) -> Tensor:
        N, T = eps.shape[:2]
        zc, zm = z[:, :self.content], self.motion_codes(z[:, self.content:], eps)   # (N, c), (N, T, m)
        codes = torch.cat([zc[:, None].expand(-1, T, -1), zm], 2).reshape(N * T, -1)
        yy = None if y is None else y[:, None].expand(-1, T).reshape(-1)
        frames = self.frame(codes, yy)                                                # (N*T, C, H, W)
        return frames.view(N, T, *frames.shape[1:]).transpose(1, 2)                  # (N, C, T, H, W)


class Conv3dGenerator(nn.Module):
    def __init__(self, channels: int, frames: int, size: int, z_dim: int, width: int, num_classes: int = 0) -> None:
        super().__init__()
        if frames % 8 or size % 8:
            raise ConfigError(f"the 3-D generator needs video.frames and video.size divisible by 8, got {frames} and "
                              f"{size}")
        self.z_dim, self.num_classes, self.frames = z_dim, num_classes, frames
        self.base = (4 * width, frames // 8, size // 8, size // 8)
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes else None
        cells = (frames // 8) * (size // 8) ** 2
        self.fc = dcgan_init_(nn.Linear(z_dim * (2 if num_classes else 1), 4 * width * cells))
        widths = [4 * width, 2 * width, width]
        self.norms = nn.ModuleList(nn.BatchNorm3d(c) for c in widths)
        self.ups = nn.ModuleList(dcgan_init_(nn.ConvTranspose3d(a, b, 4, 2, 1, bias=False))
                                 for a, b in zip(widths, widths[1:]))
        self.out = dcgan_init_(nn.ConvTranspose3d(width, channels, 4, 2, 1))

    def forward(self, z: Tensor, eps: Tensor | None = None, y: Tensor | None = None) -> Tensor:
        need_labels(y, self.num_classes, "generator")
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], 1)
        h = torch.relu(self.norms[0](self.fc(z).view(z.shape[0], *self.base)))      # (N, 4w, T/8, H/8, W/8)
        for up, norm in zip(self.ups, self.norms[1:]):
            h = torch.relu(norm(up(h)))                                              # time and space double
        return torch.tanh(self.out(h))                                               # (N, C, T, H, W)


class VideoDiscriminator(nn.Module):
    def __init__(self, channels: int, frames: int, size: int, width: int, norm: str = "spectral",
                 num_classes: int = 0, mbstd: int = 0) -> None:
        super().__init__()
        if frames % 8 or size % 8:
            raise ConfigError(f"the video discriminator needs video.frames and video.size divisible by 8, got "
                              f"{frames} and {size}")
        sn, widths = norm == "spectral", [channels, width, 2 * width, 4 * width]
        self.convs = nn.ModuleList(maybe_sn(dcgan_init_(nn.Conv3d(a, b, 4, 2, 1)), sn)
                                   for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm3d(b) if norm == "batch" and i else nn.Identity()
                                   for i, b in enumerate(widths[1:]))
        self.in_shape = (channels, frames, size, size)
        self.mbstd = MinibatchStdDev(mbstd) if mbstd > 0 else None
        self.head = ProjectionHead((4 * width + (mbstd > 0)) * (frames // 8) * (size // 8) ** 2, num_classes, sn)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"video discriminator expects clips (N, {', '.join(map(str, self.in_shape))}), got "
                             f"{tuple(x.shape)}")
        h = x
        for conv, norm in zip(self.convs, self.norms):
            h = nn.functional.leaky_relu(norm(conv(h)), 0.2)                          # time and space halve
        if self.mbstd is not None:
            h = self.mbstd(h)                                                         # + the batch's spread
        return self.head(h.flatten(1), y)                                             # (N,)


__all__ = ["MoCoGenerator", "Conv3dGenerator", "VideoDiscriminator"]
