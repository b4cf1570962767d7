"""Presets of the video recipe (recipes/video.py), registered with it.

- ``moving-mnist``: MoCoGAN-class (content code, GRU motion codes, a frame generator shared over time; an image D
  on random frames and a 3-D convolutional video D) on one-digit Moving MNIST, 16 frames of 32x32.
- ``moving-mnist-3d``: the same data and discriminators with the 3-D convolutional generator (TGAN / VGAN-like) in
  place of the decomposed one, so a comparison says what the content / motion split buys.
- ``video``: any folder of GIF / MP4 files or frame folders (``--data DIR``), 16 frames of 32x32, MoCoGAN-class.

Sized for a two-core CPU: batch 16; docs/video.md gives the measured speed.
"""
from __future__ import annotations

_GAN = {"model": {"recipe": "video", "z_dim": 64, "g_width": 32, "d_width": 16, "d_norm": "spectral"},
        "loss": {"kind": "hinge"}, "optim": {"g_lr": 2e-4, "d_lr": 2e-4, "g_betas": (0.5, 0.999),
                                             "d_betas": (0.5, 0.999)},
        "train": {"batch": 16, "steps": 5000, "n_grid": 16, "sample_every": 500, "ckpt_every": 500,
                  "ema_beta": 0.999}}

PRESETS = {
    "moving-mnist": {**_GAN, "data": {"source": "moving-mnist"}},
    "moving-mnist-3d": {**_GAN, "data": {"source": "moving-mnist"}, "video": {"generator": "3d"}},
    "video": {**_GAN, "data": {"source": "video"}},
}

__all__ = ["PRESETS"]
