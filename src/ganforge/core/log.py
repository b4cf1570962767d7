"""Run logging: stats.jsonl, TensorBoard event files and a console progress line."""
from __future__ import annotations

import json
import math
import os
import sys
import time
import weakref
from typing import Any

from .errors import write_failed
from .faults import failpoint


class StatsWriter:
    """Appends one JSON object per logging interval to ``stats.jsonl`` and mirrors scalars to TensorBoard."""

    def __init__(self, run_dir: str, tensorboard: bool = True):
        self.path = os.path.join(run_dir, "stats.jsonl")
        self._f = open(self.path, "a", buffering=1)
        self._tb = None
        self._tb_error: BaseException | None = None
        if tensorboard:
            _catch_writer_thread_errors(self)  # before the writer starts its thread: its first write can fail
            try:
                from torch.utils.tensorboard import SummaryWriter
                self._tb = SummaryWriter(log_dir=os.path.join(run_dir, "tensorboard"))
            except Exception:  # tensorboard missing or broken: stats.jsonl still has everything
                self._tb = None

    def write(self, step: int, stats: dict[str, Any]) -> None:
        row = {"step": step, "time": round(time.time(), 3), **stats}
        line = json.dumps(row) + "\n"
        try:
            if os.environ.get("GANFORGE_FAILPOINT"):   # a kill half-way through a line
                self._f.write(line[:len(line) // 2])
                self._f.flush()
                failpoint(f"stats:{step}")
                line = line[len(line) // 2:]
            self._f.write(line)
            self._f.flush()
        except OSError as e:  # a full disk: a half line is dropped on resume (truncate_stats)
            raise write_failed(self.path, e, need=len(line)) from None
        if self._tb_error is not None:   # TensorBoard's writer thread failed (a full disk): one line, here
            self._tb, error, self._tb_error = None, self._tb_error, None
            raise write_failed(os.path.join(os.path.dirname(self.path), "tensorboard"), error)
        if self._tb is not None:
            try:
                for k, v in stats.items():
                    if isinstance(v, (int, float)) and math.isfinite(v):
                        self._tb.add_scalar(k, v, step)
            except Exception as e:  # TensorBoard mirrors stats.jsonl; its failure alone stops nothing
                self._tb_failed(e)

    def _tb_failed(self, e: Exception) -> None:
        self._tb = None
        if "No space" in str(e) or getattr(e, "errno", None) == 28:
            raise write_failed(os.path.join(os.path.dirname(self.path), "tensorboard"), e) from None

    def close(self) -> None:
        try:
            self._f.close()
        except OSError as e:
            raise write_failed(self.path, e) from None
        finally:
            if self._tb is not None:
                tb, self._tb = self._tb, None
                try:
                    tb.close()
                except Exception:  # noqa: BLE001 - stats.jsonl holds everything TensorBoard would
                    pass


_WRITERS: weakref.WeakSet = weakref.WeakSet()   # the open stats writers a TensorBoard thread error belongs to


def _catch_writer_thread_errors(writer: StatsWriter) -> None:
    """TensorBoard writes its event files from a thread of its own, whose errors Python prints as a
    traceback. Those are caught here instead and handed to ``writer``, which reports them in one line
    at its next write."""
    import threading
    previous = threading.excepthook

    def hook(args) -> None:
        if type(args.thread).__name__ == "_AsyncWriterThread" and isinstance(args.exc_value, OSError):
            for w in list(_WRITERS):
                w._tb_error = args.exc_value
            return
        previous(args)

    _WRITERS.add(writer)
    if not getattr(threading.excepthook, "_ganforge", False):
        hook._ganforge = True
        threading.excepthook = hook


def warn(msg: str) -> None:
    """A one-line console warning."""
    sys.stderr.write(f"ganforge warning: {msg}\n")
    sys.stderr.flush()


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
    try:
        with open(path, "w") as f:
            f.writelines(keep)
    except OSError as e:
        raise write_failed(path, e) from None


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
