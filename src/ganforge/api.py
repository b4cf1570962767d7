"""The Python face of ganforge: the same verbs as the CLI.

    import ganforge
    run = ganforge.train("digits", steps=500)
    g = ganforge.load(run)
    x = g.sample(16, seed=0)          # (16, 1, 8, 8) float in [-1, 1]
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from . import config as C
from .core import checkpoint as ckpt
from .core import dist
from .core.errors import ConfigError, GanforgeError
from .core.log import read_stats
from .core.runs import new_run_dir, prepare_out_dir
from .data import load_dataset
from .nets import param_count
from .recipes import build_recipe
from .engine import Trainer, resolve_device, write_run_files
from .engine.speed import use_channels_last

_BUILTIN_SOURCES = ("digits", "ring8", "grid25")


@dataclass
class TrainResult:
    run_dir: str
    step: int
    elapsed_s: float
    it_per_s: float
    stats: dict[str, float] = field(default_factory=dict)

    def __fspath__(self) -> str:
        return self.run_dir

    def __str__(self) -> str:
        return self.run_dir


def resolve_config(preset: str | C.Config = "digits", *, data: str | None = None, steps: int | None = None,
                   seed: int | None = None, overrides: dict[str, Any] | list[str] | None = None) -> C.Config:
    """Preset or config file, then --data/--steps/--seed, then key=value overrides; validated."""
    if isinstance(overrides, list):
        overrides = C.parse_set(overrides)
    ov = dict(overrides or {})
    if isinstance(preset, C.Config):
        cfg = C.apply_dict(C.from_dict(preset.to_dict()), ov, "overrides")
    else:
        cfg = C.resolve(preset, ov)
    if data is not None:
        cfg.data.path = str(data)
        if cfg.data.source in _BUILTIN_SOURCES:  # a built-in preset's settings on the user's own data
            cfg.data.source = "auto"
    if steps is not None:
        cfg.train.steps = int(steps)
        cfg.tabular.epochs = 0   # an explicit step count wins over a table's epochs
    if seed is not None:
        cfg.train.seed = int(seed)
    return C.validate(cfg)


def _evaluator(cfg: C.Config, dataset):
    if cfg.eval.every <= 0:
        return None
    from .engine import data_info
    from .metrics.protocol import PeriodicEval
    return PeriodicEval(cfg, dataset, data_info(dataset))


def train(preset: str | C.Config = "digits", *, data: str | None = None, out: str | None = None,
          steps: int | None = None, seed: int | None = None, overrides: dict | list | None = None,
          runs_root: str = "runs", progress: bool | None = None) -> TrainResult:
    """Train a GAN from a preset name, a config file or a Config; returns the run folder and summary."""
    cfg = resolve_config(preset, data=data, steps=steps, seed=seed, overrides=overrides)
    if progress is not None:
        cfg.train.progress = progress
    dataset = load_dataset(cfg.data, seed=cfg.train.seed, tabular=cfg.tabular)
    dist.init_from_env(cfg.train.device)  # under torchrun: rank 0 makes the run folder, the others join it
    run_dir = dist.on_main(lambda: prepare_out_dir(out) if out else new_run_dir(runs_root, cfg.preset))
    created = dist.is_main() and not os.listdir(run_dir)
    try:
        trainer = Trainer(cfg, run_dir, dataset, evaluator=_evaluator(cfg, dataset))
        write_run_files(run_dir, cfg, trainer.data_info)
    except BaseException:
        if created:  # a failure before the first step leaves no half-made run behind
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return TrainResult(**trainer.fit())


def resume(run_dir: str, steps: int | None = None, progress: bool | None = None) -> TrainResult:
    """Continue a run from its newest checkpoint (also: extend a finished run to ``steps``)."""
    run_dir = os.fspath(run_dir)
    path = ckpt.find_checkpoint(run_dir)
    _, meta = ckpt.load(path)
    cfg = C.from_dict(meta["config"])
    if steps is not None:
        if steps < meta["step"]:
            raise ConfigError(f"--steps {steps} is below the {meta['step']} steps the run has done")
        cfg.train.steps = int(steps)
    if progress is not None:
        cfg.train.progress = progress
    dataset = load_dataset(cfg.data, seed=cfg.train.seed, tabular=cfg.tabular)
    evaluator = _evaluator(cfg, dataset)
    if evaluator is not None:
        evaluator.restore_best(os.path.join(run_dir, "checkpoints", "best.safetensors"))
    trainer = Trainer(cfg, run_dir, dataset, resume=path, evaluator=evaluator)
    write_run_files(run_dir, cfg, trainer.data_info)
    if trainer.step >= cfg.train.steps:
        return TrainResult(run_dir, trainer.step, 0.0, 0.0, trainer.last_stats)
    return TrainResult(**trainer.fit())


class Generator:
    """A trained generator, rebuilt from a checkpoint alone (no training data needed)."""

    def __init__(self, path: str, device: str = "cpu"):
        self.checkpoint = ckpt.find_checkpoint(os.fspath(path))
        tensors, meta = ckpt.load(self.checkpoint)
        self.meta = meta
        self.config = C.from_dict(meta["config"])
        self.data_info = meta["data"]
        self.step = int(meta["step"])
        self.device = resolve_device(device)
        self.recipe = build_recipe(self.config, self.data_info, self.device)
        for name, net in self.recipe.nets.items():
            ckpt.load_module(f"net.{name}", net, tensors, self.checkpoint)
            net.eval()
        use_channels_last(self.recipe.nets, None, self.device)  # faster CPU sampling (engine/speed.py)

    @property
    def num_classes(self) -> int:
        return getattr(self.recipe, "num_classes", 0)

    def sample(self, n: int | None = None, seed: int = 0, *, seeds: list[int] | None = None,
               labels=None, numpy: bool = False, net: str | None = None):
        """``n`` samples from one seed, or one per entry of ``seeds`` (each reproducible alone).

        Returns a tensor in the model's space (images in [-1, 1]), or with ``numpy=True`` the
        user's format (images uint8 0..255, vectors float32)."""
        if seeds is None and (n is None or n <= 0):
            raise ConfigError("sample needs n > 0 or a list of seeds")
        inputs = self.recipe.latents_for(n or 0, seed=seed, seeds=seeds, labels=labels)
        x = self.recipe.generate(inputs, net=net)
        if not numpy:
            return x
        out = {"x": self.recipe.to_output(x)}
        if "y" in inputs:
            out["y"] = inputs["y"].cpu().numpy()
        return out

    def save(self, out: str, n: int | None = None, seed: int = 0, seeds: list[int] | None = None, labels=None) -> str:
        """A grid PNG, or an NPZ (key ``x``, and ``y`` for conditional models), chosen by extension."""
        ext = os.path.splitext(out)[1].lower()
        if ext not in (".png", ".npz"):
            raise ConfigError(f"--out must end in .png or .npz, got {out}")
        inputs = self.recipe.latents_for(n or 0, seed=seed, seeds=seeds, labels=labels)
        x = self.recipe.generate(inputs)
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        if ext == ".png":
            self.recipe.write_grid(x, out, inputs)
        else:
            arrays = {"x": self.recipe.to_output(x)}
            if "y" in inputs:
                arrays["y"] = inputs["y"].cpu().numpy()
            tmp = out + ".tmp.npz"
            np.savez(tmp, **arrays)
            os.replace(tmp, out)
        return out


