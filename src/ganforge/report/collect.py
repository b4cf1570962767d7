"""Gather what a run folder holds for the report: config, data, sizes, stats, evaluations, pictures.

Everything is optional except the run itself: a run still training (or stopped) is reported as far as
it got. A folder with neither a checkpoint nor logged stats is not a run to report on.
"""
from __future__ import annotations

import glob
import json
import math
import os
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..core import checkpoint as ckpt
from ..core.errors import CheckpointError, GanforgeError
from ..core.log import read_stats

_GRID_RE = re.compile(r"^grid-(\d+)\.[A-Za-z0-9]+$")
PICTURE_EXTS = (".png", ".gif")


@dataclass
class RunFacts:
    run_dir: str
    config: dict[str, Any]
    data: dict[str, Any]
    step: int                                   # newest step seen (checkpoint or stats)
    planned: int
    checkpoint: str | None
    meta: dict[str, Any]                        # checkpoint metadata ({} without a checkpoint)
    params: dict[str, int]
    stats: list[dict[str, Any]]
    evals: list[tuple[str, Any]]                # (file name, parsed JSON) of RUN/eval/*.json
    grids: list[tuple[int, str]]                # (step, path) of RUN/samples/grid-*.* (the recipe's grid format)
    explore: list[str]                          # RUN/explore pictures, newest first
    machine: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    card: str | None = None                     # MODEL_CARD.md written beside the page


def _read_json(path: str) -> Any:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"cannot read {path}: {e}") from None


def collect(run_dir: str) -> RunFacts:
    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise CheckpointError(f"no such run folder: {run_dir}")
    path, meta = _newest_checkpoint(run_dir)
    stats = read_stats(run_dir)
    has_cfg = os.path.isfile(os.path.join(run_dir, "config.json"))
    if path is None and not (has_cfg and stats):
        raise CheckpointError(f"{run_dir} holds no checkpoint (checkpoints/ckpt-*.safetensors) and no logged "
                              "stats; was the run started? give a run folder made by `ganforge train`")
    config = meta.get("config") or _read_json(os.path.join(run_dir, "config.json"))
    data_path = os.path.join(run_dir, "data.json")
    data = meta.get("data") or (_read_json(data_path) if os.path.isfile(data_path) else {})
    step = max(int(meta.get("step", 0)), int(stats[-1].get("step", 0)) if stats else 0)
    planned = int(config.get("train", {}).get("steps", 0))
    facts = RunFacts(run_dir, config, data, step, planned, path, meta, _param_counts(config, data), stats,
                     _evals(run_dir), _grids(run_dir), _explore(run_dir))
    facts.machine, facts.timing = machine(meta), timing(stats, config)
    if path is None:
        facts.notes.append(f"no checkpoint yet: {step} steps logged of {planned} planned")
    elif step < planned:
        facts.notes.append(f"still training or stopped: {step} of {planned} steps done "
                           f"(newest checkpoint at step {meta.get('step')})")
    return facts


def _newest_checkpoint(run_dir: str) -> tuple[str | None, dict[str, Any]]:
    """(path, metadata) of the newest checkpoint. A live run prunes only older ones and writes new ones
    atomically, so reading the newest while it trains is safe."""
    if not ckpt.list_checkpoints(os.path.join(run_dir, "checkpoints")):
        return None, {}
    path, _, meta = ckpt.load_newest_valid(run_dir)  # a damaged newest one is skipped with a warning
    return path, meta


def _param_counts(config: dict, data: dict) -> dict[str, int]:
    """Parameter counts of the run's networks, rebuilt from config and data facts (no weights needed)."""
    try:
        import torch

        from ..config import from_dict
        from ..nets import param_count
        from ..recipes import build_recipe
        recipe = build_recipe(from_dict(config), data, torch.device("cpu"))
        return {k: param_count(v) for k, v in recipe.nets.items()}
    except (GanforgeError, KeyError, TypeError, ValueError):  # an older or partial run: leave sizes out
        return {}


def _evals(run_dir: str) -> list[tuple[str, Any]]:
    out = []
    paths = glob.glob(os.path.join(run_dir, "eval", "*.json"))
    for path in sorted(paths, key=lambda p: (os.path.getmtime(p), p)):  # oldest first
        try:
            out.append((os.path.basename(path), _read_json(path)))
        except CheckpointError:
            out.append((os.path.basename(path), {"error": "unreadable JSON"}))
    return out


def _grids(run_dir: str) -> list[tuple[int, str]]:
    paths = glob.glob(os.path.join(run_dir, "samples", "grid-*"))
    return sorted((int(m.group(1)), p) for p in paths if (m := _GRID_RE.search(os.path.basename(p)))
                  and ".tmp-" not in p)


def _explore(run_dir: str) -> list[str]:
    folder = os.path.join(run_dir, "explore")
    if not os.path.isdir(folder):
        return []
    paths = [os.path.join(folder, n) for n in os.listdir(folder)
             if n.endswith(PICTURE_EXTS) and ".tmp-" not in n]
    return sorted(paths, key=lambda p: (-os.path.getmtime(p), p))


def machine(meta: dict) -> dict[str, Any]:
    import torch
    return {"platform": platform.platform(), "python": sys.version.split()[0], "cpu_count": os.cpu_count(),
            "torch (report)": torch.__version__, "torch (training)": meta.get("torch_version", "?"),
            "torch threads (training)": meta.get("threads", "?"), "ganforge (training)": meta.get("version", "?"),
            "report written": time.strftime("%Y-%m-%d %H:%M:%S")}


def timing(stats: list[dict], config: dict) -> dict[str, Any]:
    """Training time from the logged speeds (robust to pauses between resumes) and the wall-clock span."""
    if not stats:
        return {}
    busy, prev = 0.0, 0
    for row in stats:
        step, speed = int(row.get("step", prev)), row.get("it_per_s")
        if isinstance(speed, (int, float)) and speed > 0 and math.isfinite(speed):
            busy += max(0, step - prev) / speed
        prev = step
    first, last = stats[0].get("time"), stats[-1].get("time")
    out = {"training time (from logged it/s)": _hms(busy)}
    if isinstance(first, (int, float)) and isinstance(last, (int, float)):
        out["first to last log line"] = _hms(last - first)
        out["last log line"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last))
    if busy > 0:
        out["mean speed"] = f"{stats[-1].get('step', 0) / busy:.1f} it/s"
    return out


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
