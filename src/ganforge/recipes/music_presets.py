"""Presets of the music recipe (recipes/music.py), registered with it.

- ``music``: any folder of MIDI / MusicXML scores (``--data DIR``), four parts, 4/4, sixteenth-note grid, 4 bars.
- ``chorales``: the Bach chorales shipped with music21 (four voices), scores in other meters or with other part
  counts skipped and counted, 10% of the chorales held out.
- ``chorales-mle``: the same data, the maximum-likelihood baseline (an LSTM over frames) at the same budget.

Sized for a two-core CPU: 4,000 steps of batch 32, about 17 minutes for the GAN (4 steps a second on one thread of
this machine while other jobs ran) and 8 for the baseline (8-9 steps a second); docs/benchmarks.md, "Music",
measures them. G's width 32 rather than 16: in 700-step probes (seed 0) it halved voice crossings (0.24 against
0.50; real 0.01), brought polyphony within a voice nearer 1 (1.7-2.2 against 2.1-2.6) and FD from 1,158 to 791, at
4.0 steps a second against 5.1-6.0. No weight averaging (train.ema_beta=0: G_ema is a copy of G): an average of the
weights of G, whose output is thresholded, drew empty rolls (every probability under 0.5) in a 700-step probe where
G itself drew 2.3% of the cells, as real rolls do.
"""
from __future__ import annotations

_GAN = {"model": {"recipe": "music", "g_width": 32, "d_width": 32, "d_norm": "spectral"}, "loss": {"kind": "hinge"},
        "optim": {"g_lr": 2e-4, "d_lr": 2e-4, "g_betas": (0.5, 0.9), "d_betas": (0.5, 0.9)},
        "train": {"batch": 32, "steps": 4000, "n_grid": 16, "sample_every": 500, "ckpt_every": 500,
                  "ema_beta": 0.0}}
_CHORALES = {"data": {"source": "chorales"},
             "music": {"on_bad": "skip", "out_programs": "19,19,19,19", "voicing": "mono"}}

PRESETS = {
    "music": {**_GAN, "data": {"source": "music"}},
    "chorales": {**_GAN, **_CHORALES},
    "chorales-mle": {**_GAN, **_CHORALES, "music": {**_CHORALES["music"], "adversarial": False}},
}

__all__ = ["PRESETS"]
