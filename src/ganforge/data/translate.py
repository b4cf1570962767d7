"""Image pairs and unpaired image sets from folders, for the translation recipes (settings: the ``[translate]``
section, recipes/translate.py).

Paired (``paired-images``, pix2pix's layouts):
- ``DIR/A`` and ``DIR/B``: an image of A and its partner in B have the same path below their folder, extension
  aside (``A/cat/1.jpg`` pairs with ``B/cat/1.png``); with translate.pair_by=order the sorted files pair by position
  instead, which needs equal counts.
- otherwise every image below ``DIR`` holds a pair side by side: A the left half, B the right half.
translate.direction=BtoA swaps the sides. Examples: ``x`` the source, ``target`` its partner.

Unpaired (``unpaired-images``, CycleGAN's layout): ``DIR/trainA`` and ``DIR/trainB``, any counts. The shorter side
is repeated after a seeded shuffle so both fill one length; which A meets which B does not matter, no loss compares
them. Examples: ``x`` an image of A, ``b`` one of B. ``DIR/testA`` and ``DIR/testB``, when present, are what
evaluation translates.

Every image is read with translate.channels_a / channels_b (0: the files' own, which must agree within a side),
brought to translate.size by translate.resize (error | resize | crop), and scaled to [-1, 1].
"""
from __future__ import annotations

import os

import numpy as np
import torch

from ..core.errors import DataError
from .dataset import Dataset, apply_limit, images_to_float
from .images import _DECODE_ERRORS, _GREY_MODES, IMAGE_EXTS, _decode, _fit, _header, _to_mode
from .sources import Source, register_source


def image_files(root: str) -> list[str]:
    """Paths below ``root`` (relative, sorted) of every image file; hidden entries skipped."""
    rels = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = os.path.relpath(dirpath, root)
        rels += [f if rel_dir == "." else os.path.join(rel_dir, f) for f in filenames
                 if not f.startswith(".") and f.lower().endswith(IMAGE_EXTS)]
    return sorted(rels)


def side_channels(files: list[str], channels: int, side: str) -> int:
    """The channel count of one side: ``channels`` when given, else the files' own (grey 1, colour 3)."""
    if channels in (1, 3):
        return channels
    grey = [_header(p)[0] in _GREY_MODES for p in files]
    if all(grey):
        return 1
    if not any(grey):
        return 3
    g, c = files[grey.index(True)], files[grey.index(False)]
    raise DataError(f"side {side} mixes greyscale ({g}) and colour ({c}) images; "
                    f"set --set translate.channels_{side.lower()}=1 or 3")


def read_images(files: list[str], channels: int, size: int, resize: str, box=None) -> np.ndarray:
    """uint8 (N, C, S, S); ``box`` (left, right): the share of each file's width to keep (a side-by-side pair)."""
    if not files:
        return np.zeros((0, channels, size, size), np.uint8)
    out = None
    for i, path in enumerate(files):
        if box is None:
            a = _fit_check(path, channels, size, resize)
        else:
            a = _half(path, channels, size, resize, box)
        if out is None:
            out = np.empty((len(files), *a.shape), np.uint8)
        elif a.shape != out.shape[1:]:
            raise DataError(f"{path} is {a.shape[2]}x{a.shape[1]} but {files[0]} is {out.shape[3]}x{out.shape[2]}; "
                            "set --set translate.size=N translate.resize=resize")
        out[i] = a
    return out


def _fit_check(path: str, channels: int, size: int, resize: str) -> np.ndarray:
    _, w, h = _header(path)
    if size and (w, h) != (size, size) and resize == "error":
        raise DataError(f"{path} is {w}x{h}, not translate.size={size}; set --set translate.resize=resize (or crop)")
    if not size and w != h:
        raise DataError(f"{path} is {w}x{h}, not square; set --set translate.size=N translate.resize=resize")
    return _decode(path, channels, size or w, resize if size else "crop")


