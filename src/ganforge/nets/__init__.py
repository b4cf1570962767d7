"""Generator and discriminator builders; network families register in ``ARCHS`` (arch.py).

``shape`` is one example's shape without the batch axis: (C, H, W) for images, (D,) for vectors.
``model.arch = auto`` picks the family that fits the shape most eagerly: DCGAN for images, the MLP
for vectors. ``style`` (style.py) is the StyleGAN2-class image family, chosen by name.

Generators: ``G(z, y=None) -> x`` with attributes ``z_dim`` and ``num_classes`` (0 when
unconditional). Discriminators: ``D(x, y=None) -> raw scores (N,)`` with attributes ``in_shape``,
``pack`` and ``num_classes``. Labels are required exactly when ``num_classes > 0``.

Model fields every family reads:
- ``mbstd`` (int, 0 = off): minibatch-stddev group size in D (Karras et al. 2018).
- ``g_sn`` (bool): spectral norm on every linear/convolution layer of G (applied here, for all).
- ``pack`` (int, 1 = off): PacGAN (Lin et al. 2018). D then takes ``pack`` examples joined along
  the first data axis: x of shape (N, C*pack, H, W) or (N, D*pack). The caller does the packing,
  e.g. ``x.view(N // pack, pack * C, H, W)`` on a batch of N examples, labels are not packed.
"""
from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..config import ModelConfig
from ..core.errors import ConfigError
from ..core.registry import ARCHS
from .arch import Arch, register_arch
from .dcgan import DCGANDiscriminator, DCGANGenerator, check_image_shape, valid_sizes
from .layers import CondBatchNorm, MinibatchStdDev, ProjectionHead, check_choice
from .mlp import MLPDiscriminator, MLPGenerator
from .style import StyleDiscriminator, StyleGenerator

__all__ = ["build_generator", "build_discriminator", "param_count", "resolve_arch", "valid_sizes",
           "check_image_shape", "MinibatchStdDev", "CondBatchNorm", "ProjectionHead", "Arch", "register_arch",
           "ARCHS", "DCGANGenerator", "DCGANDiscriminator", "MLPGenerator", "MLPDiscriminator",
           "StyleGenerator", "StyleDiscriminator"]


def resolve_arch(cfg: ModelConfig, shape: tuple[int, ...]) -> str:
    """The registered family for this config and data shape (``auto``: the most eager one that fits)."""
    if any(int(s) <= 0 for s in shape):
        raise ConfigError(f"networks take data of positive shape, got {tuple(shape)}")
    if cfg.arch == "auto":
        fitting = [(arch.auto, name) for name, arch in ARCHS.items() if arch.fits(tuple(shape))]
        if not fitting:
            raise ConfigError(f"no network family models data of shape {tuple(shape)}; set model.arch to one of: "
                              + ", ".join(ARCHS.names()))
        return max(fitting)[1]
    arch = ARCHS.get(cfg.arch, "model.arch")
    if not arch.fits(tuple(shape)):
        kind = "vectors" if len(shape) == 1 else "data"
        raise ConfigError(f"model.arch={cfg.arch} needs {arch.needs}, got {kind} of shape {tuple(shape)}; "
                          "set model.arch to another family or auto")
    return cfg.arch


def _classes(cfg: ModelConfig, num_classes: int) -> int:
    return num_classes if cfg.conditional and num_classes > 0 else 0


def build_generator(cfg: ModelConfig, shape: tuple[int, ...], num_classes: int = 0) -> nn.Module:
    shape = tuple(int(s) for s in shape)
    arch = resolve_arch(cfg, shape)
    check_choice("model.g_norm", cfg.g_norm, ("batch", "none"))
    check_choice("model.cond_g", cfg.cond_g, ("embed", "cbn"))
    k = _classes(cfg, num_classes)
    if k > 0 and cfg.cond_g == "cbn" and cfg.g_norm == "none":
        raise ConfigError("model.cond_g=cbn puts the labels into G's batch norms, but model.g_norm=none; "
                          "set model.g_norm=batch or model.cond_g=embed")
    g = ARCHS.get(arch).generator(cfg, shape, k)
    return _spectral_norm_all(g) if getattr(cfg, "g_sn", False) else g


def _spectral_norm_all(net: nn.Module) -> nn.Module:
    """``model.g_sn``: spectral norm on every linear and (transposed) convolution of G (Zhang et al.
    2019). Applied after init, as spectral norm starts its power iteration from the final weights;
    torch picks the output axis of transposed convolutions (dim 1) itself."""
    for m in list(net.modules()):
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)):
            spectral_norm(m)
    return net


def build_discriminator(cfg: ModelConfig, shape: tuple[int, ...], num_classes: int = 0) -> nn.Module:
    shape = tuple(int(s) for s in shape)
    arch = resolve_arch(cfg, shape)
    check_choice("model.d_norm", cfg.d_norm, ("batch", "spectral", "none"))
    check_choice("model.cond_d", getattr(cfg, "cond_d", "projection"), ("projection",))
    if cfg.mbstd < 0 or cfg.pack < 1:
        raise ConfigError(f"model.mbstd must be >= 0 and model.pack >= 1, got mbstd={cfg.mbstd}, pack={cfg.pack}")
    return ARCHS.get(arch).discriminator(cfg, shape, _classes(cfg, num_classes))


def param_count(m: nn.Module) -> int:
    """Number of parameter values (spectral norm's power-iteration vectors are buffers, not counted)."""
    return sum(p.numel() for p in m.parameters())
