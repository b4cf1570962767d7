"""Named data sets: ``digits``, ``mnist``, ``stacked-mnist``, and the search path for data files.

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images, values 0..16, labels 0-9).
- ``mnist``: the MNIST IDX files, looked for as ``mnist/<name>`` under data.path, then under each
  folder of the ``GANFORGE_DATA`` environment variable (os.pathsep-separated). The test split
  ``t10k-*`` is preferred over ``train-*``; gzip-compressed or raw files are both accepted.
- ``stacked-mnist``: the 1,000-mode Stacked MNIST of Metz et al. 2017 (Unrolled GANs), as used by
  PacGAN (Lin et al. 2018). Each example draws three MNIST indices independently and uniformly
  (with replacement) from the split found above with a generator seeded by ``seed``, and stacks
  the three digits as the R, G, B channels of one 3x28x28 image; its label is
  100*d1 + 10*d2 + d3 for the three digit labels. ``min(n_points, limit or inf, 50,000)`` examples
  are built: the cap keeps the float tensor under ~0.5 GB (100,000 examples would take 940 MB).
"""
from __future__ import annotations

import os

import numpy as np
import torch

from ..core.errors import DataError
from .dataset import Dataset, images_to_float, seeded
from .images import read_idx_images
from .sources import Source, data_roots, register_source

MNIST_NAMES = ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte",
               "train-images-idx3-ubyte.gz", "train-images-idx3-ubyte")
STACKED_MNIST_CAP = 50_000
DIGIT_NAMES = [str(k) for k in range(10)]


# ----------------------------------------------------------------------------------------------
# Search path

def _search(relpath: str, explicit: str = "") -> tuple[str | None, list[str]]:
    """(found path or None, folders looked in). Each root is tried with relpath and its tails, so a
    root may be the folder holding the file or any of its parents named in relpath."""
    parts = [p for p in relpath.replace("\\", "/").split("/") if p]
    roots: list[str] = []
    if explicit:
        explicit = os.path.expanduser(explicit)
        if os.path.isfile(explicit):
            if os.path.basename(explicit) == parts[-1]:
                return explicit, [explicit]
            explicit = os.path.dirname(explicit) or "."
        elif not os.path.isdir(explicit):
            raise DataError(f"data.path {explicit} does not exist; fix the path or leave it empty "
                            "to search GANFORGE_DATA")
        roots.append(explicit)
    roots += data_roots()
    for root in roots:
        for i in range(len(parts)):
            cand = os.path.join(root, *parts[i:])
            if os.path.isfile(cand):
                return cand, roots
    return None, roots


def _not_found(what: str, looked: list[str]) -> DataError:
    where = f"looked in {', '.join(looked)}" if looked else "GANFORGE_DATA is not set"
    return DataError(f"cannot find {what} ({where}); set data.path to the file or its folder, "
                     "or GANFORGE_DATA to the folder that holds it")


def find_data(relpath: str, explicit: str = "") -> str:
    """Path of ``relpath`` under ``explicit`` (a file or folder), else under a GANFORGE_DATA folder."""
    found, looked = _search(relpath, explicit)
    if found is None:
        raise _not_found(relpath, looked)
    return found


# ----------------------------------------------------------------------------------------------
# Data sets

def load_digits(labels: bool = True) -> Dataset:
    from sklearn.datasets import load_digits as sk_digits  # slow import; only when asked for

    bunch = sk_digits()
    arr = bunch.images[:, None]  # (1797, 1, 8, 8), values 0..16
    y = torch.from_numpy(bunch.target.astype(np.int64)) if labels else None
    return Dataset(x=images_to_float(arr, 0.0, 16.0), y=y, kind="image", name="digits",
                   value_range=(0.0, 16.0), class_names=list(DIGIT_NAMES) if labels else None)


def mnist_path(explicit: str = "") -> str:
    """The MNIST images file: data.path itself when it is a file, else the first name found."""
    if explicit and os.path.isfile(os.path.expanduser(explicit)):
        return os.path.expanduser(explicit)
    looked: list[str] = []
    for name in MNIST_NAMES:
        found, looked = _search(f"mnist/{name}", explicit)
        if found is not None:
            return found
    raise _not_found(f"MNIST (mnist/{MNIST_NAMES[0]} or mnist/{MNIST_NAMES[2]})", looked)


def _mnist_arrays(explicit: str, labels: bool) -> tuple[str, np.ndarray, torch.Tensor | None]:
    path = mnist_path(explicit)
    arr, y = read_idx_images(path, labels)  # (N, 1, H, W)
    if arr.dtype != np.uint8:
        raise DataError(f"{path}: MNIST images must be unsigned bytes, got {arr.dtype}")
    if y is not None and int(y.max()) > 9:
        raise DataError(f"{path}: MNIST labels must be 0..9, found {int(y.max())}")
    return path, arr, y


def load_mnist(explicit: str = "", labels: bool = True) -> Dataset:
    _, arr, y = _mnist_arrays(explicit, labels)
    return Dataset(x=images_to_float(arr, 0.0, 255.0), y=y, kind="image", name="mnist",
                   value_range=(0.0, 255.0), class_names=list(DIGIT_NAMES) if y is not None else None)


def load_stacked_mnist(explicit: str = "", n: int = STACKED_MNIST_CAP, seed: int = 0,
                       labels: bool = True, limit: int = 0) -> Dataset:
    """Stacked MNIST: see the module docstring for the construction and the size cap."""
    path, arr, digit = _mnist_arrays(explicit, labels)
    if labels and digit is None:
        raise DataError(f"stacked-mnist needs the MNIST labels file beside {path}; "
                        "add it or set data.labels=false")
    n = min(n, STACKED_MNIST_CAP, limit if limit > 0 else n)
    if n <= 0:
        raise DataError(f"stacked-mnist needs a positive data.n_points, got {n}")
    idx = torch.randint(0, arr.shape[0], (n, 3), generator=seeded(seed))  # (n, 3)
    stacked = arr[:, 0][idx.numpy()]  # uint8 (n, 3, H, W): one digit per channel
    y = None
    if digit is not None:
        d = digit[idx]  # (n, 3)
        y = 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2]
    return Dataset(x=images_to_float(stacked, 0.0, 255.0), y=y, kind="image", name="stacked-mnist",
                   value_range=(0.0, 255.0),
                   class_names=[f"{k:03d}" for k in range(1000)] if y is not None else None)


register_source("digits", Source(lambda cfg, seed, path: load_digits(cfg.data.labels), kind="image",
                                 holds_out=True))
register_source("mnist", Source(lambda cfg, seed, path: load_mnist(cfg.data.path, cfg.data.labels),
                                path="search", kind="image", holds_out=True))
register_source("stacked-mnist", Source(
    lambda cfg, seed, path: load_stacked_mnist(cfg.data.path, cfg.data.n_points, seed, cfg.data.labels, cfg.data.limit),
    path="search", kind="image"))