def _half(path: str, channels: int, size: int, resize: str, box) -> np.ndarray:
    from PIL import Image
    _, w, h = _header(path)
    if w != 2 * h:
        raise DataError(f"{path} is {w}x{h}; a side-by-side pair is twice as wide as high (A left, B right), or "
                        "give DIR/A and DIR/B folders")
    if size and (h, h) != (size, size) and resize == "error":
        raise DataError(f"{path} holds {h}x{h} halves, not translate.size={size}; set --set translate.resize=resize")
    try:
        with Image.open(path) as im:
            im.load()
            half = _fit(_to_mode(im.crop((int(box[0] * w), 0, int(box[1] * w), h)), channels), size or h, "resize")
            a = np.asarray(half, dtype=np.uint8)
    except _DECODE_ERRORS as e:
        raise DataError(f"cannot decode image {path}: {e}; remove or replace the file") from None
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def pair_files(root: str, pair_by: str) -> tuple[list[str], list[str]]:
    """Matching files of ``root``/A and ``root``/B; one clear line when they do not pair."""
    a_dir, b_dir = os.path.join(root, "A"), os.path.join(root, "B")
    sides = {"A": image_files(a_dir) if os.path.isdir(a_dir) else [],
             "B": image_files(b_dir) if os.path.isdir(b_dir) else []}
    for side, other in (("A", "B"), ("B", "A")):
        if not sides[side]:
            raise DataError(f"{root}/{side} holds no images ({' '.join(IMAGE_EXTS)}) but {root}/{other} holds "
                            f"{len(sides[other])}; put the partner of each image in {root}/{side}")
    a, b = sides["A"], sides["B"]
    if pair_by == "order":
        if len(a) != len(b):
            raise DataError(f"{root}/A holds {len(a)} images and {root}/B {len(b)}: pairing by order "
                            "(translate.pair_by=order) needs equal counts")
        return [os.path.join(a_dir, p) for p in a], [os.path.join(b_dir, p) for p in b]
    stem = lambda p: os.path.splitext(p)[0]  # noqa: E731
    b_of = {stem(p): p for p in b}
    a_of = {stem(p): p for p in a}
    lone_a = [p for p in a if stem(p) not in b_of]
    lone_b = [p for p in b if stem(p) not in a_of]
    if lone_a or lone_b:
        ex = ", ".join(f"{s}/{p}" for s, p in (("A", lone_a[:1]), ("B", lone_b[:1])) for p in p)
        matched = len(a) - len(lone_a)
        raise DataError(f"{len(lone_a)} images of {root}/A and {len(lone_b)} of {root}/B have no partner of the same "
                        f"name ({matched} pairs match; e.g. {ex}); rename them, or pair the sorted files by position "
                        "with --set translate.pair_by=order")
    return [os.path.join(a_dir, p) for p in a], [os.path.join(b_dir, b_of[stem(p)]) for p in a]


def load_paired(cfg, seed: int, path: str) -> Dataset:
    s = cfg.section("translate")
    if os.path.isdir(os.path.join(path, "A")) or os.path.isdir(os.path.join(path, "B")):
        fa, fb = pair_files(path, s.pair_by)
        ca, cb = side_channels(fa, s.channels_a, "A"), side_channels(fb, s.channels_b, "B")
        a, b = read_images(fa, ca, s.size, s.resize), read_images(fb, cb, s.size, s.resize)
        layout = "A/B folders"
    else:
        files = [os.path.join(path, p) for p in image_files(path)]
        if not files:
            raise DataError(f"no images under {path}: give DIR/A and DIR/B folders of partners, or side-by-side "
                            "pairs (A left, B right)")
        c = side_channels(files, s.channels_a or s.channels_b, "A")
        a = read_images(files, s.channels_a or c, s.size, s.resize, box=(0.0, 0.5))
        b = read_images(files, s.channels_b or c, s.size, s.resize, box=(0.5, 1.0))
        layout = "side by side"
    if s.direction == "BtoA":
        a, b = b, a
    x, t = images_to_float(a, 0.0, 255.0), images_to_float(b, 0.0, 255.0)
    if x.shape[-2:] != t.shape[-2:]:
        raise DataError(f"{path}: A images are {x.shape[-1]}x{x.shape[-2]} and B images {t.shape[-1]}x{t.shape[-2]}; "
                        "set --set translate.size=N translate.resize=resize")
    ds = Dataset(x=x, y=None, kind="image-pair", name=path, value_range=(0.0, 255.0), class_names=None,
                 extra={"target": t}, meta={"layout": layout, "target_shape": list(t.shape[1:])})
    return apply_limit(ds, cfg.data.limit, seed)


