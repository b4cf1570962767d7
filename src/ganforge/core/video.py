"""Sample writers for clips: ``out["x"]`` uint8 (N, C, T, H, W), ``out["fps"]`` frames per second.

- ``gif-grid``: one animated GIF (Pillow) whose frame t is the grid of every clip's frame t, looping forever.
- ``frame-strip``: one PNG, a row per clip, its frames left to right.
- ``mp4-grid``: the same grid as ``gif-grid`` as an H.264 MP4 (imageio with imageio-ffmpeg's own ffmpeg).
- ``clip-folder``: a new folder with one file per clip at its own size (``0000.gif`` or ``0000-<label>.mp4``), in
  ``out["format"]`` (gif | mp4), built beside it and renamed into place whole.
"""
from __future__ import annotations

import io
import math
import os
from typing import Any

import numpy as np

from . import provenance
from .errors import GanforgeError
from .registry import WRITERS
from .writers import atomic_folder, atomic_target, write_bytes

CLIP_FORMATS = ("gif", "mp4")


def grid_frames(x: np.ndarray, nrow: int | None = None) -> list:
    """(N, C, T, H, W) uint8 -> T PIL images, each the grid of the clips' frame t."""
    from .render import grid_image
    nrow = nrow or max(1, int(math.ceil(math.sqrt(len(x)))))
    return [grid_image(np.ascontiguousarray(x[:, :, t]), nrow) for t in range(x.shape[2])]


def clip_frames(clip: np.ndarray) -> list:
    """One clip (C, T, H, W) uint8 -> T PIL images at its own size (no border, no scaling)."""
    from PIL import Image
    c = clip.shape[0]
    return [Image.fromarray(np.ascontiguousarray(clip[0, t] if c == 1 else clip[:, t].transpose(1, 2, 0)))
            for t in range(clip.shape[1])]


def gif_bytes(frames: list, fps: float) -> bytes:
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], loop=0,
                   duration=max(20, int(round(1000 / fps))), disposal=1)
    return buf.getvalue()


def _imageio():
    try:
        import imageio.v3 as iio
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        raise GanforgeError("writing MP4 needs imageio and imageio-ffmpeg: pip install 'ganforge[video]' (or write "
                            ".gif)") from None
    return iio


def write_mp4_file(path: str, frames: list, fps: float, rec: dict | None = None) -> None:
    """H.264 MP4 of ``frames``; the provenance record ``rec`` goes in the container's comment tag."""
    iio = _imageio()
    arr = np.stack([np.asarray(f.convert("RGB")) for f in frames])
    h, w = arr.shape[1:3]
    arr = np.pad(arr, ((0, 0), (0, (-h) % 16), (0, (-w) % 16), (0, 0)))   # H.264 wants blocks of 16 pixels
    with atomic_target(path) as tmp:
        iio.imwrite(tmp, arr, extension=".mp4", fps=fps, codec="libx264", macro_block_size=1,
                    output_params=provenance.ffmpeg_args(rec))


@WRITERS.register("gif-grid")
def write_gif_grid(path: str, out: dict[str, Any], nrow: int | None = None) -> None:
    write_bytes(path, gif_bytes(grid_frames(out["x"], nrow), float(out.get("fps", 8))), out.get("provenance"))


@WRITERS.register("mp4-grid")
def write_mp4_grid(path: str, out: dict[str, Any], nrow: int | None = None) -> None:
    write_mp4_file(path, grid_frames(out["x"], nrow), float(out.get("fps", 8)), out.get("provenance"))


@WRITERS.register("frame-strip")
def write_frame_strip(path: str, out: dict[str, Any]) -> None:
    from .render import grid_image
    x = out["x"]                                                     # (N, C, T, H, W)
    frames = np.ascontiguousarray(x.transpose(0, 2, 1, 3, 4).reshape(-1, *x.shape[1:2], *x.shape[3:]))
    buf = io.BytesIO()
    grid_image(frames, x.shape[2]).save(buf, format="PNG")
    write_bytes(path, buf.getvalue(), out.get("provenance"))


@WRITERS.register("clip-folder")
def write_clip_folder(path: str, out: dict[str, Any]) -> None:
    fmt = out.get("format") or "gif"
    if fmt not in CLIP_FORMATS:
        raise GanforgeError(f"--format {fmt} is not one of: {', '.join(CLIP_FORMATS)}")
    if fmt == "mp4":
        _imageio()
    with atomic_folder(path, "clips", out.get("provenance")) as tmp:
        fps, y = float(out.get("fps", 8)), out.get("y")
        for i, clip in enumerate(out["x"]):
            frames = clip_frames(clip)
            name = os.path.join(tmp, f"{i:04d}{'' if y is None else f'-{int(y[i])}'}.{fmt}")
            if fmt == "gif":
                with open(name, "wb") as f:
                    f.write(gif_bytes(frames, fps))
            else:
                write_mp4_file(name, frames, fps, out.get("provenance"))


__all__ = ["write_gif_grid", "write_mp4_grid", "write_frame_strip", "write_clip_folder", "grid_frames", "clip_frames",
           "gif_bytes", "CLIP_FORMATS"]
