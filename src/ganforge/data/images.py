"""Readers for image data on disk: a folder of PNG/JPEG files, IDX files (the MNIST format), NPZ/NPY.

Folder layout: every .png .jpg .jpeg .bmp .webp file below the folder (any case, hidden entries
skipped) is read, in sorted path order. When the images sit in sub-folders of the top folder, each
sub-folder is a class (sorted names -> labels 0..K-1); images lying directly in the top folder,
alone or next to such sub-folders, make the set unlabelled.
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..core.errors import DataError
from .dataset import Dataset, check_labels, images_to_float, limit_indices, numbered_classes
from .sources import Source, register_source

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
_GREY_MODES = {"1", "L", "LA", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"}
# What PIL raises for unreadable, corrupt or truncated files (UnidentifiedImageError is an OSError).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error,
                  Image.DecompressionBombError)


# ----------------------------------------------------------------------------------------------
# Folder of images

def list_images(root: str) -> tuple[list[str], list[int] | None, list[str] | None]:
    """Image files below ``root`` (sorted), their class labels and the class names (or None, None)."""
    rels: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = os.path.relpath(dirpath, root)
        for f in filenames:
            if not f.startswith(".") and f.lower().endswith(IMAGE_EXTS):
                rels.append(f if rel_dir == "." else os.path.join(rel_dir, f))
    rels.sort()
    if not rels:
        raise DataError(f"no images ({' '.join(IMAGE_EXTS)}) found under {root}; "
                        "point data.path at a folder of images")
    files = [os.path.join(root, r) for r in rels]
    labels, class_names = folder_classes(rels)
    return files, labels, class_names


def folder_classes(rels: list[str]) -> tuple[list[int] | None, list[str] | None]:
    """Class labels from paths relative to the top folder: each top sub-folder a class (sorted names -> 0..K-1);
    any path directly in the top folder makes the whole set unlabelled (None, None)."""
    tops = [r.split(os.sep, 1)[0] if os.sep in r else None for r in rels]
    if not tops or any(t is None for t in tops):
        return None, None
    class_names = sorted(set(tops))
    index = {c: k for k, c in enumerate(class_names)}
    return [index[t] for t in tops], class_names


@dataclass
class FolderPlan:
    """What reading a folder will give, from the file headers alone (no pixels decoded)."""
    root: str
    files: list[str]
    labels: torch.Tensor | None     # int64 (N,) from the class sub-folders
    class_names: list[str] | None
    channels: int
    size: int
    resize: str

    def decode(self, i: int) -> np.ndarray:
        """Example ``i`` as uint8 (C, S, S)."""
        return _decode(self.files[i], self.channels, self.size, self.resize)


def plan_folder(root: str, channels: int = 0, size: int = 0, resize: str = "error",
                limit: int = 0, seed: int = 0) -> FolderPlan:
    """The files to read (after ``limit``), their labels, and the channels and side every image gets."""
    files, labels, class_names = list_images(root)
    keep = limit_indices(len(files), limit, seed)
    if keep is not None:
        files = [files[i] for i in keep.tolist()]
        labels = None if labels is None else [labels[i] for i in keep.tolist()]
    heads = [_header(p) for p in files]  # (mode, width, height) without decoding the pixels
    c = _pick_channels(files, heads, channels)
    s = _pick_size(files, heads, size, resize)
    y = None if labels is None else check_labels(np.array(labels), len(files), root)
    return FolderPlan(root, files, y, class_names, c, s, resize)


def read_folder(root: str, channels: int = 0, size: int = 0, resize: str = "error",
                limit: int = 0, seed: int = 0) -> Dataset:
    """Decode a folder of images into one (N, C, S, S) tensor; ``limit`` is applied before decoding."""
    plan = plan_folder(root, channels, size, resize, limit, seed)
    arr = np.empty((len(plan.files), plan.channels, plan.size, plan.size), dtype=np.uint8)  # (N, C, S, S)
    for i in range(len(plan.files)):
        arr[i] = plan.decode(i)
    return Dataset(x=images_to_float(arr, 0.0, 255.0), y=plan.labels, kind="image", name=root,
                   value_range=(0.0, 255.0), class_names=plan.class_names)


def _header(path: str) -> tuple[str, int, int]:
    try:
        with Image.open(path) as im:
            return im.mode, im.width, im.height
    except _DECODE_ERRORS as e:
        raise DataError(f"cannot read image {path}: {_first_line(e)}; remove or replace the file") from None


def _pick_channels(files: list[str], heads: list[tuple[str, int, int]], channels: int) -> int:
    if channels in (1, 3):
        return channels
    grey = [h[0] in _GREY_MODES for h in heads]
    if all(grey):
        return 1
    if not any(grey):
        return 3
    g, col = files[grey.index(True)], files[grey.index(False)]
    raise DataError(f"mixed greyscale ({g}) and colour ({col}) images; "
                    "set --set data.channels=1 or data.channels=3")


def _pick_size(files: list[str], heads: list[tuple[str, int, int]], size: int, resize: str) -> int:
    if size == 0:
        first = heads[0][1:]
        for path, h in zip(files, heads):
            if h[1:] != first:
                raise DataError(f"images differ in size: {files[0]} is {first[0]}x{first[1]}, "
                                f"{path} is {h[1]}x{h[2]}; set --set data.size=N data.resize=resize")
        if first[0] != first[1]:
            raise DataError(f"images are {first[0]}x{first[1]}, not square (e.g. {files[0]}); "
                            "set --set data.size=N data.resize=crop (or resize)")
        return first[0]
    for path, (_, w, h) in zip(files, heads):
        if resize == "error" and (w, h) != (size, size):
            raise DataError(f"{path} is {w}x{h}, not data.size={size}; "
                            "set --set data.resize=resize (or crop)")
        if resize == "crop" and (w < size or h < size):
            raise DataError(f"{path} is {w}x{h}, smaller than data.size={size}, so cannot be cropped; "
                            "set --set data.resize=resize")
    return size


def _decode(path: str, channels: int, size: int, resize: str) -> np.ndarray:
    """One file -> uint8 (C, S, S)."""
    try:
        with Image.open(path) as im:
            im.load()
            im = _fit(_to_mode(im, channels), size, resize)
            a = np.asarray(im, dtype=np.uint8)
    except _DECODE_ERRORS as e:  # truncated or corrupt pixel data
        raise DataError(f"cannot decode image {path}: {_first_line(e)}; remove or replace the file") from None
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def _to_mode(im: Image.Image, channels: int) -> Image.Image:
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        a = np.asarray(im).astype(np.float64)
        if a.max(initial=0) > 255:  # 16-bit data
            a = a * (255.0 / 65535.0)
        im = Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8))
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA")  # apply palette transparency before dropping alpha
    return im.convert("L" if channels == 1 else "RGB")


def _fit(im: Image.Image, size: int, resize: str) -> Image.Image:
    """Resize (shorter side to ``size``) and/or centre crop to size x size."""
    w, h = im.size
    if (w, h) == (size, size):
        return im
    if resize == "resize":
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        im = im.resize((nw, nh), Image.Resampling.BILINEAR)
        w, h = nw, nh
    left, top = (w - size) // 2, (h - size) // 2
    return im.crop((left, top, left + size, top + size))


# ----------------------------------------------------------------------------------------------
# IDX: two zero bytes, a dtype code, ndim, then ndim big-endian uint32 sizes and the big-endian data

_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """Read one IDX file (gzip-compressed or raw), checking the header against the file length."""
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path} is not an IDX file (bad magic number); give an MNIST-style *-idx3-ubyte file")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise DataError(f"{path}: unknown IDX data type code 0x{code:02x}; the file is corrupt")
    head = 4 + 4 * ndim
    if ndim == 0 or len(raw) < head:
        raise DataError(f"{path}: truncated or corrupt IDX header; re-download the file")
    dims = struct.unpack(f">{ndim}I", raw[4:head])
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = head + math.prod(dims) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise DataError(f"{path} is {what}: header gives shape {dims} ({expected} bytes), "
                        f"file has {len(raw)} bytes; re-download the file")
    arr = np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=head).reshape(dims)
    return arr.astype(dtype.newbyteorder("=")) if dtype.itemsize > 1 else arr


def labels_beside(images_path: str) -> str | None:
    """The labels file that pairs with an IDX images file (images -> labels, idx3 -> idx1), if present."""
    folder, base = os.path.split(images_path)
    name = base.replace("images", "labels").replace("idx3", "idx1")
    if name == base:
        return None
    other = name[:-3] if name.endswith(".gz") else name + ".gz"
    for cand in (name, other):
        if os.path.isfile(os.path.join(folder, cand)):
            return os.path.join(folder, cand)
    return None


def read_idx_images(path: str, labels: bool = True) -> tuple[np.ndarray, torch.Tensor | None]:
    """uint8-or-other (N, 1, H, W) array and int64 labels (or None) from an IDX images file."""
    arr = read_idx(path)
    if arr.ndim == 1:
        raise DataError(f"{path} holds labels, not images; give the matching *images* file")
    if arr.ndim != 3:
        raise DataError(f"{path}: expected (N, H, W) images, got an IDX array of shape {arr.shape}")
    y = None
    lpath = labels_beside(path) if labels else None
    if lpath is not None:
        lab = read_idx(lpath)
        y = check_labels(lab, arr.shape[0], lpath)
    return arr[:, None], y  # (N, 1, H, W)


def read_idx_dataset(path: str, labels: bool = True) -> Dataset:
    arr, y = read_idx_images(path, labels)
    x, vr = array_to_images(arr, path)
    return Dataset(x=x, y=y, kind="image", name=path, value_range=vr,
                   class_names=None if y is None else numbered_classes(y))


# ----------------------------------------------------------------------------------------------
# NPZ / NPY

def read_npz(path: str, labels: bool = True) -> Dataset:
    """An .npz with array ``x`` (and optional ``y``), or a bare .npy array used as ``x``."""
    x, y = _load_arrays(path, labels)
    if x.ndim == 0 or x.shape[0] == 0:
        raise DataError(f"{path}: array x holds no examples")
    yt = None if y is None else check_labels(y, x.shape[0], f"{path} (y)")
    names = None if yt is None else numbered_classes(yt)
    if x.ndim == 2:  # (N, D) vectors, unscaled
        if x.dtype.kind not in "biuf":
            raise DataError(f"{path}: x must be numeric, got dtype {x.dtype}")
        xv = np.array(x, dtype=np.float32)
        if not np.all(np.isfinite(xv)):
            raise DataError(f"{path}: x holds NaN or infinite values")
        return Dataset(x=torch.from_numpy(xv), y=yt, kind="vector", name=path, value_range=None,
                       class_names=names)
    xi, vr = array_to_images(x, path)
    return Dataset(x=xi, y=yt, kind="image", name=path, value_range=vr, class_names=names)


def _load_arrays(path: str, labels: bool) -> tuple[np.ndarray, np.ndarray | None]:
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic != b"\x93NUMPY" and magic[:4] != b"PK\x03\x04":  # .npy header / zip archive
        raise DataError(f"{path} is not a NumPy .npz/.npy file; save arrays with numpy.savez(path, x=..., y=...)")
    try:
        obj = np.load(path, allow_pickle=False)
        if not isinstance(obj, np.lib.npyio.NpzFile):
            return obj, None
        with obj:
            if "x" not in obj.files:
                raise DataError(f"{path} has no array 'x' (found: {', '.join(obj.files) or 'none'}); "
                                "save it with numpy.savez(path, x=images, y=labels)")
            return obj["x"], (obj["y"] if labels and "y" in obj.files else None)
    except DataError:
        raise
    except ValueError as e:
        if "pickle" in str(e):  # object arrays are never unpickled
            raise DataError(f"{path} holds Python objects, which ganforge does not load; "
                            "save plain numeric arrays") from None
        raise DataError(f"cannot read {path} as a NumPy .npz/.npy file: {_first_line(e)}") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"cannot read {path} as a NumPy .npz/.npy file: {_first_line(e)}") from None


def array_to_images(arr: np.ndarray, name: str) -> tuple[torch.Tensor, tuple[float, float]]:
    """(N, H, W), (N, C, H, W) or (N, H, W, C) with C in {1, 3} -> float (N, C, H, W) in [-1, 1], range.

    uint8 arrays map 0..255; any other dtype maps its own min..max.
    """
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim != 4:
        raise DataError(f"{name}: expected (N, D) vectors or (N, H, W), (N, C, H, W), (N, H, W, C) "
                        f"images, got shape {arr.shape}")
    elif arr.shape[1] not in (1, 3):
        if arr.shape[3] not in (1, 3):
            raise DataError(f"{name}: images of shape {arr.shape} need 1 or 3 channels, first or last")
        arr = arr.transpose(0, 3, 1, 2)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{name}: image values must be numeric, got dtype {arr.dtype}")
    if arr.dtype == np.uint8:
        lo, hi = 0.0, 255.0
    else:
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise DataError(f"{name}: images hold NaN or infinite values")
        lo, hi = float(arr.min()), float(arr.max())
        if hi <= lo:
            raise DataError(f"{name}: every pixel has the value {lo}; nothing to learn from")
    return images_to_float(arr, lo, hi), (lo, hi)


# ----------------------------------------------------------------------------------------------

def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"cannot read {path}: {_first_line(e)} (corrupt or truncated); re-download it") from None
    return raw


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _load_folder(cfg, seed: int, path: str):
    d = cfg.data
    if d.stream:
        from .stream import FolderStream
        return FolderStream(plan_folder(path, d.channels, d.size, d.resize, d.limit, seed), d.labels)
    return read_folder(path, d.channels, d.size, d.resize, d.limit, seed)


def _is_idx(path: str) -> bool:
    low = os.path.basename(path).lower()
    return os.path.isfile(path) and ("idx" in low or low.endswith(("-ubyte", "-ubyte.gz")))


register_source("folder", Source(_load_folder, path="folder", kind="image", holds_out=True, streams=True,
                                 infer=os.path.isdir))
register_source("idx", Source(lambda cfg, seed, path: read_idx_dataset(path, cfg.data.labels), path="file",
                              kind="image", holds_out=True, infer=_is_idx))
def _is_npz(path: str) -> bool:
    return os.path.isfile(path) and path.lower().endswith((".npz", ".npy"))


register_source("npz", Source(lambda cfg, seed, path: read_npz(path, cfg.data.labels), path="file", holds_out=True,
                              infer=_is_npz, infer_order=1))
