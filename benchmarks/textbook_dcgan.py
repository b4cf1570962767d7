"""The textbook DCGAN (Radford et al. 2016) as tutorials train it on MNIST: the reference row of image_fidelity.py.

Networks: G maps z (100) through transposed 4x4 convolutions 512-256-128-64 channels (batch norm, ReLU) to a 64x64
tanh image; D mirrors it with strided 4x4 convolutions 64-128-256-512 (batch norm after the first, LeakyReLU 0.2)
to one sigmoid unit. Weights N(0, 0.02), batch-norm scales N(1, 0.02). Adam 2e-4, betas (0.5, 0.999), binary cross
entropy, batch 64, one D step (real batch, then a fresh fake batch) and one G step per batch, the non-saturating
G loss. Data: the 10,000 MNIST images ganforge's `mnist` source reads, resized to 64x64 (bilinear, antialiased),
shuffled each epoch, the last partial batch kept. 10 epochs unless steps are given. No EMA, no regularisation.
Samples are drawn in batches of 500 with G in training mode (batch statistics, as the loop draws its pictures) and
resized to 28x28 for the MNIST feature space.
"""
from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from torch import nn

Z, SIDE, BATCH, EPOCHS = 100, 64, 64, 10   # pytorch/examples dcgan defaults: nz 100, imageSize 64, batchSize 64


def _generator() -> nn.Sequential:
    def up(cin: int, cout: int, stride: int, pad: int) -> list[nn.Module]:
        return [nn.ConvTranspose2d(cin, cout, 4, stride, pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
    return nn.Sequential(*up(Z, 512, 1, 0), *up(512, 256, 2, 1), *up(256, 128, 2, 1), *up(128, 64, 2, 1),
                         nn.ConvTranspose2d(64, 1, 4, 2, 1, bias=False), nn.Tanh())


def _discriminator() -> nn.Sequential:
    def down(cin: int, cout: int, norm: bool) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 4, 2, 1, bias=False)] + ([nn.BatchNorm2d(cout)] if norm else []) + \
            [nn.LeakyReLU(0.2, True)]
    return nn.Sequential(*down(1, 64, False), *down(64, 128, True), *down(128, 256, True), *down(256, 512, True),
                         nn.Conv2d(512, 1, 4, 1, 0, bias=False), nn.Sigmoid())


def _init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def resize(x: torch.Tensor, side: int) -> torch.Tensor:
    return F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=True).clamp(-1, 1)


def train_textbook(out: str, seed: int, threads: int, steps: int | None = None, n_samples: int = 5000):
    """Train, then save ``n_samples`` 28x28 samples to ``out``/samples.npz (key x, uint8). Returns
    (that path, steps done, a description of the settings)."""
    import numpy as np

    from ganforge.config import DataConfig
    from ganforge.data import load_dataset
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    real = resize(load_dataset(DataConfig(source="mnist")).x, SIDE)
    G, D = _generator(), _discriminator()
    G.apply(_init)
    D.apply(_init)
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    per_epoch = math.ceil(len(real) / BATCH)
    steps = steps or EPOCHS * per_epoch
    done = 0
    while done < steps:
        for idx in torch.randperm(len(real)).split(BATCH):
            if done >= steps:
                break
            x = real[idx]
            fake = G(torch.randn(len(x), Z, 1, 1))
            d_real, d_fake = D(x).view(-1), D(fake.detach()).view(-1)
            loss_d = F.binary_cross_entropy(d_real, torch.ones_like(d_real)) + \
                F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            d_gen = D(fake).view(-1)
            loss_g = F.binary_cross_entropy(d_gen, torch.ones_like(d_gen))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            done += 1
    with torch.no_grad():   # drawn as the loop draws its pictures: batch norm on the batch's own statistics
        gen = torch.Generator().manual_seed(seed + 1)
        x = torch.cat([resize(G(torch.randn(500, Z, 1, 1, generator=gen)), 28) for _ in range(0, n_samples, 500)])
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "samples.npz")
    np.savez(path, x=((x[:n_samples] + 1) * 127.5).round().to(torch.uint8).numpy())
    return path, done, [f"textbook DCGAN, batch {BATCH}, {steps} steps ({steps / per_epoch:.3g} epochs)"]
