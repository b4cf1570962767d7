"""Images with captions, for the text-to-image recipe (recipes/text2image.py).

Captions are lower-cased and split into words (runs of letters and digits; punctuation is dropped). Every image
keeps all its captions as token ids: ``tokens`` (N, K, L) int64, K the most captions any image has, L the longest
caption in words, 0 the padding id; ``n_captions`` (N,) how many of the K rows are real. The vocabulary (sorted words
after the padding token) travels with the run in its data facts, so a run can read new captions without its data.

``captioned-images`` (``ganforge train text2image --data DIR``): a folder of images and one captions file at its
top, ``captions.csv`` (a header row with columns ``file`` and ``caption``) or ``captions.jsonl`` (one object a line
with keys ``file`` and ``caption``). ``file`` is the image's path below DIR; an image may have several lines. Every
image below DIR needs at least one caption, every caption an existing image and at least one word; the first
failure is one line naming the file and line. Images are read as RGB, brought to text2image.size (data.resize
resize | crop; error refuses other sizes) and scaled to [-1, 1].
"""
from __future__ import annotations

import csv
import difflib
import json
import os
import re

import numpy as np
import torch

from ..core.errors import ConfigError, DataError
from .dataset import Dataset, apply_limit, images_to_float
from .sources import Source, register_source

PAD = 0
PAD_TOKEN = "<pad>"
CAPTION_FILES = ("captions.csv", "captions.jsonl")
_WORD = re.compile(r"[a-z0-9]+")


def words(caption: str) -> list[str]:
    return _WORD.findall(caption.lower())


def build_vocab(captions: list[str]) -> list[str]:
    return [PAD_TOKEN] + sorted({w for c in captions for w in words(c)})


def encode(captions: list[str], vocab: list[str], length: int | None = None) -> torch.Tensor:
    """(len(captions), L) token ids; a word the vocabulary lacks is one line naming the nearest known words."""
    index = {w: i for i, w in enumerate(vocab)}
    rows = []
    for c in captions:
        ws = words(c)
        if not ws:
            raise ConfigError(f"the caption {c!r} has no words")
        unknown = [w for w in ws if w not in index]
        if unknown:
            w = unknown[0]
            near = difflib.get_close_matches(w, vocab[1:], n=3, cutoff=0.5)
            hint = f"nearest known words: {', '.join(near)}" if near else f"known words: {', '.join(vocab[1:20])} ..."
            raise ConfigError(f"the model never saw the word {w!r} (in {c!r}); {hint}")
        rows.append([index[w] for w in ws])
    length = max(length or 0, max(len(r) for r in rows))
    out = torch.full((len(rows), length), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, :len(r)] = torch.tensor(r[:length])
    return out


