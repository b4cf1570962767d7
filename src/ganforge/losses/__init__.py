"""Adversarial losses (see adversarial.py): ``d_loss(kind, real, fake)`` and ``g_loss(kind, fake, real=None)``."""
from .adversarial import LOSSES, RELATIVISTIC, d_loss, g_loss, relative_scores

__all__ = ["LOSSES", "RELATIVISTIC", "d_loss", "g_loss", "relative_scores"]
