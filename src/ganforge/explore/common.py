"""What every explore tool shares: opening a run, output paths, labelled image grids, D scores.

Runs are read only through :mod:`ganforge.api` (``load`` gives a Generator with its recipe,
networks, data facts and config); training data, when a tool needs it, through
:func:`ganforge.data.load_dataset` with the run's own data config.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..core.errors import ConfigError, DataError, GanforgeError
from ..core.writers import write_bytes

CELL_MIN = 56  # every image cell is upscaled (nearest) to at least this many pixels a side


@dataclass
class ExploreResult:
    tool: str
    paths: list[str]                                      # files written (PNG, GIF, JSON)
    summary: dict[str, Any] = field(default_factory=dict)  # JSON-able numbers (also in <tool>-*.json)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # raw results for Python callers

    def __str__(self) -> str:
        return "\n".join(self.paths)


def open_run(run, parts: bool = False) -> tuple[Any, str]:
    """(Generator, run folder) from a run folder, a checkpoint file or an already loaded Generator; ``parts``:
    a recipe that names the parts of its inputs (``Recipe.latent_parts``) is walkable too."""
    from .. import api
    g = run if isinstance(run, api.Generator) else api.load(os.fspath(run))
    if not g.recipe.explorable and not (parts and g.recipe.latent_parts()):  # other recipes take other inputs
        raise GanforgeError(f"explore works on runs whose generator draws from a latent z (the gan recipe); "
                            f"{g.checkpoint} is a {g.data_info.get('kind')} run (recipe {g.recipe.name})")
    return g, g.run_dir


def out_dir(run_dir: str, out: str | None) -> str:
    path = out or os.path.join(run_dir, "explore")
    if os.path.isfile(path):
        raise ConfigError(f"--out {path} is a file; give a folder for the explore outputs")
    os.makedirs(path, exist_ok=True)
    return path


def is_image(g) -> bool:
    return g.data_info["kind"] == "image"


def need_images(g, tool: str) -> None:
    if not is_image(g):
        shape = "x".join(str(s) for s in g.data_info["shape"])
        raise GanforgeError(f"explore {tool} works on image models only; this run models {shape}-D vectors "
                            "(interpolate, truncation and project work on vectors)")


def inputs_for(g, z: torch.Tensor, label: int | list[int] | torch.Tensor | None) -> dict[str, torch.Tensor]:
    """Generator inputs for latents ``z`` (N, z_dim); conditional models get ``label`` (one class or one per
    latent; default: the classes in turn, 0, 1, 2, ...)."""
    inputs = {"z": z.to(g.device)}
    if g.num_classes:
        y = torch.arange(z.shape[0]) % g.num_classes if label is None else torch.as_tensor(label).long().reshape(-1)
        y = y.expand(z.shape[0]) if y.numel() == 1 else y
        if y.shape[0] != z.shape[0] or int(y.min()) < 0 or int(y.max()) >= g.num_classes:
            raise ConfigError(f"label must be a class index in 0..{g.num_classes - 1}")
        inputs["y"] = y.to(g.device)
    return inputs


def seed_latents(g, seeds: list[int]) -> torch.Tensor:
    """One latent per seed, the same ones `ganforge sample --seeds` draws. (N, z_dim)"""
    return g.recipe.sample_inputs(seeds=list(seeds))["z"]


def load_training_data(g, tool: str):
    """The run's training set, loaded from its saved data config; one clear line when it is gone."""
    from ..data import load_dataset
    cfg = g.config
    try:
        return load_dataset(cfg, seed=cfg.train.seed)
    except GanforgeError as e:
        raise DataError(f"explore {tool} needs the run's training data (data.source={cfg.data.source}"
                        f"{', data.path=' + cfg.data.path if cfg.data.path else ''}), which cannot be "
                        f"loaded: {e}") from None


