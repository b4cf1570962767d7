"""Clips from a folder of video files (GIF, MP4, AVI, MOV, WebM, MKV) or of folders of frames (PNG / JPEG / BMP,
in name order), below data.path (hidden entries skipped, sorted paths).

Each video is read whole (GIF with Pillow, the other formats with imageio and the ffmpeg binary imageio-ffmpeg
ships: ``pip install 'ganforge[video]'``), converted to gray (ITU-R BT.601 luminance) or RGB (data.channels: 0 = gray
when every frame of every video is gray, else RGB), every video.stride-th frame kept, then cut into clips of
video.frames frames starting every video.hop kept frames (0 = video.frames: back to back; the rest is dropped).
Frames are brought to video.size (0 = keep) with video.resize: error | resize (shorter side, then a centre crop) |
crop (centre). Refused with one line naming the file: a file that cannot be read, a video with fewer than
video.frames frames after the stride, frames of another size than the first video's with no resize policy.
Examples are (C, T, H, W) in [-1, 1]; the frame rate is video.fps (files' own rates are not read). Class labels
as for image folders: when every video (file or frame folder) sits in a sub-folder of the top folder, each such
sub-folder is a class (sorted names -> 0..K-1) and every clip of a video takes its label; a video directly in the
top folder (a video file, or a folder holding frames) makes the set unlabelled.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from ..core.errors import DataError
from .dataset import Dataset, conform_images
from .images import folder_classes
from .sources import Source, register_source

VIDEO_EXTS = (".gif", ".mp4", ".avi", ".mov", ".webm", ".mkv", ".m4v")
FRAME_EXTS = (".png", ".jpg", ".jpeg", ".bmp")
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def list_videos(root: str) -> list[str]:
    """Video files and frame folders (a folder directly holding frame images) below ``root``."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        names = [f for f in filenames if not f.startswith(".")]
        if dirpath != root and any(f.lower().endswith(FRAME_EXTS) for f in names):
            found.append(dirpath)
        found += [os.path.join(dirpath, f) for f in names if f.lower().endswith(VIDEO_EXTS)]
    if not found:
        raise DataError(f"no videos ({' '.join(VIDEO_EXTS)}) or folders of frames under {root}; point data.path at "
                        "a folder of video files or of one folder of numbered frames per video")
    return sorted(found)


def read_frames(path: str) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of a video file or frame folder; one line naming the file when unreadable."""
    try:
        if os.path.isdir(path):
            from PIL import Image
            names = sorted(f for f in os.listdir(path) if f.lower().endswith(FRAME_EXTS) and not f.startswith("."))
            frames = [np.asarray(Image.open(os.path.join(path, f)).convert("RGB")) for f in names]
            if len({f.shape for f in frames}) > 1:
                raise DataError(f"the frames in {path} differ in size; give every frame of a video one size")
            return np.stack(frames)
        if path.lower().endswith(".gif"):
            from PIL import Image, ImageSequence
            with Image.open(path) as im:
                return np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)])
        imageio = _need_imageio()
        return np.asarray(imageio.v3.imread(path, index=None))[..., :3]
    except DataError:
        raise
    except Exception as e:  # Pillow, imageio and ffmpeg raise many kinds of error for a bad file
        why = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise DataError(f"cannot read video {path}: {why}; remove or replace it") from None


def _need_imageio():
    try:
        import imageio
        import imageio.v3  # noqa: F401
    except ImportError:
        raise DataError("reading MP4 / AVI / WebM needs imageio and imageio-ffmpeg: pip install 'ganforge[video]' "
                        "(GIFs and folders of frames need neither)") from None
    return imageio


def cut_clips(frames: np.ndarray, frames_per_clip: int, stride: int, hop: int, name: str) -> np.ndarray:
    """(T, ...) -> (n, frames_per_clip, ...): every stride-th frame, a clip every hop kept frames."""
    kept = frames[::stride]
    if len(kept) < frames_per_clip:
        raise DataError(f"{name} has {len(frames)} frames, {len(kept)} after video.stride={stride}: fewer than "
                        f"video.frames={frames_per_clip}; lower video.frames or video.stride, or remove the file")
    hop = hop or frames_per_clip
    return np.stack([kept[s:s + frames_per_clip] for s in range(0, len(kept) - frames_per_clip + 1, hop)])


def load_video_folder(cfg, seed: int, path: str) -> Dataset:
    s = cfg.section("video")
    files = list_videos(path)
    clips, first = [], None
    for f in files:
        fr = read_frames(f)                                                    # (T, H, W, 3) uint8
        if first is None:
            first = (f, fr.shape[1:3])
        elif fr.shape[1:3] != first[1] and s.resize == "error" and s.size == 0:
            raise DataError(f"{f} is {fr.shape[2]}x{fr.shape[1]} but {first[0]} is {first[1][1]}x{first[1][0]}; set "
                            "video.size=N with video.resize=resize (or crop) to bring every video to one size")
        clips.append((f, cut_clips(fr, s.frames, s.stride, s.hop, f)))
    gray = all(np.array_equal(c[..., 0], c[..., 1]) and np.array_equal(c[..., 0], c[..., 2]) for _, c in clips)
    channels = cfg.data.channels or (1 if gray else 3)
    out = []
    for f, c in clips:
        x = torch.from_numpy(c.astype(np.float32) / 127.5 - 1.0)              # (n, T, H, W, 3)
        n, T, H, W, _ = x.shape
        x = x.permute(0, 1, 4, 2, 3).reshape(n * T, 3, H, W)
        x = conform_images(x, channels, s.size, s.resize, f)
        if s.size and x.shape[-1] != s.size:
            raise DataError(f"{f}: frames are {W}x{H}, not video.size={s.size}; set video.resize=resize or crop")
        out.append(x.reshape(n, T, channels, *x.shape[-2:]).transpose(1, 2))  # (n, C, T, H, W)
    shapes = {tuple(x.shape[1:]) for x in out}
    if len(shapes) > 1:
        raise DataError(f"the videos under {path} differ in size ({', '.join(map(str, sorted(shapes)))}); set "
                        "video.size=N with video.resize=resize (or crop)")
    x = torch.cat(out).contiguous()
    labels, class_names = folder_classes([os.path.relpath(f, path) for f in files])
    y = None if labels is None else torch.cat([torch.full((len(c),), k) for k, (_, c) in zip(labels, clips)])
    if cfg.data.limit and cfg.data.limit < len(x):
        keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:cfg.data.limit].sort().values
        x, y = x[keep], (None if y is None else y[keep])
    meta = {"frames": s.frames, "fps": s.fps, "videos": len(files), "stride": s.stride, "part": "train"}
    return Dataset(x=x, y=y, kind="video", name=path, value_range=(0.0, 255.0), class_names=class_names, meta=meta)


def _is_video_folder(path: str) -> bool:
    return os.path.isdir(path) and any(f.lower().endswith(VIDEO_EXTS) for _, _, fs in os.walk(path) for f in fs)


register_source("video", Source(load_video_folder, path="folder", kind="video", finish=False,
                                infer=_is_video_folder, infer_order=2))

__all__ = ["load_video_folder", "list_videos", "read_frames", "cut_clips", "VIDEO_EXTS", "FRAME_EXTS"]