def load(path, device: str = "cpu") -> Generator:
    from .export.hf import is_pretrained_folder, load_pretrained
    if os.path.isdir(os.fspath(path)) and is_pretrained_folder(path):  # `ganforge export --format hf` output
        return load_pretrained(path, device)
    return Generator(path, device)


def info(run_dir: str) -> dict[str, Any]:
    """What a run is: preset, data, steps done, config, parameter counts, last losses."""
    run_dir = os.fspath(run_dir)
    path = ckpt.find_checkpoint(run_dir)
    tensors, meta = ckpt.load(path)
    cfg = C.from_dict(meta["config"])
    recipe = build_recipe(cfg, meta["data"], torch.device("cpu"))
    rows = read_stats(run_dir) if os.path.isdir(run_dir) else []
    return {"run": run_dir, "checkpoint": path, "preset": cfg.preset, "recipe": meta.get("recipe"),
            "data": meta["data"], "steps_done": meta["step"], "steps_planned": cfg.train.steps,
            "version": meta.get("version"), "parameters": {k: param_count(v) for k, v in recipe.nets.items()},
            "last_stats": rows[-1] if rows else meta.get("stats", {}), "config": cfg.to_dict()}


__all__ = ["train", "resume", "load", "info", "Generator", "TrainResult", "resolve_config", "GanforgeError"]
