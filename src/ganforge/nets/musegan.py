"""Networks for multi-track piano-rolls (K tracks, T = bars * S steps, P pitches): the MuseGAN-class generator and
discriminator (Dong et al. 2018, "MuseGAN"; binarisation after Dong & Yang 2018, "BinaryMuseGAN"), and the
frame LSTM of the maximum-likelihood baseline.

Generator (the paper's hybrid model): the latent z (N, (2 + 2K) * d) is four kinds of part, each of d numbers:
a shared time-independent part, a shared time-dependent part, and per track a private time-independent and a
private time-dependent part. A temporal network (d -> hidden -> bars * d, ReLU) turns each time-dependent part
into one vector per bar (one network shared, one per track). Per track, a bar generator maps its four d-vectors
of each bar through a dense layer to (4w, S/4, P/12), a transposed convolution over time (kernel and stride 4) to
(2w, S, P/12) and one over pitch (kernel and stride 12, one octave) to the bar (S, P), each written as a dense map
per position (kernel = stride, so that is the same function); batch norm and ReLU
between. ``voicing`` says what a track plays at a step: ``poly`` (any set of pitches: each cell a sigmoid, as in
MuseGAN) or ``mono`` (one pitch or a rest: a softmax over the P pitches and a rest logit, read from the bar's
features at that step; for voices, as in chorales, where ``poly`` lets G sound several notes in one voice).
Binarisation (``binarize``, in training only; recipes/music.py draws samples' 0 / 1 cells): ``none`` (D sees
probabilities), ``hard`` (deterministic: 1 where p > 0.5; mono: the most probable pitch or rest) or ``bernoulli``
(stochastic: 1 with probability p; mono: one draw from the softmax), both with the straight-through estimator (the
gradient of the output is passed to p).

Discriminator: the tracks, and their onsets (1 where a cell sounds and the step before did not, so D sees where
notes start and how long they last), are the channels of a 3-D convolution over (bars, steps, pitches): pitch
(kernel and stride 12, then P/12), time (kernel and stride 4, then S/4), bars (all of them) with widths w, 2w, 2w,
4w, 4w, LeakyReLU 0.2, then a dense score. Spectral norm with model.d_norm=spectral; packing multiplies the channels.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.errors import ConfigError
from .layers import maybe_sn

BINARIZE = ("none", "hard", "bernoulli")
VOICING = ("poly", "mono")
OUT_BIAS = -3.0   # G's last bias starts at sigmoid^-1(0.05): rolls are sparse (2% of chorale cells sound), not half on


def check_shape(bars: int, steps: int, pitches: int) -> None:
    if steps % 4 or pitches % 12 or bars < 1:
        raise ConfigError(f"MuseGAN networks need steps per bar divisible by 4 and pitches by 12, got {steps} "
                          f"steps and {pitches} pitches (set music.steps_per_beat and music.pitches)")


class Temporal(nn.Module):
    def __init__(self, d: int, bars: int, hidden: int) -> None:
        super().__init__()
        self.bars, self.d = bars, d
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, bars * d))

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], self.bars, self.d)                     # (B, bars, d)


class BarGenerator(nn.Module):
    """The two up-samplings have kernel = stride, so each is one dense map per position (written as nn.Linear: the
    same function as nn.ConvTranspose2d, and it keeps the engine's channels_last switch, engine/speed.py, away)."""

    def __init__(self, d: int, steps: int, pitches: int, width: int, rest: bool = False) -> None:
        super().__init__()
        self.c, self.t, self.o, self.w = 4 * width, steps // 4, pitches // 12, width
        self.fc = nn.Linear(4 * d, self.t * self.o * self.c)
        self.bn0 = nn.BatchNorm1d(self.c)
        self.up_time = nn.Linear(self.c, 2 * width * 4)
        self.bn1 = nn.BatchNorm1d(2 * width)
        self.up_pitch = nn.Linear(2 * width, 12)
        nn.init.constant_(self.up_pitch.bias, OUT_BIAS)
        self.rest = nn.Linear(self.o * 2 * width, 1) if rest else None   # mono: the logit of silence at a step

    def forward(self, h: Tensor) -> Tensor:
        M, t, o, w2 = h.shape[0], self.t, self.o, 2 * self.w
        x = F.relu(self.bn0(self.fc(h).view(-1, self.c)))                           # (M*t*o, 4w)
        x = self.up_time(x).view(M, t, o, w2, 4).permute(0, 1, 4, 2, 3)             # (M, t, 4, o, 2w)
        x = F.relu(self.bn1(x.reshape(-1, w2)))                                     # (M*S*o, 2w)
        logits = self.up_pitch(x).view(M, t * 4, o * 12)                            # (M, S, P)
        if self.rest is None:
            return logits
        return torch.cat([logits, self.rest(x.view(M * t * 4, o * w2)).view(M, t * 4, 1)], 2)   # (M, S, P + 1)


class MuseGenerator(nn.Module):
    def __init__(self, tracks: int, bars: int, steps: int, pitches: int, d: int, width: int,
                 binarize: str = "none", voicing: str = "poly") -> None:
        super().__init__()
        check_shape(bars, steps, pitches)
        self.tracks, self.bars, self.steps, self.d, self.binarize = tracks, bars, steps, d, binarize
        self.mono = voicing == "mono"
        self.z_dim = (2 + 2 * tracks) * d
        self.shared_time = Temporal(d, bars, 4 * d)
        self.private_time = nn.ModuleList(Temporal(d, bars, 4 * d) for _ in range(tracks))
        self.bar = nn.ModuleList(BarGenerator(d, steps, pitches, width, self.mono) for _ in range(tracks))
        self.generator: torch.Generator | None = None    # the recipe's noise, for Bernoulli binarisation

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        B, K, d, bars = z.shape[0], self.tracks, self.d, self.bars
        shared, shared_t = z[:, :d], self.shared_time(z[:, d:2 * d])                # (B, d), (B, bars, d)
        private = z[:, 2 * d:].view(B, 2, K, d)                                      # time-independent, -dependent
        out = []
        for k in range(K):
            parts = [shared[:, None].expand(-1, bars, -1), shared_t, private[:, 0, k, None].expand(-1, bars, -1),
                     self.private_time[k](private[:, 1, k])]
            h = torch.cat(parts, 2).reshape(B * bars, 4 * d)
            out.append(self.bar[k](h).view(B, bars * self.steps, -1))                # (B, T, P)
        logits = torch.stack(out, 1)                                                 # (B, K, T, P [+ 1])
        p = logits.softmax(-1) if self.mono else torch.sigmoid(logits)
        if self.training:
            p = binarize(p, self.binarize, self.generator, self.mono)
        return p[..., :-1] if self.mono else p                                      # (B, K, T, P)


def choose(p: Tensor, u: Tensor | None = None) -> Tensor:
    """One-hot rows from categorical rows p (..., C): the most probable class, or with uniforms u (...) the class
    whose cumulative probability first exceeds u (one draw per row)."""
    if u is None:
        idx = p.argmax(-1)
    else:
        idx = (p.cumsum(-1) < u.unsqueeze(-1)).sum(-1).clamp_max(p.shape[-1] - 1)
    return F.one_hot(idx, p.shape[-1]).to(p.dtype)


def binarize(p: Tensor, mode: str, generator: torch.Generator | None = None, mono: bool = False) -> Tensor:
    """0 / 1 values in the forward pass, p's gradient in the backward pass (straight-through); ``none``: p. With
    ``mono`` the last axis of p is a softmax, and one of its entries is 1."""
    if mode == "none":
        return p
    draw = (lambda shape: torch.rand(shape, generator=generator, device=p.device))
    if mono:
        hard = choose(p.detach(), None if mode == "hard" else draw(p.shape[:-1]))
    elif mode == "hard":
        hard = (p > 0.5).to(p.dtype)
    else:
        hard = (draw(p.shape) < p).to(p.dtype)
    return p + (hard - p).detach()


class MuseDiscriminator(nn.Module):
    def __init__(self, tracks: int, bars: int, steps: int, pitches: int, width: int, norm: str = "spectral",
                 pack: int = 1) -> None:
        super().__init__()
        check_shape(bars, steps, pitches)
        self.bars, self.steps = bars, steps
        sn, w = norm == "spectral", width
        spec = [(2 * tracks * pack, w, (1, 1, 12)), (w, 2 * w, (1, 1, pitches // 12)), (2 * w, 2 * w, (1, 4, 1)),
                (2 * w, 4 * w, (1, steps // 4, 1)), (4 * w, 4 * w, (bars, 1, 1))]
        self.convs = nn.ModuleList(maybe_sn(nn.Conv3d(i, o, k, k), sn) for i, o, k in spec)
        self.head = maybe_sn(nn.Linear(4 * w, 1), sn)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        B, C, T, P = x.shape
        onsets = F.relu(x - F.pad(x, (0, 0, 1, 0))[:, :, :-1])                      # where notes start
        h = torch.cat([x, onsets], 1).view(B, 2 * C, self.bars, self.steps, P)      # (B, 2K, bars, S, P)
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
        return self.head(h.flatten(1)).squeeze(1)                                    # (B,)


class FrameLSTM(nn.Module):
    """The baseline: p(frame_t | frames before t) = prod over (track, pitch) of Bernoulli(sigmoid(logit)) (poly), or
    prod over tracks of a softmax over the P pitches and a rest (mono: K * (P + 1) logits), an LSTM over the
    flattened frames (K * P values of 0 / 1 per step), teacher-forced in training, a zero frame first."""

    def __init__(self, tracks: int, pitches: int, hidden: int, voicing: str = "poly") -> None:
        super().__init__()
        self.tracks, self.pitches, self.width = tracks, pitches, tracks * pitches
        self.mono = voicing == "mono"
        self.inp = nn.Linear(self.width, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, tracks * (pitches + 1) if self.mono else self.width)

    def forward(self, x: Tensor) -> Tensor:
        """Rolls (B, K, T, P) -> logits (B, T, K * P), or (B, T, K * (P + 1)) when mono, of each frame given the
        ones before it."""
        frames = x.permute(0, 2, 1, 3).reshape(x.shape[0], x.shape[2], self.width)   # (B, T, K*P)
        prev = F.pad(frames[:, :-1], (0, 0, 1, 0))
        h, _ = self.lstm(F.relu(self.inp(prev)))
        return self.out(h)

    def step(self, frame: Tensor, state=None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h, state = self.lstm(F.relu(self.inp(frame)).unsqueeze(1), state)
        return self.out(h.squeeze(1)), state                                        # (B, K*P)


__all__ = ["MuseGenerator", "MuseDiscriminator", "FrameLSTM", "BarGenerator", "Temporal", "binarize", "choose",
           "check_shape", "BINARIZE", "VOICING"]
