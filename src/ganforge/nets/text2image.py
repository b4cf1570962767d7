"""Networks of the text-to-image recipe (recipes/text2image.py).

- ``TextEncoder``: word embeddings, a bidirectional GRU, and a linear map of its two final states to a sentence
  embedding (the sentence half of AttnGAN's text encoder, Xu et al. 2018). Pretrained against ``ImageEncoder``
  with a matching loss, then frozen.
- ``ImageEncoder``: three stride-2 convolutions and a linear map to the same space; used only while pretraining.
- ``Text2ImageG``: conditioning augmentation (Zhang et al. 2017, StackGAN): the sentence embedding gives a mean and
  log-variance and G sees c = mu + sigma * eps (mu alone when sampling), whose KL divergence to N(0, I) G's loss
  adds; then a DCGAN generator from [z, c]: a linear map to 4x4, 4x4 stride-2 transposed convolutions halving the
  channels, each followed by batch norm whose scale and shift come from c and ReLU, the last one to RGB, tanh.
- ``Text2ImageD``: stride-2 4x4 convolutions with spectral norm and LeakyReLU 0.2 down to 4x4, flattened (phi keeps
  where things are, which captions name), and a projection head (Miyato & Koyama 2018) with the sentence embedding
  e in place of a class: score = w . phi + <V e, phi>.
Convolutions and linear maps of G and D start from DCGAN's N(0, 0.02); G's last bias starts at -2, so a fresh G
draws near-black images (the background of captioned-mnist) instead of grey. Norms: G's batch norm can be switched
off (model.g_norm=none); D takes spectral norm (model.d_norm=spectral), batch norm after every convolution but the
first (batch, DCGAN's) or none. model.attention=S adds a SAGAN block (nets/attention.py) at the S x S maps of both.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm
from torch.nn.utils.rnn import pack_padded_sequence

from ..core.errors import ConfigError
from .attention import SelfAttention, check_side
from .layers import dcgan_init_


def up_levels(size: int) -> int:
    """Doublings from 4x4 to ``size``; the side must be 4 times a power of two, at least 8."""
    k = size // 4
    if size < 8 or size % 4 or k & (k - 1):
        raise ConfigError(f"text2image.size must be 8, 16, 32, 64 ..., got {size}")
    return k.bit_length() - 1


class TextEncoder(nn.Module):
    def __init__(self, vocab: int, embed: int = 32, hidden: int = 64, dim: int = 64) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embed, padding_idx=0)
        self.gru = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, dim)

    def forward(self, tokens: Tensor) -> Tensor:
        lengths = (tokens != 0).sum(1).clamp_min(1).cpu()                        # (B,)
        packed = pack_padded_sequence(self.embed(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.gru(packed)                                                  # (2, B, hidden)
        return self.out(torch.cat([h[0], h[1]], 1))                             # (B, dim)


class ImageEncoder(nn.Module):
    def __init__(self, size: int, dim: int = 64, width: int = 32) -> None:
        super().__init__()
        layers, c = [], 3
        for i in range(3):
            layers += [nn.Conv2d(c, width * 2 ** i, 4, 2, 1), nn.LeakyReLU(0.2)]
            c = width * 2 ** i
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.out = nn.Linear(4 * c, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.body(x))                                            # (B, dim)


class CondBN(nn.Module):
    """Batch norm whose scale (1 + gamma) and shift (beta) are linear in the condition c."""

    def __init__(self, channels: int, c_dim: int, norm: str = "batch") -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False) if norm == "batch" else nn.Identity()
        self.affine = nn.Linear(c_dim, 2 * channels)
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        gamma, beta = self.affine(c).chunk(2, 1)                                 # (B, C) each
        return self.bn(x) * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]


class Text2ImageG(nn.Module):
    def __init__(self, z_dim: int, text_dim: int, c_dim: int = 32, width: int = 32, size: int = 32,
                 norm: str = "batch", attention: int = 0) -> None:
        super().__init__()
        k = up_levels(size)
        chans = [width * 2 ** (k - 1 - i) for i in range(k)]                      # 4w 2w w at 4, 8, 16 (size 32)
        sides = [4 * 2 ** i for i in range(k)]
        check_side(attention, sides, "G")
        self.attn_at = sides.index(attention) if attention else -1
        self.attn = SelfAttention(chans[self.attn_at]) if attention else None
        self.ca = nn.Linear(text_dim, 2 * c_dim)
        self.start = nn.Linear(z_dim + c_dim, chans[0] * 16, bias=False)   # a per-position bias would drown z in BN
        self.norms = nn.ModuleList([CondBN(chans[0], c_dim, norm)])
        self.ups = nn.ModuleList()
        for a, b in zip(chans, chans[1:]):
            self.ups.append(nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False))
            self.norms.append(CondBN(b, c_dim, norm))
        self.to_rgb = nn.ConvTranspose2d(chans[-1], 3, 4, 2, 1)
        for m in [self.start, *self.ups, self.to_rgb]:
            dcgan_init_(m)
        nn.init.constant_(self.to_rgb.bias, -2.0)                               # tanh(-2) = -0.96

    def condition(self, e: Tensor, gen: torch.Generator | None = None, noise: bool = True) -> tuple[Tensor, Tensor]:
        """(c, KL(N(mu, sigma^2) || N(0, I)) averaged over the batch); c = mu when ``noise`` is off."""
        mu, logvar = self.ca(e).chunk(2, 1)
        kl = 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum(1).mean()
        if not noise:
            return mu, kl
        eps = torch.randn(mu.shape, generator=gen, device=mu.device)
        return mu + (0.5 * logvar).exp() * eps, kl

    def forward(self, z: Tensor, c: Tensor) -> Tensor:
        h = self.start(torch.cat([z, c], 1)).view(z.shape[0], -1, 4, 4)           # (B, 4w, 4, 4) at size 32
        h = self._attend(0, F.relu(self.norms[0](h, c)))
        for i, (up, norm) in enumerate(zip(self.ups, self.norms[1:]), start=1):
            h = self._attend(i, F.relu(norm(up(h), c)))                          # (B, C / 2, 2H, 2W)
        return torch.tanh(self.to_rgb(h))                                        # (B, 3, S, S)


    def _attend(self, i: int, h: Tensor) -> Tensor:
        return self.attn(h) if i == self.attn_at else h


class Text2ImageD(nn.Module):
    def __init__(self, text_dim: int, width: int = 32, size: int = 32, norm: str = "spectral",
                 attention: int = 0) -> None:
        super().__init__()
        k = up_levels(size)
        check_side(attention, [size // 2 ** (i + 1) for i in range(k)], "D")
        sn = spectral_norm if norm == "spectral" else (lambda m: m)
        layers, c = [], 3
        for i in range(k):
            layers.append(sn(dcgan_init_(nn.Conv2d(c, width * 2 ** i, 4, 2, 1))))
            if norm == "batch" and i > 0:
                layers.append(nn.BatchNorm2d(width * 2 ** i))
            layers.append(nn.LeakyReLU(0.2))
            if attention == size // 2 ** (i + 1):
                layers.append(SelfAttention(width * 2 ** i, sn))
            c = width * 2 ** i
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.head = sn(dcgan_init_(nn.Linear(c * 16, 1)))
        self.embed = sn(dcgan_init_(nn.Linear(text_dim, c * 16, bias=False)))

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)                                                      # (B, C * 4 * 4)

    def score(self, phi: Tensor, e: Tensor) -> Tensor:
        return self.head(phi).squeeze(1) + (self.embed(e) * phi).sum(1)          # (B,) logits

    def forward(self, x: Tensor, e: Tensor) -> Tensor:
        return self.score(self.features(x), e)


__all__ = ["TextEncoder", "ImageEncoder", "CondBN", "Text2ImageG", "Text2ImageD", "up_levels"]
