"""The Python face of ganforge: the same verbs as the CLI.

    import ganforge
    run = ganforge.train("digits", steps=500)
    g = ganforge.load(run)
    x = g.sample(16, seed=0)          # (16, 1, 8, 8) float in [-1, 1]
"""
from __future__ import annotations

import os
import shutil
from typing import Any

from . import config as C
from .core.errors import ConfigError, DataError, GanforgeError
from .core.log import read_stats
from .core.registry import SOURCES
from .data import load_dataset
from .engine import TrainResult, open_run, resume_run, train_run
from .nets import param_count
from .recipes import prepare


def resolve_config(preset: str | C.Config = "digits", *, data: str | None = None, steps: int | None = None,
                   seed: int | None = None, overrides: dict[str, Any] | list[str] | None = None) -> C.Config:
    """Preset or config file, then --data/--steps/--seed, then key=value overrides; validated.
    Everything given here counts as set by the user (a recipe's ``prepare`` leaves it alone)."""
    if isinstance(overrides, list):
        overrides = C.parse_set(overrides)
    ov = dict(overrides or {})
    if isinstance(preset, C.Config):
        cfg = C.apply_dict(preset.copy(), ov, "overrides")
    else:
        cfg = C.resolve(preset, ov)
    given: dict[str, Any] = {}
    if data is not None:
        given["data.path"] = str(data)
        if SOURCES.get(cfg.data.source, "data source").path == "none":  # a built-in set's preset on the user's data
            given["data.source"] = "auto"
    if steps is not None:
        given["train.steps"] = int(steps)
    if seed is not None:
        given["train.seed"] = int(seed)
    return C.validate(C.apply_dict(cfg, given, "arguments"))


def plan(preset: str | C.Config = "digits", **kwargs: Any) -> tuple[C.Config, list[C.Derived], str]:
    """What ``train`` would run: the resolved config after the recipe's ``prepare`` step, the values it
    derived from the data, and "" (or why the data could not be read, in which case nothing is derived)."""
    cfg = resolve_config(preset, **kwargs)
    try:
        dataset = load_dataset(cfg, seed=cfg.train.seed)
    except DataError as e:
        return cfg, [], str(e)
    return cfg, prepare(cfg, dataset.info()), ""


def train(preset: str | C.Config = "digits", *, data: str | None = None, out: str | None = None,
          steps: int | None = None, seed: int | None = None, overrides: dict | list | None = None,
          runs_root: str = "runs", progress: bool | None = None) -> TrainResult:
    """Train a GAN from a preset name, a config file or a Config; returns the run folder and summary."""
    cfg = resolve_config(preset, data=data, steps=steps, seed=seed, overrides=overrides)
    if progress is not None:
        cfg.train.progress = progress
    return train_run(cfg, out=out, runs_root=runs_root)


def resume(run_dir: str, steps: int | None = None, progress: bool | None = None) -> TrainResult:
    """Continue a run from its newest checkpoint (also: extend a finished run to ``steps``)."""
    return resume_run(run_dir, steps=steps, progress=progress)


class Generator:
    """A trained model, rebuilt from a checkpoint or an exported folder alone (no training data needed)."""

    def __init__(self, path, device: str = "cpu"):
        opened = open_run(path, device)
        self.opened = opened
        self.recipe, self.config, self.data_info = opened.recipe, opened.config, opened.data_info
        self.meta, self.checkpoint, self.step = opened.meta, opened.checkpoint, opened.step
        self.device = opened.recipe.device

    @property
    def num_classes(self) -> int:
        return getattr(self.recipe, "num_classes", 0)

    @property
    def run_dir(self) -> str:
        return self.opened.run_dir

    def sample(self, n: int | None = None, seed: int = 0, *, seeds: list[int] | None = None,
               labels=None, numpy: bool = False, net: str | None = None, **conditions: Any):
        """``n`` samples from one seed, or one per entry of ``seeds`` (each reproducible alone).

        ``labels`` (class-conditional runs) and any other conditioning input the recipe takes
        (``condition={"col": value}`` for tables, ...) go to the recipe; one it does not take is a
        one-line error. Returns the samples in the model's space (images in [-1, 1]), or with
        ``numpy=True`` in the user's format (a dict: images uint8 0..255 as ``x``, labels as ``y``)."""
        if labels is not None:
            conditions["label"] = labels
        outputs, inputs = self.recipe.sample(n or 0, seed=seed, seeds=seeds, conditions=conditions, net=net)
        return self.recipe.to_output(outputs, inputs) if numpy else outputs

    def save(self, out: str, n: int | None = None, seed: int = 0, seeds: list[int] | None = None, labels=None,
             watermark: bool = False, sign=None, **conditions: Any) -> str:
        """Samples written in the format ``out``'s extension names (``recipe.formats``: a grid PNG, an
        NPZ of arrays, rows as CSV ...); the file appears whole or not at all. ``watermark``: every image
        carries the checkpoint's 32-bit invisible mark (core/watermark.py). ``sign``: a
        ``core.credentials.Signer`` (or a (certificate, key) pair of PEM paths) that embeds signed C2PA
        Content Credentials in every PNG/JPEG/GIF/WAV/MP4 written; if signing fails nothing is left."""
        self.recipe.check_format(out)
        if sign is not None:
            from .core.credentials import MIMES, Signer
            ext = os.path.splitext(out)[1].lower()
            if ext and ext not in MIMES:
                raise ConfigError(f"C2PA signing covers {', '.join(MIMES)} files, not {ext}; the record in "
                                  "the file (or its sidecar) still says a GAN made it")
            sign = sign if hasattr(sign, "sign_file") else Signer(*sign)
        if labels is not None:
            conditions["label"] = labels
        outputs, inputs = self.recipe.sample(n or 0, seed=seed, seeds=seeds, conditions=conditions)
        with self.recipe.stamped(**({"seeds": list(seeds)} if seeds else {"seed": seed, "n": n}),
                                 **({"watermark": True} if watermark else {})):
            path = self.recipe.save_samples(outputs, out, inputs)
        if sign is not None:
            from .core.credentials import sign_tree
            try:
                if not sign_tree(path, sign):
                    raise ConfigError(f"{path}: C2PA covers PNG, JPEG, GIF, WAV and MP4 files, none was written")
            except BaseException:
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
                raise
        return path


def load(path, device: str = "cpu") -> Generator:
    """A run folder, checkpoint file or exported model folder, ready to sample."""
    return Generator(path, device)


def info(run_dir: str) -> dict[str, Any]:
    """What a run is: preset, data, steps done, config, parameter counts, last losses, its privacy record."""
    from .core.privacy import not_private
    run_dir = os.fspath(run_dir)
    opened = open_run(run_dir)
    cfg, meta = opened.config, opened.meta
    rows = read_stats(run_dir) if os.path.isdir(run_dir) else []
    return {"run": run_dir, "checkpoint": opened.checkpoint, "preset": cfg.preset, "recipe": meta.get("recipe"),
            "data": meta["data"], "steps_done": meta["step"], "steps_planned": cfg.train.steps,
            "version": meta.get("version"),
            "parameters": {k: param_count(v) for k, v in opened.recipe.nets.items()},
            "frozen": meta.get("frozen", {}),
            "last_stats": rows[-1] if rows else meta.get("stats", {}), "config": cfg.to_dict(),
            "privacy": meta["data"].get("privacy") or not_private()}


__all__ = ["train", "resume", "load", "info", "plan", "Generator", "TrainResult", "resolve_config",
           "GanforgeError", "ConfigError"]
