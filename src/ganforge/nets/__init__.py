"""Generator and discriminator builders.

``shape`` is one example's shape without the batch axis: (C, H, W) for images, (D,) for vectors.
``model.arch = auto`` picks DCGAN for images and the MLP for vectors.

Generators: ``G(z, y=None) -> x`` with attributes ``z_dim`` and ``num_classes`` (0 when
unconditional). Discriminators: ``D(x, y=None) -> raw scores (N,)`` with attributes ``in_shape``,
``pack`` and ``num_classes``. Labels are required exactly when ``num_classes > 0``.

Optional model fields read with defaults (not yet in ModelConfig):
- ``mbstd`` (int, 0 = off): minibatch-stddev group size in D (Karras et al. 2018).
- ``g_sn`` (bool): spectral norm on every linear/convolution layer of G.
- ``pack`` (int, 1 = off): PacGAN (Lin et al. 2018). D then takes ``pack`` examples joined along
  the first data axis: x of shape (N, C*pack, H, W) or (N, D*pack). The caller does the packing,
  e.g. ``x.view(N // pack, pack * C, H, W)`` on a batch of N examples, labels are not packed.
"""
from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..config import ModelConfig
from ..core.errors import ConfigError
from .dcgan import DCGANDiscriminator, DCGANGenerator, check_image_shape, valid_sizes
from .layers import CondBatchNorm, MinibatchStdDev, ProjectionHead, check_choice
from .mlp import MLPDiscriminator, MLPGenerator

__all__ = ["build_generator", "build_discriminator", "param_count", "resolve_arch", "valid_sizes",
           "check_image_shape", "MinibatchStdDev", "CondBatchNorm", "ProjectionHead"]


def resolve_arch(cfg: ModelConfig, shape: tuple[int, ...]) -> str:
    """The concrete architecture ("dcgan" or "mlp") for this config and data shape."""
    check_choice("model.arch", cfg.arch, ("auto", "dcgan", "mlp"))
    if len(shape) not in (1, 3) or any(int(s) <= 0 for s in shape):
        raise ConfigError(f"networks take data of shape (C, H, W) or (D,), got {tuple(shape)}")
    if cfg.arch == "auto":
        return "dcgan" if len(shape) == 3 else "mlp"
    if cfg.arch == "dcgan" and len(shape) != 3:
        raise ConfigError(f"model.arch=dcgan needs image data, got vectors of shape {tuple(shape)}; "
                          "set model.arch=mlp or auto")
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
    if arch == "dcgan":
        g: nn.Module = DCGANGenerator(shape, cfg.z_dim, cfg.g_width, cfg.g_norm, k, cfg.cond_g, cfg.g_convs)
    else:
        g = MLPGenerator(shape, cfg.z_dim, cfg.g_width, cfg.mlp_layers, cfg.g_norm, k, cfg.cond_g)
    return _spectral_norm_all(g) if getattr(cfg, "g_sn", False) else g


def _spectral_norm_all(net: nn.Module) -> nn.Module:
    """``model.g_sn``: spectral norm on every linear and (transposed) convolution of G (Zhang et al.
    2019). Applied after init, as spectral norm starts its power iteration from the final weights;
    torch picks the output axis of transposed convolutions (dim 1) itself."""
    for m in list(net.modules()):
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            spectral_norm(m)
    return net


def build_discriminator(cfg: ModelConfig, shape: tuple[int, ...], num_classes: int = 0) -> nn.Module:
    shape = tuple(int(s) for s in shape)
    arch = resolve_arch(cfg, shape)
    check_choice("model.d_norm", cfg.d_norm, ("batch", "spectral", "none"))
    check_choice("model.cond_d", getattr(cfg, "cond_d", "projection"), ("projection",))
    mbstd, pack = int(getattr(cfg, "mbstd", 0)), int(getattr(cfg, "pack", 1))
    if mbstd < 0 or pack < 1:
        raise ConfigError(f"model.mbstd must be >= 0 and model.pack >= 1, got mbstd={mbstd}, pack={pack}")
    k = _classes(cfg, num_classes)
    if arch == "dcgan":
        return DCGANDiscriminator(shape, cfg.d_width, cfg.d_norm, k, mbstd, pack, cfg.d_convs)
    return MLPDiscriminator(shape, cfg.d_width, cfg.mlp_layers, cfg.d_norm, k, mbstd, pack)


def param_count(m: nn.Module) -> int:
    """Number of parameter values (spectral norm's power-iteration vectors are buffers, not counted)."""
    return sum(p.numel() for p in m.parameters())
