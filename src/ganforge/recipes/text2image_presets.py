"""Presets of the text-to-image recipe (recipes/text2image.py).

- ``text2image``: a folder of images and a captions file (``--data DIR``: data/captions.py), at 32x32.
- ``captioned-mnist``: the built captioned digits (data/captioned_mnist.py), 32x32 RGB.

Sized for a two-core CPU (one thread per run): G and D of width 32, batch 64, and DCGAN's habits (Radford et al.
2016): Adam at 2e-4 with betas (0.5, 0.999), the non-saturating loss, batch norm in D. Probes on captioned-mnist
(500 steps each): with a spectrally normalised D (hinge or non-saturating loss, with or without lazy R1, either
learning-rate ratio) G collapsed to one dark image whatever z and the caption; with batch norm in D it drew
coloured blobs where the captions put them. The text encoder pretrains for 1,500 steps of 64 pairs first (about
1.5 minutes) unless text2image.encoder names one.
"""
from __future__ import annotations

_BASE = {"model": {"recipe": "text2image", "z_dim": 64, "g_width": 32, "d_width": 32, "d_norm": "batch"},
         "loss": {"kind": "ns"},
         "optim": {"g_lr": 2e-4, "d_lr": 2e-4, "g_betas": (0.5, 0.999), "d_betas": (0.5, 0.999)},
         "train": {"steps": 8000, "batch": 64, "n_grid": 64, "sample_every": 1000, "ckpt_every": 1000,
                   "log_every": 100, "ema_beta": 0.999, "ema_warmup": 500}}

TEXT2IMAGE_PRESETS = {
    "text2image": {**_BASE, "data": {"source": "captioned-images", "resize": "resize"}},
    "captioned-mnist": {**_BASE, "data": {"source": "captioned-mnist"}},
}

__all__ = ["TEXT2IMAGE_PRESETS"]
