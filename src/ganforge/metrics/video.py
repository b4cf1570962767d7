"""Offline figures for clips (N, C, T, H, W) in [-1, 1] of one moving digit (Moving MNIST), each beside the same
figure for real clips and for two sanity baselines made from real clips, with frames shuffled (a random order per
clip) and frozen (the first frame repeated): a metric that sees motion must score both clearly worse than real.

- Intensity: the frame's luminance in [0, 1]; the digit's centre in a frame is the centroid of max(I - 0.3, 0), the
  background and faint noise weighing nothing (a frame with no such pixel has no centre).
- ``content_consistency``: the share of clips that show a digit in every frame (some pixels above the floor, at most
  a quarter of the frame: not a blank or grey frame) and whose per-frame digit label (``lenet-mnist`` on the frame's
  digit: a window of digit_size pixels around the centre, resized to 20x20 and centred on a 28x28 canvas, MNIST's
  own layout) is the same in every frame.
- ``motion_plausibility``: the share of clips whose motion is smooth and not static: every frame has a centre; away
  from the walls the centre's acceleration |c(t+1) - 2 c(t) + c(t-1)| is at most ``tol`` (1 pixel per frame^2) on each
  axis (near a wall, within ``margin`` = 4 pixels of where a digit's centre can reach, a bounce may turn it); the
  mean speed is at least ``min_speed`` (0.5 pixels per frame). Real one-digit clips move at constant velocity
  between mirror bounces, so they pass.
- ``frame_fd``: the Frechet distance (Heusel et al. 2017) between ``lenet-mnist`` features of single whole frames of
  real and generated clips (every frame of every clip), with its real-vs-real floor (two halves of the real clips).
- ``video_fd_shuffled`` / ``video_fd_frozen``: the Frechet distance in ``lenet-video`` features (below) between one
  half of the real clips and the other half shuffled / frozen, beside ``video_fd_floor_check`` between the halves
  and ``video_fd`` between that half and the generated clips. For clips of Moving MNIST's shape (1, 16, 32, 32) the
  same four figures in the ``clip3d-mnist`` space (metrics/video3d.py, the default feature space of such clips):
  ``clip3d_fd``, ``clip3d_fd_floor_check``, ``clip3d_fd_shuffled``, ``clip3d_fd_frozen``.

The ``lenet-video`` extractor (the default feature space of video data of other shapes): per frame, the 128
``lenet-mnist`` features of the whole frame (resized to 28x28), f_t; per clip, [mean_t f_t, mean_t |f_(t+1) - f_t|]
(256-D): what the clip shows and how fast it changes. A small offline analogue of FVD (Unterthiner et al. 2018), not
comparable with published FVD figures.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.errors import DataError
from .extractors import Extractor, ExtractorSpec, extract, load_classifier, register_extractor
from .fd import frechet_distance

FLOOR, TOL, MARGIN, MIN_SPEED, MAX_INK = 0.3, 1.0, 4.0, 0.5, 0.25


def intensity(x: Tensor) -> Tensor:
    """(N, C, T, H, W) in [-1, 1] -> (N, T, H, W) luminance in [0, 1]."""
    if x.ndim != 5:
        raise DataError(f"video metrics take clips (N, C, T, H, W), got shape {tuple(x.shape)}")
    x = (x.float().clamp(-1, 1) + 1) / 2
    if x.shape[1] == 3:
        w = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1, 1)
        return (x * w).sum(1)
    return x.mean(1)


def centres(x: Tensor) -> Tensor:
    """(N, T, 2) row and column of each frame's digit centre (NaN for a frame with nothing above the floor)."""
    w = (intensity(x) - FLOOR).clamp_min(0)                                     # (N, T, H, W)
    H, W = w.shape[-2:]
    mass = w.sum((2, 3))
    rows = (w.sum(3) * torch.arange(H, dtype=w.dtype)).sum(2) / mass
    cols = (w.sum(2) * torch.arange(W, dtype=w.dtype)).sum(2) / mass
    out = torch.stack([rows, cols], 2) + 0.5                                    # pixel centres at k + 0.5
    out[mass <= 0] = float("nan")
    return out


