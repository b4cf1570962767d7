"""Recipes: one per application. ``build_recipe`` picks one from the config."""
from __future__ import annotations

import difflib

import torch

from ..core.errors import ConfigError
from .base import Batch, OptimSpec, Phase, Recipe
from .gan import GANRecipe
from .tabular import TabularRecipe

RECIPES: dict[str, type[Recipe]] = {"gan": GANRecipe, "tabular": TabularRecipe}


def build_recipe(cfg, data_info: dict, device: torch.device) -> Recipe:
    name = getattr(cfg.model, "recipe", "gan")
    if name == "auto":
        name = "tabular" if data_info.get("kind") == "table" else "gan"
    if name not in RECIPES:
        close = difflib.get_close_matches(name, list(RECIPES), n=1)
        raise ConfigError(f"unknown recipe '{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    return RECIPES[name](cfg, data_info, device)


__all__ = ["Batch", "Phase", "OptimSpec", "Recipe", "RECIPES", "build_recipe"]
