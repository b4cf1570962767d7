"""What a data source registers in ``SOURCES``: how to load it and what it needs.

A loader is ``load(cfg, seed, path) -> Dataset`` (or a streaming dataset, data/stream.py): ``cfg``
is the whole Config (a source may read its recipe's section, as ``tabular`` reads ``[tabular]``),
``path`` is data.path resolved on disk (or "" for sources that need none).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from ..core.errors import DataError
from ..core.registry import SOURCES


@dataclass(frozen=True)
class Source:
    load: Callable[..., object]                 # (cfg, seed, path) -> Dataset
    path: str = "none"                          # none | search (data.path optional, a hint) | file | folder | any
    kind: str = ""                              # the data kind it yields: image, vector, table, ...
    finish: bool = True                         # load_dataset applies data.limit, data.labels, image size after
    holds_out: bool = False                     # what data.limit leaves out is data the run never saw
    streams: bool = False                       # honours data.stream (reads examples per batch)
    infer: Callable[[str], bool] | None = None  # data.source=auto: is this existing path in my format?
    infer_order: int = 0                        # higher is asked first


def data_roots() -> list[str]:
    """The folders listed in GANFORGE_DATA, in order."""
    env = os.environ.get("GANFORGE_DATA", "")
    return [os.path.expanduser(p) for p in env.split(os.pathsep) if p.strip()]


def register_source(name: str, source: Source) -> Source:
    return SOURCES.register(name, source)


def infer_source(path: str) -> str:
    """The registered source whose format ``path`` (an existing file or folder) is in."""
    for _, name, src in sorted(((-s.infer_order, n, s) for n, s in SOURCES.items() if s.infer is not None)):
        if src.infer(path):
            return name
    takes = ", ".join(n for n, s in SOURCES.items() if s.infer is not None)
    raise DataError(f"cannot tell the format of {path}; set data.source to one of: {takes}")


def resolve_path(path: str, source: str) -> str:
    """data.path as given, or found under a GANFORGE_DATA folder when it is relative."""
    if not path:
        raise DataError(f"data.source={source} needs a data.path (--set data.path=...)")
    path = os.path.expanduser(path)
    if os.path.exists(path):
        return path
    roots = [] if os.path.isabs(path) else data_roots()
    for root in roots:
        if os.path.exists(os.path.join(root, path)):
            return os.path.join(root, path)
    also = f" (also looked under GANFORGE_DATA: {', '.join(roots)})" if roots else ""
    raise DataError(f"data.path {path} does not exist{also}; fix data.path")


def check_path(path: str, source: str, need: str) -> str:
    """A resolved path of the kind a source needs (file or folder)."""
    if need == "file" and not os.path.isfile(path):
        raise DataError(f"data.source={source} needs a file, but {path} is a folder")
    if need == "folder" and not os.path.isdir(path):
        raise DataError(f"data.source={source} needs a folder, but {path} is a file")
    return path


__all__ = ["Source", "data_roots", "register_source", "infer_source", "resolve_path", "check_path"]
