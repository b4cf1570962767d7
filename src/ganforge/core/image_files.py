"""The ``image-folder`` sample writer: one image file per sample in a new folder, under the names the samples came
with (``out["names"]``: relative paths such as ``cat/1.jpg``, so a translated folder mirrors its input), else
``0000.png``, ``0001.png`` ... The file type follows each name's extension. The folder is built beside its final
name and renamed into place whole.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from .errors import GanforgeError
from .registry import WRITERS
from .writers import atomic_folder


@WRITERS.register("image-folder")
def write_image_folder(path: str, out: dict[str, Any]) -> None:
    """``out["x"]``: uint8 images (N, C, H, W), C 1 or 3."""
    from PIL import Image
    x = np.asarray(out["x"])
    names = out.get("names") or [f"{i:04d}.png" for i in range(len(x))]
    if len(names) != len(x):
        raise GanforgeError(f"{len(names)} names for {len(x)} images")
    with atomic_folder(path, "images", out.get("provenance")) as tmp:
        for img, name in zip(x, names):
            target = os.path.join(tmp, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            arr = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
            Image.fromarray(np.ascontiguousarray(arr)).save(target)


__all__ = ["write_image_folder"]