def encode_groups(groups: list[list[str]], vocab: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Captions grouped by image -> tokens (N, K, L) and n_captions (N,)."""
    flat = [c for g in groups for c in g]
    ids = encode(flat, vocab)                                           # (sum K_i, L)
    k = max(len(g) for g in groups)
    out = torch.full((len(groups), k, ids.shape[1]), PAD, dtype=torch.long)
    start = 0
    for i, g in enumerate(groups):
        out[i, :len(g)] = ids[start:start + len(g)]
        start += len(g)
    return out, torch.tensor([len(g) for g in groups], dtype=torch.long)


def decode(ids: torch.Tensor, vocab: list[str]) -> str:
    return " ".join(vocab[i] for i in ids.tolist() if i != PAD)


def caption_dataset(x: torch.Tensor, groups: list[list[str]], name: str, meta: dict | None = None,
                    extra: dict[str, torch.Tensor] | None = None, vocab: list[str] | None = None) -> Dataset:
    vocab = vocab or build_vocab([c for g in groups for c in g])
    tokens, n_caps = encode_groups(groups, vocab)
    return Dataset(x=x, y=None, kind="image-text", name=name, value_range=(0.0, 255.0), class_names=None,
                   extra={"tokens": tokens, "n_captions": n_caps, **(extra or {})},
                   meta={"vocab": vocab, "caption_len": int(tokens.shape[2]), **(meta or {})})


# -- a folder of images and a captions file -------------------------------------------------------------------
def read_caption_rows(path: str) -> list[tuple[str, str, int]]:
    """(file, caption, line number) of every row of a captions file (CSV with a header, or JSONL)."""
    rows = []
    try:
        with open(path, encoding="utf-8", newline="") as f:
            if path.endswith(".jsonl"):
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        d = json.loads(line)
                    except ValueError:
                        raise DataError(f"{path} line {n} is not JSON; give one object with keys file and "
                                        "caption a line") from None
                    if not isinstance(d, dict) or "file" not in d or "caption" not in d:
                        raise DataError(f"{path} line {n} needs the keys file and caption")
                    rows.append((str(d["file"]), str(d["caption"] or ""), n))
            else:
                reader = csv.DictReader(f)
                if not reader.fieldnames or not {"file", "caption"} <= set(reader.fieldnames):
                    raise DataError(f"{path} needs a header row with the columns file and caption, got "
                                    f"{', '.join(reader.fieldnames or []) or 'none'}")
                for d in reader:
                    rows.append((d["file"] or "", d["caption"] or "", reader.line_num))
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; convert it to UTF-8") from None
    if not rows:
        raise DataError(f"{path} holds no captions")
    return rows


def captions_file(root: str) -> str:
    found = [os.path.join(root, n) for n in CAPTION_FILES if os.path.isfile(os.path.join(root, n))]
    if not found:
        raise DataError(f"{root} has no captions file; put captions.csv (columns file, caption) or captions.jsonl "
                        "(keys file, caption) at its top")
    if len(found) > 1:
        raise DataError(f"{root} has both captions.csv and captions.jsonl; keep one")
    return found[0]


def group_captions(root: str) -> tuple[list[str], list[list[str]]]:
    """(image paths relative to root, their captions), checked both ways."""
    from .translate import image_files
    path = captions_file(root)
    images = image_files(root)
    if not images:
        raise DataError(f"{root} holds no image files")
    known = set(images)
    by_file: dict[str, list[str]] = {}
    for file, caption, n in read_caption_rows(path):
        rel = os.path.normpath(file)
        where = f"{os.path.basename(path)} line {n}"
        if rel not in known:
            raise DataError(f"{where} names {file!r}, which is not an image file under {root}")
        if not words(caption):
            raise DataError(f"{where}: the caption of {file!r} is empty (no words); write one or drop the line")
        by_file.setdefault(rel, []).append(caption)
    bare = [p for p in images if p not in by_file]
    if bare:
        more = f" and {len(bare) - 1} more" if len(bare) > 1 else ""
        raise DataError(f"{bare[0]}{more} under {root} has no caption in {os.path.basename(path)}; caption every "
                        "image or move it out of the folder")
    return images, [by_file[p] for p in images]


def load_captioned_images(cfg, seed: int, path: str) -> Dataset:
    from .images import _decode, _header
    size, resize = cfg.section("text2image").size, cfg.data.resize
    files, groups = group_captions(path)
    arr = np.empty((len(files), 3, size, size), np.uint8)
    for i, rel in enumerate(files):
        full = os.path.join(path, rel)
        _, w, h = _header(full)
        if (w, h) != (size, size) and resize == "error":
            raise DataError(f"{full} is {w}x{h}, not text2image.size={size}; set --set data.resize=resize (or crop)")
        arr[i] = _decode(full, 3, size, "crop" if resize == "error" else resize)
    ds = caption_dataset(images_to_float(arr, 0.0, 255.0), groups, path, meta={"files": len(files)})
    return apply_limit(ds, cfg.data.limit, seed)


register_source("captioned-images", Source(load_captioned_images, path="folder", kind="image-text", finish=False,
                                           infer=lambda p: os.path.isdir(p) and any(
                                               os.path.isfile(os.path.join(p, n)) for n in CAPTION_FILES),
                                           infer_order=2))

__all__ = ["words", "build_vocab", "encode", "encode_groups", "decode", "caption_dataset", "group_captions",
           "read_caption_rows", "load_captioned_images", "PAD", "CAPTION_FILES"]
