"""Data sources for training: built-in sets, toy 2-D mixtures, image files, tables, and whatever a
plug-in registers. Every source registers itself in ``SOURCES`` (sources.py) from its own module.

``load_dataset(cfg, seed)`` returns a :class:`Dataset` held in memory (or, with ``data.stream``, a
streaming data set read per batch: stream.py).
"""
from __future__ import annotations

import torch

from ..config import Config, DataConfig
from ..core.errors import ConfigError, DataError
from ..core.registry import SOURCES
from .builtin import STACKED_MNIST_CAP, find_data
from .dataset import Dataset, apply_limit, conform_images, limit_indices, to_uint8
from .images import IMAGE_EXTS, read_idx
from .sources import Source, check_path, data_roots, infer_source, register_source, resolve_path
from .stream import StreamingDataset
from .toy2d import TOY_SETS, make_toy

__all__ = ["IMAGE_EXTS", "SOURCES", "STACKED_MNIST_CAP", "TOY_SETS", "Dataset", "Source", "StreamingDataset",
           "data_roots", "find_data", "held_out", "infer_source", "load_dataset", "make_toy", "read_idx",
           "register_source", "resolve_path", "source_of", "to_uint8"]


def _as_config(cfg: Config | DataConfig, tabular=None) -> Config:
    """A whole Config from a Config, or from a DataConfig (+ the [tabular] section, for old callers)."""
    if isinstance(cfg, Config):
        return cfg
    full = Config(data=cfg)
    if tabular is not None:
        full.extra["tabular"] = tabular
    return full


def source_of(cfg: Config | DataConfig) -> tuple[str, Source, str]:
    """(source name, its registration, data.path resolved on disk or "")."""
    d = _as_config(cfg).data
    name, path = d.source, ""
    if name == "auto":
        path = resolve_path(d.path, "auto")
        name = infer_source(path)
    if name not in SOURCES:
        from ..core.registry import suggest
        raise DataError(f"unknown data source '{name}'" + suggest(name, SOURCES.names()))
    spec = SOURCES.get(name)
    if spec.path in ("file", "folder", "any"):
        path = check_path(path or resolve_path(d.path, name), name, spec.path)
    return name, spec, path


def load_dataset(cfg: Config | DataConfig, seed: int = 0, tabular=None):
    """Load the data a config names; then data.limit, data.labels and the image size and channels.

    ``cfg``: a Config (a source may read its recipe's section), or just its DataConfig."""
    cfg = _as_config(cfg, tabular)
    d = cfg.data
    name, spec, path = source_of(cfg)
    if d.stream and not spec.streams:
        streams = ", ".join(n for n, s in SOURCES.items() if s.streams)
        raise ConfigError(f"data.stream=true needs a source that reads per batch ({streams}); data.source={name} "
                          "reads everything at once: set data.stream=false")
    ds = spec.load(cfg, seed, path)
    if not spec.finish or getattr(ds, "streaming", False):   # the loader applied limit and labels itself
        return ds
    ds = apply_limit(ds, d.limit, seed)
    if not d.labels:
        ds.y, ds.class_names = None, None
    if ds.kind == "image":
        ds.x = conform_images(ds.x, d.channels, d.size, d.resize, ds.name)
    return ds


def held_out(cfg: Config | DataConfig, seed: int = 0) -> Dataset | None:
    """The examples ``data.limit`` left out of training (the same seeded shuffle), in memory, or None
    when the run saw all of them or its source draws fresh data (toy mixtures, stacked MNIST, tables)."""
    cfg = _as_config(cfg)
    if cfg.data.limit <= 0 or not source_of(cfg)[1].holds_out:
        return None
    full_cfg = cfg.copy()
    full_cfg.data.limit = 0
    full = load_dataset(full_cfg, seed)
    keep = limit_indices(len(full), cfg.data.limit, seed)
    if keep is None:
        return None
    mask = torch.ones(len(full), dtype=torch.bool)
    mask[keep] = False
    left = mask.nonzero().squeeze(1)
    if not getattr(full, "streaming", False):
        return full.subset(left)
    ex = full.examples(left)
    x, y = ex.pop("x"), ex.pop("y", None)
    return Dataset(x, y, full.kind, full.name, full.value_range, full.class_names, extra=ex)
