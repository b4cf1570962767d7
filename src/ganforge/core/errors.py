"""Errors a user can cause. The CLI prints them as one line and exits non-zero; anything else is a bug."""


class GanforgeError(Exception):
    """Base class: a message that tells the user what is wrong and how to fix it."""


class ConfigError(GanforgeError):
    """A wrong config key, type or value."""


class DataError(GanforgeError):
    """A missing, empty, corrupt or inconsistent data source."""


class CheckpointError(GanforgeError):
    """A missing, corrupt or incompatible checkpoint or run folder."""


class WriteError(GanforgeError):
    """A file could not be written (a full disk, a read-only folder); nothing valid was lost."""


def write_failed(path: str, err: BaseException, need: int | None = None) -> WriteError:
    """The one-line error for a failed write of ``path``: what happened, the free space, what to do."""
    import errno
    import os
    import shutil
    folder = os.path.dirname(os.path.abspath(path))
    text = str(err)
    full = getattr(err, "errno", None) == errno.ENOSPC or "os error 28" in text or "No space left" in text
    if not full:
        why = getattr(err, "strerror", None) or (text.splitlines()[0] if text else type(err).__name__)
        return WriteError(f"cannot write {path}: {why}")
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = 0
    needed = f", about {_size(need)} needed" if need else ""
    return WriteError(f"cannot write {path}: no space left on the device ({_size(free)} free{needed}); free some "
                      "space and continue with `ganforge train --resume RUN` (nothing written before is lost)")


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"
