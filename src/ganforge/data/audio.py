"""Sound for the audio GANs: a folder of WAV / FLAC / OGG files read with soundfile, as fixed-length mono
clips at one sample rate.

Every file below the folder (hidden entries skipped, sorted paths) is read whole; stereo is mixed down to
mono by averaging the channels; another sample rate is converted to audio.rate by polyphase resampling
(scipy.signal.resample_poly); each clip is scaled so its peak is 0.95 (audio.normalize), then centred in
audio.samples samples (audio.crop=center: the middle of a longer clip, silence either side of a shorter
one) or taken from its start (audio.crop=start: the first samples, silence after). Clips shorter than
audio.min_samples are dropped and counted. Labels: the sub-folder of each file (one per class), or the
first group of the regular expression audio.label_pattern on the file name. Files whose name matches
audio.holdout_pattern are held out: training never sees them; evaluation compares with them.

Examples are (1, audio.samples) float32 in [-1, 1]; data.json counts what was resampled, mixed down,
dropped and held out. Per-frequency statistics of the log-magnitude spectrogram (audio.n_fft, audio.hop)
travel in the data facts for the spectrogram recipe.
"""
from __future__ import annotations

import math
import os
import re

import numpy as np
import torch

from ..core.errors import DataError
from .dataset import Dataset
from .sources import Source, register_source

AUDIO_EXTS = (".wav", ".flac", ".ogg")


def list_audio(root: str) -> list[str]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files += [os.path.join(dirpath, f) for f in filenames if not f.startswith(".")
                  and f.lower().endswith(AUDIO_EXTS)]
    files.sort()
    if not files:
        others = [f for _, _, fs in os.walk(root) for f in fs if not f.startswith(".")]
        what = f" (found {len(others)} other files, e.g. {others[0]})" if others else ""
        raise DataError(f"no sound files ({' '.join(AUDIO_EXTS)}) under {root}{what}; point data.path at a folder "
                        "of WAV, FLAC or OGG files")
    return files


