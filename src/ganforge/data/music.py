"""Multi-track piano-rolls from scores: a folder of MIDI / MusicXML files (source ``music``), or the Bach chorales
that ship with music21 (source ``chorales``), cut into fixed-length phrases.

Every score (music_read.py) is transposed to C major or A minor (music.transpose; Krumhansl-Schmuckler key), laid
on a grid of music.steps_per_beat steps per quarter note (starts and ends rounded to the nearest step; a note
shorter than one step lasts one step), and cut into phrases of music.bars bars starting on bar lines (after the
pickup) every music.hop_bars bars; phrases with no note at all are dropped. A phrase is (tracks, steps, pitches)
of 0 / 1: track k is the k-th part of the score (music.track_by=part; a score with another number of parts is
refused or, with music.on_bad=skip, skipped) or the part playing the k-th program of music.programs
(track_by=program); pitches run from music.pitch_low upwards (music.pitches of them); notes outside are dropped and
counted. Two notes of one pitch that touch merge into one (a piano-roll cannot tell them apart).

Refused with one line naming the file (or, with music.on_bad=skip, skipped and counted in data.json): a file that
cannot be read, a file with no notes, a time signature outside music.meters, the wrong number of parts.

Held-out scores: a seeded share (music.holdout, seed music.split_seed) of the SCORES, never of phrases; scores that
have an identical phrase (in the chorales, one harmonisation filed under two numbers) form one group and are held
out together, so no held-out phrase is also a training phrase; training never sees them and evaluation compares
with them. The labels y are the mode of each phrase's score (0 major, 1 minor). Parsed rolls are cached
(data/cache.py, GANFORGE_CACHE), keyed by the files (path, size, modification time), the music21 version and the
settings, so a second run does not parse again.
"""
from __future__ import annotations

import os
from dataclasses import asdict

import numpy as np
import torch

from ..core.errors import DataError
from .cache import cached
from .dataset import Dataset
from .music_read import find_key, key_shift, need, read_score
from .sources import Source, register_source

SCORE_EXTS = (".mid", ".midi", ".xml", ".musicxml", ".mxl")
PARSE_KEYS = ("steps_per_beat", "bars", "hop_bars", "meters", "pitch_low", "pitches", "tracks", "track_by", "programs",
              "transpose", "on_bad")
COUNTS = ("scores", "skipped_meter", "skipped_parts", "skipped_unreadable", "skipped_empty", "notes_out_of_range",
          "phrases")


def list_scores(root: str) -> list[str]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files += [os.path.join(dirpath, f) for f in filenames
                  if not f.startswith(".") and f.lower().endswith(SCORE_EXTS)]
    if not files:
        raise DataError(f"no MIDI or MusicXML files ({' '.join(SCORE_EXTS)}) under {root}; point data.path at a "
                        "folder of scores")
    return sorted(files)


def bar_steps(s) -> int:
    num, den = (int(v) for v in s.meters.split(",")[0].strip().split("/"))
    return round(num * 4 / den * s.steps_per_beat)


def phrases_of(notes, s, name: str, counts: dict[str, int]) -> tuple[np.ndarray, int]:
    """(phrases (n, tracks, steps, pitches) uint8, mode 0 major / 1 minor) of one score's notes."""
    rows = notes.rows.copy()
    allowed = {m.strip() for m in s.meters.split(",")}
    bad = sorted((notes.meters or {"4/4"}) - allowed)
    if bad:
        raise _Skip("skipped_meter", f"{name} is in {', '.join(bad)} time; music.meters allows {s.meters} (add the "
                    "meter, or remove the file)")
    if len(rows) == 0:
        raise _Skip("skipped_empty", f"{name} has no notes; remove it")
    tonic, mode = find_key(rows)
    if s.transpose:
        rows[:, 1] += key_shift(tonic, mode)
    if s.track_by == "program":
        programs = [int(p) for p in s.programs.split(",")]
        prog = [int(p.split()[-1]) for p in notes.parts]
        index = np.array([programs.index(p) if p in programs else -1 for p in prog])
        rows[:, 0] = index[rows[:, 0].astype(int)]
        rows = rows[rows[:, 0] >= 0]
    elif len(notes.parts) != s.tracks:
        raise _Skip("skipped_parts", f"{name} has {len(notes.parts)} parts, music.tracks={s.tracks} (or use "
                    "music.track_by=program with music.programs)")
    inside = (rows[:, 1] >= s.pitch_low) & (rows[:, 1] < s.pitch_low + s.pitches)
    counts["notes_out_of_range"] += int((~inside).sum())
    rows = rows[inside]
    q = s.steps_per_beat
    start = np.rint(rows[:, 2] * q).astype(int)
    end = np.maximum(np.rint(rows[:, 3] * q).astype(int), start + 1)
    bar, origin = bar_steps(s), int(round(notes.pickup * q))
    length = s.bars * bar
    total = max(int(end.max()) if len(end) else 0, origin)
    roll = np.zeros((s.tracks, total + length, s.pitches), dtype=np.uint8)
    for k, p, a, b in zip(rows[:, 0].astype(int), rows[:, 1].astype(int) - s.pitch_low, start, end):
        roll[k, a:b, p] = 1
    out = [roll[:, t:t + length] for t in range(origin, total - length + 1, s.hop_bars * bar)]
    out = [p for p in out if p.any()]
    return (np.stack(out) if out else np.zeros((0, s.tracks, length, s.pitches), np.uint8)), int(mode == "minor")


