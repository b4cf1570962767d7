"""Data sources for training: built-in sets, toy 2-D mixtures, and image files on disk.

``load_dataset(cfg.data, seed)`` returns a :class:`Dataset` held in memory as one tensor.
"""
from __future__ import annotations

import os

import torch

from ..config import DataConfig
from ..core.errors import DataError
from .builtin import STACKED_MNIST_CAP, data_roots, find_data, load_digits, load_mnist, load_stacked_mnist
from .dataset import Dataset, apply_limit, conform_images, limit_indices, to_uint8
from .images import IMAGE_EXTS, read_folder, read_idx, read_idx_dataset, read_npz
from .toy2d import TOY_SETS, make_toy

__all__ = ["IMAGE_EXTS", "SOURCES", "STACKED_MNIST_CAP", "TOY_SETS", "Dataset", "find_data",
           "held_out", "infer_source", "load_dataset", "make_toy", "read_idx", "to_uint8"]

SOURCES = ("digits", "mnist", "stacked-mnist", "ring8", "grid25", "folder", "idx", "npz", "auto", "tabular")


def load_dataset(cfg: DataConfig, seed: int = 0, tabular=None) -> Dataset:
    """Load ``cfg`` (a DataConfig): dispatch on cfg.source, then apply limit, labels, channels and size.

    ``tabular`` (a TabularConfig) carries the column settings of data.source=tabular."""
    source = cfg.source
    path = ""
    if source in ("folder", "idx", "npz", "auto", "tabular"):
        path = resolve_path(cfg.path, source)
        if source == "auto":
            source = infer_source(path)
    if source == "tabular":  # a table applies data.limit itself; its labels are training conditions
        from .tabular import load_tabular
        return load_tabular(cfg, tabular, seed, _need_file(path, source))
    if source in TOY_SETS:
        ds = make_toy(source, cfg.n_points, seed, cfg.labels)
    elif source == "digits":
        ds = load_digits(cfg.labels)
    elif source == "mnist":
        ds = load_mnist(cfg.path, cfg.labels)
    elif source == "stacked-mnist":
        ds = load_stacked_mnist(cfg.path, cfg.n_points, seed, cfg.labels, cfg.limit)
    elif source == "folder":
        if not os.path.isdir(path):
            raise DataError(f"data.source=folder needs a folder, but {path} is a file")
        ds = read_folder(path, cfg.channels, cfg.size, cfg.resize, cfg.limit, seed)
    elif source == "idx":
        ds = read_idx_dataset(_need_file(path, source), cfg.labels)
    elif source == "npz":
        ds = read_npz(_need_file(path, source), cfg.labels)
    else:
        raise DataError(f"unknown data source {source!r}; choose one of: {', '.join(SOURCES)}")
    ds = apply_limit(ds, cfg.limit, seed)
    if not cfg.labels:
        ds.y, ds.class_names = None, None
    if ds.kind == "image":
        ds.x = conform_images(ds.x, cfg.channels, cfg.size, cfg.resize, ds.name)
    return ds


def held_out(cfg: DataConfig, seed: int = 0) -> Dataset | None:
    """The examples ``data.limit`` left out of training (the same seeded shuffle), or None when the run
    saw all of them or its source draws fresh data (toy mixtures, stacked MNIST, tables)."""
    from dataclasses import replace
    if cfg.limit <= 0 or cfg.source in TOY_SETS or cfg.source in ("stacked-mnist", "tabular"):
        return None
    full = load_dataset(replace(cfg, limit=0), seed)
    keep = limit_indices(len(full), cfg.limit, seed)
    if keep is None:
        return None
    mask = torch.ones(len(full), dtype=torch.bool)
    mask[keep] = False
    return full.subset(mask.nonzero().squeeze(1))


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


def infer_source(path: str) -> str:
    """folder | npz | idx for an existing path, from its kind and name."""
    if os.path.isdir(path):
        return "folder"
    low = os.path.basename(path).lower()
    if low.endswith((".csv", ".parquet", ".pq")):
        return "tabular"
    if low.endswith((".npz", ".npy")):
        return "npz"
    if "idx" in low or low.endswith(("-ubyte", "-ubyte.gz")):
        return "idx"
    raise DataError(f"cannot tell the format of {path}; set data.source to folder, idx, npz or tabular")


def _need_file(path: str, source: str) -> str:
    if not os.path.isfile(path):
        raise DataError(f"data.source={source} needs a file, but {path} is a folder")
    return path
