"""Presets of the video recipe (recipes/video.py), registered with it.

- ``moving-mnist``: MoCoGAN-class (content code, GRU motion codes, a frame generator shared over time; an image D
  on random frames and a 3-D convolutional video D) on one-digit Moving MNIST, 16 frames of 32x32.
- ``moving-mnist-3d``: the same data and discriminators with the 3-D convolutional generator (TGAN / VGAN-like) in
  place of the decomposed one, so a comparison says what the content / motion split buys.
- ``video``: any folder of GIF / MP4 files or frame folders (``--data DIR``), 16 frames of 32x32, MoCoGAN-class.

Sized for a two-core CPU: batch 16, G width 32, D width 16 (200-step probes of the MoCoGAN-class G, start-up
included: 0.52 s a step at D width 16, 0.77 s at 32, one thread); 5,000 steps, about half an hour at the 3 steps a
second measured on one thread of this machine with the other busy. The non-saturating loss and a minibatch
standard-deviation map in both Ds are a first choice, not a tuned one: in seed-0 probes G drew one clip for every
latent at 500 steps with them and without them (hinge loss); with them it drew varied clips at 1,000 steps (the
probe without them was not run that far).
"""
from __future__ import annotations

_GAN = {"model": {"recipe": "video", "z_dim": 64, "g_width": 32, "d_width": 16, "d_norm": "spectral", "mbstd": 4},
        "loss": {"kind": "ns"}, "optim": {"g_lr": 2e-4, "d_lr": 2e-4, "g_betas": (0.5, 0.999),
                                          "d_betas": (0.5, 0.999)},
        "train": {"batch": 16, "steps": 5000, "n_grid": 16, "sample_every": 500, "ckpt_every": 500,
                  "ema_beta": 0.999}}

PRESETS = {
    "moving-mnist": {**_GAN, "data": {"source": "moving-mnist"}},
    "moving-mnist-3d": {**_GAN, "data": {"source": "moving-mnist"}, "video": {"generator": "3d"}},
    "video": {**_GAN, "data": {"source": "video"}},
}

__all__ = ["PRESETS"]
