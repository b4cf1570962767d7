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

from . import config as C
from .core import checkpoint as ckpt
from .core.errors import CheckpointError, ConfigError, DataError
from .recipes import build_recipe
from .recipes.tabular import TabularRecipe

_MAX_ROUNDS = 50   # rejection rounds for conditions beyond the first


class TabularGAN:
    """Fit on a table, sample rows like it. Settings follow CTGAN's defaults (Xu et al. 2019)."""

    def __init__(self, epochs: int = 300, *, batch_size: int = 500, pack: int = 10, embedding_dim: int = 128,
                 generator_dim: int = 256, discriminator_dim: int = 256, layers: int = 2, lr: float = 2e-4,
                 steps: int | None = None, seed: int = 0, out: str | None = None, verbose: bool = False,
                 overrides: dict[str, Any] | list[str] | None = None):
        self.settings = {"tabular.epochs": 0 if steps else epochs, "train.batch": batch_size, "model.pack": pack,
                         "model.z_dim": embedding_dim, "model.g_width": generator_dim,
                         "model.d_width": discriminator_dim, "model.mlp_layers": layers,
                         "optim.g_lr": lr, "optim.d_lr": lr, "train.seed": seed, "train.progress": verbose}
        if steps:
            self.settings["train.steps"] = int(steps)
        extra = C.parse_set(overrides) if isinstance(overrides, list) else dict(overrides or {})
        self.settings.update(extra)
        self.out = out
        self.recipe: TabularRecipe | None = None
        self.run_dir: str | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    # -- training -------------------------------------------------------------------------------
    def fit(self, data, discrete_columns=(), target: str | None = None, types: dict[str, str] | None = None) -> TabularGAN:
        """Train on ``data`` (a DataFrame, or a .csv/.parquet path); returns self."""
        from .data.tabular import parse_types, read_table, split_names, table_dataset
        from .engine import Trainer, write_run_files
        from .core.runs import prepare_out_dir
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
        dataset = table_dataset(df, cfg.tabular, cfg.train.seed, name=name)
        if self.out:
            run_dir = prepare_out_dir(self.out)
        else:   # removed with the model; save() keeps a copy
            self._tmp = tempfile.TemporaryDirectory(prefix="ganforge-tabular-")
            run_dir = self._tmp.name
        trainer = Trainer(cfg, run_dir, dataset)
        write_run_files(run_dir, cfg, trainer.data_info)
        trainer.fit()
        self._attach(run_dir, trainer.recipe)
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
        conds = list((conditions or {}).items())
        first = recipe.condition_index(*conds[0]) if conds else None
        for col, value in conds[1:]:
            recipe.condition_index(col, value)   # same checks for every condition
        if len(conds) <= 1:
            return self._draw(int(n), seed, first, clip)
        kept, have = [], 0
        for r in range(_MAX_ROUNDS):
            rows = self._draw(max(int(n), 1000), seed * _MAX_ROUNDS + r, first, clip)
            for col, value in conds[1:]:
                rows = rows[rows[col].astype(str) == str(value)]
            kept.append(rows)
            have += len(rows)
            if have >= n:
                return pd.concat(kept, ignore_index=True).iloc[:int(n)]
        raise DataError(f"only {have} of {n} rows met the conditions {dict(conds)} after {_MAX_ROUNDS} rounds; "
                        "the combination is too rare in the model: ask for fewer rows or fewer conditions")

    def _draw(self, n: int, seed: int, condition: int | None, clip: bool | None) -> pd.DataFrame:
        recipe = self._need_fit()
        x = recipe.generate(recipe.latents_for(n, seed=seed, condition=condition))
        return recipe.to_output(x, clip)

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
        from .engine import resolve_device
        found = ckpt.find_checkpoint(os.fspath(path))
        tensors, meta = ckpt.load(found)
        cfg = C.from_dict(meta["config"])
        if "tabular" not in meta.get("data", {}):
            raise CheckpointError(f"{path} is not a tabular run; use ganforge.load for image and vector runs")
        recipe = build_recipe(cfg, meta["data"], resolve_device(device))
        for name, net in recipe.nets.items():
            ckpt.load_module(f"net.{name}", net, tensors, found)
        model = cls()
        model._attach(os.fspath(path), recipe)
        return model


def write_table(df: pd.DataFrame, out: str) -> str:
    """Write rows as .csv, or .parquet when pyarrow (or fastparquet) is importable."""
    import importlib.util
    low = out.lower()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if low.endswith((".parquet", ".pq")):
        if importlib.util.find_spec("pyarrow") is None and importlib.util.find_spec("fastparquet") is None:
            raise ConfigError(f"writing {out} needs pyarrow: pip install pyarrow (or use --out rows.csv)")
        df.to_parquet(out, index=False)
    elif low.endswith(".csv"):
        df.to_csv(out, index=False)
    else:
        raise ConfigError(f"--out for a tabular run must end in .csv or .parquet, got {out}")
    return out


__all__ = ["TabularGAN", "write_table"]
