"""Presets of the translation recipes (recipes/translate.py: pix2pix, recipes/cyclegan.py: CycleGAN).

- ``pix2pix``: paired folders (``--data DIR``: DIR/A + DIR/B, or side-by-side AB images), 32x32 after resizing.
- ``edges2digits``: pix2pix, L1 + cGAN, on MNIST edge maps -> digits (data/translate_digits.py);
  ``edges2digits-l1`` the L1 term alone (no D), ``edges2digits-cgan`` the conditional GAN term alone: the ablation.
- ``cyclegan``: unpaired folders (``--data DIR``: DIR/trainA + DIR/trainB), 32x32 after resizing.
- ``digits2mnist``: CycleGAN from scikit-learn's digits (A) to MNIST (B), labels never used in training.

Published settings kept: Adam at 2e-4 with betas (0.5, 0.999), L1 weight 100 and the ``ns`` loss for pix2pix; cycle
weight 10, identity 0.5, a pool of 50 and the least-squares loss for CycleGAN, whose rates fall linearly to 0 over
the second half of the steps. Sized for a two-core CPU (one thread per run): 32x32 images, batch 16, a U-Net of width
32 for pix2pix (4.2M parameters) and 16 for each CycleGAN generator (1.0M). 60-step probes on one thread of this
machine, the other core busy: pix2pix 6.3 steps a second, CycleGAN 3.6; so pix2pix's 6,000 steps take about 16
minutes and CycleGAN's 4,000 about 19, leaving room under half an hour on a busier machine.
"""
from __future__ import annotations

_OPT = {"g_lr": 2e-4, "d_lr": 2e-4, "g_betas": (0.5, 0.999), "d_betas": (0.5, 0.999)}
_TRAIN = {"batch": 16, "n_grid": 12, "sample_every": 500, "ckpt_every": 500, "log_every": 50, "ema_beta": 0.999,
          "ema_warmup": 200}

_PIX2PIX = {"model": {"recipe": "pix2pix", "g_width": 32, "d_width": 32}, "loss": {"kind": "ns"}, "optim": _OPT,
            "train": {**_TRAIN, "steps": 6000}}
_CYCLE = {"model": {"recipe": "cyclegan", "g_width": 16, "d_width": 32}, "loss": {"kind": "lsgan"},
          "optim": {**_OPT, "lr_decay": 0.5}, "train": {**_TRAIN, "steps": 4000}}
_RESIZE = {"size": 32, "resize": "resize"}

PIX2PIX_PRESETS = {
    "pix2pix": {**_PIX2PIX, "data": {"source": "paired-images"}, "translate": dict(_RESIZE)},
    "edges2digits": {**_PIX2PIX, "data": {"source": "edges2digits"}},
    "edges2digits-l1": {**_PIX2PIX, "data": {"source": "edges2digits"}, "translate": {"adversarial": False}},
    "edges2digits-cgan": {**_PIX2PIX, "data": {"source": "edges2digits"}, "translate": {"l1_weight": 0.0}},
}

CYCLEGAN_PRESETS = {
    "cyclegan": {**_CYCLE, "data": {"source": "unpaired-images"}, "translate": dict(_RESIZE)},
    "digits2mnist": {**_CYCLE, "data": {"source": "digits2mnist"}},
}

__all__ = ["PIX2PIX_PRESETS", "CYCLEGAN_PRESETS"]
