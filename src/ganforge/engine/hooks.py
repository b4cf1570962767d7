"""Training hooks: parts that change how the loop trains without the loop naming them.

A hook is built from the trainer (or declines, returning None) and may: build the batch source,
wrap an optimizer, end the run before a step (saying why), act around each phase, keep JSON
state in checkpoints (``meta["hooks"][name]``), check a resumed run's step target, and add a record
to the run's data facts (data.json). Differential privacy (engine/privacy.py) is one.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


class TrainingHook:
    name = "hook"

    def make_batches(self, dataset, batch: int, seed: int, device: torch.device):
        return None                      # None: the engine's own batches

    def wrap_optimizer(self, name: str, opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
        return opt

    def stop_before(self, step: int, due: list) -> str | None:
        return None                      # a reason ends the run before ``step``

    def before_phase(self, phase) -> None:
        pass

    def after_phase(self, phase) -> None:
        pass

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass

    def check_resume(self, steps: int) -> None:
        pass

    def record(self) -> dict[str, Any] | None:
        return None                      # kept in data.json and checkpoints' data facts under ``name``


HOOKS: list[Callable[[Any], TrainingHook | None]] = []   # factories, in the order their hooks act


def register_hook(factory: Callable[[Any], TrainingHook | None]) -> Callable:
    """Register ``factory(trainer) -> hook or None``; every Trainer builds its hooks from these."""
    HOOKS.append(factory)
    return factory


def build_hooks(trainer) -> list[TrainingHook]:
    found = [make(trainer) for make in HOOKS]
    return [h for h in found if h is not None]


__all__ = ["TrainingHook", "HOOKS", "register_hook", "build_hooks"]
