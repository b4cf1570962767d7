"""Run logging: stats.jsonl, TensorBoard event files and a console progress line."""
from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import Any


class StatsWriter:
    """Appends one JSON object per logging interval to ``stats.jsonl`` and mirrors scalars to TensorBoard."""

    def __init__(self, run_dir: str, tensorboard: bool = True):
        self.path = os.path.join(run_dir, "stats.jsonl")
        self._f = open(self.path, "a", buffering=1)
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
                self._tb = SummaryWriter(log_dir=os.path.join(run_dir, "tensorboard"))
            except Exception:  # tensorboard missing or broken: stats.jsonl still has everything
                self._tb = None

    def write(self, step: int, stats: dict[str, Any]) -> None:
        row = {"step": step, "time": round(time.time(), 3), **stats}
        self._f.write(json.dumps(row) + "\n")
        if self._tb is not None:
            for k, v in stats.items():
                if isinstance(v, (int, float)) and math.isfinite(v):
                    self._tb.add_scalar(k, v, step)

    def close(self) -> None:
        self._f.close()
        if self._tb is not None:
            self._tb.close()


def truncate_stats(run_dir: str, step: int) -> None:
    """On resume, drop lines logged after the checkpoint (and a half-written last line)."""
    path = os.path.join(run_dir, "stats.jsonl")
    if not os.path.exists(path):
        return
    keep = []
    with open(path) as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            if row.get("step", 0) <= step:
                keep.append(line if line.endswith("\n") else line + "\n")
    with open(path, "w") as f:
        f.writelines(keep)


def read_stats(run_dir: str) -> list[dict]:
    path = os.path.join(run_dir, "stats.jsonl")
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return rows


def _fmt_time(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


class Progress:
    """A one-line progress bar on a terminal; plain periodic lines when stderr is not a terminal."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True, every: int = 50):
        self.total, self.start, self.enabled, self.every = total, start, enabled, max(1, every)
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self._last_draw = 0.0

    def update(self, step: int, stats: dict[str, float] | None = None, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.tty and not force and now - self._last_draw < 0.2:
            return
        if not self.tty and not force and step % self.every:
            return
        self._last_draw = now
        done = step - self.start
        rate = done / max(now - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        frac = step / max(self.total, 1)
        bar = "#" * int(frac * 20)
        losses = " ".join(f"{k}={v:.3f}" for k, v in (stats or {}).items())
        line = (f"step {step}/{self.total} [{bar:<20}] {losses} | {rate:.1f} it/s | "
                f"elapsed {_fmt_time(now - self.t0)} ETA {_fmt_time(eta)}")
        if self.tty:
            sys.stderr.write("\r" + line[: os.get_terminal_size(sys.stderr.fileno()).columns - 1] + "\x1b[K")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
