"""Piano-rolls to sound (the ``music-wav`` sample writer): FluidSynth with a General MIDI soundfont when both are
installed, else a built-in additive synthesiser, so rendering always works.

``synth``: ``auto`` (FluidSynth when the ``fluidsynth`` program and SOUNDFONT exist, else built-in),
``fluidsynth`` (refused with the install line when absent), ``builtin``.

Built-in: each note (a run of 1s, core/midi.py) is the sum of its first four harmonics with amplitudes 1, 1/2,
1/4, 1/8 (those under the Nyquist frequency), at 440 * 2^((m - 69) / 12) Hz for MIDI pitch m, shaped by an
envelope: a 10 ms linear attack, an exponential decay towards 40% (time constant 0.3 s) while the note is held,
and a 60 ms exponential release after it ends. Phrases follow one another with one bar of rest between, at
``tempo`` quarter notes per minute; the mix is scaled to peak at 0.9 when louder. Mono 16-bit PCM at ``rate``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Any

import numpy as np

from .errors import GanforgeError, write_failed
from .midi import midi_bytes, notes_of
from .registry import WRITERS
from .writers import wav_bytes, write_bytes

SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
INSTALL_FLUIDSYNTH = "apt-get install fluidsynth fluid-soundfont-gm"
HARMONICS = (1.0, 0.5, 0.25, 0.125)
ATTACK, DECAY, SUSTAIN, RELEASE = 0.01, 0.3, 0.4, 0.06


def fluidsynth_ready() -> bool:
    return shutil.which("fluidsynth") is not None and os.path.isfile(SOUNDFONT)


def which_synth(choice: str) -> str:
    if choice == "builtin" or (choice == "auto" and not fluidsynth_ready()):
        return "builtin"
    if not fluidsynth_ready():
        raise GanforgeError(f"music.synth=fluidsynth needs the fluidsynth program and {SOUNDFONT}: "
                            f"{INSTALL_FLUIDSYNTH} (or set music.synth=builtin)")
    return "fluidsynth"


def note_wave(pitch: int, seconds: float, rate: int) -> np.ndarray:
    """One note of ``seconds`` plus its release, as float32 samples."""
    freq = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    held, tail = int(round(seconds * rate)), int(round(5 * RELEASE * rate))
    t = np.arange(held + tail) / rate
    wave = sum(a * np.sin(2 * np.pi * h * freq * t) for h, a in enumerate(HARMONICS, 1) if h * freq < rate / 2)
    env = np.minimum(t / ATTACK, 1.0) * (SUSTAIN + (1 - SUSTAIN) * np.exp(-t / DECAY))
    if tail:
        env[held:] = env[held - 1 if held else 0] * np.exp(-(t[held:] - t[held - 1 if held else 0]) / RELEASE)
    return (wave * env).astype(np.float32)


def builtin_render(rolls: np.ndarray, out: dict[str, Any]) -> np.ndarray:
    rate, q = int(out["rate"]), int(out["steps_per_beat"])
    step_s = 60.0 / (float(out["tempo"]) * q)
    steps = rolls.shape[2] + 4 * q                                # a bar of rest after each phrase
    mix = np.zeros(int(round(len(rolls) * steps * step_s * rate)) + int(5 * RELEASE * rate) + 1, np.float32)
    waves: dict[tuple[int, int], np.ndarray] = {}                 # one wave per (pitch, length), reused
    for n, roll in enumerate(rolls):
        for _, p, a, b in notes_of(roll):
            w = waves.get((p, b - a))
            if w is None:
                w = waves[p, b - a] = 0.15 * note_wave(int(out["pitch_low"]) + p, (b - a) * step_s, rate)
            s = int(round((n * steps + a) * step_s * rate))
            mix[s:s + len(w)] += w[:len(mix) - s]
    peak = float(np.abs(mix).max()) if len(mix) else 0.0
    return mix * (0.9 / peak) if peak > 0.9 else mix


def fluidsynth_render(rolls: np.ndarray, out: dict[str, Any]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = os.path.join(tmp, "in.mid"), os.path.join(tmp, "out.wav")
        with open(mid, "wb") as f:
            f.write(midi_bytes(rolls, out))
        cmd = ["fluidsynth", "-ni", "-g", "0.8", "-r", str(int(out["rate"])), "-F", wav, SOUNDFONT, mid]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not os.path.isfile(wav):
            raise GanforgeError(f"fluidsynth failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}; "
                                "set music.synth=builtin")
        with open(wav, "rb") as f:
            return f.read()


@WRITERS.register("music-wav")
def write_music_wav(path: str, out: dict[str, Any], most: int | None = None) -> None:
    """The first ``most`` phrases (all by default) as one WAV file."""
    try:
        data = render_wav(np.asarray(out["x"])[:most], out)
    except OSError as e:
        raise write_failed(path, e) from None
    write_bytes(path, data, out.get("provenance"))


def render_wav(rolls: np.ndarray, out: dict[str, Any]) -> bytes:
    """WAV bytes of the phrases ``rolls`` (N, tracks, steps, pitches)."""
    if which_synth(out.get("synth", "auto")) == "fluidsynth":
        return fluidsynth_render(rolls, out)
    return wav_bytes(builtin_render(rolls, out), int(out["rate"]))


__all__ = ["write_music_wav", "render_wav", "builtin_render", "note_wave", "fluidsynth_ready", "which_synth",
           "SOUNDFONT", "INSTALL_FLUIDSYNTH"]
