"""The in-memory data set most sources load into, and the tensor helpers the readers share.

An example is a dict of named tensors: ``x`` (what G learns to make), ``y`` (class labels, when the
data has them) and whatever else a source adds under its own name in ``extra`` (a paired target
image, token ids, a speaker id), each a tensor whose first axis runs over the examples. ``meta``
holds JSON-able facts the recipe needs to rebuild itself without the data (a vocabulary, mixture
means), copied into ``info()``.

Images live as one float32 tensor (N, C, H, W) scaled to [-1, 1]; the pixel range it came from is
kept in ``value_range`` so samples can be mapped back. Vectors (toy 2-D sets, tabular NPZ) stay
unscaled as (N, D). Data sets larger than memory stream from disk instead (stream.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import DataError

# ITU-R BT.601 luma weights, the same conversion image libraries use for RGB -> grey.
_LUMA = (0.299, 0.587, 0.114)
_RESIZE_CHUNK = 4096  # images resized at once; bounds the extra memory of a resize


@dataclass
class Dataset:
    x: torch.Tensor                     # images (N, C, H, W) in [-1, 1]; vectors (N, D)
    y: torch.Tensor | None              # int64 (N,) labels 0..K-1, or None
    kind: str                           # "image" | "vector"
    name: str                           # "digits", "mnist", "ring8", ... or the path read
    value_range: tuple[float, float] | None  # original pixel range mapped to [-1, 1]
    class_names: list[str] | None
    modes: torch.Tensor | None = None   # toy 2-D: (M, 2) mixture means
    sigma: float | None = None          # toy 2-D: mixture std
    extra: dict[str, torch.Tensor] = field(default_factory=dict)   # more per-example tensors, (N, ...) each
    meta: dict[str, Any] = field(default_factory=dict)             # JSON-able facts for info()
    streaming = False

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def num_classes(self) -> int:
        if self.y is None:
            return 0
        if self.class_names:
            return len(self.class_names)
        return int(self.y.max()) + 1 if self.y.numel() else 0

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def tensors(self) -> dict[str, torch.Tensor]:
        """Every per-example tensor by name: x, y (when labelled) and the extras."""
        out = {"x": self.x, **({"y": self.y} if self.y is not None else {})}
        out.update(self.extra)
        return out

    def examples(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        """The examples at ``index`` as one dict of tensors (a batch)."""
        return {k: v[index] for k, v in self.tensors().items()}

    def subset(self, index: torch.Tensor) -> Dataset:
        """The examples at ``index`` (a 1-D long tensor), everything else shared."""
        return replace(self, x=self.x[index], y=None if self.y is None else self.y[index],
                       class_names=None if self.class_names is None else list(self.class_names),
                       extra={k: v[index] for k, v in self.extra.items()})

    def take(self, n: int, seed: int = 0) -> Dataset:
        """At most ``n`` examples in memory (a seeded pick when there are more); all of them as they are."""
        if n >= len(self):
            return self
        return self.subset(torch.randperm(len(self), generator=seeded(seed))[:n].sort().values)

    def split(self, frac: float, seed: int) -> tuple[Dataset, Dataset]:
        """Seeded disjoint split: the first part holds round(frac * N) examples, the second the rest.

        Both parts keep the original order of their examples, so ``split`` is a pure partition.
        """
        n = len(self)
        k = round(frac * n)
        if not 0.0 < frac < 1.0 or k == 0 or k == n:
            raise DataError(f"cannot split the {n} examples of {self.name} at fraction {frac}: "
                            "both parts must be non-empty (use a fraction between 0 and 1)")
        perm = torch.randperm(n, generator=seeded(seed))
        return self.subset(perm[:k].sort().values), self.subset(perm[k:].sort().values)

    def info(self) -> dict:
        """A JSON-able summary for run folders and reports."""
        out = {
            "name": self.name,
            "kind": self.kind,
            "n": len(self),
            "shape": list(self.shape),
            "value_range": None if self.value_range is None else [float(v) for v in self.value_range],
            "num_classes": self.num_classes,
            "class_names": None if self.class_names is None else list(self.class_names),
        }
        if self.modes is not None:
            out["n_modes"] = int(self.modes.shape[0])
            out["modes"] = self.modes.tolist()
            out["sigma"] = float(self.sigma) if self.sigma is not None else None
        if self.extra:
            out["extra"] = {k: list(v.shape[1:]) for k, v in self.extra.items()}
        out.update(self.meta)
        return out


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Images in [-1, 1] -> uint8 0..255 (rounded, clamped); the shape is kept."""
    x = torch.nan_to_num(x.detach().to("cpu", torch.float32))
    return ((x + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8).numpy()


def images_to_float(arr: np.ndarray, lo: float, hi: float) -> torch.Tensor:
    """(N, C, H, W) array with values in [lo, hi] -> new float32 tensor in [-1, 1] (lo -> -1, hi -> 1)."""
    # One contiguous float32 copy, then in-place arithmetic: no second full-size temporary.
    x = torch.from_numpy(np.array(arr, dtype=np.float32, order="C", copy=True))
    x.sub_(lo).div_(hi - lo).mul_(2.0).sub_(1.0)
    return x.clamp_(-1.0, 1.0)  # float rounding can overshoot by one ulp at the ends


def limit_indices(n: int, limit: int, seed: int) -> torch.Tensor | None:
    """Indices of the first ``limit`` examples after a seeded shuffle; None when all are kept."""
    if limit <= 0 or limit >= n:
        return None
    return torch.randperm(n, generator=seeded(seed))[:limit]


def apply_limit(ds: Dataset, limit: int, seed: int) -> Dataset:
    keep = limit_indices(len(ds), limit, seed)
    return ds if keep is None else ds.subset(keep)


def check_labels(y: np.ndarray, n: int, where: str, num_classes: int | None = None) -> torch.Tensor:
    """Validate a label array read from disk; returns int64 (N,)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"{where}: labels must be a 1-D array, got shape {tuple(y.shape)}")
    if len(y) != n:
        raise DataError(f"{where}: {len(y)} labels for {n} examples; the counts must match")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DataError(f"{where}: labels must be whole numbers 0..K-1")
    elif y.dtype.kind not in "iub":
        raise DataError(f"{where}: labels must be integers, got dtype {y.dtype}")
    if n and y.min() < 0:
        raise DataError(f"{where}: labels must be 0..K-1, found {int(y.min())}")
    if n and num_classes is not None and y.max() >= num_classes:
        raise DataError(f"{where}: label {int(y.max())} out of range 0..{num_classes - 1}")
    return torch.from_numpy(y.astype(np.int64))


def numbered_classes(y: torch.Tensor) -> list[str]:
    """Class names "0".."K-1" for labels that carry no names of their own."""
    return [str(k) for k in range(int(y.max()) + 1 if y.numel() else 0)]


def conform_images(x: torch.Tensor, channels: int, size: int, resize: str, name: str) -> torch.Tensor:
    """Apply data.channels / data.size / data.resize to (N, C, H, W) images in [-1, 1]."""
    x = _set_channels(x, channels, name)
    n, c, h, w = x.shape
    if size == 0:
        if h != w:
            raise DataError(f"{name}: images are {w}x{h}, not square; "
                            "set --set data.size=N data.resize=crop (or resize)")
        return x
    if (h, w) == (size, size):
        return x
    if resize == "error":
        raise DataError(f"{name}: images are {w}x{h} but data.size={size}; "
                        f"set --set data.resize=resize (or crop), or data.size=0 to keep {w}x{h}")
    if resize == "crop":
        if h < size or w < size:
            raise DataError(f"{name}: images are {w}x{h}, smaller than data.size={size}, so cannot be "
                            "cropped; set --set data.resize=resize")
        return center_crop(x, size).contiguous()
    if resize != "resize":
        raise DataError(f"data.resize={resize!r} is not one of: error, resize, crop")
    # Shorter side to `size`, keeping the aspect ratio, then a centre crop of the longer side.
    nh, nw = (size, max(size, round(w * size / h))) if h <= w else (max(size, round(h * size / w)), size)
    out = torch.empty(n, c, size, size)
    for i in range(0, n, _RESIZE_CHUNK):
        part = F.interpolate(x[i:i + _RESIZE_CHUNK], size=(nh, nw), mode="bilinear",
                             align_corners=False, antialias=True)
        out[i:i + _RESIZE_CHUNK] = center_crop(part, size)
    return out.clamp_(-1.0, 1.0)


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top:top + size, left:left + size]


def _set_channels(x: torch.Tensor, channels: int, name: str) -> torch.Tensor:
    c = x.shape[1]
    if channels == 0 or channels == c:
        return x
    if channels == 1 and c == 3:
        weights = torch.tensor(_LUMA, dtype=x.dtype).view(1, 3, 1, 1)
        return (x * weights).sum(dim=1, keepdim=True)  # (N, 1, H, W)
    if channels == 3 and c == 1:
        return x.expand(-1, 3, -1, -1).contiguous()  # (N, 3, H, W)
    raise DataError(f"{name}: cannot convert {c}-channel images to data.channels={channels}; use 0, 1 or 3")
