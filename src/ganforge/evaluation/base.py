"""What an evaluator registers in ``EVALUATORS``: how `ganforge eval` measures a run, or two data files.

A recipe names its evaluator (``Recipe.evaluator``): ``features`` (samples -> a feature extractor ->
FD, KID, precision/recall, ...) unless its data is measured otherwise (``tables``: column shapes,
train-on-synthetic-test-on-real, distances to the closest record).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.registry import EVALUATORS


@dataclass(frozen=True)
class Evaluator:
    run: Callable[..., dict[str, Any]]     # (Generator, **options) -> result
    files: Callable[..., dict[str, Any]]   # (real path, fake path, **options) -> result
    format: Callable[[dict[str, Any]], str]  # the result as a few lines for the terminal
    kinds: tuple[str, ...] = ()            # data kinds whose files it measures (two-file mode)
    stem: str = ""                         # file name prefix of results under RUN/eval/
    files_json: bool = False               # two-file mode writes its result beside --fake unless --json
    extra: Callable[[dict[str, Any], str], list[str]] | None = None  # (result, JSON path) -> more files written


def register_evaluator(name: str, evaluator: Evaluator) -> Evaluator:
    return EVALUATORS.register(name, evaluator)


def refuse(name: str, given: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
    """One clear line for an option this evaluator does not use."""
    from ..core.errors import ConfigError
    for key, value in given.items():
        if value is not None and key not in allowed:
            raise ConfigError(f"--{key} does not apply to {what}; it takes " + ", ".join(f"--{a}" for a in allowed))


__all__ = ["Evaluator", "register_evaluator", "refuse"]
