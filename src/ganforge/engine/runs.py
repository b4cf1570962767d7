"""The one way to train a run and the one way to open one. The CLI, the Python API, TabularGAN,
export, evaluation and the report all go through these two.

``train_run``: load the data, let the recipe derive its defaults (``prepare``), create the run
folder, build the trainer, write config.json / data.json, train; a failure before the first step
leaves no half-made run folder behind. ``resume_run``: the same from a run's newest checkpoint.
``open_run``: a checkpoint file, a run folder or an exported model folder -> the recipe with its
weights loaded (frozen networks from their files, checked by sha256), ready to sample.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import Any

import torch

from .. import config as C
from ..core import bundle, dist, provenance
from ..core import checkpoint as ckpt
from ..core.errors import CheckpointError, ConfigError
from ..core.frozen import frozen_files
from ..core.log import truncate_stats, warn
from ..core.runs import is_empty_run_dir, new_run_dir, prepare_out_dir, run_lock
from ..data import load_dataset
from ..recipes import Recipe, build_recipe, prepare
from .loop import Trainer, load_run_config, resolve_device, write_run_files
from .speed import use_channels_last


@dataclass
class TrainResult:
    run_dir: str
    step: int
    elapsed_s: float
    it_per_s: float
    stats: dict[str, float] = field(default_factory=dict)
    stopped: str = ""               # why the run ended before train.steps (a hook, e.g. a spent privacy budget)

    def __fspath__(self) -> str:
        return self.run_dir

    def __str__(self) -> str:
        return self.run_dir


def evaluator(cfg: C.Config, dataset):
    """The periodic evaluation hook (eval.every > 0), or None."""
    if cfg.eval.every <= 0:
        return None
    from ..metrics.protocol import PeriodicEval
    return PeriodicEval(cfg, dataset, dataset.info())


def train_run(cfg: C.Config, *, out: str | None = None, runs_root: str = "runs", dataset=None) -> TrainResult:
    """Train a new run of ``cfg`` (``dataset``: already loaded data, e.g. a DataFrame's encoding)."""
    if dataset is None:
        dataset = load_dataset(cfg, seed=cfg.train.seed)
    derived = prepare(cfg, dataset.info())
    dist.init_from_env(cfg.train.device)  # under torchrun: rank 0 makes the run folder, the others join it
    run_dir = dist.on_main(lambda: prepare_out_dir(out) if out else new_run_dir(runs_root, cfg.preset))
    with _locked(run_dir):
        if dist.is_main() and out:
            prepare_out_dir(out)  # again under the lock: another process may have started a run here meanwhile
        created = dist.is_main() and is_empty_run_dir(run_dir)
        try:
            trainer = Trainer(cfg, run_dir, dataset, evaluator=evaluator(cfg, dataset))
            write_run_files(run_dir, cfg, trainer.data_info, derived)
        except BaseException:
            if created:  # a failure before the first step leaves no half-made run behind
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        return _fit(trainer, run_dir, cfg)


def _fit(trainer: Trainer, run_dir: str, cfg: C.Config) -> TrainResult:
    """Train, then bring data.json's hook records (what a private run spent) up to the end of training."""
    result = TrainResult(**trainer.fit())
    write_run_files(run_dir, cfg, trainer.data_facts())
    return result


def _locked(run_dir: str):
    """The run folder's lock on rank 0 (the one process that writes it)."""
    import contextlib
    return run_lock(run_dir) if dist.is_main() else contextlib.nullcontext()


def resume_run(run_dir: str, steps: int | None = None, progress: bool | None = None) -> TrainResult:
    """Continue a run from its newest valid checkpoint (also: extend a finished run to ``steps``). A run
    killed before its first checkpoint starts again from step 0 with its saved config."""
    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise CheckpointError(f"no such run: {run_dir}")
    dist.init_from_env(load_run_config(run_dir).train.device)  # ranks know who they are before the lock
    with _locked(run_dir):
        if ckpt.list_checkpoints(os.path.join(run_dir, "checkpoints")):
            if dist.is_main():   # rank 0 alone sets damaged checkpoints aside; the others read after it
                path, tensors, meta = ckpt.load_newest_valid(run_dir, set_aside=True)
            dist.barrier()
            if not dist.is_main():
                path, tensors, meta = ckpt.load_newest_valid(run_dir)
            cfg, done = C.from_dict(meta["config"]), int(meta["step"])
        else:
            cfg, path, tensors, meta, done = load_run_config(run_dir), None, None, None, 0
            warn(f"{run_dir} holds no checkpoint (the run stopped before its first one): starting it from step 0 "
                 "with its saved config")
            if dist.is_main():
                truncate_stats(run_dir, 0)   # what the stopped attempt logged is logged again
        if steps is not None:
            if steps < done:
                raise ConfigError(f"--steps {steps} is below the {done} steps the run has done")
            cfg.train.steps = int(steps)
        if progress is not None:
            cfg.train.progress = progress
        dataset = load_dataset(cfg, seed=cfg.train.seed)
        hook = evaluator(cfg, dataset)
        if hook is not None:
            hook.restore_best(os.path.join(run_dir, "checkpoints", "best.safetensors"))
        trainer = Trainer(cfg, run_dir, dataset, resume=(path, tensors, meta) if path else None, evaluator=hook)
        write_run_files(run_dir, cfg, trainer.data_info)
        if trainer.step >= cfg.train.steps:
            return TrainResult(run_dir, trainer.step, 0.0, 0.0, trainer.last_stats)
        return _fit(trainer, run_dir, cfg)


@dataclass
class OpenedRun:
    recipe: Recipe                  # networks loaded, in eval mode
    config: C.Config
    data_info: dict[str, Any]
    meta: dict[str, Any]            # the checkpoint's metadata (or the model folder's index)
    checkpoint: str                 # the checkpoint file, or the model folder
    step: int

    @property
    def run_dir(self) -> str:
        """The run folder (or model folder) the checkpoint belongs to."""
        if os.path.isdir(self.checkpoint):
            return self.checkpoint
        folder = os.path.dirname(os.path.abspath(self.checkpoint))
        return os.path.dirname(folder) if os.path.basename(folder) == "checkpoints" else folder


def open_run(path, device: str | torch.device = "cpu") -> OpenedRun:
    """A run folder, checkpoint file or exported model folder, rebuilt without its training data."""
    path = os.fspath(path)
    device = device if isinstance(device, torch.device) else resolve_device(device)
    if bundle.is_bundle(path):
        opened = _open_bundle(path, device)
    else:
        found, tensors, meta = ckpt.load_newest_valid(path)
        cfg = C.from_dict(meta["config"])
        recipe = build_recipe(cfg, meta["data"], device)
        recipe.check_frozen(meta.get("frozen", {}), found)
        for name, net in recipe.nets.items():
            ckpt.load_module(f"net.{name}", net, tensors, found)
        opened = OpenedRun(recipe, cfg, meta["data"], meta, found, int(meta["step"]))
    for net in opened.recipe.nets.values():
        net.eval()
    use_channels_last(opened.recipe.nets, None, device)  # faster CPU sampling (engine/speed.py)
    opened.recipe.origin = origin_of(opened)
    return opened


def origin_of(opened: OpenedRun) -> dict[str, Any]:
    """What every file sampled from this run records about its source: the checkpoint (or model folder's
    index) and its sha256, the run folder's name and the training step."""
    src = opened.checkpoint
    index = [os.path.join(src, f) for f in (bundle.INDEX, bundle.OLD_CONFIG) if os.path.isfile(os.path.join(src, f))]
    hashed = (index or [src])[0] if os.path.isdir(src) else src
    sha = provenance.sha256_of(hashed) if os.path.isfile(hashed) else None
    return {"checkpoint": os.path.basename(os.path.normpath(src)), "checkpoint_sha256": sha,
            "run": os.path.basename(os.path.normpath(opened.run_dir)), "step": opened.step}


def _open_bundle(path: str, device: torch.device) -> OpenedRun:
    doc = bundle.read_index(path)
    bundle.check_index(doc, path)
    try:
        cfg = C.from_dict(doc["config"])
    except ConfigError as e:
        raise CheckpointError(f"model folder {path}: {e}") from None
    frozen = {name: os.path.join(path, ref["weights"]) for name, ref in doc.get("frozen", {}).items()}
    with frozen_files(frozen):
        recipe = build_recipe(cfg, doc["data"], device)
    recipe.check_frozen({k: v for k, v in doc.get("frozen", {}).items()}, path)
    loaded = set()
    for name, comp in doc["components"].items():
        net = recipe.nets.get(comp.get("net", ""))
        if net is None:
            raise CheckpointError(f"model folder {path}: component '{name}' names a network "
                                  f"'{comp.get('net')}' the {recipe.name} recipe does not have")
        try:
            net.load_state_dict({k: v.to(device) for k, v in bundle.read_weights(path, comp["weights"]).items()})
        except RuntimeError as e:
            raise CheckpointError(f"{path}/{comp['weights']} does not match its model_index.json: "
                                  f"{str(e).splitlines()[0]}") from None
        loaded.add(comp["net"])
    for avg, src in recipe.ema.items():  # the trained network mirrors its average, so net="G" is not random
        if avg in loaded and src not in loaded:
            recipe.nets[src].load_state_dict(recipe.nets[avg].state_dict())
    meta = {"config": doc["config"], "data": doc["data"], "step": int(doc.get("step", 0)),
            "version": doc.get("ganforge_version"), "recipe": doc.get("recipe"), "frozen": doc.get("frozen", {})}
    return OpenedRun(recipe, cfg, doc["data"], meta, path, meta["step"])


__all__ = ["TrainResult", "train_run", "resume_run", "open_run", "OpenedRun", "evaluator"]
