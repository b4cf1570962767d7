"""The one training loop. It runs a recipe's phases; it never names a network or a loss.

Per step: take the step's batch, run every phase that is due (zero grads, loss, backward,
optional clipping, optimizer step), update EMA copies, then log, draw the fixed-latent grid
and checkpoint on their intervals. A checkpoint captures everything the next step depends on, so a
killed run resumed from it ends bit-identical to one left alone.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any

import torch

from ..config import Config
from ..core import checkpoint as ckpt
from ..core import dist
from ..core.errors import CheckpointError
from ..core.faults import failpoint
from ..core.log import Progress, StatsWriter, truncate_stats
from ..core.seed import global_rng_state, make_generator, seed_all, set_global_rng_state
from ..recipes import Batch, Recipe, build_recipe
from ..version import __version__
from .batches import make_batches
from .ema import EmaPair, ema_beta
from .guard import Guard
from .hooks import build_hooks
from .speed import use_channels_last


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from ..core.errors import ConfigError
        raise ConfigError("train.device=cuda but no CUDA device is available; use --set train.device=cpu")
    return torch.device(name)


def adam_impl(device: torch.device) -> dict[str, bool]:
    """Fused Adam where torch has it, multi-tensor foreach elsewhere. The optimizer step alone is
    1.6-2.6x faster fused (small MLPs and DCGANs alike); whole DCGAN steps differ by less than the
    spread between runs (docs/benchmarks.md, train-step)."""
    return {"fused": True} if device.type in ("cpu", "cuda") else {"foreach": True}


class Trainer:
    def __init__(self, cfg: Config, run_dir: str, dataset, resume=None, evaluator=None):
        """``resume``: a checkpoint path, or (path, tensors, meta) already read, to continue from."""
        self.cfg, self.run_dir, self.dataset = cfg, run_dir, dataset
        self.evaluator = evaluator  # callable(recipe) -> (metrics, is_best), run every cfg.eval.every steps
        t = cfg.train
        if t.threads > 0:
            torch.set_num_threads(t.threads)
        dist.init_from_env(t.device)  # no-op unless launched by torchrun / --nproc
        self.device = resolve_device(t.device)
        seed_all(t.seed)
        self.data_info = dataset.info()
        self.recipe: Recipe = build_recipe(cfg, self.data_info, self.device)
        self.recipe.origin = {"run": os.path.basename(os.path.normpath(run_dir))}   # grids: provenance names the run
        dist.broadcast_modules(self.recipe.nets.values())  # every rank starts from rank 0's weights (frozen: from file)
        self.phases = self.recipe.phases()
        self.steer_by_losses = True   # the NaN guard may act on logged losses (off: a hook says they are private)
        self.hooks = build_hooks(self)   # e.g. differential privacy (engine/hooks.py)
        self.opts = {
            name: torch.optim.Adam([p for m in spec.modules for p in self.recipe.nets[m].parameters()],
                                   lr=spec.lr, betas=spec.betas, **adam_impl(self.device))
            for name, spec in self.recipe.optimizers().items()}
        for hook in self.hooks:
            self.opts = {name: hook.wrap_optimizer(name, opt) for name, opt in self.opts.items()}
        for opt in self.opts.values():  # the rate before any schedule; the NaN guard lowers it (guard.py)
            for group in opt.param_groups:
                group["base_lr"] = group["lr"]
        # gathered once: walking the module tree each phase cost more than small MLPs' own work
        self._params = {name: list(net.parameters()) for name, net in self.recipe.nets.items()
                        if name not in self.recipe.ema}
        self._ema = {name: EmaPair(self.recipe.nets[name], self.recipe.nets[src])
                     for name, src in self.recipe.ema.items()}
        self.gen = make_generator(dist.noise_seed(t.seed) * 1_000_003 + 1, self.device)  # this rank's noise
        self.recipe.gen = self.gen
        own = [b for b in (h.make_batches(dataset, t.batch, t.seed, self.device) for h in self.hooks) if b]
        self.batches = own[0] if own else make_batches(dataset, dist.shard_batch(t.batch), t.seed, self.device,
                                                       dist.rank(), dist.world(), cfg.data.workers)  # global batch
        use_channels_last(self.recipe.nets, self.batches, self.device,
                          getattr(t, "channels_last", "auto"))  # see engine/speed.py
        self.step = 0
        self.stopped = ""   # why a hook ended the run before train.steps
        self.acc: dict[str, Any] = {}   # on-device stat sums since the last log line ("n_<key>": counts)
        self.last_stats: dict[str, float] = {}
        self.ckpt_dir = os.path.join(run_dir, "checkpoints")
        self.sample_dir = os.path.join(run_dir, "samples")
        for folder in (self.ckpt_dir, self.sample_dir) if dist.is_main() else ():  # rank 0 alone writes
            os.makedirs(folder, exist_ok=True)
            for name in os.listdir(folder):  # leftovers of a write cut short by a kill
                if ckpt.is_leftover(name):
                    os.remove(os.path.join(folder, name))
        n_real = self.recipe.grid_examples(t.n_grid)  # fixed real inputs the grid shows or transforms
        self.grid_inputs = self.recipe.grid_inputs(t.n_grid, t.seed,
                                                   self.batches.examples(n_real, t.seed) if n_real else None)
        if resume:
            self._restore(resume)
            if dist.is_main():
                truncate_stats(run_dir, self.step)
            for hook in self.hooks:
                hook.check_resume(t.steps)
        self.data_info = self.data_facts()   # what the hooks promise about the run, beside the data facts
        self.guard = Guard(self)  # NaN/Inf rollback and collapse alarm (guard.py); keeps the start state

    # -- state ----------------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors: dict[str, torch.Tensor] = {}
        for name, net in self.recipe.nets.items():
            tensors.update(ckpt.module_tensors(f"net.{name}", net))
        opt_meta = {}
        for name, opt in self.opts.items():
            opt_meta[name], t = ckpt.optimizer_state(f"opt.{name}", opt)
            tensors.update(t)
        rng_meta, rng_t = global_rng_state()
        tensors.update(rng_t)
        # the stat sums since the last log line, so a resumed run logs the very same next line
        tensors.update({f"acc.{k}": v.detach().clone() for k, v in self.acc.items() if not k.startswith("n_")})
        tensors["rng.gen"] = self.gen.get_state()
        meta = {"version": __version__, "step": self.step, "config": self.cfg.to_dict(),
                "data": self.data_info, "optimizers": opt_meta, "rng": rng_meta,
                "recipe": self.recipe.name, "recipe_state": self.recipe.state_dict(),
                "frozen": self.recipe.frozen_refs,
                "stats": self.last_stats, "torch_version": torch.__version__,
                "acc_counts": {k: v for k, v in self.acc.items() if k.startswith("n_")},
                "threads": torch.get_num_threads(),
                "hooks": {h.name: h.state() for h in self.hooks}}
        meta["data"] = self.data_facts()
        return tensors, meta

    def data_facts(self) -> dict[str, Any]:
        """The data info with the hooks' current records (data.json, checkpoints)."""
        out = dict(self.data_info)
        for hook in self.hooks:
            rec = hook.record()
            if rec is not None:
                out[hook.name] = rec
        return out

    def _restore(self, resume) -> None:
        if isinstance(resume, tuple):
            path, tensors, meta = resume
            tensors = {k: v.to(self.device) for k, v in tensors.items()}
        else:
            path, (tensors, meta) = resume, ckpt.load(resume, self.device)
        self.load_state(tensors, meta, path)

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any], path: str) -> None:
        """The inverse of state(); ``path`` only names the source in error messages."""
        self.recipe.check_frozen(meta.get("frozen", {}), path)
        for name, net in self.recipe.nets.items():
            ckpt.load_module(f"net.{name}", net, tensors, path)
        for name, opt in self.opts.items():
            if name not in meta.get("optimizers", {}):
                raise CheckpointError(f"checkpoint {path} has no optimizer '{name}'")
            ckpt.load_optimizer(f"opt.{name}", opt, meta["optimizers"][name], tensors)
            _match_layouts(opt)
        set_global_rng_state(meta["rng"], tensors)
        self.gen.set_state(tensors["rng.gen"])
        self.recipe.load_state_dict(meta.get("recipe_state", {}))
        for hook in self.hooks:
            hook.load_state(meta.get("hooks", {}).get(hook.name, {}))
        self.step = int(meta["step"])
        self.last_stats = meta.get("stats", {})
        self.acc = {k[len("acc."):]: v.to(self.device) for k, v in tensors.items() if k.startswith("acc.")}
        self.acc.update(meta.get("acc_counts", {}))
        dist.reseed_noise(self.gen, self.cfg.train.seed, self.step)  # ranks > 0: their saved-step stream

    def save_checkpoint(self) -> str:
        tensors, meta = self.state()
        dist.reseed_noise(self.gen, self.cfg.train.seed, self.step)
        if not dist.is_main():
            return ""
        path = os.path.join(self.ckpt_dir, ckpt.ckpt_name(self.step))
        ckpt.save(path, tensors, meta)
        ckpt.prune(self.ckpt_dir, self.cfg.train.keep_ckpts)
        return path

    def write_samples(self) -> str:
        """The grid of the fixed inputs, in the recipe's grid format (samples/grid-<step>.<ext>)."""
        if not dist.is_main():
            return ""
        out = self.recipe.generate(self.grid_inputs)
        with self.recipe.stamped(step=self.step, seed=self.cfg.train.seed):
            return self.recipe.save_grid(out, os.path.join(self.sample_dir, f"grid-{self.step:08d}"),
                                         self.grid_inputs)[0]

    def evaluate(self, stats_w: StatsWriter) -> None:
        metrics, is_best = self.evaluator(self.recipe)
        failpoint(f"eval:{self.step}")
        stats_w.write(self.step, {f"eval/{k}": v for k, v in metrics.items()})
        if is_best:  # kept apart from the rolling checkpoints, never pruned
            tensors, meta = self.state()
            meta["eval"] = metrics
            ckpt.save(os.path.join(self.ckpt_dir, "best.safetensors"), tensors, meta)

    # -- the loop -------------------------------------------------------------------------------
    def run_phase(self, phase, batch: Batch, acc: dict[str, torch.Tensor]) -> None:
        for name, params in self._params.items():
            on = name in phase.trains
            for p in params:
                p.requires_grad_(on)
        opt = self.opts[phase.opt]
        for hook in self.hooks:
            hook.before_phase(phase)
        opt.zero_grad(set_to_none=True)
        loss, stats = phase.loss(batch, self.step)
        loss.backward()
        for hook in self.hooks:
            hook.after_phase(phase)
        if dist.active():  # data parallel: every rank steps with the global batch's mean gradient
            dist.average_grads([p for m in phase.trains for p in self.recipe.nets[m].parameters()])
        if self.cfg.optim.clip_grad > 0:
            params = [p for m in phase.trains for p in self.recipe.nets[m].parameters()]
            torch.nn.utils.clip_grad_norm_(params, self.cfg.optim.clip_grad)
        opt.step()
        for k, v in stats.items():  # accumulate on device: no host sync per step
            acc[k] = acc[k] + v if k in acc else v.clone()
            acc["n_" + k] = acc.get("n_" + k, 0) + 1

    def lr_scale(self) -> float:
        """optim.lr_decay: 1 until the last ``lr_decay`` share of the steps, then linearly down to 0."""
        total = self.cfg.train.steps
        start = total * (1.0 - self.cfg.optim.lr_decay)
        return 1.0 if self.step < start else max(total - self.step, 0) / max(total - start, 1e-9)

    def schedule_lr(self) -> None:
        scale = self.lr_scale()
        for opt in self.opts.values():
            for group in opt.param_groups:
                group["lr"] = group.setdefault("base_lr", group["lr"]) * scale

    def fit(self) -> dict[str, Any]:
        t = self.cfg.train
        total = t.steps
        for net in self.recipe.nets.values():
            net.train()
        for name in self.recipe.ema:
            self.recipe.nets[name].eval()
        stats_w = StatsWriter(self.run_dir) if dist.is_main() else dist.NullWriter()
        progress = Progress(total, self.step, enabled=t.progress and dist.is_main(), every=t.log_every)
        acc = self.acc
        ftz = self.recipe.flush_denormal and torch.set_flush_denormal(True)   # back off when fit() ends
        t0, step0 = time.perf_counter(), self.step
        tick = time.perf_counter()
        try:
            while self.step < total:
                if self.cfg.optim.lr_decay > 0:
                    self.schedule_lr()
                due = [phase for phase in self.phases if phase.due(self.step)]
                reason = next((r for r in (h.stop_before(self.step, due) for h in self.hooks) if r), None)
                if reason:   # a hook ends the run here (a privacy budget spent): keep what was trained
                    self._stop_early(reason, stats_w)
                    break
                batch = self.batches.get(self.step)
                trained = set()
                for phase in due:
                    self.run_phase(phase, batch, acc)
                    trained.update(phase.trains)
                for ema_name, src in self.recipe.ema.items():
                    if src in trained:
                        beta = ema_beta(t.ema_beta, self.step, t.ema_warmup)
                        self._ema[ema_name].update(beta)
                self.recipe.after_step(self.step, acc)
                self.step += 1
                done = self.step == total
                self.guard.after_step(self.step, acc)
                if self.step % t.log_every == 0 or done:
                    now = time.perf_counter()
                    self.last_stats = self._summarise(acc)
                    if self.guard.tripped(self.last_stats, stats_w):  # rolled back: steps resume from there
                        acc = self.acc = {}
                        tick = time.perf_counter()
                        continue
                    self.last_stats["it_per_s"] = round(t.log_every / max(now - tick, 1e-9), 3)
                    tick = now
                    stats_w.write(self.step, self.last_stats)
                    acc = self.acc = {}
                progress.update(self.step, {k: v for k, v in self.last_stats.items() if k.startswith("loss")},
                                force=done)
                if (t.sample_every and self.step % t.sample_every == 0) or done:
                    self.write_samples()
                ckpt_due = bool(t.ckpt_every and self.step % t.ckpt_every == 0) or done
                eval_due = self.evaluator is not None and (self.step % self.cfg.eval.every == 0 or done)
                if (ckpt_due or eval_due) and self.guard.tripped(acc, stats_w):  # never keep NaN weights
                    acc = self.acc = {}
                    tick = time.perf_counter()
                    continue
                if eval_due and dist.is_main():  # before the checkpoint: a kill in between redoes both
                    self.evaluate(stats_w)
                if ckpt_due:
                    self.save_checkpoint()
                    self.guard.snapshot()
        finally:
            if ftz:
                torch.set_flush_denormal(False)
            progress.close()
            stats_w.close()
        elapsed = time.perf_counter() - t0
        return {"run_dir": self.run_dir, "step": self.step, "elapsed_s": round(elapsed, 2),
                "stopped": self.stopped,
                "it_per_s": round((self.step - step0) / max(elapsed, 1e-9), 2), "stats": self.last_stats}

    def _stop_early(self, reason: str, stats_w: StatsWriter) -> None:
        from ..core.log import warn
        warn(reason)
        if self.acc:
            self.last_stats = self._summarise(self.acc)
            stats_w.write(self.step, self.last_stats)
            self.acc = {}
        self.stopped = reason
        if self.step and not os.path.exists(os.path.join(self.ckpt_dir, ckpt.ckpt_name(self.step))):
            self.write_samples()
            self.save_checkpoint()

    @staticmethod
    def _summarise(acc: dict[str, Any]) -> dict[str, float]:
        keys = [k for k in acc if not k.startswith("n_")]
        if not keys:
            return {}
        vals = torch.stack([acc[k].float() / acc["n_" + k] for k in keys])
        vals = dist.mean_over_ranks(vals).cpu().tolist()  # one sync; the global batch's mean
        return {k: round(v, 5) for k, v in zip(keys, vals)}