def smooth_motion(c: Tensor, size: int, side: int, tol: float = TOL, margin: float = MARGIN,
                  min_speed: float = MIN_SPEED) -> Tensor:
    """(N,) bool: the centres (N, T, 2) move smoothly (bounces at the walls allowed) and not too slowly."""
    v = c[:, 1:] - c[:, :-1]                                                    # (N, T-1, 2)
    a = (v[:, 1:] - v[:, :-1]).abs()                                            # (N, T-2, 2), at frames 1..T-2
    mid = c[:, 1:-1]
    near = (mid < side / 2 + margin) | (mid > size - side / 2 - margin)
    ok = ((a <= tol) | near).all(2).all(1)
    speed = v.norm(dim=2).mean(1)
    return ok & (speed >= min_speed) & ~torch.isnan(c).any(2).any(1)


def digit_windows(x: Tensor, side: int) -> Tensor:
    """Each frame's digit as an MNIST-like image: (N, C, T, H, W) -> (N*T, 1, 28, 28) in [-1, 1]."""
    lum = intensity(x)
    N, T, H, W = lum.shape
    c = centres(x).reshape(N * T, 2).nan_to_num(H / 2)
    frames = F.pad(lum.reshape(N * T, 1, H, W), (side, side, side, side))
    top = (c[:, 0] - side / 2).round().long().clamp(-side, H) + side
    left = (c[:, 1] - side / 2).round().long().clamp(-side, W) + side
    r = top[:, None] + torch.arange(side)
    k = left[:, None] + torch.arange(side)
    win = frames[torch.arange(N * T)[:, None, None], 0, r[:, :, None], k[:, None, :]]   # (N*T, side, side)
    win = F.interpolate(win[:, None], size=(20, 20), mode="bilinear", align_corners=False, antialias=side > 20)
    return F.pad(win, (4, 4, 4, 4)) * 2 - 1


@torch.no_grad()
def frame_labels(x: Tensor, side: int, net=None, batch: int = 1000) -> Tensor:
    """(N, T) lenet-mnist digit of each frame."""
    net = net or load_classifier("lenet-mnist")
    w = digit_windows(x, side)
    labels = torch.cat([net.logits(w[i:i + batch]).argmax(1) for i in range(0, len(w), batch)])
    return labels.view(x.shape[0], x.shape[2])


def shows_digit(x: Tensor) -> Tensor:
    """(N, T) bool: the frame has pixels above the floor, and at most MAX_INK (a quarter) of them: a digit on a dark
    ground, not a blank or a grey frame."""
    ink = (intensity(x) > FLOOR).float().mean((2, 3))
    return (ink > 0) & (ink <= MAX_INK)


def consistent(labels: Tensor, present: Tensor | None = None) -> Tensor:
    """(N,) bool: one label in every frame (and, given ``present`` (N, T), a digit in every frame)."""
    same = (labels == labels[:, :1]).all(1)
    return same if present is None else same & present.all(1)


def shuffled(x: Tensor, seed: int) -> Tensor:
    """Each clip's frames in a random order of its own (seeded)."""
    g = torch.Generator().manual_seed(seed)
    order = torch.stack([torch.randperm(x.shape[2], generator=g) for _ in range(x.shape[0])])
    return x.gather(2, order.view(x.shape[0], 1, -1, 1, 1).expand_as(x))


def frozen(x: Tensor) -> Tensor:
    """Each clip's first frame, repeated."""
    return x[:, :, :1].expand_as(x).contiguous()


class LenetVideo(Extractor):
    """[mean_t f_t, mean_t |f_(t+1) - f_t|] of whole-frame lenet-mnist features f_t; see the module docstring."""

    name = "lenet-video"

    def __init__(self, path: str | None = None) -> None:
        super().__init__()
        self.lenet = load_classifier("lenet-mnist", path)
        self.dim, self.sha256 = 2 * self.lenet.dim, self.lenet.sha256
        self.finish()

    def frame_features(self, x: Tensor) -> Tensor:
        """(N, C, T, H, W) -> (N, T, 128)."""
        if x.ndim != 5:
            raise DataError(f"the lenet-video extractor takes clips (N, C, T, H, W), got shape {tuple(x.shape)}")
        N, C, T, H, W = x.shape
        return self.lenet.features(x.transpose(1, 2).reshape(N * T, C, H, W)).view(N, T, -1)

    def features(self, x: Tensor) -> Tensor:
        f = self.frame_features(x)
        return torch.cat([f.mean(1), (f[:, 1:] - f[:, :-1]).abs().mean(1)], 1)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "frames": "lenet-mnist on whole frames, resized to 28x28"}


