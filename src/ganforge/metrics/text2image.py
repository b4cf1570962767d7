"""Attribute accuracy of captioned-MNIST images (data/captioned_mnist.py): does an image show what its caption says?

Each image (N, 3, 32, 32) in [-1, 1] is read on [0, 1]. The digit's ink is the grey image g = max over channels (a
recoloured digit is its grey level times a colour whose largest channel is 1, so g is the original grey level), and
the ink mask is g > INK (0.3). Then, per field:
- digit: the mask's bounding box cut from g, resized (bilinear, aspect kept) so its longer side is 20 pixels and
  centred on a 28x28 black frame, as MNIST itself is framed; the shipped ``lenet-mnist`` classifier reads it.
- colour: the hue of the ink, as the angle of sum_i g_i (2R - G - B, sqrt(3) (G - B))_i over mask pixels (the
  hexagonal hue of HSV, averaged as vectors weighted by ink), given the colour whose hue is nearest (60 degrees
  apart).
- position: the ink's centroid (weighted by g over the mask), given the nearest anchor of the grammar's positions.
- size: the longer side of the mask's bounding box, ``small`` below SIZE_SPLIT (11.5 pixels; the two sizes draw
  the 20-pixel MNIST box at about 8.6 and 14.3 pixels).
An image without ink reads -1 in every field. ``all``: every field right. Real images of the built set are the
floor
(the reader's own error, which tests/metrics/test_text2image.py bounds).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.errors import DataError
from ..data.captioned_mnist import COLOURS, FIELDS, POSITIONS

INK = 0.3
SIZE_SPLIT = 11.5


def _hue(rgb: tuple[float, float, float]) -> float:
    r, g, b = rgb
    return math.atan2(math.sqrt(3) * (g - b), 2 * r - g - b)


def _check(x: Tensor) -> Tensor:
    if x.ndim != 4 or x.shape[1] != 3:
        raise DataError(f"attribute reading takes RGB images (N, 3, H, W), got {tuple(x.shape)}")
    return (x.detach().float().cpu().clamp(-1, 1) + 1) / 2


def read_colour(u: Tensor, ink: Tensor, mask: Tensor) -> Tensor:
    r, g, b = u[:, 0], u[:, 1], u[:, 2]
    w = ink * mask
    vx = ((2 * r - g - b) * w).sum((1, 2))
    vy = (math.sqrt(3) * (g - b) * w).sum((1, 2))
    angle = torch.atan2(vy, vx)                                                    # (N,)
    hues = torch.tensor([_hue(c) for c in COLOURS.values()])
    diff = torch.remainder(angle[:, None] - hues[None] + math.pi, 2 * math.pi) - math.pi
    return diff.abs().argmin(1)


def read_position(ink: Tensor, mask: Tensor) -> Tensor:
    w = ink * mask
    total = w.sum((1, 2)).clamp_min(1e-8)
    ys = torch.arange(ink.shape[1], dtype=ink.dtype) + 0.5
    xs = torch.arange(ink.shape[2], dtype=ink.dtype) + 0.5
    cy = (w.sum(2) * ys).sum(1) / total
    cx = (w.sum(1) * xs).sum(1) / total
    anchors = torch.tensor(list(POSITIONS.values()), dtype=ink.dtype)             # (P, 2) as (x, y)
    d = (cx[:, None] - anchors[None, :, 0]) ** 2 + (cy[:, None] - anchors[None, :, 1]) ** 2
    return d.argmin(1)


def boxes(mask: Tensor) -> Tensor:
    """(N, 4) top, bottom, left, right (inclusive) of each mask's ink; -1 where there is none."""
    rows, cols = mask.any(2), mask.any(1)
    out = torch.full((mask.shape[0], 4), -1, dtype=torch.long)
    for i in range(mask.shape[0]):
        r, c = rows[i].nonzero().flatten(), cols[i].nonzero().flatten()
        if len(r):
            out[i] = torch.stack([r[0], r[-1], c[0], c[-1]])
    return out


def mnist_frames(ink: Tensor, box: Tensor) -> Tensor:
    """Each digit's box cut out and framed as MNIST frames its digits: (N, 1, 28, 28) in [-1, 1]."""
    out = torch.zeros(ink.shape[0], 1, 28, 28)
    for i in range(ink.shape[0]):
        t, b, lft, rgt = (int(v) for v in box[i])
        if t < 0:
            continue
        crop = ink[i, t:b + 1, lft:rgt + 1][None, None]
        h, w = crop.shape[-2:]
        scale = 20 / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        small = F.interpolate(crop, size=(nh, nw), mode="bilinear", align_corners=False)[0, 0]
        top, left = (28 - nh) // 2, (28 - nw) // 2
        out[i, 0, top:top + nh, left:left + nw] = small
    return out * 2 - 1


@torch.no_grad()
def read_attributes(x: Tensor, classifier=None, batch: int = 500) -> Tensor:
    """(N, 4) attributes read from images, in FIELDS order (digit, colour, size, position); -1 without ink."""
    from .extractors import load_classifier
    u = _check(x)
    ink = u.max(1).values                                                        # (N, H, W) grey level
    mask = (ink > INK).float()
    box = boxes(mask.bool())
    frames = mnist_frames(ink, box)
    clf = classifier or load_classifier("lenet-mnist")
    digit = torch.cat([clf.logits(frames[i:i + batch]).argmax(1).cpu() for i in range(0, len(frames), batch)])
    side = torch.maximum(box[:, 1] - box[:, 0], box[:, 3] - box[:, 2]) + 1
    size = (side >= SIZE_SPLIT).long()
    out = torch.stack([digit, read_colour(u, ink, mask), size, read_position(ink, mask)], 1)
    out[box[:, 0] < 0] = -1
    return out


def attribute_accuracy(read: Tensor, attrs: Tensor) -> dict[str, float]:
    """Share of images whose read attributes equal the caption's, per field and for all fields at once."""
    if read.shape != attrs.shape or len(read) == 0:
        raise DataError(f"attribute accuracy needs read and true attributes of one shape (N > 0, 4), got "
                        f"{tuple(read.shape)} and {tuple(attrs.shape)}")
    right = read == attrs.cpu()
    out = {f: float(right[:, k].float().mean()) for k, f in enumerate(FIELDS)}
    out["all"] = float(right.all(1).float().mean())
    return out


def attribute_report(images: Tensor, attrs: Tensor, held: Tensor, classifier=None) -> dict[str, float]:
    """``attr_<field>_seen`` / ``attr_<field>_held`` for images drawn for seen and held-out combinations."""
    read = read_attributes(images, classifier)
    out = {}
    for part, sel in (("seen", ~held.cpu()), ("held", held.cpu())):
        if sel.any():
            for f, v in attribute_accuracy(read[sel], attrs.cpu()[sel]).items():
                out[f"attr_{f}_{part}"] = v
    return out


def mean_pairwise(f: torch.Tensor) -> float:
    """Mean Euclidean distance between the rows of ``f`` (N, D), N >= 2, each pair once."""
    n = len(f)
    return float(torch.cdist(f.float(), f.float()).sum() / (n * (n - 1)))


__all__ = ["mean_pairwise", "read_attributes", "attribute_accuracy", "attribute_report", "boxes", "mnist_frames", "INK",
           "SIZE_SPLIT"]
