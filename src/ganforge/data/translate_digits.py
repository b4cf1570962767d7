"""The two built-in translation benchmarks, built deterministically from data beside the project (no randomness but
the run's shuffles), both at 32x32 grey, values in [-1, 1]:

``edges2digits`` (paired): MNIST test-split digits (found like the ``mnist`` source) and their edge maps.
- digit: the 28x28 image padded with 2 black pixels on every side (32x32, no resampling), scaled to [0, 1];
- edge map: the Sobel gradient magnitude of the digit, sqrt(gx^2 + gy^2) with gx = [[-1,0,1],[-2,0,2],[-1,0,1]] and
  gy its transpose (zero padding), thresholded at 1.0 (a quarter of the magnitude 4 of a full black-to-white step):
  white where above, black elsewhere; a one- to two-pixel outline of each stroke.
- source ``x`` the edge map, ``target`` the digit (translate.direction=BtoA: the other way). Training pairs from
  MNIST images 0-7999, held-out pairs (what evaluation translates) from 8000-9999: the images the shipped
  ``lenet-mnist`` classifier was not trained on.

``digits2mnist`` (unpaired): domain A is scikit-learn's 8x8 digits (values 0..16) resized bilinearly to 32x32, so a
digit fills its frame; domain B is MNIST padded to 32x32 as above (a 20x20 digit centred by mass). This mirrors the
MNIST -> USPS setting of domain adaptation, where USPS digits fill their frame. Training: the sklearn digits the
shipped ``digits`` classifier trained on (a permutation of the 1,797 drawn with seed 0, the first 1,438) against MNIST
images 0-7999; held out: the other 359 sklearn digits and MNIST images 8000-9999. Labels are never in the training
examples; the held-out sets keep them for the metrics.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import DataError
from .builtin import _mnist_arrays
from .dataset import Dataset, apply_limit
from .sources import Source, register_source
from .translate import unpaired_dataset

TRAIN_POOL, HELD_POOL = (0, 8000), (8000, 10000)
EDGE_THRESHOLD = 1.0
SIZE = 32
DIGITS_SPLIT_SEED, DIGITS_TRAIN_SHARE = 0, 0.8   # as the shipped digits classifier's card says


def mnist32(explicit: str = "") -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST test-split digits padded to 32x32 in [0, 1] (N, 1, 32, 32), and their labels."""
    path, arr, y = _mnist_arrays(explicit, True)
    if y is None or len(arr) < HELD_POOL[1]:
        raise DataError(f"the digit translation sets need the 10,000 labelled MNIST test images (t10k images and "
                        f"labels); {path} holds {len(arr)}{'' if y is not None else ' without a labels file'}")
    x = torch.from_numpy(arr.astype(np.float32) / 255.0)
    return F.pad(x, (2, 2, 2, 2)), y


def sobel_edges(x: torch.Tensor, threshold: float = EDGE_THRESHOLD) -> torch.Tensor:
    """(N, 1, H, W) in [0, 1] -> edge maps in {0, 1}: Sobel gradient magnitude above ``threshold``."""
    gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]).view(1, 1, 3, 3)
    gy = gx.transpose(2, 3)
    mag = torch.sqrt(F.conv2d(x, gx, padding=1) ** 2 + F.conv2d(x, gy, padding=1) ** 2)
    return (mag > threshold).float()


def _pm1(x: torch.Tensor) -> torch.Tensor:
    return x * 2 - 1


def edges2digits(explicit: str = "", part: str = "train") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(edge maps, digits, labels) of one part, images in [-1, 1]."""
    x, y = mnist32(explicit)
    lo, hi = TRAIN_POOL if part == "train" else HELD_POOL
    digits = x[lo:hi]
    return _pm1(sobel_edges(digits)), _pm1(digits), y[lo:hi]


def digits_split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(DIGITS_SPLIT_SEED))
    k = int(round(DIGITS_TRAIN_SHARE * n))
    return order[:k], order[k:]


def sklearn_digits32() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 digits resized to 32x32, [0, 1], and their labels."""
    from sklearn.datasets import load_digits
    bunch = load_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False).clamp(0, 1)
    return x, torch.from_numpy(bunch.target.astype(np.int64))


def digits2mnist(explicit: str = "", part: str = "train") -> dict[str, torch.Tensor]:
    """{"a", "a_labels", "b", "b_labels"} of one part, images in [-1, 1]."""
    a, ya = sklearn_digits32()
    train, test = digits_split(len(a))
    ia = train if part == "train" else test
    b, yb = mnist32(explicit)
    lo, hi = TRAIN_POOL if part == "train" else HELD_POOL
    return {"a": _pm1(a[ia]), "a_labels": ya[ia], "b": _pm1(b[lo:hi]), "b_labels": yb[lo:hi]}


def _check_size(cfg, name: str) -> None:
    s = cfg.section("translate")
    if s.size not in (0, SIZE):
        raise DataError(f"{name} is built at {SIZE}x{SIZE}; set translate.size={SIZE} (or 0)")


def load_edges2digits(cfg, seed: int, path: str) -> Dataset:
    _check_size(cfg, "edges2digits")
    edges, digits, _ = edges2digits(cfg.data.path)
    if cfg.section("translate").direction == "BtoA":   # digits -> their edge maps
        edges, digits = digits, edges
    ds = Dataset(x=edges, y=None, kind="image-pair", name="edges2digits", value_range=(0.0, 255.0), class_names=None,
                 extra={"target": digits}, meta={"digits": True, "target_shape": [1, SIZE, SIZE]})
    return apply_limit(ds, cfg.data.limit, seed)


def load_digits2mnist(cfg, seed: int, path: str) -> Dataset:
    _check_size(cfg, "digits2mnist")
    parts = digits2mnist(cfg.data.path)
    a, b = parts["a"], parts["b"]
    if cfg.data.limit:
        b = b[torch.randperm(len(b), generator=torch.Generator().manual_seed(seed))[:cfg.data.limit].sort().values]
    return unpaired_dataset(a, b, seed, "digits2mnist", {"digits": True})


register_source("edges2digits", Source(load_edges2digits, path="search", kind="image-pair", finish=False))
register_source("digits2mnist", Source(load_digits2mnist, path="search", kind="image-unpaired", finish=False))

__all__ = ["sobel_edges", "mnist32", "edges2digits", "digits2mnist", "sklearn_digits32", "digits_split",
           "EDGE_THRESHOLD"]
