"""Voice conversion: the CycleGAN recipe (recipes/cyclegan.py) on log-magnitude spectrograms of two speakers
(data/voice.py), in the spirit of CycleGAN-VC (Kaneko & Kameoka 2018: unpaired, cycle and identity losses, a
fully convolutional generator), here with the image networks as they are.

Training is CycleGAN's, unchanged: the spectrograms are one-channel images (bins x frames) and the ResNet
generator and PatchGAN discriminators are fully convolutional, so they need not be square. What this recipe adds is
sound in and out of ``ganforge sample RUN --input FILE|DIR --out OUT [--direction AtoB|BtoA]``:
- each recording (WAV, FLAC or OGG) is read as the training clips were (mono, the run's rate, peak 0.95, the
  middle audio.samples samples, silence either side of a shorter one) and becomes a standardised spectrogram;
- the direction's generator (the EMA copy) converts it; the converted log-magnitudes are taken back to
  magnitudes (the dropped Nyquist bin and last frame are the input's) and given a phase: voice.phase=griffin-lim
  (default) estimates one by Griffin-Lim (audio.griffin_lim iterations); voice.phase=source takes the input's own
  STFT phase and inverts at once, which keeps the input's pitch (the phase carries the harmonics' timing), so the
  voice changes colour but not pitch;
- the clip is scaled to a peak of 0.95, cut back to the span of a shorter input, and written as 16-bit WAV: OUT a
  folder (the inputs' names and sub-folders, extension .wav), OUT.wav (the clips one after another), OUT.png (rows of
  input and converted spectrograms) or OUT.npz (the clips at full length).
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from ..core.errors import ConfigError, DataError
from ..data.audio import AUDIO_EXTS, fit_clip, griffin_lim, list_audio, read_clip, spectrogram
from ..data.voice import standardise
from .base import register_recipe
from .cyclegan import CycleGANRecipe
from .translate_common import grid_rows, to_uint8
from .translate_presets import CYCLEGAN_PRESETS

VOICE_PRESETS = {
    "fsdd-speakers": {
        **CYCLEGAN_PRESETS["digits2mnist"],
        "model": {"recipe": "voice-cyclegan", "g_width": 16, "d_width": 16},
        "train": {**CYCLEGAN_PRESETS["digits2mnist"]["train"], "batch": 4, "steps": 1000, "sample_every": 250,
                  "ckpt_every": 250},
        "data": {"source": "fsdd-speakers", "path": "fsdd/recordings"},
        "audio": {"rate": 8000, "samples": 6144, "n_fft": 128, "hop": 64, "holdout_pattern": r"_[0-4]\.wav$"},
        "translate": {"generator": "resnet", "res_blocks": 3, "d_layers": 2},
        "voice": {"speaker_a": "george", "speaker_b": "lucas"},
    },
}


@register_recipe
class VoiceRecipe(CycleGANRecipe):
    name = "voice-cyclegan"
    data_kinds = ("spectrogram-unpaired",)
    presets = VOICE_PRESETS
    formats = {"": "wav-folder", ".wav": "wav", ".png": "png-grid", ".npz": "npz"}
    evaluator = "voice"

    def __init__(self, cfg, data_info: dict, device: torch.device):
        super().__init__(cfg, data_info, device)
        keys = ("rate", "samples", "n_fft", "hop", "spec_eps", "spec_clip")
        self.spec = {k: data_info[k] for k in keys}
        self.mean = torch.tensor(data_info["spec_mean"])
        self.std = torch.tensor(data_info["spec_std"])

    # -- sound in ---------------------------------------------------------------------------------
    def accepts(self) -> dict[str, str]:
        return {"input": f"recordings to convert ({' '.join(AUDIO_EXTS)}; the middle {self.spec['samples']} samples "
                         f"at {self.spec['rate']} Hz)", "names": "file names of the inputs",
                "direction": " or ".join(self.directions())}

    def read_input(self, path: str) -> dict[str, Any]:
        """``--input FILE|DIR``: every sound file (below DIR) and their names relative to it."""
        if os.path.isdir(path):
            files = list_audio(path)
            return {"input": files, "names": [os.path.relpath(f, path) for f in files]}
        if not os.path.isfile(path):
            raise DataError(f"--input {path} does not exist")
        if not path.lower().endswith(AUDIO_EXTS):
            raise DataError(f"--input {path} is not a sound file ({' '.join(AUDIO_EXTS)}); a {self.name} run "
                            "converts recordings")
        return {"input": [path], "names": [os.path.basename(path)]}

    def clips(self, files: list[str]) -> tuple[torch.Tensor, list[int]]:
        """Clips (N, 1, samples) read as in training, and each file's length in samples (at most ``samples``)."""
        s, out, lengths = self.spec, [], []
        for path in files:
            x, _, _ = read_clip(path, s["rate"])
            if len(x) and np.abs(x).max() > 0:
                x = x * (0.95 / np.abs(x).max())
            out.append(fit_clip(x, s["samples"], "center"))
            lengths.append(min(len(x), s["samples"]))
        return torch.from_numpy(np.stack(out))[:, None], lengths

    def stft(self, clips: torch.Tensor) -> torch.Tensor:
        s = self.spec
        window = torch.hann_window(s["n_fft"])
        return torch.stft(clips.reshape(len(clips), -1).float(), s["n_fft"], s["hop"], window=window,
                          return_complex=True)

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        """Clips (N, 1, samples) -> standardised spectrograms (N, 1, bins, frames) in [-1, 1]."""
        s = self.spec
        return standardise(spectrogram(clips.float(), s["n_fft"], s["hop"], s["spec_eps"]), self.mean, self.std,
                           s["spec_clip"])

    def sample_inputs(self, n: int = 0, seed: int = 0, seeds=None, conditions=None) -> dict[str, Any]:
        cond = conditions or {}
        direction = cond.get("direction") or "AtoB"
        if direction not in self.directions():
            raise ConfigError(f"a {self.name} run converts AtoB or BtoA, not --direction {direction}")
        src = cond.get("input")
        if src is None:
            raise ConfigError(f"a {self.name} run converts recordings: give --input FILE|DIR (sound files)")
        lengths = None
        if isinstance(src, list):
            src, lengths = self.clips(src)
        src = torch.as_tensor(src).float().cpu()
        if src.ndim != 3 or src.shape[1:] != (1, self.spec["samples"]):
            raise ConfigError(f"a {self.name} run converts clips of shape (N, 1, {self.spec['samples']}), got "
                              f"{tuple(src.shape)}")
        out: dict[str, Any] = {"source": self.features(src).to(self.device), "direction": direction,
                               "stft": self.stft(src), "clips": src}
        if lengths is not None:
            out["lengths"] = lengths
        if cond.get("names") is not None:
            out["names"] = list(cond["names"])
        return out

    # -- sound out --------------------------------------------------------------------------------
    def waves(self, outputs: torch.Tensor, stft: torch.Tensor | None = None, phase: str | None = None) -> torch.Tensor:
        """Converted spectrograms (N, 1, bins, frames) -> clips (N, 1, samples) peaking at 0.95 (module docstring);
        ``phase`` (source | griffin-lim) in place of voice.phase."""
        s = self.spec
        log_mag = outputs[:, 0].float().cpu() * s["spec_clip"] * self.std.view(1, -1, 1) + self.mean.view(1, -1, 1)
        mag = (s["spec_eps"] * torch.expm1(log_mag)).clamp_min(0)
        if stft is None:
            full = torch.nn.functional.pad(mag, (0, 1, 0, 1))
        else:
            full = stft.abs().clone()
            full[:, :-1, :-1] = mag
        if (phase or self.cfg.section("voice").phase) == "source" and stft is not None:
            x = torch.istft(torch.polar(full, stft.angle()), s["n_fft"], s["hop"],
                            window=torch.hann_window(s["n_fft"]), length=s["samples"])
        else:
            x = griffin_lim(full, s["n_fft"], s["hop"], self.cfg.section("audio").griffin_lim, s["samples"])
        peak = x.abs().amax(1, keepdim=True)
        return torch.where(peak > 0, x * 0.95 / peak.clamp_min(1e-12), x).unsqueeze(1)

    def to_output(self, outputs: torch.Tensor, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        inputs = inputs or {}
        x = self.waves(outputs, inputs.get("stft")).numpy()
        out: dict[str, Any] = {"x": x, "rate": self.spec["rate"], "spec": to_uint8(outputs)}
        if "source" in inputs:
            out["source"] = to_uint8(inputs["source"])
        if inputs.get("names") is not None:
            out["names"] = [os.path.splitext(n)[0] + ".wav" for n in inputs["names"]]
        return out

    def save_samples(self, outputs, path: str, inputs=None) -> str:
        path, ext = self.output_path(path)
        out = self.to_output(outputs, inputs)
        if ext == ".png":
            rows = {"x": out["spec"], "source": out.get("source", out["spec"])}
            return self.write("png-grid", path, grid_rows(rows), nrow=len(out["spec"]))
        if ext == ".npz":
            return self.write("npz", path, {"x": out["x"]})
        lengths = (inputs or {}).get("lengths")
        if lengths:                               # a shorter input: back to its own span
            full = self.spec["samples"]
            out["x"] = [c[:, (full - n) // 2:(full - n) // 2 + n] for c, n in zip(out["x"], lengths)]
        return self.write(self.formats[ext], path, {k: v for k, v in out.items() if k not in ("spec", "source")})

    # -- evaluation ---------------------------------------------------------------------------------
    def eval_sets(self, data, n: int) -> dict:
        """The held-out recordings (index 0-4) of both speakers, as spectrograms, with their digits."""
        from ..data.voice import speakers
        p = speakers(self.cfg, self.data_info["path"], "test")
        return {"a": self.features(p["a"][:n]), "b": self.features(p["b"][:n]), "a_clips": p["a"][:n],
                "b_clips": p["b"][:n], "a_digits": p["a_digits"][:n], "b_digits": p["b_digits"][:n],
                "held_out": True}


__all__ = ["VoiceRecipe", "VOICE_PRESETS"]
