"""Numbered run folders: runs/00012-digits/ — never overwritten — and the lock that lets one process at a
time write into a run folder."""
from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

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


LOCK = ".lock"


@contextlib.contextmanager
def run_lock(run_dir: str) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the block: a second process that trains or resumes the same folder
    meanwhile gets a one-line error instead of writing over the first. The operating system drops the
    lock when its process dies (even by SIGKILL), so a killed run never stays locked."""
    import fcntl
    path = os.path.join(run_dir, LOCK)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise CheckpointError(f"{run_dir} is in use by another ganforge process (pid {holder}); wait for it to "
                                  "finish or stop it, or use another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def is_empty_run_dir(path: str) -> bool:
    """Nothing in the folder but its lock file: a failure here can remove the folder again."""
    return set(os.listdir(path)) <= {LOCK}


def latest_run(root: str = "runs") -> str | None:
    if not os.path.isdir(root):
        return None
    names = sorted(n for n in os.listdir(root) if _RUN_RE.match(n))
    return os.path.join(root, names[-1]) if names else None
