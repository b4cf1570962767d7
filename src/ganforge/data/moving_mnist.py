"""Moving MNIST (after Srivastava, Mansimov & Salakhutdinov 2015), built deterministically from the MNIST test split
(``t10k``, found like the ``mnist`` source: data.path, then GANFORGE_DATA).

Construction of one clip (all randomness from numpy's default_rng(video.mm_seed), so every run gets the same clips):
- digits: video.digits (1 or 2) MNIST images, drawn uniformly with replacement from the clip's pool (below). Each is
  the central 20x20 of its 28x28 image (the box MNIST normalises digits into), resized to video.digit_size pixels
  (bilinear, antialiased), values 0..255.
- canvas: video.size x video.size, black. A digit's top-left corner moves in [0, L]^2, L = size - digit_size.
- start: a uniform integer corner in [0, L]^2; velocity: each axis uniformly one of -v..-1, 1..v pixels per frame
  (v = video.mm_speed; never 0 on an axis, so no digit stands still).
- bounce: p <- p + v each frame; if p < 0 then p <- -p and v <- -v; if p > L then p <- 2L - p and v <- -v (a mirror
  at the wall, exact on the integer grid; v <= L so one reflection suffices).
- frames: video.frames; digits are pasted at their corners, two digits combined by the pixel-wise maximum.
Pools: clips for training draw from MNIST test images 0-7999, held-out clips (evaluation) from 8000-9999, the images
the shipped ``lenet-mnist`` classifier was not trained on. video.mm_clips training clips, video.mm_heldout held out
(seeds mm_seed and mm_seed + 1). Examples: x (C=1, T, H, W) in [-1, 1]; y the digit (one digit) or 10 d1 + d2 (two);
extras ``digits`` (N, k) labels and ``traj`` (N, k, T, 2) the digits' centres (row, column) in pixels. Built clips are
cached (data/cache.py) under the MNIST file's size and mtime and the settings.
"""
from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import DataError
from .builtin import _mnist_arrays
from .cache import cached
from .dataset import Dataset
from .sources import Source, register_source

TRAIN_POOL, HELD_POOL = (0, 8000), (8000, 10000)


def digit_patches(arr: np.ndarray, side: int) -> np.ndarray:
    """MNIST images (N, 1, 28, 28) uint8 -> the central 20x20 resized to side x side, float32 0..255 (N, side, side)."""
    x = torch.from_numpy(arr[:, :, 4:24, 4:24].astype(np.float32))
    if side != 20:
        x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=side < 20)
    return x[:, 0].clamp(0, 255).numpy()


def bounce_path(start: np.ndarray, vel: np.ndarray, frames: int, limit: int) -> np.ndarray:
    """Top-left corners (frames, 2) of a digit from ``start`` with velocity ``vel`` mirrored at 0 and ``limit``."""
    p, v, out = start.astype(int).copy(), vel.astype(int).copy(), []
    for _ in range(frames):
        out.append(p.copy())
        p += v
        low, high = p < 0, p > limit
        p[low], v[low] = -p[low], -v[low]
        p[high], v[high] = 2 * limit - p[high], -v[high]
    return np.stack(out)


def build_clips(patches: np.ndarray, labels: np.ndarray, n: int, s, seed: int) -> dict[str, torch.Tensor]:
    """``n`` clips from the digit ``patches`` of one pool; see the module docstring."""
    rng = np.random.default_rng(seed)
    T, H, d, k = s.frames, s.size, s.digit_size, s.digits
    L = H - d
    speeds = np.array([v for v in range(-s.mm_speed, s.mm_speed + 1) if v])
    x = np.zeros((n, T, H, H), np.float32)
    traj = np.zeros((n, k, T, 2), np.float32)
    which = rng.integers(0, len(patches), (n, k))
    for i in range(n):
        for j in range(k):
            corners = bounce_path(rng.integers(0, L + 1, 2), rng.choice(speeds, 2), T, L)
            traj[i, j] = corners + d / 2
            for t, (r, c) in enumerate(corners):
                np.maximum(x[i, t, r:r + d, c:c + d], patches[which[i, j]], out=x[i, t, r:r + d, c:c + d])
    return {"x": torch.from_numpy(np.rint(x).astype(np.uint8))[:, None], "digits": torch.from_numpy(labels[which]),
            "traj": torch.from_numpy(traj)}


def check_settings(s) -> None:
    if s.digits not in (1, 2):
        raise DataError(f"moving-mnist draws 1 or 2 digits per clip, video.digits={s.digits}")
    if not 4 <= s.digit_size < s.size:
        raise DataError(f"video.digit_size={s.digit_size} must be at least 4 and below video.size={s.size}")
    if not 1 <= s.mm_speed <= s.size - s.digit_size:
        raise DataError(f"video.mm_speed={s.mm_speed} must be 1..{s.size - s.digit_size} (size - digit_size)")


def load_moving_mnist(cfg, seed: int, path: str = "", part: str = "train") -> Dataset:
    s = cfg.section("video")
    check_settings(s)
    if s.size <= 0:
        raise DataError("moving-mnist needs video.size > 0 (the canvas side, e.g. 32)")
    mnist, arr, y = _mnist_arrays(cfg.data.path, True)
    if y is None or len(arr) < HELD_POOL[1]:
        raise DataError(f"moving-mnist needs the 10,000 labelled MNIST test images (t10k images and labels); "
                        f"{mnist} holds {len(arr)}{'' if y is not None else ' without a labels file'}")
    lo, hi = TRAIN_POOL if part == "train" else HELD_POOL
    n = s.mm_clips if part == "train" else s.mm_heldout
    settings = {k: getattr(s, k) for k in ("frames", "size", "digit_size", "digits", "mm_speed", "mm_seed")}
    key = {"kind": "moving-mnist-v1", "mnist": [os.path.getsize(mnist), os.stat(mnist).st_mtime_ns], "part": part,
           "n": n, **settings}
    seed_ = s.mm_seed + (part != "train")
    t = cached(key, lambda: build_clips(digit_patches(arr[lo:hi], s.digit_size), y[lo:hi].numpy(), n, s, seed_))
    x = t["x"].float().div_(127.5).sub_(1.0)                                    # (N, 1, T, H, W) in [-1, 1]
    digits = t["digits"].long()
    label = digits[:, 0] if s.digits == 1 else 10 * digits[:, 0] + digits[:, 1]
    extra = {"digits": digits, "traj": t["traj"]}
    if cfg.data.limit and part == "train" and cfg.data.limit < len(x):
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:cfg.data.limit].sort().values
        x, label, extra = x[idx], label[idx], {k: v[idx] for k, v in extra.items()}
    names = [str(c) for c in range(10)] if s.digits == 1 else [f"{c:02d}" for c in range(100)]
    meta = {"frames": s.frames, "fps": s.fps, "digit_size": s.digit_size, "digits": s.digits, "part": part,
            "held_out_clips": s.mm_heldout, "mnist": mnist}
    return Dataset(x=x, y=label if cfg.data.labels else None, kind="video", name="moving-mnist",
                   value_range=(0.0, 255.0), class_names=names if cfg.data.labels else None, extra=extra, meta=meta)


register_source("moving-mnist", Source(lambda cfg, seed, path: load_moving_mnist(cfg, seed, path), path="search",
                                       kind="video", finish=False))

__all__ = ["load_moving_mnist", "build_clips", "bounce_path", "digit_patches", "check_settings"]
