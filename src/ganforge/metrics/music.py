"""Symbolic-music statistics of piano-rolls (N, K tracks, T steps, P pitches) of 0 / 1, after MuseGAN (Dong et al.
2018) and mgeval (Yang & Lerch 2020), each reported beside the same figure for real (held-out) phrases.

A note is a run of consecutive 1s of one pitch in one track; its onset is the first step of the run. Bars are
``bar_steps`` steps; pitch index p is MIDI pitch pitch_low + p, its pitch class (pitch_low + p) mod 12.

Per track k (keys ``<stat>/<track name>``):
- ``empty_bars``: share of bars (over phrases and bars) in which track k plays nothing.
- ``pitch_classes``: mean over non-empty bars of the number of distinct pitch classes sounding in the bar.
- ``qualified_notes``: share of notes at least a 32nd note long, i.e. ceil(steps_per_beat / 8) steps. On the
  default grid of 4 steps per quarter note (16ths) that is one step, so every note qualifies and the rate is 1
  by construction; it tells something only on a grid of 8 or more steps per quarter note.
- ``polyphony``: mean number of pitches sounding at once over the steps where the track sounds (1 for a voice).
- ``pc_entropy``: per phrase, the Shannon entropy (bits) of the track's pitch-class histogram (sounding steps),
  averaged over the phrases where it plays; 0 for one pitch class, log2 12 = 3.58 for all twelve evenly.
- ``scale_consistency``: per phrase, the largest share of the track's note onsets inside one of the 12 major
  scales (natural minor scales are the same sets), averaged over phrases with notes.
Between tracks:
- ``tonal_distance``: per bar and pair of tracks that both sound, the Euclidean distance between their 6-D tonal
  centroids (Harte, Sandler & Gasser 2006): the bar's pitch-class chroma c (sounding steps), normalised to sum 1,
  times Phi, whose rows are r sin(l a), r cos(l a) for pitch class l and (a, r) = (7 pi / 6, 1) (fifths),
  (3 pi / 2, 1) (minor thirds), (2 pi / 3, 0.5) (major thirds); the mean over bars and pairs.
- ``voice_crossing``: over adjacent tracks (k above k + 1) and steps where both sound, the share where the
  lowest pitch of track k is below the highest of track k + 1.
Summary: ``stats_within_10pct``, the share of the per-track statistics with |fake - real| <= 0.1 max(|real|, 0.1)
(rates near zero are compared on an absolute 0.01), and ``worst_gap``, the largest |fake - real| / max(|real|, 0.1).

Memorisation (``memorisation``): for each sample, the largest share of its note onsets (track, step, pitch) that
one training phrase also has at the same place; reported as the maximum and mean over samples and the share of
samples above one half (``memorisation_over_half``). A sample with no notes shares nothing.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_CENTROID = ((7 * math.pi / 6, 1.0), (3 * math.pi / 2, 1.0), (2 * math.pi / 3, 0.5))


def onsets(x: Tensor) -> Tensor:
    """(N, K, T, P) 0 / 1 -> the same shape, 1 where a note starts."""
    x = (x > 0).float()
    return x * (1 - torch.nn.functional.pad(x, (0, 0, 1, 0))[:, :, :-1])


def note_lengths(x: Tensor) -> Tensor:
    """Lengths in steps of every note of ``x`` (N, K, T, P) for one track at a time or all."""
    r = (x > 0).transpose(-1, -2).reshape(-1, x.shape[-2]).to(torch.int8)        # rows of steps
    d = torch.diff(torch.nn.functional.pad(r, (1, 1)), dim=1)
    starts, ends = (d == 1).nonzero(), (d == -1).nonzero()                       # row-major: pairs line up
    return (ends[:, 1] - starts[:, 1]).float()


def pitch_class_matrix(pitches: int, pitch_low: int) -> Tensor:
    """(P, 12): 1 where pitch index p has pitch class c."""
    pc = (torch.arange(pitches) + pitch_low) % 12
    return torch.nn.functional.one_hot(pc, 12).float()


def tonal_matrix() -> Tensor:
    """Phi (6, 12) of Harte et al. (2006)."""
    l_ = torch.arange(12, dtype=torch.float64)
    rows = [f(l_ * a) * r for a, r in _CENTROID for f in (torch.sin, torch.cos)]
    return torch.stack(rows).float()


def track_stats(x: Tensor, bar_steps: int, pitch_low: int = 36, steps_per_beat: int = 4) -> dict[str, Tensor]:
    """Per-track statistics (each a (K,) tensor) of rolls (N, K, T, P); see the module docstring."""
    x = (x > 0).float()
    N, K, T, P = x.shape
    pcm = pitch_class_matrix(P, pitch_low)
    bars = x.view(N, K, T // bar_steps, bar_steps, P)
    bar_on = bars.amax((3, 4))                                                   # (N, K, bars)
    bar_pcs = ((bars.sum(3) @ pcm) > 0).float().sum(-1)                          # (N, K, bars)
    nonempty = bar_on.sum((0, 2)).clamp_min(1)
    sounding = x.amax(3)                                                         # (N, K, T)
    pc_hist = x.sum(2) @ pcm                                                     # (N, K, 12)
    prob = pc_hist / pc_hist.sum(-1, keepdim=True).clamp_min(1)
    entropy = -(prob * torch.log2(prob.clamp_min(1e-12))).sum(-1)                # (N, K)
    plays = (pc_hist.sum(-1) > 0).float()
    scales = torch.zeros(12, 12)
    for tonic in range(12):
        scales[tonic, [(tonic + s) % 12 for s in MAJOR_SCALE]] = 1
    on_pc = onsets(x).sum(2) @ pcm                                               # (N, K, 12) onsets per class
    in_scale = (on_pc @ scales.T).amax(-1) / on_pc.sum(-1).clamp_min(1)          # (N, K)
    shortest = max(1, math.ceil(steps_per_beat / 8))
    qualified = []
    for k in range(K):
        lengths = note_lengths(x[:, k:k + 1])
        qualified.append((lengths >= shortest).float().mean() if len(lengths) else torch.tensor(float("nan")))
    return {"empty_bars": 1 - bar_on.mean((0, 2)),
            "pitch_classes": (bar_pcs * bar_on).sum((0, 2)) / nonempty,
            "qualified_notes": torch.stack(qualified),
            "polyphony": x.sum((0, 2, 3)) / sounding.sum((0, 2)).clamp_min(1),
            "pc_entropy": (entropy * plays).sum(0) / plays.sum(0).clamp_min(1),
            "scale_consistency": (in_scale * plays).sum(0) / plays.sum(0).clamp_min(1)}


def tonal_distance(x: Tensor, bar_steps: int, pitch_low: int = 36) -> float:
    x = (x > 0).float()
    N, K, T, P = x.shape
    chroma = x.view(N, K, T // bar_steps, bar_steps, P).sum(3) @ pitch_class_matrix(P, pitch_low)  # (N, K, bars, 12)
    total = chroma.sum(-1, keepdim=True)
    centroid = (chroma / total.clamp_min(1)) @ tonal_matrix().T                  # (N, K, bars, 6)
    dist, count = 0.0, 0
    for i in range(K):
        for j in range(i + 1, K):
            both = ((total[:, i, :, 0] > 0) & (total[:, j, :, 0] > 0))
            d = (centroid[:, i] - centroid[:, j]).norm(dim=-1)
            dist, count = dist + float(d[both].sum()), count + int(both.sum())
    return dist / count if count else float("nan")


def voice_crossing(x: Tensor) -> float:
    x = x > 0
    P = x.shape[-1]
    idx = torch.arange(P)
    low = torch.where(x, idx, P).amin(-1)                                       # (N, K, T) lowest sounding pitch
    high = torch.where(x, idx, -1).amax(-1)                                     # highest sounding pitch
    both = x[:, :-1].any(-1) & x[:, 1:].any(-1)                                  # (N, K-1, T)
    crossed = (low[:, :-1] < high[:, 1:]) & both
    return float(crossed.sum()) / max(int(both.sum()), 1)


def music_checks(real: Tensor, fake: Tensor, names: list[str], bar_steps: int, pitch_low: int = 36,
                 steps_per_beat: int = 4) -> dict[str, float]:
    """Every statistic of generated phrases next to the real phrases' (``<key>_real``), and the 10% summary."""
    r = track_stats(real.cpu(), bar_steps, pitch_low, steps_per_beat)
    f = track_stats(fake.cpu(), bar_steps, pitch_low, steps_per_beat)
    out: dict[str, float] = {}
    gaps = []
    for stat in r:
        for k, name in enumerate(names):
            a, b = float(f[stat][k]), float(r[stat][k])
            out[f"{stat}/{name}"], out[f"{stat}/{name}_real"] = a, b
            if not (math.isnan(a) or math.isnan(b)):
                gaps.append(abs(a - b) / max(abs(b), 0.1))
    out["stats_within_10pct"] = float(np.mean([g <= 0.1 for g in gaps])) if gaps else float("nan")
    out["worst_gap"] = float(max(gaps)) if gaps else float("nan")
    for key, fn in (("tonal_distance", lambda x: tonal_distance(x, bar_steps, pitch_low)),
                    ("voice_crossing", voice_crossing)):
        out[key], out[key + "_real"] = fn(fake.cpu()), fn(real.cpu())
    return out


def nearest_overlap(x: Tensor, train: Tensor, chunk: int = 2048) -> Tensor:
    """(N,) for each phrase of ``x``: the largest share of its onsets that one phrase of ``train`` also has."""
    a = onsets(x.cpu()).flatten(1)                                               # (N, D)
    best = torch.zeros(len(a))
    for s in range(0, len(train), chunk):
        b = onsets(train[s:s + chunk].cpu()).flatten(1)
        best = torch.maximum(best, (a @ b.T).amax(1))
    return best / a.sum(1).clamp_min(1)


def memorisation(x: Tensor, train: Tensor) -> dict[str, float]:
    share = nearest_overlap(x, train)
    return {"memorisation_max": float(share.max()), "memorisation_mean": float(share.mean()),
            "memorisation_over_half": float((share > 0.5).float().mean())}


__all__ = ["track_stats", "tonal_distance", "voice_crossing", "music_checks", "nearest_overlap", "memorisation",
           "onsets", "note_lengths", "tonal_matrix", "pitch_class_matrix"]
