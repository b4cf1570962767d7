"""The built-in presets of the GAN recipe (images and vectors): small override dicts on top of the defaults.

Each is registered in ``PRESETS`` by name; `ganforge presets` lists them with every other recipe's.
"""
from __future__ import annotations

from typing import Any

from ..core.registry import PRESETS

GAN_PRESETS: dict[str, dict[str, Any]] = {
    # 8x8 digits: a one-layer DCGAN is too shallow at this size, an MLP on the 64 pixels learns better
    "digits": {
        "why": "an MLP (a one-layer DCGAN is too shallow at 8x8); lazy R1 on top of D's spectral norm: FD 12.7 "
               "against 21.5 without over 5 and 4 seeds (docs/stability.md)",
        "data": {"source": "digits"},
        "model": {"arch": "mlp", "z_dim": 32, "g_width": 256, "d_width": 256, "mlp_layers": 3},
        # lazy R1 on top of D's spectral norm: FD 12.7 against 21.5 without, 5 and 4 seeds (docs/stability.md)
        "reg": {"r1": 1.0, "interval": 4},
        "train": {"steps": 4000, "batch": 64, "sample_every": 500, "ckpt_every": 500},
    },
    "digits-cond": {
        "data": {"source": "digits"},
        "model": {"arch": "mlp", "z_dim": 32, "g_width": 256, "d_width": 256, "conditional": True},
        "train": {"steps": 4000, "batch": 64},
    },
    "mnist": {
        "why": "rates 1e-3 with Adam beta1 0 and lazy R1 on D: on tuning seed 0 FD 36.7 after 3,000 steps against "
               "120 with the DCGAN rates (2e-4, beta1 0.5), where hinge loss, TTUR, class conditioning and EMA "
               "0.99 did not come close (benchmarks/results/image_fidelity_tuning.json); 15,000 steps fit the "
               "15-minute goal on 2 cores (docs/benchmarks.md, image-fidelity)",
        "data": {"source": "mnist"},
        "model": {"z_dim": 64, "g_width": 32, "d_width": 32},
        "reg": {"r1": 1.0, "interval": 4},
        "optim": {"g_lr": 1e-3, "d_lr": 1e-3, "g_betas": (0.0, 0.99), "d_betas": (0.0, 0.99)},
        "train": {"steps": 15000, "batch": 64},
    },
    # toy presets tuned with benchmarks/toy2d.py (docs/benchmarks.md, toy2d): lazy R1 keeps the modes
    # balanced, Adam without momentum (beta1 = 0) and a high rate sharpen G's jumps between modes
    "ring8": {
        "data": {"source": "ring8"},
        "model": {"arch": "mlp", "z_dim": 2, "g_width": 128, "d_width": 128, "g_norm": "none",
                  "d_norm": "none", "mlp_layers": 3},
        "reg": {"r1": 0.01, "interval": 16},
        "optim": {"g_lr": 2e-3, "d_lr": 2e-3, "g_betas": (0.0, 0.99), "d_betas": (0.0, 0.99)},
        "train": {"steps": 8000, "batch": 128, "ema_beta": 0.99},
    },
    "grid25": {
        "data": {"source": "grid25"},
        "model": {"arch": "mlp", "z_dim": 2, "g_width": 128, "d_width": 128, "g_norm": "none",
                  "d_norm": "none", "mlp_layers": 3},
        "reg": {"r1": 0.1, "interval": 4},      # benchmarks/toy2d.py: lifted rKL from ~0.4 to ~0.005
        # lr_decay: rates fall linearly to 0 over the last half (95.5% high quality over 10 seeds, 94.6% without)
        "optim": {"g_lr": 1e-3, "d_lr": 1e-3, "lr_decay": 0.5},
        "train": {"steps": 12000, "batch": 256, "ema_beta": 0.998},   # 8,000 steps: 91.6% high quality
    },
    # 1,000-mode Stacked MNIST (Metz et al. 2017) in the PacGAN protocol; benchmarks/stacked_mnist.py
    "stacked-mnist": {
        "data": {"source": "stacked-mnist"},
        # G at width 48, D at 32: KL 0.076 / 0.066 / 0.084 on seeds 0-2 against 0.101 / 0.083 / 0.087 at width 32,
        # 0.75x the steps per second
        "model": {"z_dim": 64, "g_width": 48, "d_width": 32, "pack": 2},
        # G's phase reuses D's generated batch (1.18x the steps per second on 2 threads); top-k G updates
        # down to half the batch (at G width 32): KL 0.101 / 0.083 / 0.087 on seeds 0-2 against 0.119 / 0.120 / 0.107
        "optim": {"share_fakes": True, "topk": 0.5},
        # 48,000 steps (16.2 min by a 2-thread probe, Intel Xeon), EMA over ~100 steps (docs/stability.md)
        "train": {"steps": 48000, "batch": 64, "ema_beta": 0.99},
    },
    # 100 LFW faces (scikit-image) at 32x32: 80 train, 20 held out as unseen real faces
    "faces": {
        "why": "no augmentation: on tuning seed 0 (benchmarks/image_fidelity.py) DiffAugment + ADA gave FD 4.21 "
               "against 3.34 without (floor 3.08) and more samples closer to a training face than any held-out "
               "face is (33% against 20%)",
        "data": {"source": "faces", "size": 32, "resize": "resize", "limit": 80},
        "train": {"steps": 5000, "batch": 32},
    },
    # 64x64 colour crops of eight photographs (data/photos.py); the held-out band is `photos-heldout`. The crops
    # overlap at a stride of 8 pixels, so translation is already in the data; no augmentation (not tuned yet)
    "photos": {
        "data": {"source": "photos"},
        "model": {"z_dim": 64, "g_width": 32, "d_width": 32},
        "train": {"steps": 5000, "batch": 32},
    },
    "folder": {
        "why": "32x32, DCGAN rates, no augmentation: on 80 faces DiffAugment + ADA gave FD 4.21 against 3.34 "
               "without (preset faces), and on 1% to 100% of MNIST ADA was within 1-6% of none (docs/benchmarks.md, "
               "small-data); not tuned further",
        "data": {"source": "folder", "size": 32, "resize": "resize"},
        "train": {"steps": 5000},
    },
}


for _name, _preset in GAN_PRESETS.items():
    PRESETS.register(_name, _preset)
