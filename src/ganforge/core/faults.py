"""Failpoints: named places where a test or the fault benchmark can kill the process on purpose.

``GANFORGE_FAILPOINT=PATTERN:N`` kills the process with SIGKILL the N-th time it passes a failpoint
whose name matches the glob PATTERN, for example ``write:ckpt-*:2`` (inside the second checkpoint
write, after the temporary file is written and before it is renamed) or ``stats:*:3`` (half-way
through the third stats.jsonl line). Without the variable a failpoint costs one dictionary lookup.
Points: ``write:<file name>`` (every atomic write), ``stats:<step>`` and ``eval:<step>``.
"""
from __future__ import annotations

import fnmatch
import os
import signal

_hits: dict[str, int] = {}


def failpoint(name: str) -> None:
    spec = os.environ.get("GANFORGE_FAILPOINT")
    if not spec:
        return
    pattern, _, nth = spec.rpartition(":")
    if fnmatch.fnmatchcase(name, pattern):
        _hits[pattern] = _hits.get(pattern, 0) + 1
        if _hits[pattern] == int(nth):
            os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["failpoint"]
