"""Sample writers: one function per file format, registered by name in ``WRITERS``.

A writer is ``write(path, out, **options)``: ``out`` is a recipe's samples in the user's format
(``Recipe.to_output``: a dict whose ``"x"`` holds the samples, plus labels or anything else the
format keeps). A recipe maps file extensions to writers (``Recipe.formats``); a new modality
registers its own (WAV, GIF, MIDI ...) beside its recipe.

Every writer builds the file under a temporary name in the same folder and renames it into place,
so a reader (or a kill) never sees half a file; a full disk or a read-only folder is one clear
line naming the file. ``out["provenance"]``, when there, goes inside every file written (or beside
it, for formats that cannot carry it: core/provenance.py).
"""
from __future__ import annotations

import contextlib
import io
import math
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import provenance
from .errors import GanforgeError, write_failed
from .faults import failpoint
from .registry import WRITERS

Writer = Callable[..., None]


def stamp_tree(folder: str, rec: dict[str, Any] | None) -> None:
    """Put the provenance record ``rec`` into every file below ``folder`` (a sidecar beside the files whose
    format cannot carry it; MP4 files carry it from their encoder already)."""
    if not rec:
        return
    for root, _, files in os.walk(folder):
        for name in files:
            f = os.path.join(root, name)
            if name.lower().endswith(".mp4") or name.endswith(provenance.SIDECAR):
                continue
            if provenance.needs_sidecar(f):
                with open(f + provenance.SIDECAR, "wb") as fh:
                    fh.write(provenance.sidecar_bytes(rec))
                continue
            with open(f, "rb") as fh:
                data = fh.read()
            with open(f, "wb") as fh:
                fh.write(provenance.embed(f, data, rec))


@contextlib.contextmanager
def atomic_folder(path: str, what: str, rec: dict[str, Any] | None = None) -> Iterator[str]:
    """A temporary folder beside ``path`` that becomes the new folder ``path`` whole when the block ends without
    error; nothing is left behind when it fails. ``path`` may exist only as an empty folder (``what`` names the
    files in the refusal). The provenance record ``rec`` is put into every file before the folder appears."""
    import shutil
    import tempfile
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise GanforgeError(f"--out {path} exists and is not an empty folder; give a new folder for the {what}")
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(path))}.tmp-", dir=parent)
    try:
        yield tmp
        stamp_tree(tmp, rec)
        if os.path.isdir(path):
            os.rmdir(path)       # empty (checked above); a rename cannot replace a folder
        os.rename(tmp, path)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise write_failed(path, e) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_target(path: str, suffix: str = "") -> Iterator[str]:
    """A temporary path beside ``path`` that becomes ``path`` when the block ends without error."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}{suffix or os.path.splitext(path)[1]}")
    try:
        yield tmp
        failpoint(f"write:{os.path.basename(path)}")
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.remove(tmp)   # first, so the error reports the space there really is
        raise write_failed(path, e) from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_bytes(path: str, data: bytes, rec: dict[str, Any] | None = None) -> None:
    """``data`` as the file ``path``, with the provenance record ``rec`` inside (or in a sidecar)."""
    with atomic_target(path) as tmp, open(tmp, "wb") as f:
        f.write(provenance.embed(path, data, rec))
    write_sidecar(path, rec)


def write_sidecar(path: str, rec: dict[str, Any] | None) -> None:
    """``path``.provenance.json for a file whose format cannot carry the record (nothing otherwise)."""
    if rec and provenance.needs_sidecar(path):
        with atomic_target(path + provenance.SIDECAR) as tmp, open(tmp, "wb") as f:
            f.write(provenance.sidecar_bytes(rec))


@WRITERS.register("png-grid")
def write_png_grid(path: str, out: dict[str, Any], nrow: int | None = None) -> None:
    """``out["x"]``: uint8 images (N, C, H, W), drawn as one grid in rows of ``nrow``."""
    from .render import grid_image
    x = out["x"]
    buf = io.BytesIO()
    grid_image(x, nrow or max(1, int(math.ceil(math.sqrt(len(x)))))).save(buf, format="PNG")
    write_bytes(path, buf.getvalue(), out.get("provenance"))


@WRITERS.register("scatter")
def write_scatter(path: str, out: dict[str, Any], title: str = "") -> None:
    """``out["x"]``: 2-D points (N, 2); ``out["reference"]`` (real points) and ``out["modes"]`` drawn behind."""
    from .render import scatter_figure
    fig = scatter_figure(out["x"], out.get("reference"), out.get("modes"), title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    import matplotlib.pyplot as plt
    plt.close(fig)
    write_bytes(path, buf.getvalue(), out.get("provenance"))


@WRITERS.register("npz")
def write_npz(path: str, out: dict[str, Any]) -> None:
    """Every array of ``out`` under its own key (``x``, ``y`` ...); NumPy's .npz, no pickled objects."""
    buf = io.BytesIO()
    skip = ("reference", "modes", "provenance")
    np.savez(buf, **{k: np.asarray(v) for k, v in out.items() if v is not None and k not in skip})
    write_bytes(path, buf.getvalue(), out.get("provenance"))


