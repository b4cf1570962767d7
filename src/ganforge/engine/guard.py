"""Training health: the NaN/Inf guard and the mode-collapse alarm.

NaN/Inf guard. Checked at every log interval (on the interval's averaged stats, which the loop
reads back anyway) and right before every checkpoint (on the stats accumulated since the last log
line), together with one ``isfinite`` pass over all network weights and buffers: one extra host
sync per check, none per step. A non-finite loss anywhere in an interval makes its average
non-finite, so no step escapes. On a trip the run goes back to the last good state: the newest
checkpoint, of which an in-memory copy is kept (it is also taken at the start, so a run without
any checkpoint yet can roll back), every learning rate is multiplied by ``train.nan_lr_factor``,
stats.jsonl lines after the restored step are replaced by one ``"event": "nan_rollback"`` line,
and training goes on. After ``train.nan_retries`` rollbacks in one process the run stops with a
one-line GanforgeError. Because a checkpoint is only written after a passing check, no checkpoint
ever holds non-finite weights.

Collapse alarm. Every ``train.collapse_every`` steps the mean pairwise distance of the samples
drawn from the fixed grid latents (raw model space) is divided by the same statistic of an
equal-size real subset, drawn once with a private generator (the run's random streams are not
touched). The ratio is logged as ``collapse_ratio``; below ``train.collapse_threshold`` a warning
is printed. A healthy model sits near 1; a collapsed one near 0. Image runs start far below 1 and
climb, so a second test looks for a fall instead: a ratio below ``train.collapse_drop`` times the
best ratio this process has seen also warns.
"""
from __future__ import annotations

import json
import math
import sys
from typing import Any

import torch

from ..core import dist
from ..core.errors import GanforgeError
from ..core.log import truncate_stats


def warn(msg: str) -> None:
    """A console warning on its own line (the progress bar may be mid-line); rank 0 only."""
    if not dist.is_main():
        return
    sys.stderr.write(f"\nganforge warning: {msg}\n")
    sys.stderr.flush()


def all_finite(values: list[Any]) -> bool:
    """True when every float / tensor in ``values`` is finite; one host sync for all tensors."""
    if not all(math.isfinite(v) for v in values if isinstance(v, (int, float))):
        return False
    flags = [torch.isfinite(v).all() for v in values if torch.is_tensor(v)]
    return bool(torch.stack(flags).all().item()) if flags else True


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean Euclidean distance over all pairs of rows of x flattened to (N, features)."""
    flat = x.detach().flatten(1).double()
    return float(torch.pdist(flat).mean()) if flat.shape[0] > 1 else 0.0


class NanGuard:
    def __init__(self, trainer) -> None:
        self.trainer = trainer
        self.retries = int(trainer.cfg.train.nan_retries)
        self.factor = float(trainer.cfg.train.nan_lr_factor)
        self.rollbacks = 0
        self._snap: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None
        self.snapshot()

    def snapshot(self) -> None:
        """Remember the trainer's state as the last good one (called at start and after checkpoints)."""
        tensors, meta = self.trainer.state()
        self._snap = ({k: v.detach().clone() for k, v in tensors.items()}, json.loads(json.dumps(meta)))

    def _weights(self) -> list[torch.Tensor]:
        return [v for net in self.trainer.recipe.nets.values() for v in net.state_dict().values()
                if v.is_floating_point()]

    def healthy(self, stats: dict[str, Any]) -> bool:
        """Finite losses (floats or on-device sums, keys starting with "loss") and finite weights. When the
        trainer must not be steered by losses on real data (differential privacy), the weights alone decide."""
        losses = [v for k, v in stats.items() if k.startswith("loss")] if self.trainer.steer_by_losses else []
        return all_finite(losses + self._weights())

    def tripped(self, stats: dict[str, Any], stats_writer) -> bool:
        """Check; on failure roll back (or give up) and return True so the loop restarts its step."""
        if self.healthy(stats):
            return False
        self.rollback(stats_writer)
        return True

    def rollback(self, stats_writer) -> None:
        t = self.trainer
        bad_step = t.step
        if self.rollbacks >= self.retries:
            raise GanforgeError(
                f"training diverged: non-finite loss or weights by step {bad_step} after {self.rollbacks} "
                f"rollback(s) with learning rates x{self.factor ** self.rollbacks:g}; lower optim.d_lr/"
                "optim.g_lr, add a regulariser (e.g. reg.r1) or raise train.nan_retries")
        self.rollbacks += 1
        lrs = {name: [g.get("base_lr", g["lr"]) for g in opt.param_groups] for name, opt in t.opts.items()}
        tensors, meta = self._snap
        # clones: the optimizer adopts loaded tensors as its state and would update the snapshot in place
        t.load_state({k: v.clone() for k, v in tensors.items()}, json.loads(json.dumps(meta)), "memory")
        new_lrs = {}
        for name, opt in t.opts.items():
            for group, lr in zip(opt.param_groups, lrs[name]):
                group["lr"] = group["base_lr"] = lr * self.factor  # a schedule scales from base_lr
            new_lrs[name] = opt.param_groups[0]["lr"]
        if dist.is_main():  # under data parallelism every rank decides alike; rank 0 owns the files
            truncate_stats(t.run_dir, t.step)
        stats_writer.write(t.step, {"event": "nan_rollback", "bad_step": bad_step, "rollback": self.rollbacks,
                                    "lr_factor": self.factor, "lr": new_lrs})
        warn(f"non-finite loss or weights by step {bad_step}: rolled back to step {t.step} "
             f"({self.rollbacks}/{self.retries}), learning rates x{self.factor:g} -> "
             + ", ".join(f"{k}={v:.3g}" for k, v in new_lrs.items()))