class _Skip(DataError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_all(items: list[tuple[str, object]], s) -> dict[str, torch.Tensor]:
    """Phrases of every score: ``items`` are (name, () -> Notes); refusals follow music.on_bad."""
    counts = dict.fromkeys(COUNTS, 0)
    rolls, modes, owners = [], [], []
    for i, (name, read) in enumerate(items):
        try:
            ph, mode = phrases_of(read(), s, name, counts)
        except DataError as e:
            if s.on_bad != "skip":
                raise DataError(str(e)) from None
            counts[getattr(e, "reason", "skipped_unreadable")] += 1
            continue
        counts["scores"] += 1
        rolls.append(ph)
        modes += [mode] * len(ph)
        owners += [i] * len(ph)
    if not owners:
        raise DataError(f"no phrases of {s.bars} bars in {len(items)} scores ({_said(counts)})")
    counts["phrases"] = len(owners)
    return {"x": torch.from_numpy(np.concatenate(rolls)), "mode": torch.tensor(modes, dtype=torch.long),
            "owner": torch.tensor(owners, dtype=torch.long), "counts": torch.tensor([counts[k] for k in COUNTS])}


def _said(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v)


def score_groups(x: torch.Tensor, owner: torch.Tensor, n: int) -> np.ndarray:
    """(n,) group of each score: scores with an identical phrase (one harmonisation filed twice, a shared
    movement) are one group, so a split by group never puts a phrase on both sides."""
    parent = list(range(n))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a
    first: dict[bytes, int] = {}
    for roll, i in zip(x.numpy(), owner.tolist()):
        j = first.setdefault(roll.tobytes(), i)
        parent[root(i)] = root(j)
    return np.array([root(i) for i in range(n)])


def held_scores(groups: np.ndarray, s) -> np.ndarray:
    """(n,) bool: the scores held out: a seeded share music.holdout of the groups of scores (score_groups), never
    of phrases."""
    names = np.unique(groups)
    k = int(round(s.holdout * len(names)))
    return np.isin(groups, names[np.random.default_rng(s.split_seed).permutation(len(names))[:k]])


def _settings_key(s) -> dict:
    """The settings that decide the parsed phrases (not the hold-out, not the models' or the outputs')."""
    return {k: v for k, v in asdict(s).items() if k in PARSE_KEYS}


def folder_items(path: str, s) -> tuple[list, dict]:
    files = list_scores(path)
    key = {"files": [(os.path.relpath(f, path), os.path.getsize(f), os.stat(f).st_mtime_ns) for f in files]}
    return [(f, lambda f=f: read_score(f, s.track_by)) for f in files], key


def chorale_items(s) -> tuple[list, dict]:
    music21 = need("music21")
    from music21 import converter, corpus

    from .music_read import from_music21
    paths = sorted(str(p) for p in corpus.getComposer("bach") if str(p).endswith((".mxl", ".xml")))
    key = {"corpus": "music21 bach", "music21": music21.__version__, "files": [os.path.basename(p) for p in paths]}
    return [(os.path.basename(p), lambda p=p: from_music21(converter.parse(p, forceSource=True), s.track_by))
            for p in paths], key


def load_music(cfg, seed: int, path: str, part: str = "train", chorales: bool = False) -> Dataset:
    s = cfg.section("music")
    items, key = chorale_items(s) if chorales else folder_items(path, s)
    t = cached({"kind": "music-rolls-v1", **key, "settings": _settings_key(s)}, lambda: parse_all(items, s))
    counts = dict(zip(COUNTS, t["counts"].tolist()))
    held = held_scores(score_groups(t["x"], t["owner"], len(items)), s)
    mask = torch.from_numpy(held)[t["owner"]] == (part == "test")
    if not bool(mask.any()):
        raise DataError(f"no {'held-out' if part == 'test' else 'training'} phrases (music.holdout={s.holdout} "
                        f"holds out {int(held.sum())} of {len(items)} scores)")
    x, y, owner = t["x"][mask].float(), t["mode"][mask], t["owner"][mask]
    if cfg.data.limit and part == "train" and cfg.data.limit < len(x):
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:cfg.data.limit].sort().values
        x, y, owner = x[idx], y[idx], owner[idx]
    meta = {**counts, "held_out_scores": int(held.sum()), "tracks_names": s.track_names.split(","),
            "steps_per_beat": s.steps_per_beat, "bar_steps": bar_steps(s), "bars": s.bars,
            "pitch_low": s.pitch_low, "pitches": s.pitches, "part": part}
    return Dataset(x=x, y=y if cfg.data.labels else None, kind="pianoroll", name="chorales" if chorales else path,
                   value_range=(0.0, 1.0), class_names=["major", "minor"] if cfg.data.labels else None,
                   extra={"owner": owner}, meta=meta)


def load_part(cfg, seed: int, part: str) -> Dataset:
    from . import source_of
    name, _, path = source_of(cfg)
    return load_music(cfg, seed, path, part, chorales=name == "chorales")


def _is_score_folder(path: str) -> bool:
    return os.path.isdir(path) and any(f.lower().endswith(SCORE_EXTS) for _, _, fs in os.walk(path) for f in fs)


register_source("music", Source(lambda cfg, seed, path: load_music(cfg, seed, path), path="folder", kind="pianoroll",
                                finish=False, infer=_is_score_folder, infer_order=2))
register_source("chorales", Source(lambda cfg, seed, path: load_music(cfg, seed, path, chorales=True),
                                   kind="pianoroll", finish=False))

__all__ = ["load_music", "load_part", "list_scores", "phrases_of", "parse_all", "held_scores", "score_groups",
           "bar_steps", "SCORE_EXTS", "COUNTS"]
