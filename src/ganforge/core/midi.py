"""Sample writers for piano-rolls: MIDI files (mido) and a piano-roll picture (sound: core/synth.py).

``out`` (the music recipe's ``to_output``): ``x`` rolls (N, tracks, steps, pitches) of 0 / 1, ``steps_per_beat``,
``pitch_low``, ``tempo`` (quarter notes per minute), ``programs`` (a General MIDI program per track), ``names``
(track names), ``rate`` and ``synth`` for sound. A note is a run of consecutive 1s of one pitch in one track.

MIDI: type 1, 480 ticks per quarter note; track 0 states the tempo and 4/4 time; then one track per part, on its
own channel (channel 10, the drums, skipped) with its program, notes at velocity 80. A file of several phrases
plays them one after another with one bar of rest between. These writers register when the music recipe is
imported (recipes/music.py), which every command that writes samples does first.
"""
from __future__ import annotations

import importlib
import io
import os
from typing import Any

import numpy as np

from .errors import ConfigError
from .registry import WRITERS
from .writers import atomic_folder, write_bytes, write_png_grid

TPB, VELOCITY = 480, 80
INSTALL = "pip install 'ganforge[music]'"
COLOURS = np.array([[214, 39, 40], [31, 119, 180], [44, 160, 44], [148, 103, 189], [255, 127, 14],
                    [140, 86, 75], [227, 119, 194], [127, 127, 127]], dtype=np.uint8)


def need(module: str):
    """Import an optional dependency of the music modality (mido, music21), or one line saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"music scores need the {module} package: {INSTALL}") from None


def notes_of(roll: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(track, pitch index, start step, end step) of every run of 1s in ``roll`` (tracks, steps, pitches)."""
    r = np.asarray(roll) > 0
    pad = np.zeros((r.shape[0], 1, r.shape[2]), dtype=bool)
    d = np.diff(np.concatenate([pad, r, pad], 1).astype(np.int8), axis=1)      # +1 at starts, -1 at ends
    out = []
    for k, t, p in zip(*np.nonzero(d == 1)):
        end = t + 1 + int(np.argmax(d[k, t + 1:, p] == -1))                   # the first end after t
        out.append((int(k), int(p), int(t), end))
    return out


def _channels(tracks: int) -> list[int]:
    return [c for c in range(16) if c != 9][:tracks]


def midi_bytes(rolls: np.ndarray, out: dict[str, Any], gap_bars: int = 1) -> bytes:
    """One MIDI file of the phrases ``rolls`` (N, tracks, steps, pitches), one after another."""
    mido = need("mido")
    q, low = int(out["steps_per_beat"]), int(out["pitch_low"])
    tracks, steps = rolls.shape[1], rolls.shape[2]
    per_step = TPB // q
    head = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(out["tempo"]), time=0),
                           mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0)])
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    mid.tracks.append(head)
    names, programs = out.get("names") or [], out.get("programs") or [0] * tracks
    for k, ch in enumerate(_channels(tracks)):
        events = []
        for n, roll in enumerate(rolls):
            base = n * (steps + gap_bars * 4 * q) * per_step
            for _, p, a, b in notes_of(roll[k:k + 1]):
                events += [(base + a * per_step, 1, "note_on", low + p),
                           (base + b * per_step, 0, "note_off", low + p)]
        events.sort()                                     # at one tick, note-offs (0) before note-ons (1)
        msgs = [mido.MetaMessage("track_name", name=names[k] if k < len(names) else f"track {k}", time=0),
                mido.Message("program_change", channel=ch, program=int(programs[k]), time=0)]
        now = 0
        for tick, _, kind, pitch in events:
            msgs.append(mido.Message(kind, channel=ch, note=pitch, velocity=VELOCITY if kind == "note_on" else 0,
                                     time=tick - now))
            now = tick
        mid.tracks.append(mido.MidiTrack(msgs))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


@WRITERS.register("midi")
def write_midi(path: str, out: dict[str, Any]) -> None:
    """All phrases in one MIDI file, a bar of rest between them."""
    write_bytes(path, midi_bytes(np.asarray(out["x"]), out), out.get("provenance"))


@WRITERS.register("midi-folder")
def write_midi_folder(path: str, out: dict[str, Any]) -> None:
    """One MIDI file per phrase (``0000.mid`` ...) in the new folder ``path``, built beside it, renamed whole."""
    with atomic_folder(path, "MIDI files", out.get("provenance")) as tmp:
        for i, roll in enumerate(np.asarray(out["x"])):
            with open(os.path.join(tmp, f"{i:04d}.mid"), "wb") as f:
                f.write(midi_bytes(roll[None], out))


def roll_pictures(rolls: np.ndarray, bar: int, scale: int = 2) -> np.ndarray:
    """(N, 3, pitches * scale, steps * scale) uint8: each track in its colour on white, low pitches at the bottom,
    bar lines grey, C rows (every 12th pitch from the lowest) faintly shaded."""
    n, tracks, steps, pitches = rolls.shape
    img = np.full((n, pitches, steps, 3), 255, dtype=np.uint8)
    img[:, ::12] = 240
    img[:, :, ::bar] = 190
    for k in range(tracks):
        on = np.asarray(rolls[:, k]).transpose(0, 2, 1) > 0                      # (N, pitches, steps)
        img[on] = COLOURS[k % len(COLOURS)]
    img = img[:, ::-1].repeat(scale, 1).repeat(scale, 2)
    return np.ascontiguousarray(img.transpose(0, 3, 1, 2))


@WRITERS.register("pianoroll-grid")
def write_pianoroll_grid(path: str, out: dict[str, Any], nrow: int | None = None) -> None:
    rolls = np.asarray(out["x"])
    pictures = roll_pictures(rolls, 4 * int(out["steps_per_beat"]))
    write_png_grid(path, {"x": pictures, "provenance": out.get("provenance")}, nrow=nrow or 4)


__all__ = ["need", "INSTALL", "notes_of", "midi_bytes", "roll_pictures", "write_midi", "write_midi_folder",
           "write_pianoroll_grid"]
