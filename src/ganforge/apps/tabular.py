"""Synthetic tables in a few lines, trained on ganforge's engine (a CTGAN-class model):

    from ganforge import TabularGAN
    m = TabularGAN(epochs=300).fit(df, discrete_columns=["workclass"], target="income")
    synth = m.sample(10_000, conditions={"income": ">50K"})
    m.save("adult-model"); m = TabularGAN.load("adult-model")

A fitted model is an ordinary run folder (config.json, data.json, checkpoints/), so
``ganforge sample`` / ``ganforge eval`` / ``ganforge train --resume`` work on it too.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import pandas as pd

from .. import config as C
from ..core import checkpoint as ckpt
from ..core.errors import CheckpointError, ConfigError
from ..recipes.tabular import TabularRecipe

# the constructor's defaults, which are the tabular preset's: only other values count as set by the user
_DEFAULTS = {"train.batch": 500, "model.pack": 10, "model.z_dim": 128, "model.g_width": 256, "model.d_width": 256,
             "model.mlp_layers": 2, "optim.g_lr": 2e-4, "optim.d_lr": 2e-4}


class TabularGAN:
    """Fit on a table, sample rows like it. Settings follow CTGAN's defaults (Xu et al. 2019)."""

    def __init__(self, epochs: int = 300, *, batch_size: int = 500, pack: int = 10, embedding_dim: int = 128,
                 generator_dim: int = 256, discriminator_dim: int = 256, layers: int = 2, lr: float = 2e-4,
                 steps: int | None = None, seed: int = 0, out: str | None = None, verbose: bool = False,
                 overrides: dict[str, Any] | list[str] | None = None):
        given = {"train.batch": batch_size, "model.pack": pack, "model.z_dim": embedding_dim,
                 "model.g_width": generator_dim, "model.d_width": discriminator_dim, "model.mlp_layers": layers,
                 "optim.g_lr": lr, "optim.d_lr": lr}
        self.settings = {k: v for k, v in given.items() if v != _DEFAULTS[k]}
        self.settings.update({"tabular.epochs": epochs, "train.seed": seed, "train.progress": verbose})
        if steps:   # a step count wins over epochs
            self.settings["train.steps"] = int(steps)
        extra = C.parse_set(overrides) if isinstance(overrides, list) else dict(overrides or {})
        self.settings.update(extra)
        self.out = out
        self.recipe: TabularRecipe | None = None
        self.run_dir: str | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    # -- training -------------------------------------------------------------------------------
    def fit(self, data, discrete_columns=(), target: str | None = None,
            types: dict[str, str] | None = None) -> TabularGAN:
        """Train on ``data`` (a DataFrame, or a .csv/.parquet path); returns self."""
        from ..data.tabular import parse_types, read_table, split_names, table_dataset
        from ..engine import open_run, train_run
        ov = dict(self.settings)
        names = split_names(discrete_columns)
        if any("," in n for n in names):
            raise ConfigError("discrete column names must not contain commas; rename the column first")
        ov["tabular.discrete"] = ",".join(names)
        ov["tabular.target"] = target or ""
        ov["tabular.types"] = ",".join(f"{k}:{v}" for k, v in parse_types(types or {}).items())
        if not isinstance(data, pd.DataFrame):
            ov["data.path"] = os.path.abspath(os.fspath(data))
        cfg = C.resolve("tabular", ov)
        df = read_table(data)
        name = "the data frame" if isinstance(data, pd.DataFrame) else os.fspath(data)
        dataset = table_dataset(df, cfg.section("tabular"), cfg.train.seed, name=name, privacy=cfg.privacy)
        out = self.out
        if not out:   # removed with the model; save() keeps a copy
            self._tmp = tempfile.TemporaryDirectory(prefix="ganforge-tabular-")
            out = os.path.join(self._tmp.name, "run")
        res = train_run(cfg, out=out, dataset=dataset)
        self._attach(res.run_dir, open_run(res.run_dir).recipe)
        return self

    def _attach(self, run_dir: str, recipe) -> None:
        if not isinstance(recipe, TabularRecipe):
            raise CheckpointError(f"{run_dir} is not a tabular run (recipe '{recipe.name}')")
        for net in recipe.nets.values():
            net.eval()
        self.run_dir, self.recipe = run_dir, recipe

    def _need_fit(self) -> TabularRecipe:
        if self.recipe is None:
            raise ConfigError("this TabularGAN is not fitted yet: call fit(data) or TabularGAN.load(path)")
        return self.recipe

    @property
    def column_types(self) -> dict[str, str]:
        return {c.name: c.type for c in self._need_fit().tt.columns}

    # -- sampling -------------------------------------------------------------------------------
    def sample(self, n: int, conditions: dict[str, Any] | None = None, seed: int = 0,
               clip: bool | None = None) -> pd.DataFrame:
        """``n`` rows; ``conditions={"col": value}`` fixes discrete columns (the first one conditions G,
        further ones are met by drawing more rows and keeping those that match). Numbers stay inside
        the training range unless ``clip=False`` (default: the run's tabular.clip)."""
        recipe = self._need_fit()
        if int(n) <= 0:
            raise ConfigError(f"sample needs n > 0, got {n}")
        return recipe.rows(int(n), seed, conditions, clip)

    # -- files ----------------------------------------------------------------------------------
    def save(self, path: str) -> str:
        """Copy the run's config, data info and newest checkpoint to the folder ``path``."""
        self._need_fit()
        src = ckpt.find_checkpoint(self.run_dir)
        if os.path.abspath(path) == os.path.abspath(self.run_dir):
            return path
        os.makedirs(os.path.join(path, "checkpoints"), exist_ok=True)
        for name in ("config.json", "data.json"):
            if os.path.exists(os.path.join(self.run_dir, name)):
                shutil.copyfile(os.path.join(self.run_dir, name), os.path.join(path, name))
        shutil.copyfile(src, os.path.join(path, "checkpoints", os.path.basename(src)))
        return path

    @classmethod
    def load(cls, path: str, device: str = "cpu") -> TabularGAN:
        """A fitted model from a folder written by ``save`` (or any tabular run folder / checkpoint)."""
        from ..engine import open_run
        opened = open_run(path, device)
        if "tabular" not in opened.data_info:
            raise CheckpointError(f"{path} is not a tabular run; use ganforge.load for image and vector runs")
        model = cls()
        model._attach(os.fspath(path), opened.recipe)
        return model


__all__ = ["TabularGAN"]