def read_clip(path: str, rate: int) -> tuple[np.ndarray, bool, bool]:
    """(mono float32 samples at ``rate``, was it stereo, was it resampled)."""
    import soundfile as sf
    try:
        data, sr = sf.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError) as e:   # soundfile's LibsndfileError is a RuntimeError
        raise DataError(f"cannot read sound file {path}: {str(e).splitlines()[0]}; remove or replace it") from None
    stereo = data.shape[1] > 1
    x = data.mean(axis=1)
    resampled = sr != rate
    if resampled and len(x):
        from scipy.signal import resample_poly
        g = math.gcd(int(rate), int(sr))
        x = resample_poly(x, rate // g, sr // g).astype(np.float32)
    return x, stereo, resampled


def fit_clip(x: np.ndarray, samples: int, crop: str) -> np.ndarray:
    """A clip of exactly ``samples``: the middle (center) or the start, padded with silence."""
    out = np.zeros(samples, dtype=np.float32)
    n = len(x)
    if crop == "center":
        if n >= samples:
            s = (n - samples) // 2
            return x[s:s + samples].astype(np.float32)
        s = (samples - n) // 2
        out[s:s + n] = x
        return out
    m = min(n, samples)
    out[:m] = x[:m]
    return out


def labels_of(files: list[str], root: str, pattern: str) -> tuple[list[int] | None, list[str] | None]:
    if pattern:
        rx = re.compile(pattern)
        keys = []
        for f in files:
            m = rx.search(os.path.basename(f))
            if not m or not m.groups():
                raise DataError(f"audio.label_pattern {pattern!r} does not match {os.path.basename(f)} (it needs one "
                                "group, e.g. '^(\\d)_'); fix the pattern or use one sub-folder per class")
            keys.append(m.group(1))
    else:
        tops = [os.path.relpath(f, root).split(os.sep) for f in files]
        if any(len(t) < 2 for t in tops):
            return None, None
        keys = [t[0] for t in tops]
    names = sorted(set(keys), key=lambda k: (len(k), k))
    index = {k: i for i, k in enumerate(names)}
    return [index[k] for k in keys], names


def spectrogram(x: torch.Tensor, n_fft: int, hop: int, eps: float = 1.0) -> torch.Tensor:
    """log(1 + |STFT| / eps) of clips (N, 1, S) -> (N, F, T), Hann window, the Nyquist bin and last frame dropped.
    A small eps keeps the quiet end of the range (silence, the noise floor) on a log scale; eps = 1 squashes
    everything below a magnitude of about 1 into a near-linear band at the bottom."""
    spec = torch.stft(x.reshape(-1, x.shape[-1]), n_fft, hop, window=torch.hann_window(n_fft, device=x.device),
                      return_complex=True, center=True)
    return torch.log1p(spec.abs() / eps)[:, :-1, :-1]


def griffin_lim(mag: torch.Tensor, n_fft: int, hop: int, iters: int, length: int, seed: int = 0) -> torch.Tensor:
    """Full STFT magnitudes (N, n_fft / 2 + 1, frames) -> clips (N, length) by Griffin-Lim: phases drawn at random
    from ``seed``, then ``iters`` rounds of inverse STFT and STFT keeping the magnitudes (Hann window)."""
    window = torch.hann_window(n_fft, device=mag.device)
    g = torch.Generator(device=mag.device).manual_seed(seed)
    phase = torch.rand(mag.shape, generator=g, device=mag.device) * 2 * torch.pi
    spec = torch.polar(mag, phase)
    for _ in range(iters):
        x = torch.istft(spec, n_fft, hop, window=window, length=length)
        est = torch.stft(x, n_fft, hop, window=window, return_complex=True)
        spec = torch.polar(mag, est.angle())
    return torch.istft(spec, n_fft, hop, window=window, length=length)


def load_audio(cfg, seed: int, path: str, part: str = "train") -> Dataset:
    a = cfg.section("audio")
    files = list_audio(path)
    labels, names = labels_of(files, path, a.label_pattern) if cfg.data.labels else (None, None)
    held = [bool(a.holdout_pattern and re.search(a.holdout_pattern, os.path.basename(f))) for f in files]
    keep = [i for i, h in enumerate(held) if h == (part == "test")]
    if not keep:
        raise DataError(f"no {'held-out' if part == 'test' else 'training'} files under {path} "
                        f"(audio.holdout_pattern={a.holdout_pattern!r} matches {sum(held)} of {len(files)})")
    clips, ys, stereo, resampled, short = [], [], 0, 0, 0
    for i in keep:
        x, st, rs = read_clip(files[i], a.rate)
        stereo, resampled = stereo + st, resampled + rs
        if len(x) < max(a.min_samples, 1):
            short += 1
            continue
        if a.normalize and np.abs(x).max() > 0:
            x = x * (0.95 / np.abs(x).max())
        clips.append(fit_clip(x, a.samples, a.crop))
        if labels is not None:
            ys.append(labels[i])
    if not clips:
        raise DataError(f"all {len(keep)} clips under {path} are shorter than audio.min_samples={a.min_samples}; "
                        "lower it")
    x = torch.from_numpy(np.stack(clips))[:, None]                 # (N, 1, S)
    y = torch.tensor(ys, dtype=torch.long) if labels is not None else None
    if cfg.data.limit and part == "train":
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(x), generator=g)[:cfg.data.limit].sort().values
        x, y = x[idx], None if y is None else y[idx]
    spec = spectrogram(x, a.n_fft, a.hop, a.spec_eps)               # (N, F, T) per-bin statistics
    meta = {"rate": a.rate, "samples": a.samples, "files": len(files), "held_out": sum(held),
            "stereo_mixed": stereo, "resampled": resampled, "too_short": short,
            "spec_mean": spec.mean((0, 2)).tolist(), "spec_std": spec.std((0, 2)).clamp_min(1e-3).tolist(),
            "n_fft": a.n_fft, "hop": a.hop, "spec_eps": a.spec_eps}
    return Dataset(x=x, y=y, kind="audio", name=path, value_range=(-1.0, 1.0),
                   class_names=names if y is not None else None, meta=meta)


def load_part(cfg, seed: int, part: str) -> Dataset:
    from . import source_of
    _, _, path = source_of(cfg)
    return load_audio(cfg, seed, path, part)


def _is_audio_folder(path: str) -> bool:
    if not os.path.isdir(path):
        return False
    for _, _, fs in os.walk(path):
        if any(f.lower().endswith(AUDIO_EXTS) for f in fs):
            return True
    return False


register_source("audio", Source(lambda cfg, seed, path: load_audio(cfg, seed, path), path="folder", kind="audio",
                                finish=False, infer=_is_audio_folder, infer_order=3))

__all__ = ["load_audio", "load_part", "list_audio", "read_clip", "fit_clip", "spectrogram", "griffin_lim", "AUDIO_EXTS"]