class CollapseAlarm:
    def __init__(self, trainer) -> None:
        c = trainer.cfg.train
        self.trainer, self.every, self.threshold = trainer, int(c.collapse_every), float(c.collapse_threshold)
        self.drop, self.best = float(c.collapse_drop), 0.0
        self.reference = 0.0
        if self.every > 0:
            # the data's own diversity, over as many examples as the grid shows
            self.reference = mean_pairwise_distance(trainer.dataset.take(int(c.n_grid), c.seed + 4242).x)

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0 and self.reference > 0

    def check(self, step: int, acc: dict[str, Any]) -> float:
        """Diversity ratio of the fixed-latent samples; added to the loop's stat sums."""
        t = self.trainer
        ratio = mean_pairwise_distance(t.recipe.generate(t.grid_inputs)) / self.reference
        value = torch.tensor(ratio, device=t.device)
        acc["collapse_ratio"] = acc["collapse_ratio"] + value if "collapse_ratio" in acc else value
        acc["n_collapse_ratio"] = acc.get("n_collapse_ratio", 0) + 1
        hint = "try reg.r1, model.pack or a lower optim.g_lr"
        if not ratio >= self.threshold:
            warn(f"possible mode collapse at step {step}: sample diversity is {ratio:.3f} of the data's "
                 f"(train.collapse_threshold={self.threshold:g}); {hint}")
        elif ratio < self.drop * self.best:
            warn(f"possible mode collapse at step {step}: sample diversity fell to {ratio:.3f} of the data's "
                 f"from this run's best {self.best:.3f} (train.collapse_drop={self.drop:g}); {hint}")
        self.best = max(self.best, ratio)
        return ratio


class Guard:
    """The loop's one handle on run health: ``tripped`` (NaN guard), ``snapshot``, ``after_step``."""

    def __init__(self, trainer) -> None:
        self.nan = NanGuard(trainer)
        self.collapse = CollapseAlarm(trainer)

    def after_step(self, step: int, acc: dict[str, Any]) -> None:
        if self.collapse.due(step):
            self.collapse.check(step, acc)

    def tripped(self, stats: dict[str, Any], stats_writer) -> bool:
        return self.nan.tripped(stats, stats_writer)

    def snapshot(self) -> None:
        self.nan.snapshot()


__all__ = ["Guard", "NanGuard", "CollapseAlarm", "all_finite", "mean_pairwise_distance", "warn"]