def _halves(n: int, seed: int) -> tuple[Tensor, Tensor]:
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[:n // 2], perm[n // 2:2 * (n // 2)]


def video_checks(real: Tensor, fake: Tensor, seed: int = 0, digit_size: int = 16, digits: int = 1,
                 extractor: LenetVideo | None = None) -> dict[str, float]:
    """The figures of the module docstring for generated clips, real clips and the two sanity baselines."""
    real, fake = real.float().cpu(), fake.float().cpu()
    ext = extractor or LenetVideo()
    a, b = _halves(len(real), seed)
    out: dict[str, float] = {}
    sets = {"": fake, "_real": real, "_shuffled": shuffled(real, seed), "_frozen": frozen(real)}
    if digits == 1:
        size = real.shape[-1]
        for suffix, x in sets.items():
            labels = frame_labels(x, digit_size, ext.lenet)
            out[f"content_consistency{suffix}"] = float(consistent(labels, shows_digit(x)).float().mean())
            out[f"motion_plausibility{suffix}"] = float(smooth_motion(centres(x), size, digit_size).float().mean())
    ff = {k: extract_frames(ext, x) for k, x in (("real", real), ("fake", fake))}
    fa, fb = ff["real"].view(len(real), -1, ff["real"].shape[-1])[a], ff["real"].view(len(real), -1,
                                                                                     ff["real"].shape[-1])[b]
    out["frame_fd"] = frechet_distance(fa.flatten(0, 1).numpy(), ff["fake"].numpy())
    out["frame_fd_floor"] = frechet_distance(fa.flatten(0, 1).numpy(), fb.flatten(0, 1).numpy())
    va = extract(ext, real[a])
    out["video_fd_floor_check"] = frechet_distance(va.numpy(), extract(ext, real[b]).numpy())
    out["video_fd_shuffled"] = frechet_distance(va.numpy(), extract(ext, shuffled(real[b], seed + 1)).numpy())
    out["video_fd_frozen"] = frechet_distance(va.numpy(), extract(ext, frozen(real[b])).numpy())
    out["video_fd"] = frechet_distance(va.numpy(), extract(ext, fake).numpy())
    from .video3d import SHAPE, load_clip3d
    if tuple(real.shape[1:]) == SHAPE and tuple(fake.shape[1:]) == SHAPE:   # the 3-D CNN's space, the same figures
        c3 = load_clip3d()
        ca = extract(c3, real[a]).numpy()
        out["clip3d_fd"] = frechet_distance(ca, extract(c3, fake).numpy())
        out["clip3d_fd_floor_check"] = frechet_distance(ca, extract(c3, real[b]).numpy())
        out["clip3d_fd_shuffled"] = frechet_distance(ca, extract(c3, shuffled(real[b], seed + 1)).numpy())
        out["clip3d_fd_frozen"] = frechet_distance(ca, extract(c3, frozen(real[b])).numpy())
    return out


@torch.no_grad()
def extract_frames(ext: LenetVideo, x: Tensor, batch: int = 200) -> Tensor:
    """(N * T, 128) whole-frame features of clips, clip-major."""
    return torch.cat([ext.frame_features(x[i:i + batch]).flatten(0, 1) for i in range(0, len(x), batch)])


register_extractor("lenet-video", ExtractorSpec(
    lambda path=None: LenetVideo(path), ("path",),
    default_for=lambda info: 10 if info.get("kind") == "video" else None))

__all__ = ["intensity", "centres", "smooth_motion", "digit_windows", "frame_labels", "consistent", "shuffled",
           "frozen", "shows_digit", "LenetVideo", "video_checks", "extract_frames"]
