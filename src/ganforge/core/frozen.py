"""Frozen networks: pretrained or fixed parts a recipe uses but never trains (a text or audio encoder).

Their weights come from a safetensors file (never pickle) named in the recipe's config section. A
checkpoint does not copy them; it records the file and its sha256, and reopening the run checks
that the file still holds those bytes.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator

from torch import nn

from .errors import CheckpointError


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_OVERRIDES: dict[str, str] = {}   # frozen network name -> file, while a model folder is opened


@contextlib.contextmanager
def frozen_files(files: dict[str, str]) -> Iterator[None]:
    """Within the block, frozen networks named in ``files`` load from those files (the copies an
    exported model folder carries) instead of the paths in the config."""
    old = dict(_OVERRIDES)
    _OVERRIDES.update(files)
    try:
        yield
    finally:
        _OVERRIDES.clear()
        _OVERRIDES.update(old)


def frozen_path(name: str, path: str) -> str:
    return _OVERRIDES.get(name, path)


def load_frozen(module: nn.Module, path: str, sha256: str | None = None) -> str:
    """Load ``module``'s weights from the safetensors file ``path`` (all keys, same shapes); returns
    the file's sha256. ``sha256``: the digest the file must have."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    if not path:
        raise CheckpointError("a frozen network needs its weights file: set the recipe's path to a .safetensors file")
    if not os.path.isfile(path):
        raise CheckpointError(f"frozen network weights not found: {path}")
    digest = file_sha256(path)
    if sha256 is not None and digest != sha256:
        raise CheckpointError(f"{path} has sha256 {digest[:12]}..., expected {sha256[:12]}...; "
                              "the file was changed or replaced")
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"cannot read frozen network weights {path}: {str(e).splitlines()[0]}") from None
    own = module.state_dict()
    missing, extra = sorted(set(own) - set(tensors)), sorted(set(tensors) - set(own))
    bad = [k for k in own if k in tensors and own[k].shape != tensors[k].shape]
    if missing or extra or bad:
        what = (f"missing {missing[0]}" if missing else f"unexpected {extra[0]}" if extra
                else f"{bad[0]} is {tuple(tensors[bad[0]].shape)}, the network wants {tuple(own[bad[0]].shape)}")
        raise CheckpointError(f"{path} does not fit the frozen network ({what})")
    module.load_state_dict(tensors, strict=True)
    return digest


__all__ = ["load_frozen", "file_sha256", "frozen_files", "frozen_path"]