def _match_layouts(opt: torch.optim.Optimizer) -> None:
    """Give loaded optimizer state its parameter's memory layout. A fresh run creates Adam's moments
    like its (channels_last) parameters; state read back from a checkpoint is contiguous, and the fused
    update then rounds differently, so a resumed run would drift from the run left alone."""
    for group in opt.param_groups:
        for p in group["params"]:
            state = opt.state.get(p, {})
            for k, v in state.items():
                if torch.is_tensor(v) and v.shape == p.shape and v.stride() != p.stride():
                    state[k] = torch.empty_like(p).copy_(v)


def data_info(dataset) -> dict[str, Any]:
    """The data facts a checkpoint needs to rebuild and sample its networks without the data."""
    return dataset.info()


def write_run_files(run_dir: str, cfg: Config, data_info: dict, derived: list | None = None) -> None:
    """config.json (the resolved config) and data.json (the data facts, and what ``prepare`` chose)."""
    if not dist.is_main():  # rank 0 alone writes the run folder
        return
    ckpt.atomic_write_bytes(os.path.join(run_dir, "config.json"), cfg.to_json().encode())
    info = dict(data_info)
    if derived is not None:
        info["derived"] = [d.to_dict() for d in derived]
    else:  # a resumed run keeps the record of what its start derived
        info.update({k: v for k, v in _read_json(os.path.join(run_dir, "data.json")).items() if k == "derived"})
    ckpt.atomic_write_bytes(os.path.join(run_dir, "data.json"), json.dumps(info, indent=2).encode())


def _read_json(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def load_run_config(run_dir: str) -> Config:
    from ..config import from_dict
    path = os.path.join(run_dir, "config.json")
    if not os.path.exists(path):
        raise CheckpointError(f"{run_dir} is not a run folder (no config.json)")
    try:
        with open(path) as f:
            return from_dict(json.load(f))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from None


__all__ = ["Trainer", "resolve_device", "write_run_files", "load_run_config"]
