"""What a network family registers in ``ARCHS``: how to build its G and D for a data shape.

``shape`` is one example's shape without the batch axis: (C, H, W) for images, (D,) for vectors.
A family says which shapes it can model and how eagerly ``model.arch = auto`` should pick it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ..core.registry import ARCHS


@dataclass(frozen=True)
class Arch:
    generator: Callable[..., nn.Module]       # (ModelConfig, shape, num_classes) -> G(z, y=None)
    discriminator: Callable[..., nn.Module]   # (ModelConfig, shape, num_classes) -> D(x, y=None) -> (N,)
    fits: Callable[[tuple[int, ...]], bool]   # can it model examples of this shape?
    needs: str                                # what it needs, for errors: "image data (C, H, W)"
    auto: int = 0                             # model.arch=auto takes the highest among those that fit


def register_arch(name: str, arch: Arch) -> Arch:
    return ARCHS.register(name, arch)


__all__ = ["Arch", "register_arch"]