def unpaired_sides(path: str, part: str = "train") -> tuple[list[str], list[str]]:
    out = []
    for side in ("A", "B"):
        d = os.path.join(path, f"{part}{side}")
        files = [os.path.join(d, p) for p in image_files(d)] if os.path.isdir(d) else []
        if not files and part == "train":
            raise DataError(f"{d} holds no images ({' '.join(IMAGE_EXTS)}); unpaired data needs DIR/trainA and "
                            "DIR/trainB, one folder of images per domain")
        out.append(files)
    return out[0], out[1]


def fill_pairs(a: torch.Tensor, b: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sides at the longer one's length: the shorter is repeated in a seeded shuffled order."""
    n = max(len(a), len(b))
    g = torch.Generator().manual_seed(seed * 31 + 5)

    def fill(t: torch.Tensor) -> torch.Tensor:
        if len(t) == n:
            return t
        reps = -(-n // len(t))
        idx = torch.cat([torch.randperm(len(t), generator=g) for _ in range(reps)])[:n]
        return t[idx]
    return fill(a), fill(b)


def read_unpaired(cfg, path: str, part: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """Both domains' images of ``part`` (train or test), each (N, C, S, S) in [-1, 1]."""
    s = cfg.section("translate")
    fa, fb = unpaired_sides(path, part)
    if not (fa and fb):
        raise DataError(f"{path} has no {part}A and {part}B folders of images")
    ca, cb = side_channels(fa, s.channels_a, "A"), side_channels(fb, s.channels_b, "B")
    a = images_to_float(read_images(fa, ca, s.size, s.resize), 0.0, 255.0)
    b = images_to_float(read_images(fb, cb, s.size, s.resize), 0.0, 255.0)
    if a.shape[-2:] != b.shape[-2:]:
        raise DataError(f"{path}: {part}A images are {a.shape[-1]}x{a.shape[-2]} and {part}B images "
                        f"{b.shape[-1]}x{b.shape[-2]}; set --set translate.size=N translate.resize=resize")
    return a, b


def unpaired_dataset(a: torch.Tensor, b: torch.Tensor, seed: int, name: str, meta: dict | None = None) -> Dataset:
    x, other = fill_pairs(a, b, seed)
    return Dataset(x=x, y=None, kind="image-unpaired", name=name, value_range=(0.0, 255.0), class_names=None,
                   extra={"b": other}, meta={"n_a": len(a), "n_b": len(b), "b_shape": list(b.shape[1:]),
                                             **(meta or {})})


def load_unpaired(cfg, seed: int, path: str) -> Dataset:
    a, b = read_unpaired(cfg, path)
    limit = cfg.data.limit
    if limit:   # at most data.limit images of each domain, a seeded pick
        a = a[torch.randperm(len(a), generator=torch.Generator().manual_seed(seed))[:limit].sort().values]
        b = b[torch.randperm(len(b), generator=torch.Generator().manual_seed(seed + 1))[:limit].sort().values]
    return unpaired_dataset(a, b, seed, path)


register_source("paired-images", Source(load_paired, path="folder", kind="image-pair", finish=False))
register_source("unpaired-images", Source(load_unpaired, path="folder", kind="image-unpaired", finish=False))

__all__ = ["image_files", "pair_files", "read_images", "side_channels", "load_paired", "load_unpaired",
           "fill_pairs", "unpaired_sides", "read_unpaired", "unpaired_dataset"]
