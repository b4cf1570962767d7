"""Reading scores into notes: MIDI files with mido, MusicXML (and the music21 corpus) with music21, and key-finding.

A score becomes ``Notes``: one row per note, (part, MIDI pitch, start, end) with times in quarter notes from the
start of the file, the set of time signatures it states, and the length of its pickup (the beats before the first
bar line). A part is a MusicXML part, or one (track, channel) stream with notes of a MIDI file (so a type-0 file
with four channels has four parts), in file order; with music.track_by=program a part is keyed by its General MIDI
program instead. Chords give one row per pitch; tied notes are joined (music21 stripTies; a MIDI note runs from its
note-on to the matching note-off); grace notes (no duration) and drums (MIDI channel 10) are left out.

Key: the Krumhansl-Schmuckler algorithm (Krumhansl 1990): the duration-weighted pitch-class histogram is
correlated (Pearson) with the 24 rotations of the Krumhansl-Kessler major and minor profiles; the best is the key.
``key_shift`` is the transposition, -6..+5 semitones, that moves its tonic to C (major) or A (minor).

music21 and mido are optional: without them a music command says how to install them, in one line.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import DataError
from ..core.midi import INSTALL, need

MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
DRUMS = 9   # MIDI channel 10, counted from 0


@dataclass
class Notes:
    rows: np.ndarray            # (n, 4) float64: part, pitch, start, end (quarter notes)
    meters: set[str]            # time signatures stated ("4/4"); none stated means 4/4
    pickup: float               # quarter notes before the first bar line
    parts: list[str]            # the name (or program) of each part, in order


def read_score(path: str, track_by: str) -> Notes:
    low = path.lower()
    if low.endswith((".mid", ".midi")):
        return read_midi(path, track_by)
    return read_musicxml(path, track_by)


def read_midi(path: str, track_by: str = "part") -> Notes:
    mido = need("mido")
    try:
        mid = mido.MidiFile(path)
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as e:
        raise DataError(f"cannot read MIDI file {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}; "
                        "remove or replace it") from None
    tpb, meters, rows, keys = mid.ticks_per_beat, set(), [], []
    for t, track in enumerate(mid.tracks):
        tick, sounding, program = 0, {}, {}
        for msg in track:
            tick += msg.time
            if msg.type == "time_signature":
                meters.add(f"{msg.numerator}/{msg.denominator}")
            elif msg.type == "program_change":
                program[msg.channel] = msg.program
            elif msg.type in ("note_on", "note_off") and msg.channel != DRUMS:
                key = (msg.channel, msg.note)
                if msg.type == "note_on" and msg.velocity > 0:
                    sounding.setdefault(key, []).append(tick)
                elif sounding.get(key):
                    part = (t, msg.channel) if track_by == "part" else program.get(msg.channel, 0)
                    if part not in keys:
                        keys.append(part)
                    rows.append((keys.index(part), msg.note, sounding[key].pop(0) / tpb, tick / tpb))
    names = [f"track {k[0]} channel {k[1] + 1}" if track_by == "part" else f"program {k}" for k in keys]
    return Notes(_rows(rows), meters, 0.0, names)


def read_musicxml(path: str, track_by: str = "part") -> Notes:
    need("music21")
    from music21 import converter
    try:
        score = converter.parse(path, forceSource=True)
    except Exception as e:   # music21 raises many kinds (its own, ValueError, zipfile's ...) for a bad file
        raise DataError(f"cannot read score {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}; "
                        "remove or replace it") from None
    return from_music21(score, track_by)


def from_music21(score, track_by: str = "part") -> Notes:
    """Notes of a parsed music21 score (a file, or a corpus entry)."""
    meters = {ts.ratioString for ts in score.recurse().getElementsByClass("TimeSignature")}
    parts = list(getattr(score, "parts", [])) or [score]
    rows, keys = [], []
    for p in parts:
        inst = p.getInstrument(returnDefault=True)
        key = len(keys) if track_by == "part" else int(inst.midiProgram or 0)
        if key not in keys:
            keys.append(key)
        for n in p.stripTies().flatten().notes:
            start = float(n.offset)
            for pitch in n.pitches:
                rows.append((keys.index(key), pitch.midi, start, start + float(n.quarterLength)))
    names = [str(p.partName or f"part {i}") for i, p in enumerate(parts)] if track_by == "part" else \
        [f"program {k}" for k in keys]
    measures = list(parts[0].getElementsByClass("Measure")) if parts else []
    pickup = 0.0
    if len(measures) > 1 and measures[0].duration.quarterLength < measures[1].duration.quarterLength:
        pickup = float(measures[1].offset)
    return Notes(_rows(rows), meters, pickup, names)


def _rows(rows: list) -> np.ndarray:
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    return arr[arr[:, 3] > arr[:, 2]]      # grace notes have no duration


def find_key(rows: np.ndarray) -> tuple[int, str]:
    """(tonic pitch class 0..11, "major" | "minor") by Krumhansl-Schmuckler over duration-weighted pitch classes."""
    hist = np.bincount(rows[:, 1].astype(int) % 12, weights=rows[:, 3] - rows[:, 2], minlength=12)
    if hist.sum() == 0:
        return 0, "major"
    best = (-2.0, 0, "major")
    for mode, profile in (("major", MAJOR), ("minor", MINOR)):
        for tonic in range(12):
            r = float(np.corrcoef(hist, np.roll(profile, tonic))[0, 1])
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2]


def key_shift(tonic: int, mode: str) -> int:
    """Semitones (-6..+5) that move ``tonic`` to C (major) or A (minor)."""
    target = 0 if mode == "major" else 9
    return (target - tonic + 6) % 12 - 6


__all__ = ["Notes", "read_score", "read_midi", "read_musicxml", "from_music21", "find_key", "key_shift", "need",
           "INSTALL"]
