"""Adversarial losses (see adversarial.py): ``d_loss(kind, real, fake)`` and ``g_loss(kind, fake)``."""
from .adversarial import LOSSES, d_loss, g_loss

__all__ = ["LOSSES", "d_loss", "g_loss"]
