"""Differentiable augmentation (DiffAugment policies) and the ADA probability controller."""
from .ada import ADAController
from .ops import OPS, POLICIES, augment, color, cutout, parse_policy, translation

__all__ = ["ADAController", "OPS", "POLICIES", "augment", "color", "cutout", "parse_policy", "translation"]
