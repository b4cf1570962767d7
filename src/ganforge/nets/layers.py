"""Building blocks shared by the DCGAN and MLP networks.

- ``dcgan_init_`` / ``maybe_sn``: weight init and the optional spectral-norm wrapper.
- ``GNorm`` / ``CondBatchNorm``: the generator's norm layers (plain, class-conditional or none).
- ``MinibatchStdDev``: one extra feature with the batch's spread (Karras et al. 2018).
- ``ProjectionHead``: the discriminator's output, optionally a projection head (Miyato & Koyama 2018).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ..core.errors import ConfigError

INIT_STD = 0.02  # DCGAN (Radford et al. 2016): weights ~ N(0, 0.02), BN gains ~ N(1, 0.02)


def dcgan_init_(m: nn.Module) -> nn.Module:
    """Initialise one raw layer in place, DCGAN style; returns it for chaining.

    Call it before ``maybe_sn``: spectral norm estimates its first singular vectors from the
    weight it is given, so the weight must already be final.
    """
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
        nn.init.normal_(m.weight, 0.0, INIT_STD)
        if getattr(m, "bias", None) is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
        nn.init.normal_(m.weight, 1.0, INIT_STD)
        nn.init.zeros_(m.bias)
    return m


def maybe_sn(m: nn.Module, on: bool) -> nn.Module:
    """Wrap ``m`` in spectral normalisation (Miyato et al. 2018) when ``on``."""
    return spectral_norm(m) if on else m


def check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key} = {value!r} is not one of: {', '.join(choices)}")


def need_labels(y: Tensor | None, num_classes: int, who: str) -> None:
    """A conditional network cannot run without labels; say so instead of failing deep inside."""
    if num_classes > 0 and y is None:
        raise ValueError(f"the {who} is class-conditional ({num_classes} classes): pass labels y of shape (N,)")


class CondBatchNorm(nn.Module):
    """Batch norm whose gain and bias are looked up per class (de Vries et al. 2017, Miyato & Koyama 2018)."""

    def __init__(self, num_features: int, num_classes: int, dims: int = 2) -> None:
        super().__init__()
        bn = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
        self.bn = bn(num_features, affine=False)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)
        nn.init.normal_(self.gain.weight, 1.0, INIT_STD)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        h = self.bn(x)
        shape = (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)  # broadcast over H, W
        return h * self.gain(y).view(shape) + self.bias(y).view(shape)


class GNorm(nn.Module):
    """The generator's norm layer: ``kind`` is "batch", "cbn" (needs y) or "none"."""

    def __init__(self, kind: str, num_features: int, num_classes: int = 0, dims: int = 2) -> None:
        super().__init__()
        self.kind = kind
        if kind == "batch":
            bn = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
            self.norm: nn.Module = dcgan_init_(bn(num_features))
        elif kind == "cbn":
            self.norm = CondBatchNorm(num_features, num_classes, dims)
        else:
            self.norm = nn.Identity()

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.norm(x, y) if self.kind == "cbn" else self.norm(x)


class MinibatchStdDev(nn.Module):
    """Append one feature: the std of each feature across a group, averaged (Karras et al. 2018).

    Input (N, C, H, W) -> (N, C+1, H, W), or (N, F) -> (N, F+1). Groups take samples
    ``i, i+M, i+2M, ...`` (M = N / group). When N is not a multiple of ``group_size`` the largest
    group size dividing N is used, so odd batches still work (a batch of 1 gets a zero map).
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8) -> None:
        super().__init__()
        self.group_size = group_size
        self.eps = eps
        self.segments: list[int] | None = None  # set by recipes/dscore.py: sizes of batches joined for one call

    def forward(self, x: Tensor) -> Tensor:
        if self.segments is not None and len(self.segments) > 1:  # each joined batch keeps its own groups
            return torch.cat([self._append(part) for part in x.split(self.segments)])
        return self._append(x)

    def _append(self, x: Tensor) -> Tensor:
        n = x.shape[0]
        g = max(d for d in range(1, min(self.group_size, n) + 1) if n % d == 0)
        grouped = x.reshape(g, n // g, *x.shape[1:])                      # (G, M, C, ...)
        # population variance written out: torch.var over the leading dim took 1.8 ms on CPU for a
        # (4, 128, 128) tensor, the mean of squared deviations 0.04 ms (one thread)
        dev = grouped - grouped.mean(dim=0)
        std = ((dev * dev).mean(dim=0) + self.eps).sqrt()                # (M, C, ...)
        std = std.flatten(1).mean(dim=1)                                 # (M,)
        std = std.repeat(g)                                              # (N,) sample n -> group n % M
        extra = std.view(n, 1, *([1] * (x.dim() - 2))).expand(n, 1, *x.shape[2:])
        return torch.cat([x, extra], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"


class ProjectionHead(nn.Module):
    """logit = psi(phi) + <embed(y), phi> (Miyato & Koyama 2018); plain psi(phi) when num_classes == 0.

    ``phi`` is the discriminator's flattened feature vector (N, F); returns raw scores (N,).
    """

    def __init__(self, num_features: int, num_classes: int = 0, sn: bool = False) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.psi = maybe_sn(dcgan_init_(nn.Linear(num_features, 1)), sn)
        self.embed = (maybe_sn(dcgan_init_(nn.Embedding(num_classes, num_features)), sn)
                      if num_classes > 0 else None)

    def forward(self, phi: Tensor, y: Tensor | None = None) -> Tensor:
        out = self.psi(phi).squeeze(1)                                    # (N,)
        if self.embed is not None:
            need_labels(y, self.num_classes, "discriminator")
            out = out + (self.embed(y) * phi).sum(dim=1)
        return out
