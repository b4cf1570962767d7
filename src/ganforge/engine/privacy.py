"""DP-SGD training of the networks that read real data (``privacy.epsilon > 0``), as a training hook.

What is private: every phase that reads real examples (``Phase.reads_real``; D in the gan and
tabular recipes) takes Poisson-sampled real batches (each example independently, with probability
q = train.batch / N) and steps with DP-SGD (Abadi et al. 2016): Opacus computes each example's
gradient, clips it to norm privacy.clip, sums, adds N(0, (sigma * clip)^2) noise and divides by the
expected batch. The recipe pairs real example i with generated example i and scores them in two
calls of D of equal size, so an example's gradient is that of its pair's loss (DPGAN, Xie et al.
2018): adding or removing one real example adds or removes one pair, whose clipped gradient has
norm at most clip; the generated half depends only on G and fresh noise, never on other real
examples. G reads no real data and learns only through D, so G (and its samples) inherit D's
guarantee by post-processing. sigma is the least noise whose planned private steps spend at most
the budget under the chosen accountant.

The hook counts the private steps actually run (a NaN rollback does not give them back) and ends
the run before a step that would exceed the budget; a resumed or extended run keeps the noise it
started with, so no --steps can overspend.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..core import dist
from ..core import privacy as P
from ..core.errors import ConfigError
from ..core.log import warn
from .hooks import TrainingHook, register_hook


def _refusals(cfg, recipe, phases) -> None:
    """One line for each setting per-example privacy cannot take."""
    m, reg = cfg.model, cfg.reg
    private = [p for p in phases if p.reads_real]
    if not private:
        raise ConfigError(f"privacy is not supported by the {recipe.name} recipe (none of its phases declares "
                          "that it reads real data); use the gan or tabular recipe, or set privacy.epsilon=0")
    if len(private) > 1 or reg.r1 > 0 or reg.r2 > 0:
        raise ConfigError("privacy: reg.r1/reg.r2 (lazy penalties that take a second look at the real batch with a "
                          "double backward) are not supported; set them to 0")
    if reg.gp > 0:
        raise ConfigError("privacy: reg.gp (the gradient penalty needs a double backward, which per-example "
                          "gradients do not support) must be 0; use loss.kind=ns or hinge")
    if m.pack > 1:
        raise ConfigError(f"privacy: model.pack={m.pack} makes D judge several real examples at once, so no "
                          "example's gradient stands alone; set model.pack=1")
    if m.mbstd > 0:
        raise ConfigError("privacy: model.mbstd (a minibatch standard-deviation feature, computed across the "
                          "batch) mixes examples; set model.mbstd=0")
    from ..losses import is_relativistic
    if is_relativistic(cfg.loss.kind):
        raise ConfigError(f"privacy: loss.kind={cfg.loss.kind} makes G's step read real data; use ns, hinge, "
                          "lsgan or minimax")
    if cfg.augment.ada:
        raise ConfigError("privacy: augment.ada steers augmentation by D's scores of real data outside the "
                          "noised gradient; set augment.ada=false (a fixed augment.p is fine)")
    if cfg.eval.every > 0:
        raise ConfigError("privacy: eval.every > 0 picks checkpoints by real data, which the guarantee does not "
                          "cover; set eval.every=0 and evaluate afterwards")
    if cfg.optim.clip_grad > 0:
        raise ConfigError("privacy: optim.clip_grad is replaced by per-example clipping (privacy.clip); "
                          "set optim.clip_grad=0")
    if dist.active():
        raise ConfigError("privacy: training is single-process only; run without --nproc / torchrun")
    for p in private:
        for name in p.trains:
            _check_module(name, recipe.nets[name])


def _check_module(name: str, net: nn.Module) -> None:
    from torch.nn.utils import parametrize

    from ..nets import MinibatchStdDev
    for mod in net.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            raise ConfigError(f"privacy: {name} uses batch norm, which mixes the examples of a batch; "
                              "set model.d_norm=none (spectral norm is refused too, see docs/privacy.md)")
        if parametrize.is_parametrized(mod) or hasattr(mod, "weight_orig"):
            raise ConfigError(f"privacy: {name} uses spectral norm, whose power-iteration buffer Opacus cannot "
                              "give per-example gradients for; set model.d_norm=none")
        if isinstance(mod, MinibatchStdDev):
            raise ConfigError(f"privacy: {name} has a minibatch-stddev layer (mixes examples); set model.mbstd=0")


def due_count(phase, steps: int) -> int:
    """How many of steps 0..steps-1 run ``phase``."""
    start, stop = phase.start, steps if phase.stop is None else min(steps, phase.stop)
    if stop <= start:
        return 0
    k = phase.interval   # due at s with (s + 1) % k == 0 and start <= s < stop
    return stop // k - start // k


class PrivateTraining(TrainingHook):
    """The training hook: Poisson batches, DP optimizers for the private phases, the budget and its record."""

    name = "privacy"

    def __init__(self, trainer) -> None:
        cfg, recipe = trainer.cfg, trainer.recipe
        self.cfg, self.p = cfg, cfg.privacy
        P.require_opacus()
        _refusals(cfg, recipe, trainer.phases)
        import warnings  # Opacus' per-layer hooks fire on D's real batch, which needs no input gradient
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        self.phases = [p for p in trainer.phases if p.reads_real]
        trainer.steer_by_losses = False   # D's losses on real batches are not noised: the NaN guard reads weights
        self.n = int(len(trainer.dataset))
        self.q = min(1.0, cfg.train.batch / self.n)
        self.planned = sum(due_count(p, cfg.train.steps) for p in self.phases)
        self.sigma: float | None = None      # set by the plan (fresh run) or the checkpoint (resume)
        self.budget_steps = 0
        self.spent_steps = 0
        self.recipe = recipe
        self._modules = []
        self._opt = None

    # -- setup ----------------------------------------------------------------------------------
    def plan(self) -> None:
        """The noise for the planned steps (a fresh run); a resumed run's comes from its checkpoint instead."""
        if self.sigma is None:
            eps_dp = self.dp_epsilon()
            self.sigma = P.noise_for_budget(eps_dp, self.p.delta, self.q, self.planned, self.p.accountant)
            self.budget_steps = P.steps_within(eps_dp, self.p.delta, self.q, self.sigma, self.p.accountant,
                                               self.planned)

    def dp_epsilon(self) -> float:
        """The share of epsilon DP-SGD spends (a table's noisy counts take the rest; data/tabular.py)."""
        return self.p.epsilon * (1.0 - self.count_share())

    def count_share(self) -> float:
        return self.recipe.privacy_count_share()

    def wrap_optimizer(self, name: str, opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
        if not any(p.opt == name for p in self.phases):
            return opt
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer
        for phase in self.phases:
            for net in phase.trains:
                for mod in self.recipe.nets[net].modules():   # Opacus' backward hooks forbid in-place activations
                    if getattr(mod, "inplace", False) is True:
                        mod.inplace = False
                # hooks on D's own layers: the recipe keeps calling D itself, checkpoints keep its names
                self._modules.append(GradSampleModule(self.recipe.nets[net], batch_first=True,
                                                      loss_reduction="mean"))
        self.plan()
        self._opt = DPOptimizer(opt, noise_multiplier=self.sigma, max_grad_norm=self.p.clip,
                           expected_batch_size=max(1, round(self.q * self.n)), loss_reduction="mean")
        return self._opt

    def make_batches(self, dataset, batch: int, seed: int, device: torch.device):
        from .batches import PoissonBatches
        if getattr(dataset, "streaming", False):
            raise ConfigError("privacy: streaming data (data.stream) is not supported; read the data into memory")
        return PoissonBatches(dataset, self.q, seed, device)

    # -- during training ------------------------------------------------------------------------
    def stop_before(self, step: int, due: list) -> str | None:
        """Why the run must end before ``step`` (None: go on)."""
        k = sum(1 for p in due if p.reads_real)
        if self.spent_steps + k <= self.budget_steps:
            return None
        return (f"privacy budget reached: epsilon {self.spent_epsilon():.3g} of {self.p.epsilon:g} (delta "
                f"{self.p.delta:g}) spent after {self.spent_steps} private steps; the run stops at step {step}")

    def before_phase(self, phase) -> None:
        """Per-example gradients in the private phases only (G's phase runs D without its parameters' gradients)."""
        for gsm in self._modules:
            if phase.reads_real:
                gsm.enable_hooks()
            else:
                gsm.disable_hooks()

    def after_phase(self, phase) -> None:
        if phase.reads_real:
            self.spent_steps += 1

    def spent_epsilon(self) -> float:
        dp = P.epsilon_spent(self.sigma or 0.0, self.q, self.spent_steps, self.p.delta, self.p.accountant)
        return dp + self.p.epsilon * self.count_share() if self.count_share() else dp

    # -- record ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return self.record()

    def load_state(self, state: dict[str, Any]) -> None:
        """From a checkpoint: the run's noise and what it spent. A NaN rollback keeps the steps already
        spent (they ran on real data), so the larger count wins."""
        if not state:
            return
        self.sigma = float(state["noise_multiplier"])
        self.budget_steps = int(state["budget_steps"])
        self.spent_steps = max(self.spent_steps, int(state["steps_spent"]))
        if self._opt is not None:
            self._opt.noise_multiplier = self.sigma

    def check_resume(self, steps: int) -> None:
        """A resumed run asked to go past its budget trains up to it (and says so); one already at it is refused."""
        ahead = sum(due_count(p, steps) for p in self.phases)
        if ahead <= self.budget_steps:
            return
        if self.spent_steps >= self.budget_steps:
            raise ConfigError(f"the privacy budget of this run is spent (epsilon {self.spent_epsilon():.3g} of "
                              f"{self.p.epsilon:g} after {self.spent_steps} private steps); it cannot train further")
        warn(f"privacy: {steps} steps would exceed epsilon {self.p.epsilon:g}; the run stops at its budget, "
             f"{self.budget_steps} private steps")

    def record(self) -> dict[str, Any]:
        spent = self.spent_epsilon() if self.sigma is not None else 0.0
        return {"private": True, "epsilon": self.p.epsilon, "delta": self.p.delta,
                "epsilon_spent": None if math.isinf(spent) else round(spent, 6),
                "accountant": self.p.accountant, "accountant_name": P.ACCOUNTANT_NAMES[self.p.accountant],
                "noise_multiplier": self.sigma, "clip": self.p.clip, "sample_rate": self.q,
                "sampling": "poisson", "rows": self.n, "planned_steps": self.planned,
                "budget_steps": self.budget_steps, "steps_spent": self.spent_steps,
                "epsilon_sgd": round(P.epsilon_spent(self.sigma or 0.0, self.q, self.spent_steps, self.p.delta,
                                                     self.p.accountant), 6) if self.sigma else 0.0,
                "epsilon_counts": self.p.epsilon * self.count_share(),
                "private_phases": [p.name for p in self.phases],
                "covers": self.recipe.privacy_covers(), "not_covered": self.recipe.privacy_gaps()}


class NotPrivate(TrainingHook):
    """Runs without a budget say so in the same places a private run keeps its record."""

    name = "privacy"

    def record(self) -> dict[str, Any]:
        return P.not_private()


@register_hook
def build(trainer) -> TrainingHook:
    return PrivateTraining(trainer) if trainer.cfg.privacy.epsilon > 0 else NotPrivate()


__all__ = ["PrivateTraining", "NotPrivate", "build", "due_count"]
