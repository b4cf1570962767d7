"""Presets of the music recipe (recipes/music.py), registered with it.

- ``music``: any folder of MIDI / MusicXML scores (``--data DIR``), four parts, 4/4, sixteenth-note grid, 4 bars.
- ``chorales``: the Bach chorales shipped with music21 (four voices), scores in other meters or with other part
  counts skipped and counted, 10% of the chorales held out.
- ``chorales-mle``: the same data, the maximum-likelihood baseline (an LSTM over frames) at the same budget.

Sized for a two-core CPU: 5,000 steps of batch 32, about 15 minutes for the GAN (5-6 steps a second on one
thread of this machine while other jobs ran) and 10 for the baseline (8-9 steps a second); docs/benchmarks.md,
"Music", measures them. No weight averaging (train.ema_beta=0: G_ema is a copy of G): an average of the weights of
G, whose output is thresholded, drew empty rolls (every probability under 0.5) in a 700-step probe where G itself
drew 2.3% of the cells, as real rolls do.
"""
from __future__ import annotations

_GAN = {"model": {"recipe": "music", "g_width": 16, "d_width": 32, "d_norm": "spectral"}, "loss": {"kind": "hinge"},
        "optim": {"g_lr": 2e-4, "d_lr": 2e-4, "g_betas": (0.5, 0.9), "d_betas": (0.5, 0.9)},
        "train": {"batch": 32, "steps": 5000, "n_grid": 16, "sample_every": 500, "ckpt_every": 500,
                  "ema_beta": 0.0}}
_CHORALES = {"data": {"source": "chorales"}, "music": {"on_bad": "skip", "out_programs": "19,19,19,19"}}

PRESETS = {
    "music": {**_GAN, "data": {"source": "music"}},
    "chorales": {**_GAN, **_CHORALES},
    "chorales-mle": {**_GAN, **_CHORALES, "music": {**_CHORALES["music"], "adversarial": False}},
}

__all__ = ["PRESETS"]
