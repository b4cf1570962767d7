"""Adversarial losses (adversarial.py), registered by name in ``LOSSES``, and regularisers (regularizers.py):
``d_loss(kind, real, fake)`` and ``g_loss(kind, fake, real=None)``."""
from ..core.registry import LOSSES
from .adversarial import RELATIVISTIC, LossSpec, d_loss, g_loss, is_relativistic, register_loss, relative_scores

__all__ = ["LOSSES", "RELATIVISTIC", "LossSpec", "d_loss", "g_loss", "is_relativistic", "register_loss",
           "relative_scores"]
