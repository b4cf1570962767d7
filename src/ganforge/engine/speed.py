"""Speed choices the loop applies on its own, each kept only where a measurement showed a gain.

See docs/benchmarks.md (train-step) for the figures: channels_last made the DCGAN step on CPU about
15% faster (mnist preset, batch 64); it is left off on GPUs and for vector data, where it was not
measured to help.
"""
from __future__ import annotations

import torch
from torch import nn

_CONVS = (nn.Conv2d, nn.ConvTranspose2d)


def has_convs(nets: dict[str, nn.Module]) -> bool:
    return any(isinstance(m, _CONVS) for net in nets.values() for m in net.modules())


def use_channels_last(nets: dict[str, nn.Module], batches, device: torch.device, mode: str = "auto") -> bool:
    """Run convolutional networks in channels_last (NHWC) when it helps; ``batches`` may be None.

    oneDNN's CPU convolutions work in NHWC; with NCHW tensors every convolution and its backward
    reorder their inputs and outputs first. Measured on the mnist preset's step (1 thread, batch 64):
    122 -> 105 ms. (Also converting G's first, reshaped activation to NHWC gained ~1%: not done.)
    ``mode``: auto (CPU and convolutions) | on | off.
    """
    on = mode == "on" or (mode == "auto" and device.type == "cpu" and has_convs(nets))
    if not on:
        return False
    for net in nets.values():   # the 2-D convolutions only: a 3-D one (video, piano-roll) has no NHWC layout
        for m in net.modules():
            if isinstance(m, _CONVS):
                m.to(memory_format=torch.channels_last)
    if batches is not None:
        batches.channels_last()  # image batches arrive as (N, C, H, W) values with NHWC strides
    return True


__all__ = ["use_channels_last", "has_convs"]
