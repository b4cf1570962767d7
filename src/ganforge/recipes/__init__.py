"""Recipes: one per application (how a batch flows through the networks, the phases, sampling,
writing, export). Every module here that defines one registers it with ``@register_recipe``;
``build_recipe`` picks one by ``model.recipe`` (or by the data's kind for ``auto``)."""
from __future__ import annotations

from ..core.registry import RECIPES
from .base import Batch, ExportSpec, OptimSpec, Phase, Recipe, build_recipe, prepare, recipe_class, register_recipe

__all__ = ["Batch", "Phase", "OptimSpec", "ExportSpec", "Recipe", "RECIPES", "build_recipe", "recipe_class",
           "register_recipe", "prepare"]
