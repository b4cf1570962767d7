"""Pictures of samples: image grids (PIL) and 2-D scatter plots (matplotlib)."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image


def grid_image(x: np.ndarray, nrow: int | None = None, pad: int = 1, upscale: int = 0) -> Image.Image:
    """(N, C, H, W) uint8 -> one PIL image with the N images in rows of ``nrow``."""
    n, c, h, w = x.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    rows = int(math.ceil(n / nrow))
    canvas = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        canvas[top:top + h, left:left + w] = x[i].transpose(1, 2, 0)
    img = Image.fromarray(canvas[..., 0] if c == 1 else canvas, mode="L" if c == 1 else "RGB")
    # tiny images (8x8 digits) are unreadable at 1:1; scale up with nearest to keep pixels honest
    scale = upscale or max(1, 256 // (nrow * (w + pad)))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return img


def scatter_figure(points: np.ndarray, reference: np.ndarray | None = None, modes: np.ndarray | None = None,
                   title: str = ""):
    """2-D samples as a scatter plot (a matplotlib figure), with real data and mixture means behind them."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    if reference is not None:
        ax.scatter(reference[:, 0], reference[:, 1], s=2, c="0.8", label="real")
    ax.scatter(points[:, 0], points[:, 1], s=2, c="tab:blue", label="generated")
    if modes is not None:
        ax.scatter(modes[:, 0], modes[:, 1], s=20, marker="x", c="tab:red", label="means")
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    fig.tight_layout()
    return fig
