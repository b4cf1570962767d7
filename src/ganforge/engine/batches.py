"""Batches as a pure function of (seed, step): resuming needs no sampler state.

Each epoch is a seeded permutation of the in-memory data; step s takes slice s mod (N // B) of
epoch s // (N // B). The tensors already live on the training device, so a batch is one gather.
"""
from __future__ import annotations

import torch

from ..core.errors import ConfigError
from ..recipes import Batch


class BatchSource:
    def __init__(self, dataset, batch: int, seed: int, device: torch.device, rank: int = 0, world: int = 1):
        n = dataset.x.shape[0]
        if n < batch * world:
            raise ConfigError(f"train.batch={batch} is larger than the data set ({n} examples); "
                              f"use --set train.batch={max(1, n // world)} or more data")
        self.x = dataset.x.to(device)
        self.y = dataset.y.to(device) if dataset.y is not None else None
        self.n, self.batch, self.seed, self.device = n, batch, seed, device
        self.rank, self.world = rank, world
        self.per_epoch = n // (batch * world)
        self._epoch, self._perm = -1, None

    def indices(self, step: int) -> torch.Tensor:
        epoch, k = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 7_368_787 + epoch)
            self._perm, self._epoch = torch.randperm(self.n, generator=g).to(self.device), epoch
        start = (k * self.world + self.rank) * self.batch
        return self._perm[start:start + self.batch]

    def get(self, step: int) -> Batch:
        idx = self.indices(step)
        return Batch(self.x[idx], None if self.y is None else self.y[idx])
