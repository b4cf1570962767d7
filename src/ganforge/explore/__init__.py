"""Looking inside a trained run: ``ganforge explore RUN TOOL`` and the same in Python.

    from ganforge import explore
    res = explore.run("runs/00003-digits", "interpolate", seeds=[0, 1, 2], linear=True)
    res.paths      # files written under RUN/explore/ (or ``out``)
    res.summary    # the numbers, also saved beside the pictures as JSON

Tools: interpolate (slerp/linear paths between seeds), truncation (psi or resampling), directions
(GANSpace PCA directions), saliency (|dD/dx| on real and generated images), memorise (nearest
training images of samples), project (the latent that best reproduces an image).
"""
from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from ..core.errors import ConfigError
from .common import ExploreResult
from .directions import directions
from .interpolate import interpolate, lerp, slerp
from .memorise import memorise
from .project import project
from .saliency import saliency
from .truncation import truncation

TOOLS: dict[str, Callable[..., ExploreResult]] = {
    "interpolate": interpolate, "truncation": truncation, "directions": directions,
    "saliency": saliency, "memorise": memorise, "project": project,
}
ALIASES = {"memorize": "memorise", "interpolation": "interpolate", "ganspace": "directions",
           "projection": "project", "truncate": "truncation"}


def get_tool(name: str) -> Callable[..., ExploreResult]:
    name = ALIASES.get(name, name)
    if name not in TOOLS:
        close = difflib.get_close_matches(name, list(TOOLS) + list(ALIASES), n=1, cutoff=0.4)
        hint = f" (did you mean '{ALIASES.get(close[0], close[0])}'?)" if close else ""
        raise ConfigError(f"unknown explore tool '{name}'{hint}; tools: {', '.join(TOOLS)}")
    return TOOLS[name]


def run(run_or_generator, tool: str, out: str | None = None, **options: Any) -> ExploreResult:
    """Run one tool on a run folder, checkpoint or loaded Generator; options are the tool's keywords."""
    fn = get_tool(tool)
    params = inspect.signature(fn).parameters
    for key in options:
        if key not in params or key in ("run", "out"):
            valid = [p for p in params if p not in ("run", "out")]
            raise ConfigError(f"explore {fn.__name__} has no option '{key}'; its options: {', '.join(valid)}")
    return fn(run_or_generator, out=out, **options)


__all__ = ["ExploreResult", "TOOLS", "run", "get_tool", "interpolate", "truncation", "directions", "saliency",
           "memorise", "project", "slerp", "lerp"]
