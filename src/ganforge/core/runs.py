"""Numbered run folders: runs/00012-digits/ — never overwritten."""
from __future__ import annotations

import os
import re

from .errors import CheckpointError

_RUN_RE = re.compile(r"^(\d{5})-")


def new_run_dir(root: str, tag: str) -> str:
    """Create the next numbered folder under ``root`` (race-safe: mkdir fails if taken)."""
    os.makedirs(root, exist_ok=True)
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", tag).strip("-") or "run"
    while True:
        nums = [int(m.group(1)) for n in os.listdir(root) if (m := _RUN_RE.match(n))]
        path = os.path.join(root, f"{max(nums, default=-1) + 1:05d}-{tag}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue


def prepare_out_dir(path: str) -> str:
    """An explicit --out folder: created if missing; refused if it already holds a run."""
    if os.path.exists(os.path.join(path, "config.json")) or os.path.isdir(os.path.join(path, "checkpoints")):
        raise CheckpointError(f"{path} already holds a run; use --resume {path} to continue it, or another --out")
    os.makedirs(path, exist_ok=True)
    return path


def latest_run(root: str = "runs") -> str | None:
    if not os.path.isdir(root):
        return None
    names = sorted(n for n in os.listdir(root) if _RUN_RE.match(n))
    return os.path.join(root, names[-1]) if names else None
