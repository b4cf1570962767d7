"""Data sets that stream from disk: examples are read when a batch needs them, not all at start.

For data larger than memory (``data.stream = true``). A streaming data set is map-style: it knows
how many examples there are, their labels and their shape up front, and reads example ``i`` on
demand. The training loop reads batches through a ``torch.utils.data`` pipeline (engine/batches.py)
in the same order an in-memory set would be read, a pure function of (seed, step), so results are
identical either way and a resumed run continues mid-epoch exactly where it stopped.

Tools that need examples in memory (evaluation, the explore tools) take a seeded subset with
``take(n, seed)``.
"""
from __future__ import annotations

from typing import Any

import torch

from .dataset import Dataset, images_to_float, seeded


class StreamingDataset:
    """Base class: subclasses implement ``__len__``, ``example(i)`` and set the facts below."""

    streaming = True
    kind: str = ""
    name: str = ""
    value_range: tuple[float, float] | None = None
    class_names: list[str] | None = None
    y: torch.Tensor | None = None      # labels of every example (cheap to hold)
    modes = sigma = None

    def __len__(self) -> int:
        raise NotImplementedError

    def example(self, i: int) -> dict[str, torch.Tensor]:
        """Example ``i``: {"x": tensor, "y": scalar label (when labelled), ...} on the CPU."""
        raise NotImplementedError

    def examples(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = [self.example(int(i)) for i in index]
        return {k: torch.stack([p[k] for p in parts]) for k in parts[0]}

    def take(self, n: int, seed: int = 0) -> Dataset:
        """At most ``n`` examples read into an in-memory Dataset (a seeded pick when there are more)."""
        n_all = len(self)
        idx = torch.arange(n_all) if n >= n_all else torch.randperm(n_all, generator=seeded(seed))[:n].sort().values
        batch = self.examples(idx)
        x, y = batch.pop("x"), batch.pop("y", None)
        return Dataset(x, y, self.kind, self.name, self.value_range,
                       None if self.class_names is None else list(self.class_names), extra=batch)

    @property
    def x(self) -> torch.Tensor:
        """Every example read into memory: only for tools that need all of them."""
        return self.take(len(self)).x

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.class_names else 0

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.example(0)["x"].shape)

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "n": len(self), "shape": list(self.shape),
                "value_range": None if self.value_range is None else [float(v) for v in self.value_range],
                "num_classes": self.num_classes,
                "class_names": None if self.class_names is None else list(self.class_names), "streaming": True}


class FolderStream(StreamingDataset):
    """A folder of images decoded one file at a time, exactly as the in-memory reader decodes them."""

    kind = "image"
    value_range = (0.0, 255.0)

    def __init__(self, plan, labels: bool = True) -> None:  # plan: images.FolderPlan
        self.plan, self.name = plan, plan.root
        self.y = plan.labels if labels else None
        self.class_names = plan.class_names if labels and plan.labels is not None else None

    def __len__(self) -> int:
        return len(self.plan.files)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.plan.channels, self.plan.size, self.plan.size)

    def example(self, i: int) -> dict[str, torch.Tensor]:
        out = {"x": images_to_float(self.plan.decode(i)[None], 0.0, 255.0)[0]}   # (C, S, S) in [-1, 1]
        if self.y is not None:
            out["y"] = self.y[i]
        return out


__all__ = ["StreamingDataset", "FolderStream"]
