"""The ``captioned-grid`` writer: images in rows, each row's caption written above it (text-to-image samples).

``out["x"]``: uint8 images (N, C, H, W); ``out["captions"]``: one caption per image; ``out["per_row"]``: images per
row (the images of one caption). Images are scaled up by whole factors (nearest) to at least 64 pixels, so small
samples stay readable next to their text. Without captions it is a plain grid.
"""
from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from .registry import WRITERS
from .writers import write_bytes

PAD, STRIP = 2, 12   # pixels between images; height of a caption strip


def captioned_grid(x: np.ndarray, captions: list[str] | None, per_row: int):
    from PIL import Image, ImageDraw
    n, c, h, w = x.shape
    per_row = max(1, min(per_row, n))
    scale = max(1, math.ceil(64 / max(h, w)))
    rows = math.ceil(n / per_row)
    strip = STRIP if captions is not None else 0
    tw, th = w * scale + PAD, h * scale + PAD + strip
    canvas = Image.new("RGB", (per_row * tw + PAD, rows * th + PAD), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for i in range(n):
        r, col = divmod(i, per_row)
        img = x[i].transpose(1, 2, 0)
        tile = Image.fromarray(img[..., 0] if c == 1 else img).convert("RGB")
        tile = tile.resize((w * scale, h * scale), Image.NEAREST)
        canvas.paste(tile, (PAD + col * tw, PAD + r * th + strip))
        if captions is not None and col == 0:
            draw.text((PAD, PAD + r * th), str(captions[i]), fill=(0, 0, 0))
    return canvas


@WRITERS.register("captioned-grid")
def write_captioned_grid(path: str, out: dict[str, Any]) -> None:
    x = out["x"]
    captions = out.get("captions")
    per_row = int(out.get("per_row") or math.ceil(math.sqrt(len(x))))
    buf = io.BytesIO()
    captioned_grid(x, None if captions is None else list(captions), per_row).save(buf, format="PNG")
    write_bytes(path, buf.getvalue(), out.get("provenance"))


__all__ = ["captioned_grid", "write_captioned_grid"]