@WRITERS.register("csv")
def write_csv(path: str, out: dict[str, Any]) -> None:
    """``out["x"]``: a pandas DataFrame of rows."""
    write_bytes(path, out["x"].to_csv(index=False).encode(), out.get("provenance"))


@WRITERS.register("parquet")
def write_parquet(path: str, out: dict[str, Any]) -> None:
    import importlib.util
    if importlib.util.find_spec("pyarrow") is None and importlib.util.find_spec("fastparquet") is None:
        raise GanforgeError(f"writing {path} needs pyarrow: pip install pyarrow (or write .csv)")
    with atomic_target(path) as tmp:
        out["x"].to_parquet(tmp, index=False)
    write_sidecar(path, out.get("provenance"))


@WRITERS.register("text-lines")
def write_text_lines(path: str, out: dict[str, Any]) -> None:
    """``out["x"]``: a list of strings, one per line (UTF-8)."""
    write_bytes(path, "".join(f"{line}\n" for line in out["x"]).encode("utf-8"), out.get("provenance"))


def _pcm16(x: np.ndarray) -> bytes:
    return (np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0) * 32767).round().astype("<i2").tobytes()


def wav_bytes(x: np.ndarray, rate: int) -> bytes:
    """Mono 16-bit PCM WAV of samples ``x`` in [-1, 1] (the standard library's wave module)."""
    import wave
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(_pcm16(x))
    return buf.getvalue()


@WRITERS.register("wav")
def write_wav(path: str, out: dict[str, Any], gap: float = 0.25) -> None:
    """``out["x"]``: clips (N, 1, S) at ``out["rate"]``, one after another with ``gap`` seconds of silence."""
    rate = int(out["rate"])
    silence = np.zeros(int(gap * rate), dtype=np.float32)
    parts = [p for clip in out["x"] for p in (np.asarray(clip).reshape(-1), silence)][:-1]
    write_bytes(path, wav_bytes(np.concatenate(parts) if parts else silence, rate), out.get("provenance"))


@WRITERS.register("wav-folder")
def write_wav_folder(path: str, out: dict[str, Any]) -> None:
    """One 16-bit PCM WAV per clip in the new folder ``path`` (``0000.wav``, or ``0000-<class>.wav``, or the
    relative paths in ``out["names"]``), built beside it and renamed into place whole."""
    with atomic_folder(path, "WAV files", out.get("provenance")) as tmp:
        names = out.get("class_names")
        for i, clip in enumerate(out["x"]):
            label = f"-{names[int(out['y'][i])] if names else int(out['y'][i])}" if out.get("y") is not None else ""
            name = out["names"][i] if out.get("names") else f"{i:04d}{label}.wav"
            os.makedirs(os.path.dirname(os.path.join(tmp, name)), exist_ok=True)
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(wav_bytes(np.asarray(clip).reshape(-1), int(out["rate"])))


@WRITERS.register("spectrogram-grid")
def write_spectrogram_grid(path: str, out: dict[str, Any], nrow: int | None = None) -> None:
    """``out["spec"]``: log-magnitude spectrograms (N, F, T), drawn low frequencies at the bottom as one grid."""
    spec = np.asarray(out["spec"], dtype=np.float32)
    lo, hi = float(spec.min()), float(spec.max())
    img = ((spec - lo) / max(hi - lo, 1e-6) * 255).round().astype(np.uint8)[:, None, ::-1]   # (N, 1, F, T)
    write_png_grid(path, {"x": np.ascontiguousarray(img), "provenance": out.get("provenance")}, nrow=nrow)


__all__ = ["Writer", "atomic_target", "atomic_folder", "stamp_tree", "write_sidecar", "write_bytes",
           "write_png_grid", "write_scatter", "write_npz", "write_csv", "write_parquet", "write_text_lines",
           "write_wav", "write_wav_folder", "write_spectrogram_grid", "wav_bytes"]
