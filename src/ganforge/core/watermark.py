"""An invisible 32-bit watermark for generated images: dither-modulation QIM on projections of mid-frequency DCT
coefficients (Chen & Wornell 2001), sized for the small images ganforge generates.

Per image: the luma (grey images as they are) goes through an orthonormal 2-D DCT; the coefficients with
``LOW <= u + v <= (H + W) / 4`` (no DC, nothing a half-size resize removes) are split by a fixed key into 32 groups,
each with fixed random signs. Bit k sets the projection of group k onto its sign vector to the nearest point of one
of two interleaved lattices of step ``strength`` (bit 0: multiples of the step, bit 1: offset by half a step). Reading
takes the nearest lattice, so the image itself does not interfere (quantisation index modulation), and a bit survives
any change that moves its projection by less than a quarter step. Rounding to 8 bits and clipping to 0..255 move the
projections too, so embedding is repeated on the rounded image until every bit reads back (at most ``ROUNDS`` times).

Sizes: at least 16 x 16 (below that there are too few mid-frequency coefficients for 32 bits). The mark does not
survive cropping or shifting (the DCT grid moves); robustness to JPEG, resizing and noise is measured in
docs/benchmarks.md (`benchmarks/watermark_mnist.py`).
"""
from __future__ import annotations

import numpy as np

from .errors import ConfigError

BITS, LOW, ROUNDS, KEY, HI_DIV = 32, 2, 6, 20240607, 4
DEFAULT_STRENGTH = 40.0
MIN_SIZE = 16


def payload_bits(hex_digest: str) -> np.ndarray:
    """The first 32 bits of a hex digest (a checkpoint's sha256) as 0/1."""
    return np.array([int(c) for c in bin(int(hex_digest[:8], 16))[2:].zfill(BITS)], dtype=np.int64)


def bits_hex(bits: np.ndarray) -> str:
    return f"{int(''.join(str(int(b)) for b in bits), 2):08x}"


def _groups(h: int, w: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if min(h, w) < MIN_SIZE:
        raise ConfigError(f"the watermark needs images of at least {MIN_SIZE}x{MIN_SIZE}, these are {h}x{w}")
    hi = (h + w) // HI_DIV
    uu, vv = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    band = np.flatnonzero(((uu + vv) >= LOW) & ((uu + vv) <= hi))
    rng = np.random.default_rng(KEY)
    band = rng.permutation(band)
    groups = np.array_split(band, BITS)
    return groups, [rng.choice([-1.0, 1.0], size=len(g)) / np.sqrt(len(g)) for g in groups]


def _luma(img: np.ndarray) -> np.ndarray:
    """(C, H, W) uint8 -> float luma (H, W)."""
    x = img.astype(np.float64)
    return x[0] if x.shape[0] == 1 else 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]


def _project(y: np.ndarray, groups, signs) -> np.ndarray:
    from scipy.fft import dctn
    d = dctn(y, norm="ortho").ravel()
    return np.array([d[g] @ s for g, s in zip(groups, signs)])


def _lattice(s: np.ndarray, bits: np.ndarray, step: float) -> np.ndarray:
    off = bits * step / 2
    return np.round((s - off) / step) * step + off


def read_bits(img: np.ndarray, strength: float = DEFAULT_STRENGTH) -> np.ndarray:
    """The 32 bits an image (C, H, W) uint8 carries (random bits for an unmarked image)."""
    groups, signs = _groups(*img.shape[1:])
    s = _project(_luma(img), groups, signs)
    d0, d1 = (np.abs(s - _lattice(s, np.full(BITS, b), strength)) for b in (0, 1))
    return (d1 < d0).astype(np.int64)


def embed(img: np.ndarray, bits: np.ndarray, strength: float = DEFAULT_STRENGTH) -> np.ndarray:
    """(C, H, W) uint8 -> the same image carrying ``bits`` (uint8)."""
    from scipy.fft import dctn, idctn
    groups, signs = _groups(*img.shape[1:])
    out = img.copy()
    for _ in range(ROUNDS):
        y = _luma(out)
        d = dctn(y, norm="ortho").ravel()
        s = np.array([d[g] @ sg for g, sg in zip(groups, signs)])
        target = _lattice(s, bits, strength)
        for g, sg, delta in zip(groups, signs, target - s):
            d[g] += delta * sg / (sg @ sg)
        change = idctn(d.reshape(y.shape), norm="ortho") - y           # added to every channel: luma moves by it
        out = np.clip(np.round(out.astype(np.float64) + change[None]), 0, 255).astype(np.uint8)
        if np.array_equal(read_bits(out, strength), bits):
            break
    return out


def embed_batch(x: np.ndarray, hex_digest: str, strength: float = DEFAULT_STRENGTH) -> np.ndarray:
    """(N, C, H, W) uint8 images, each carrying the first 32 bits of ``hex_digest``."""
    bits = payload_bits(hex_digest)
    return np.stack([embed(img, bits, strength) for img in x])


def read_file(path: str) -> dict | None:
    """The mark in an image file (one image: PNG, JPEG ...) or an NPZ of images (key x): the payload read (for an
    NPZ, bit by bit the majority over its images) and, for an NPZ, the share of images whose 32 bits all equal it.
    None for files that hold no images of a size the mark fits."""
    import os
    if os.path.splitext(path)[1].lower() == ".npz":
        with np.load(path, allow_pickle=False) as z:
            x = z["x"] if "x" in z.files else None
        if x is None or x.dtype != np.uint8 or x.ndim != 4:
            return None
    else:
        from PIL import Image
        try:
            with Image.open(path) as im:
                a = np.asarray(im.convert("RGB" if im.mode in ("RGB", "RGBA", "P") else "L"))
        except OSError:
            return None
        x = (a[None, None] if a.ndim == 2 else a.transpose(2, 0, 1)[None])
    if min(x.shape[-2:]) < MIN_SIZE:
        return None
    bits = np.stack([read_bits(img) for img in x])
    vote = (bits.mean(0) > 0.5).astype(np.int64)
    return {"payload": bits_hex(vote), "images": len(x), "all_bits_agree": float((bits == vote).all(1).mean())}


def watermarked(out: dict, rec: dict) -> tuple[dict, dict]:
    """A writer's ``out`` with every image in ``out["x"]`` (uint8 N, C, H, W) marked with the first 32 bits of the
    record's checkpoint sha256, and what the provenance record says about it."""
    x = out.get("x")
    if not (isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 4):
        raise ConfigError("--watermark marks images; this run's samples are not images")
    digest = rec.get("checkpoint_sha256")
    if not digest:
        raise ConfigError("--watermark needs the checkpoint's sha256 as its payload; sample from a checkpoint")
    info = {"method": "qim-dct32", "payload": digest[:8], "strength": DEFAULT_STRENGTH}
    return {**out, "x": embed_batch(x, digest)}, info


__all__ = ["watermarked", "read_file", "embed", "embed_batch", "read_bits", "payload_bits", "bits_hex",
           "DEFAULT_STRENGTH", "MIN_SIZE"]
