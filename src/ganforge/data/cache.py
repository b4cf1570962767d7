"""A cache for derived data that is slow to build and fully determined by its inputs (the oracle's
sequences, parsed scores): safetensors files under ``GANFORGE_CACHE`` (default ``~/.cache/ganforge``),
named by the sha256 of what determines them. A cache that cannot be written is simply not used;
nothing in it is trusted without its key, and nothing in it runs code."""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable

import torch

from ..core.errors import GanforgeError


def cache_dir() -> str:
    return os.path.expanduser(os.environ.get("GANFORGE_CACHE") or os.path.join("~", ".cache", "ganforge"))


def cached(key: dict, build: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """``build()``'s tensors, from the cache when an entry for ``key`` exists (and is readable)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32] + ".safetensors"
    path = os.path.join(cache_dir(), name)
    if os.path.isfile(path):
        try:
            return load_file(path)
        except (SafetensorError, OSError, ValueError):
            pass   # a damaged entry is rebuilt
    tensors = build()
    try:
        os.makedirs(cache_dir(), exist_ok=True)
        tmp = f"{path}.tmp-{os.getpid()}"
        save_file({k: v.contiguous() for k, v in tensors.items()}, tmp, metadata={"key": json.dumps(key)})
        os.replace(tmp, path)
    except (OSError, SafetensorError, GanforgeError):
        pass
    return tensors


__all__ = ["cached", "cache_dir"]
