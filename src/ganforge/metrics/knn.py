"""Feature checks and chunked k-nearest-neighbour distances shared by the k-NN metrics.

Distances are Euclidean, computed in float32 from ``|a|^2 + |b|^2 - 2 a.b`` on row blocks so that
memory stays O(block x N) and the work is one matrix multiply per block. Both sets are centred on a
common mean first: the distances do not change, but the cancellation error of the expansion does
(features far from the origin would otherwise lose most of their float32 precision). The distances
returned for the selected neighbours are recomputed exactly from the differences, so an exact copy
reports 0.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..core.errors import DataError

BLOCK_ELEMENTS = 1 << 24   # entries of one distance block (64 MB in float32)
SELF_BLOCK = 2048          # side of the square blocks of the self k-NN pass


class MetricInputError(DataError, ValueError):
    """Unusable feature arrays. A ValueError for library callers, a DataError for the CLI."""


# ----------------------------------------------------------------------------------------------
# Input checks and conversion.

def _shape_of(x: Any, name: str) -> tuple[int, ...]:
    if isinstance(x, Tensor):
        return tuple(x.shape)
    try:
        return np.shape(x)
    except ValueError:  # ragged nested lists
        raise MetricInputError(f"{name} must be a rectangular (N, D) array") from None


def check_features(x: Any, name: str, min_rows: int = 1) -> tuple[int, int]:
    """Raise MetricInputError unless ``x`` is a finite numeric (N, D) array with N >= min_rows."""
    shape = _shape_of(x, name)
    if len(shape) != 2:
        raise MetricInputError(f"{name} must have shape (N, D), got shape {shape}")
    n, d = shape
    if n == 0 or d == 0:
        raise MetricInputError(f"{name} is empty (shape {shape}); give at least one sample with one feature")
    if n < min_rows:
        raise MetricInputError(f"{name} has {n} samples but this metric needs at least {min_rows}")
    if isinstance(x, Tensor):
        finite = bool(torch.isfinite(x.detach().float() if not x.is_floating_point() else x.detach()).all())
    else:
        arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise MetricInputError(f"{name} must be numeric, got dtype {arr.dtype}")
        finite = bool(np.isfinite(arr).all())
    if not finite:
        raise MetricInputError(f"{name} contains NaN or infinite values; check the generator or extractor output")
    return n, d


def check_pair(a: Any, b: Any, names: tuple[str, str] = ("real features", "fake features"),
               min_rows: int = 1) -> tuple[int, int, int]:
    """Check both arrays and that they have the same feature size; returns (n_a, n_b, d)."""
    n_a, d_a = check_features(a, names[0], min_rows)
    n_b, d_b = check_features(b, names[1], min_rows)
    if d_a != d_b:
        raise MetricInputError(f"{names[0]} have {d_a} features but {names[1]} have {d_b}; "
                               "extract both with the same feature extractor")
    return n_a, n_b, d_a


def as_numpy64(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().cpu().to(torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def as_torch32(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x.detach().cpu().to(torch.float32).contiguous()
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


def need_neighbours(n: int, k: int, name: str) -> None:
    """The k-th neighbour of a sample among the *other* samples of its set needs n >= k + 1."""
    if k < 1:
        raise MetricInputError(f"k must be at least 1, got {k}")
    if n < k + 1:
        raise MetricInputError(f"{name} has {n} samples, too few for k={k} nearest neighbours "
                               f"(need at least {k + 1}); give more samples or lower k")


# ----------------------------------------------------------------------------------------------
# Distance blocks.

def sq_dists(a: Tensor, b: Tensor, a_sq: Tensor, b_sq: Tensor) -> Tensor:
    """(len(a), len(b)) squared distances from precomputed squared norms; clamped at 0."""
    d = torch.addmm(b_sq.unsqueeze(0), a, b.T, alpha=-2.0)
    return d.add_(a_sq.unsqueeze(1)).clamp_(min=0.0)


def row_blocks(q: Tensor, ref: Tensor) -> Iterator[tuple[int, int, Tensor]]:
    """Yield (start, stop, squared distances (stop - start, len(ref))) over blocks of query rows.

    Callers centre ``q`` and ``ref`` on a common mean first (see the module docstring).
    """
    rows = max(1, BLOCK_ELEMENTS // max(1, ref.shape[0]))
    q_sq, r_sq = q.square().sum(1), ref.square().sum(1)
    for i0 in range(0, q.shape[0], rows):
        i1 = min(i0 + rows, q.shape[0])
        yield i0, i1, sq_dists(q[i0:i1], ref, q_sq[i0:i1], r_sq)


def _exact(q: Tensor, ref: Tensor, idx: Tensor) -> Tensor:
    """Distances |q_i - ref[idx[i, j]]| from the differences (no cancellation), as float64."""
    out = torch.empty(idx.shape, dtype=torch.float64)
    rows = max(1, BLOCK_ELEMENTS // max(1, idx.shape[1] * q.shape[1]))
    for i0 in range(0, q.shape[0], rows):
        diff = q[i0:i0 + rows, None, :] - ref[idx[i0:i0 + rows]]  # (r, k, D)
        out[i0:i0 + rows] = diff.norm(dim=2).double()
    return out


def _merge(best_d: Tensor, best_i: Tensor, d: Tensor, col0: int, k: int) -> tuple[Tensor, Tensor]:
    """Fold a block of candidate distances (rows, cols) into the running k smallest per row."""
    v, i = d.topk(min(k, d.shape[1]), dim=1, largest=False)
    cat_d, cat_i = torch.cat([best_d, v], 1), torch.cat([best_i, i + col0], 1)
    v, j = cat_d.topk(k, dim=1, largest=False)
    return v, cat_i.gather(1, j)


def knn_self(x: Any, k: int, name: str = "features", exact: bool = True) -> tuple[Tensor, Tensor]:
    """Distances (N, k) float64 ascending and indices (N, k) of each row's k nearest *other* rows.

    The distance matrix is symmetric, so each off-diagonal block is computed once and folded into
    the neighbour lists of both its row and its column samples. ``exact=False`` skips recomputing
    the selected distances from differences (the k-NN radii of prdc are compared with block
    distances of the same float32 accuracy anyway).
    """
    n, _ = check_features(x, name)
    need_neighbours(n, k, name)
    x = as_torch32(x)
    x = x - x.mean(0)
    sq = x.square().sum(1)
    best_d = torch.full((n, k), float("inf"))
    best_i = torch.zeros((n, k), dtype=torch.long)
    for i0 in range(0, n, SELF_BLOCK):
        i1 = min(i0 + SELF_BLOCK, n)
        for j0 in range(i0, n, SELF_BLOCK):
            j1 = min(j0 + SELF_BLOCK, n)
            d = sq_dists(x[i0:i1], x[j0:j1], sq[i0:i1], sq[j0:j1])  # (bi, bj)
            if i0 == j0:
                d.fill_diagonal_(float("inf"))  # a sample is not its own neighbour
            best_d[i0:i1], best_i[i0:i1] = _merge(best_d[i0:i1], best_i[i0:i1], d, j0, k)
            if j0 != i0:
                best_d[j0:j1], best_i[j0:j1] = _merge(best_d[j0:j1], best_i[j0:j1], d.T.contiguous(), i0, k)
    if not exact:
        return best_d.sqrt().double(), best_i
    return _sorted_exact(x, x, best_i)


def knn_cross(q: Any, ref: Any, k: int, name: str = "reference features") -> tuple[Tensor, Tensor]:
    """Distances (Nq, k) float64 ascending and indices (Nq, k) of each query's k nearest in ``ref``."""
    check_pair(q, ref, ("query features", name))
    q, ref = as_torch32(q), as_torch32(ref)
    if k < 1 or ref.shape[0] < k:
        raise MetricInputError(f"{name} has {ref.shape[0]} samples, too few for k={k} nearest neighbours")
    mean = ref.mean(0)
    q, ref = q - mean, ref - mean
    idx = torch.empty((q.shape[0], k), dtype=torch.long)
    for i0, i1, d in row_blocks(q, ref):
        idx[i0:i1] = d.topk(k, dim=1, largest=False).indices
    return _sorted_exact(q, ref, idx)


def _sorted_exact(q: Tensor, ref: Tensor, idx: Tensor) -> tuple[Tensor, Tensor]:
    dist = _exact(q, ref, idx)
    dist, order = dist.sort(dim=1)
    return dist, idx.gather(1, order)