def d_scores(D: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """D's raw scores (N // pack,) for samples x (N, ...); PacGAN discriminators see ``pack`` joined samples."""
    pack = int(getattr(D, "pack", 1))
    if pack > 1:
        n = x.shape[0] - x.shape[0] % pack
        x = x[:n].reshape(n // pack, pack * x.shape[1], *x.shape[2:])
        y = None if y is None else y[:n:pack]
    return D(x, y if getattr(D, "num_classes", 0) else None)


def pick_extractor(info: dict[str, Any]):
    """The feature network the metrics use for this data by default (metrics/extractors.py); raw
    values when that one is not available."""
    from ..metrics.extractors import RawExtractor, default_extractor, get_extractor
    try:
        return get_extractor(default_extractor(info))
    except GanforgeError:
        return RawExtractor(tuple(info["shape"]))


# -- pictures -----------------------------------------------------------------------------------

def _font():
    try:  # Pillow >= 10.1 with FreeType: a scalable built-in font
        return ImageFont.load_default(size=11)
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


def _text_w(text: str) -> int:
    return int(_font().getlength(text)) if text else 0


def _to_rgb(cell: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W, 3) uint8 -> (H, W, 3) uint8."""
    if cell.ndim == 3 and cell.shape[-1] == 3 and cell.shape[0] != 3:
        return cell
    hwc = cell.transpose(1, 2, 0)
    return np.repeat(hwc, 3, axis=2) if hwc.shape[2] == 1 else hwc[..., :3]


def labelled_grid(rows: list[list[np.ndarray]], row_labels: list[str] | None = None,
                  captions: list[list[str]] | None = None, title: str = "") -> Image.Image:
    """Rows of images (each (C, H, W) or (H, W, 3) uint8) on a white canvas, upscaled for small images,
    with an optional label left of each row and a caption under each cell."""
    first = _to_rgb(rows[0][0])
    h, w = first.shape[:2]
    scale = max(1, -(-CELL_MIN // max(h, w)))
    ch, cw = h * scale, w * scale
    pad, cap_h = 4, 12 if captions else 0
    label_w = 10 + max(_text_w(s) for s in row_labels) if row_labels else 0
    title_h = 16 if title else 0
    ncol = max(len(r) for r in rows)
    width = max(label_w + ncol * (cw + pad) + pad, _text_w(title) + 2 * pad)
    canvas = Image.new("RGB", (width, title_h + len(rows) * (ch + cap_h + pad) + pad), "white")
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((pad, 2), title, fill="black", font=_font())
    for r, row in enumerate(rows):
        top = title_h + pad + r * (ch + cap_h + pad)
        if row_labels:
            draw.text((4, top + ch // 2 - 5), row_labels[r], fill="black", font=_font())
        for c, cell in enumerate(row):
            tile = Image.fromarray(_to_rgb(cell)).resize((cw, ch), Image.NEAREST)
            left = label_w + pad + c * (cw + pad)
            canvas.paste(tile, (left, top))
            if captions and captions[r][c]:
                draw.text((left, top + ch + 1), captions[r][c][: max(1, cw // 6)], fill="black", font=_font())
    return canvas


def heat_overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """A heat map (H, W), scaled to its own max, blended over an image (C, H, W) uint8 -> (H, W, 3) uint8."""
    import matplotlib
    cmap = matplotlib.colormaps["inferno"]
    peak = float(heat.max())
    colours = cmap(heat / peak if peak > 0 else heat)[..., :3] * 255.0  # (H, W, 3)
    grey = _to_rgb(image).astype(np.float32).mean(axis=2, keepdims=True)
    return (alpha * colours + (1 - alpha) * grey).clip(0, 255).astype(np.uint8)


def save_png(img: Image.Image, path: str, rec: dict | None = None) -> str:
    """The figure as a PNG, written whole, with the provenance record ``rec`` of its generated content."""
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    write_bytes(path, buf.getvalue(), rec)
    return path


def save_gif(frames: list[Image.Image], path: str, ms: int = 120, rec: dict | None = None) -> str:
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=ms, loop=0)
    write_bytes(path, buf.getvalue(), rec)
    return path


def save_json(summary: dict, path: str) -> str:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=2)
    os.replace(tmp, path)
    return path


def save_figure(fig, path: str) -> str:
    import matplotlib.pyplot as plt
    tmp = f"{path}.tmp-{os.getpid()}.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt
