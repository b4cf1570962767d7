"""Batches as a pure function of (seed, step): resuming needs no sampler state.

Each epoch is a seeded permutation of the examples; step s takes slice s mod (N // B) of epoch
s // (N // B). In memory (``BatchSource``) the tensors already live on the training device, so a
batch is one gather per named tensor. Streaming (``StreamBatches``) reads the same indices through
a ``torch.utils.data.DataLoader`` (with ``data.workers`` reading ahead), so both give the same
batches and a run resumed mid-epoch continues with the very next one.
"""
from __future__ import annotations

import torch

from ..core.errors import ConfigError
from ..recipes import Batch


class StepOrder:
    """Which examples step ``s`` takes on this rank: the shared (seed, epoch) permutation."""

    def __init__(self, n: int, batch: int, seed: int, rank: int = 0, world: int = 1) -> None:
        if n < batch * world:
            raise ConfigError(f"train.batch={batch} is larger than the data set ({n} examples); "
                              f"use --set train.batch={max(1, n // world)} or more data")
        self.n, self.batch, self.seed, self.rank, self.world = n, batch, seed, rank, world
        self.per_epoch = n // (batch * world)
        self._epoch, self._perm = -1, None

    def indices(self, step: int, device: torch.device | None = None) -> torch.Tensor:
        epoch, k = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 7_368_787 + epoch)
            self._perm, self._epoch = torch.randperm(self.n, generator=g), epoch
            if device is not None:
                self._perm = self._perm.to(device)
        start = (k * self.world + self.rank) * self.batch
        return self._perm[start:start + self.batch]


def fixed_indices(n: int, count: int, seed: int) -> torch.Tensor:
    """``count`` examples picked once by ``seed`` (the sample grid's fixed real inputs)."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 7 + 11))[:count]


class BatchSource:
    """Batches of an in-memory data set, gathered on the device."""

    def __init__(self, dataset, batch: int, seed: int, device: torch.device, rank: int = 0, world: int = 1):
        self.order = StepOrder(len(dataset), batch, seed, rank, world)
        self.tensors = {k: v.to(device) for k, v in dataset.tensors().items()}
        self.x = self.tensors["x"]
        self.n, self.batch, self.seed, self.device = len(dataset), batch, seed, device
        self.per_epoch = self.order.per_epoch

    def indices(self, step: int) -> torch.Tensor:
        return self.order.indices(step, self.device)

    def channels_last(self) -> None:
        if self.x.dim() == 4:
            self.x = self.tensors["x"] = self.x.contiguous(memory_format=torch.channels_last)

    def get(self, step: int) -> Batch:
        idx = self.indices(step)
        return Batch(**{k: v[idx] for k, v in self.tensors.items()})

    def examples(self, count: int, seed: int) -> dict[str, torch.Tensor]:
        idx = fixed_indices(self.n, count, seed).to(self.device)
        return {k: v[idx] for k, v in self.tensors.items()}


class PoissonBatches(BatchSource):
    """Poisson-sampled batches for differentially private training: step s holds every example
    independently with probability ``rate`` (a seeded draw of (seed, s), so resuming needs no state);
    the batch size varies around rate * N, as the privacy analysis of sampled steps assumes."""

    def __init__(self, dataset, rate: float, seed: int, device: torch.device):
        super().__init__(dataset, 1, seed, device)
        self.rate = float(rate)
        self.batch = max(1, round(self.rate * self.n))

    def indices(self, step: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 9_576_890_767 + step)
        return (torch.rand(self.n, generator=g) < self.rate).nonzero().squeeze(1).to(self.device)


class _StepSampler:
    """Index lists for steps ``start, start + 1, ...`` (a DataLoader batch sampler)."""

    def __init__(self, order: StepOrder, start: int) -> None:
        self.order, self.start = order, start

    def __iter__(self):
        step = self.start
        while True:
            yield self.order.indices(step).tolist()
            step += 1


class _Examples(torch.utils.data.Dataset):
    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.dataset.example(i)


def _stack(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


class StreamBatches:
    """Batches of a streaming data set read ahead by a DataLoader, in the order of StepOrder."""

    def __init__(self, dataset, batch: int, seed: int, device: torch.device, rank: int = 0, world: int = 1,
                 workers: int = 0):
        self.dataset, self.device, self.workers = dataset, device, int(workers)
        self.order = StepOrder(len(dataset), batch, seed, rank, world)
        self.n, self.batch, self.seed = len(dataset), batch, seed
        self.per_epoch = self.order.per_epoch
        self._next, self._it = -1, None
        self._nhwc = False

    def channels_last(self) -> None:
        self._nhwc = True

    def _start(self, step: int) -> None:
        loader = torch.utils.data.DataLoader(
            _Examples(self.dataset), batch_sampler=_StepSampler(StepOrder(self.n, self.batch, self.seed,
                                                                          self.order.rank, self.order.world), step),
            num_workers=self.workers, collate_fn=_stack, prefetch_factor=2 if self.workers else None)
        self._it, self._next = iter(loader), step

    def get(self, step: int) -> Batch:
        if step != self._next:  # first batch, or the loop moved (resume, NaN rollback)
            self._start(step)
        batch = {k: v.to(self.device) for k, v in next(self._it).items()}
        self._next += 1
        if self._nhwc and batch["x"].dim() == 4:
            batch["x"] = batch["x"].contiguous(memory_format=torch.channels_last)
        return Batch(**batch)

    def examples(self, count: int, seed: int) -> dict[str, torch.Tensor]:
        idx = fixed_indices(self.n, count, seed)
        return {k: v.to(self.device) for k, v in self.dataset.examples(idx).items()}


def make_batches(dataset, batch: int, seed: int, device: torch.device, rank: int = 0, world: int = 1,
                 workers: int = 0):
    if getattr(dataset, "streaming", False):
        return StreamBatches(dataset, batch, seed, device, rank, world, workers)
    return BatchSource(dataset, batch, seed, device, rank, world)


__all__ = ["BatchSource", "PoissonBatches", "StreamBatches", "StepOrder", "make_batches", "fixed_indices"]
