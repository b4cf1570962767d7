"""Telling real images from generated ones: ``ganforge detect train | eval | DETECTOR FILES``.

detect/nets.py holds the two detectors (a small CNN; the radial power spectrum + logistic regression),
detect/train.py trains, saves and loads them; here: measuring a detector the way the detection literature
does (average precision and accuracy on held-out real against generated images) and scoring files.
"""
from __future__ import annotations

import os

import numpy as np

from ..core.errors import DataError
from .train import Detector, fit, images, load

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")


def measure(det: Detector, real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    """Average precision (generated = positive) and accuracy at probability 0.5, overall and per side."""
    from sklearn.metrics import average_precision_score
    p_real, p_fake = det.prob(real), det.prob(fake)
    y = np.r_[np.zeros(len(real)), np.ones(len(fake))]
    acc_real, acc_fake = float((p_real < 0.5).mean()), float((p_fake >= 0.5).mean())
    return {"ap": float(average_precision_score(y, np.r_[p_real, p_fake])), "acc": (acc_real + acc_fake) / 2,
            "acc_real": acc_real, "acc_fake": acc_fake, "n_real": len(real), "n_fake": len(fake)}


def read_files(paths: list[str], shape: list[int]) -> tuple[list[str], np.ndarray, list[bool]]:
    """Image files (or every image below a folder) as uint8 (N, C, H, W) in the detector's shape; which were
    resized to it."""
    from PIL import Image
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(r, n) for r, _, ns in os.walk(p) for n in ns if n.lower().endswith(IMAGE_EXTS))
        elif os.path.isfile(p):
            files.append(p)
        else:
            raise DataError(f"{p}: no such file or folder")
    if not files:
        raise DataError(f"no image files ({', '.join(IMAGE_EXTS)}) in {' '.join(paths)}")
    c, h, w = shape
    out, resized = [], []
    for f in files:
        try:
            with Image.open(f) as im:
                im = im.convert("L" if c == 1 else "RGB")
                resized.append(im.size != (w, h))
                if resized[-1]:
                    im = im.resize((w, h), Image.BICUBIC)
                a = np.asarray(im)
        except OSError as e:
            raise DataError(f"{f}: not a readable image ({e})") from None
        out.append(a[None] if c == 1 else a.transpose(2, 0, 1))
    return files, np.stack(out), resized


def score_files(det: Detector, paths: list[str]) -> list[dict]:
    """One row per image: file, probability it is generated, whether it was resized, whether it carries
    ganforge provenance."""
    from ..core import provenance
    files, x, resized = read_files(paths, det.meta["shape"])
    prob = det.prob(x)
    return [{"file": f, "p_generated": round(float(p), 6), "resized": r, "provenance": provenance.read(f) is not None}
            for f, p, r in zip(files, prob, resized)]


__all__ = ["Detector", "fit", "load", "images", "measure", "score_files", "read_files"]
