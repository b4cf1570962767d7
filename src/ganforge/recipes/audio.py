"""Audio recipes: WaveGAN-class on raw waveforms and SpecGAN-class on spectrograms (Donahue et al. 2019).

Both are the GAN recipe (phases, losses, EMA, packing, top-k ...) on sound:
- ``wavegan``: G and D are the ``wavegan`` network family (nets/wave.py: 1-D transposed convolutions,
  phase shuffle in D) on clips (1, audio.samples).
- ``specgan``: the real clips become log-magnitude spectrograms log(1 + |STFT| / audio.spec_eps)
  (audio.n_fft, audio.hop; the Nyquist bin and the last frame dropped), normalised per frequency bin with
  the training set's mean and standard deviation, clipped at audio.spec_clip (3) standard deviations and
  scaled to [-1, 1] as in the paper, and the image networks (DCGAN) learn them; generated spectrograms are
  turned back into sound by Griffin-Lim (audio.griffin_lim iterations of torch.stft / istft, phases started
  at random from a fixed seed). A small spec_eps (0.01) keeps silence on the log scale, so G's small errors
  there stay quiet instead of becoming hiss; measured on FSDD it put samples on the real data (precision) but
  lowered the Inception-score analogue and class accuracy and varied more between seeds, so 1 stays the default.
  The recipe owns both directions.
Both write WAV files (a folder of clips, or one file of clips in a row) and spectrogram grids; the
training grid is both, the report shows the pictures with a player for the sound. Evaluation compares
generated clips with the held-out files (audio.holdout_pattern) when there are any.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core.errors import ConfigError
from ..data.audio import griffin_lim, spectrogram
from .base import Batch, register_recipe
from .gan import GANRecipe


@dataclass
class AudioConfig:
    rate: int = 16000           # sample rate every clip is converted to
    samples: int = 16384        # clip length in samples (WaveGAN: L0 * 4^k, e.g. 8192, 16384)
    crop: str = "center"        # center | start: which part of a longer clip is kept (shorter ones get silence)
    normalize: bool = True      # scale each clip so its peak is 0.95
    min_samples: int = 0        # drop clips shorter than this (counted in data.json)
    label_pattern: str = ""     # regex with one group on the file name that gives the class ("" = sub-folders)
    holdout_pattern: str = ""   # files whose name matches are held out for evaluation, never trained on
    n_fft: int = 256            # specgan: STFT size (n_fft / 2 frequency bins are kept)
    hop: int = 128              # specgan: STFT hop (samples / hop frames are kept)
    griffin_lim: int = 32       # specgan: Griffin-Lim iterations from spectrogram back to sound
    spec_clip: float = 3.0      # specgan: per-bin standardised log-magnitudes are clipped at this many std
    spec_eps: float = 1.0       # magnitude where the log scale starts: log(1 + |STFT| / spec_eps) (1 = log1p)

    def validate(self) -> None:
        if self.crop not in ("center", "start"):
            raise ConfigError(f"audio.crop = {self.crop!r} is not one of: center, start")
        for key in ("rate", "samples", "n_fft", "hop", "griffin_lim", "spec_clip", "spec_eps"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"audio.{key} must be positive, got {getattr(self, key)}")


_GAN = {"model": {"z_dim": 64, "g_width": 16, "d_width": 16, "d_norm": "spectral"}, "loss": {"kind": "hinge"},
        "optim": {"g_lr": 2e-4, "d_lr": 2e-4, "g_betas": (0.5, 0.9), "d_betas": (0.5, 0.9)},
        "train": {"batch": 32, "steps": 4000, "n_grid": 16, "sample_every": 500, "ckpt_every": 500,
                  "ema_beta": 0.999}}
_FSDD = {"data": {"source": "audio", "path": "fsdd/recordings"},
         "audio": {"rate": 8000, "samples": 8192, "label_pattern": r"^(\d)_", "holdout_pattern": r"_[0-4]\.wav$",
                   "n_fft": 256, "hop": 64}}
WAVE_PRESETS = {"audio": {**_GAN, "data": {"source": "audio"}, "model": {**_GAN["model"], "recipe": "wavegan"}},
                "fsdd": {**_GAN, **_FSDD, "model": {**_GAN["model"], "recipe": "wavegan", "conditional": True}}}
SPEC_PRESETS = {"fsdd-spec": {**_GAN, **_FSDD,
                              "model": {**_GAN["model"], "recipe": "specgan", "conditional": True, "arch": "dcgan"}}}


class _Sound:
    """What both audio recipes share: the section, the files they write, held-out evaluation."""

    section, config = "audio", AudioConfig
    explorable = False
    condition_help = {"label": "class index"}

    @property
    def formats(self) -> dict[str, str]:
        return {".png": "spectrogram-grid", ".wav": "wav", "": "wav-folder", ".npz": "npz"}

    def waves(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs

    def to_output(self, outputs: torch.Tensor, inputs: dict | None = None) -> dict:
        a = self.settings()
        x = self.waves(outputs).float().cpu()
        out = {"x": x.numpy(), "rate": a.rate, "spec": spectrogram(x, a.n_fft, a.hop, a.spec_eps).numpy(),
               "class_names": self.data_info.get("class_names")}
        if inputs is not None and "y" in inputs:
            out["y"] = inputs["y"].cpu().numpy()
        return out

    def save_samples(self, outputs, path: str, inputs=None) -> str:
        path, ext = self.output_path(path)
        out = self.to_output(outputs, inputs)
        if ext == ".npz":
            out = {k: out[k] for k in ("x", "y") if k in out}
        return self.write(self.formats[ext], path, out)

    def save_grid(self, outputs, stem: str, inputs=None) -> list[str]:
        out = self.to_output(outputs, inputs)
        nrow = self.num_classes if self.num_classes and self.num_classes <= 16 else None
        return [self.write("spectrogram-grid", stem + ".png", out, nrow=nrow), self.write("wav", stem + ".wav", out)]

    def eval_samples(self, data, n: int, seed: int, truncation: float | None = None):
        """Generated clips against the held-out files when audio.holdout_pattern names some."""
        real = data
        if self.settings().holdout_pattern:
            from ..data.audio import load_part
            real = load_part(self.cfg, self.cfg.train.seed, "test")
        drawn = self.sample_inputs(n, seed=seed)
        fake = self.waves(self.generate(self.truncate(drawn, truncation)))
        return real.x, fake, {"fake_labels": drawn.get("y"), "real_labels": real.y}

    def eval_checks(self, real: torch.Tensor, fake: torch.Tensor, seed: int) -> dict[str, float]:
        from ..metrics.audio import signal_checks
        return signal_checks(real, fake, self.settings().rate, seed)


@register_recipe
class WaveGANRecipe(_Sound, GANRecipe):
    name = "wavegan"
    data_kinds = ("audio",)
    presets = WAVE_PRESETS


@register_recipe
class SpecGANRecipe(_Sound, GANRecipe):
    name = "specgan"
    data_kinds = ()
    presets = SPEC_PRESETS

    def __init__(self, cfg, data_info: dict, device: torch.device):
        a = cfg.section("audio")
        frames, bins = int(data_info["shape"][-1]) // a.hop, a.n_fft // 2
        if frames != bins:
            raise ConfigError(f"specgan draws square spectrograms: audio.n_fft / 2 = {bins} bins, audio.samples / "
                              f"audio.hop = {frames} frames; make them equal (e.g. n_fft 256, hop 64 for 8192 samples)")
        if "spec_eps" not in data_info:      # runs made before spec_eps existed took log(1 + |STFT|)
            a.spec_eps = 1.0
        taken = {k: data_info.get(k, a.spec_eps if k == "spec_eps" else None) for k in ("n_fft", "hop", "spec_eps")}
        if taken != {k: getattr(a, k) for k in taken}:
            raise ConfigError(f"the data's spectrogram statistics were taken with audio.n_fft / hop / spec_eps = "
                              f"{taken['n_fft']} / {taken['hop']} / {taken['spec_eps']}, not {a.n_fft} / {a.hop} / "
                              f"{a.spec_eps}; set them back")
        self.wave_info = data_info
        super().__init__(cfg, {**data_info, "kind": "image", "shape": [1, bins, frames]}, device)
        self.data_info = data_info
        self.mean = torch.tensor(data_info["spec_mean"], device=device).view(1, 1, -1, 1)
        self.std = torch.tensor(data_info["spec_std"], device=device).view(1, 1, -1, 1)

    def to_spec(self, x: torch.Tensor) -> torch.Tensor:
        """Clips (N, 1, S) -> normalised spectrograms (N, 1, F, T) in [-1, 1]."""
        a = self.settings()
        s = spectrogram(x, a.n_fft, a.hop, a.spec_eps).unsqueeze(1)
        return ((s - self.mean) / (a.spec_clip * self.std)).clamp(-1, 1)

    def real_x(self, batch: Batch) -> torch.Tensor:
        return self.to_spec(batch.x)

    def waves(self, outputs: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """Spectrograms (N, 1, F, T) -> clips (N, 1, S) by Griffin-Lim."""
        a = self.settings()
        log_mag = outputs.float() * a.spec_clip * self.std + self.mean
        mag = (a.spec_eps * torch.expm1(log_mag)).clamp_min(0)[:, 0]                               # (N, F, T)
        mag = torch.nn.functional.pad(mag, (0, 1, 0, 1))           # the dropped Nyquist bin and last frame
        length = int(self.wave_info["shape"][-1])
        return griffin_lim(mag, a.n_fft, a.hop, a.griffin_lim, length, seed).clamp(-1, 1).unsqueeze(1)


__all__ = ["WaveGANRecipe", "SpecGANRecipe", "AudioConfig"]
