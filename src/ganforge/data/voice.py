"""Two speakers of the Free Spoken Digit Dataset as unpaired spectrogram domains, for voice conversion
(``fsdd-speakers``; recipes/voice.py).

Files are FSDD's ``DIGIT_SPEAKER_INDEX.wav`` under data.path: domain A holds the recordings of voice.speaker_a, domain
B those of voice.speaker_b. Recordings with index 0-4 (audio.holdout_pattern, FSDD's own test convention) are held
out: training never sees them; evaluation converts them. Each recording is read as the audio data source reads a
clip (data/audio.py: mono, audio.rate, peak scaled to 0.95, the middle audio.samples samples, silence either side
of a shorter one), then becomes a log-magnitude spectrogram log(1 + |STFT| / audio.spec_eps) (audio.n_fft,
audio.hop; the Nyquist bin and last frame dropped), standardised per frequency bin with the mean and standard
deviation of both speakers' training clips together, clipped at audio.spec_clip standard deviations and scaled to
[-1, 1]: one channel of n_fft / 2 bins x samples / hop frames (64 x 96 with the preset: 0.77 s at 8 kHz).

Default speakers: ``george`` (A, median pitch about 160 Hz) and ``lucas`` (B, about 100 Hz), the highest and lowest
voices of the six, 8 semitones apart (pitch: the autocorrelation peak of voiced 50 ms frames, every tenth file).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import torch

from ..core.errors import ConfigError, DataError
from ..core.registry import SECTIONS
from .audio import fit_clip, list_audio, read_clip, spectrogram
from .dataset import Dataset
from .sources import Source, register_source
from .translate import fill_pairs

NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


@dataclass
class VoiceConfig:
    speaker_a: str = "george"   # FSDD speaker of domain A
    speaker_b: str = "lucas"    # FSDD speaker of domain B
    phase: str = "griffin-lim"  # sound from converted magnitudes: griffin-lim | source (the input's STFT phase)

    def validate(self) -> None:
        if self.phase not in ("source", "griffin-lim"):
            raise ConfigError(f"voice.phase = {self.phase!r} is not one of: source, griffin-lim")
        if not self.speaker_a or self.speaker_a == self.speaker_b:
            raise ConfigError(f"voice.speaker_a and voice.speaker_b must be two different speakers, got "
                              f"{self.speaker_a!r} and {self.speaker_b!r}")


SECTIONS.register("voice", VoiceConfig)


def speaker_files(root: str, speaker: str, part: str) -> list[tuple[str, int]]:
    """(path, digit) of one speaker's recordings of ``part`` (test: index 0-4, train: the rest), sorted."""
    out, seen = [], set()
    for path in list_audio(root):
        m = NAME.match(os.path.basename(path))
        if not m:
            continue
        seen.add(m.group(2))
        if m.group(2) == speaker and (int(m.group(3)) <= 4) == (part == "test"):
            out.append((path, int(m.group(1))))
    if not out:
        have = ", ".join(sorted(seen)) or "none (files are named DIGIT_SPEAKER_INDEX.wav)"
        raise DataError(f"no {part} recordings of speaker {speaker!r} under {root}; speakers found: {have}")
    return out


def read_clips(files: list[str], a) -> torch.Tensor:
    """Clips (N, 1, audio.samples) as the audio source reads them: mono, audio.rate, peak 0.95, centred."""
    clips = []
    for path in files:
        x, _, _ = read_clip(path, a.rate)
        if a.normalize and len(x) and np.abs(x).max() > 0:
            x = x * (0.95 / np.abs(x).max())
        clips.append(fit_clip(x, a.samples, a.crop))
    return torch.from_numpy(np.stack(clips))[:, None]


def standardise(spec: torch.Tensor, mean, std, clip: float) -> torch.Tensor:
    """(N, F, T) log-magnitudes -> (N, 1, F, T) in [-1, 1] with per-bin statistics."""
    m = torch.as_tensor(mean, dtype=spec.dtype).view(1, -1, 1)
    s = torch.as_tensor(std, dtype=spec.dtype).view(1, -1, 1)
    return ((spec - m) / (clip * s)).clamp(-1, 1).unsqueeze(1)


def speakers(cfg, path: str, part: str = "train") -> dict:
    """{"a", "b": clips (N, 1, S); "a_digits", "b_digits": (N,) int64; "a_names", "b_names": file names}."""
    v, a = cfg.section("voice"), cfg.section("audio")
    out = {}
    for side, who in (("a", v.speaker_a), ("b", v.speaker_b)):
        pairs = speaker_files(path, who, part)
        out[side] = read_clips([p for p, _ in pairs], a)
        out[f"{side}_digits"] = torch.tensor([d for _, d in pairs], dtype=torch.long)
        out[f"{side}_names"] = [os.path.basename(p) for p, _ in pairs]
    return out


def load_speakers(cfg, seed: int, path: str) -> Dataset:
    a = cfg.section("audio")
    frames = a.samples // a.hop
    if a.n_fft // 2 % 4 or frames % 4:
        raise DataError(f"fsdd-speakers spectrograms need bins (audio.n_fft / 2 = {a.n_fft // 2}) and frames "
                        f"(audio.samples / audio.hop = {frames}) divisible by 4")
    parts = speakers(cfg, path, "train")
    if cfg.data.limit:
        g = torch.Generator().manual_seed(seed)
        for side in ("a", "b"):
            parts[side] = parts[side][torch.randperm(len(parts[side]), generator=g)[:cfg.data.limit].sort().values]
    sa, sb = (spectrogram(parts[s], a.n_fft, a.hop, a.spec_eps) for s in ("a", "b"))
    both = torch.cat([sa, sb])
    mean, std = both.mean((0, 2)), both.std((0, 2)).clamp_min(1e-3)
    xa, xb = (standardise(s, mean, std, a.spec_clip) for s in (sa, sb))
    x, other = fill_pairs(xa, xb, seed)
    v = cfg.section("voice")
    meta = {"n_a": len(xa), "n_b": len(xb), "b_shape": list(xb.shape[1:]), "speakers": [v.speaker_a, v.speaker_b],
            "rate": a.rate, "samples": a.samples, "n_fft": a.n_fft, "hop": a.hop, "spec_eps": a.spec_eps,
            "spec_clip": a.spec_clip, "spec_mean": mean.tolist(), "spec_std": std.tolist(), "path": path}
    return Dataset(x=x, y=None, kind="spectrogram-unpaired", name="fsdd-speakers", value_range=(-1.0, 1.0),
                   class_names=None, extra={"b": other}, meta=meta)


register_source("fsdd-speakers", Source(load_speakers, path="folder", kind="spectrogram-unpaired", finish=False))

__all__ = ["VoiceConfig", "speaker_files", "speakers", "read_clips", "standardise", "load_speakers"]
