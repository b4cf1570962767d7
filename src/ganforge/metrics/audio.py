"""Feature spaces for sound: log-mel statistics for any audio, and a spoken-digit classifier for FSDD-like clips.

Log-mel: power spectrogram (Hann window, n_fft 256, hop 64), 40 triangular mel bands (the HTK mel scale,
m = 2595 log10(1 + f / 700), 0 Hz to half the sample rate), log(1e-6 + energy).

- ``mel-stats``: per band, the mean and standard deviation over time of the log-mel energies and the mean
  absolute frame-to-frame change (120 features); no weights, so it works on any folder of sound.
- ``fsdd-mel``: the penultimate features (128) of a small CNN over log-mel images that classifies spoken
  digits, trained on the FSDD training split by ``python benchmarks/train_audio_classifier.py`` and
  shipped in ganforge/weights with its held-out accuracy and sha256 (as WaveGAN's SC09 classifier, in
  spirit). Its class scores give the Inception-score analogue and the class accuracy of conditional
  samples. The default for 8 kHz clips of 8,192 samples.

``signal_checks``: figures on the clips themselves, each beside the same figure for real clips: the share
of silent frames (frames of 256 samples whose RMS is under -40 dBFS), the share of clipped samples
(|x| >= 0.99), the mean spectral centroid (Hz; per clip, the power-weighted mean frequency of its STFT),
and the 1-D Wasserstein distance between the per-clip centroids of generated and real clips, with its
real-vs-real floor (the floor protocol of metrics/registry.py).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..core.errors import DataError
from .extractors import WEIGHTS_DIR, Extractor, ExtractorSpec, load_checked, register_extractor

N_FFT, HOP, N_MELS = 256, 64, 40
TRAIN_SCRIPT = "python benchmarks/train_audio_classifier.py"


def mel_filterbank(n_fft: int, rate: int, n_mels: int) -> Tensor:
    """(n_mels, n_fft // 2 + 1) triangular filters evenly spaced on the HTK mel scale."""
    mel = lambda f: 2595.0 * math.log10(1.0 + f / 700.0)  # noqa: E731
    edges_mel = torch.linspace(0.0, mel(rate / 2), n_mels + 2, dtype=torch.float64)
    edges = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)                       # Hz
    freqs = torch.linspace(0.0, rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs - lo) / (mid - lo)
    down = (hi - freqs) / (hi - mid)
    return torch.clamp(torch.minimum(up, down), min=0.0).float()


def log_mel(x: Tensor, rate: int, n_fft: int = N_FFT, hop: int = HOP, n_mels: int = N_MELS) -> Tensor:
    """Clips (N, 1, S) or (N, S) -> log-mel energies (N, n_mels, frames)."""
    if x.ndim == 3:
        x = x[:, 0]
    if x.ndim != 2:
        raise DataError(f"audio features take clips (N, 1, samples), got shape {tuple(x.shape)}")
    spec = torch.stft(x.float(), n_fft, hop, window=torch.hann_window(n_fft, device=x.device), return_complex=True)
    power = spec.real ** 2 + spec.imag ** 2                                          # (N, F, T)
    fb = mel_filterbank(n_fft, rate, n_mels).to(x.device)
    return torch.log(1e-6 + torch.einsum("mf,nft->nmt", fb, power))


class MelStats(Extractor):
    name = "mel-stats"

    def __init__(self, rate: int = 16000) -> None:
        super().__init__()
        self.rate, self.dim = int(rate), 3 * N_MELS
        self.sha256 = f"mel-stats-v1-rate{self.rate}-fft{N_FFT}-hop{HOP}-mels{N_MELS}"
        self.finish()

    def features(self, x: Tensor) -> Tensor:
        m = log_mel(x, self.rate)
        return torch.cat([m.mean(2), m.std(2), (m[:, :, 1:] - m[:, :, :-1]).abs().mean(2)], 1)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "rate": self.rate, "n_fft": N_FFT, "hop": HOP, "n_mels": N_MELS}


class DigitNet(nn.Module):
    """A CNN over (1, 40, T) log-mel images: three 3x3 blocks with max-pooling, global average pooling,
    128 features, 10 classes."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        block = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())  # noqa: E731
        self.body = nn.Sequential(block(1, 16), nn.MaxPool2d(2), block(16, 32), nn.MaxPool2d(2), block(32, 64),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 128), nn.ReLU())
        self.drop, self.head = nn.Dropout(0.3), nn.Linear(128, classes)

    def forward(self, m: Tensor) -> Tensor:
        return self.head(self.drop(self.body(m)))


def standardise(m: Tensor) -> Tensor:
    """Per clip: zero mean and unit variance of the log-mel image, so loudness does not decide the class."""
    return (m - m.mean((1, 2), keepdim=True)) / m.std((1, 2), keepdim=True).clamp_min(1e-3)


class DigitExtractor(Extractor):
    name = "fsdd-mel"

    def __init__(self, net: DigitNet, card: dict, sha256: str) -> None:
        super().__init__()
        self.net, self.card, self.sha256 = net, card, sha256
        self.rate, self.dim, self.classes = int(card["rate"]), 128, net.head.out_features
        self.finish()

    def _mel(self, x: Tensor) -> Tensor:
        return standardise(log_mel(x, self.rate)).unsqueeze(1)        # (N, 1, 40, T)

    def features(self, x: Tensor) -> Tensor:
        return self.net.body(self._mel(x))

    def logits(self, x: Tensor) -> Tensor:
        return self.net.head(self.features(x))

    @torch.no_grad()
    def classify_channels(self, x: Tensor, batch: int = 500) -> Tensor:
        """The digit of each clip (the label_modes interface of the image classifiers)."""
        return torch.cat([self.logits(x[i:i + batch]).argmax(1).cpu() for i in range(0, len(x), batch)])

    def describe(self) -> dict[str, Any]:
        return {**{k: v for k, v in self.card.items() if k != "sha256"}, **super().describe()}


def load_digit_classifier(path: str | None = None) -> DigitExtractor:
    weights = WEIGHTS_DIR / "fsdd-mel.safetensors" if path is None else Path(path)
    net, card, digest = load_checked(weights, lambda card: DigitNet(int(card.get("classes", 10))),
                                     f"run `{TRAIN_SCRIPT}` to rebuild it")
    return DigitExtractor(net, card, digest)


SILENCE_DB, CLIP_AT, FRAME = -40.0, 0.99, 256


def clip_stats(x: Tensor, rate: int) -> dict[str, Tensor]:
    """Per clip (N, 1, S): share of silent frames, share of clipped samples, spectral centroid in Hz."""
    x = x.reshape(len(x), -1).float()
    usable = x.shape[1] // FRAME * FRAME
    if usable == 0:
        raise DataError(f"signal checks need clips of at least {FRAME} samples, got {x.shape[1]}")
    rms = x[:, :usable].reshape(len(x), -1, FRAME).pow(2).mean(-1).sqrt()
    silent = (20 * torch.log10(rms + 1e-12) < SILENCE_DB).float().mean(1)
    clipped = (x.abs() >= CLIP_AT).float().mean(1)
    spec = torch.stft(x, N_FFT, HOP, window=torch.hann_window(N_FFT, device=x.device), return_complex=True)
    power = (spec.real ** 2 + spec.imag ** 2).sum(2)                                  # (N, F) over time
    freqs = torch.linspace(0.0, rate / 2, power.shape[1], device=x.device)
    centroid = (power * freqs).sum(1) / power.sum(1).clamp_min(1e-12)
    return {"silence": silent, "clipping": clipped, "centroid_hz": centroid}


def _w1(a: np.ndarray, b: np.ndarray) -> float:
    """1-D Wasserstein-1 distance of two samples of the same size."""
    return float(np.abs(np.sort(a) - np.sort(b)).mean())


def signal_checks(real: Tensor, fake: Tensor, rate: int, seed: int = 0) -> dict[str, float]:
    """Silence, clipping and spectral centroid of generated clips, each next to real clips' (module docstring)."""
    from .registry import floor_split
    r, f = clip_stats(real, rate), clip_stats(fake, rate)
    out: dict[str, float] = {}
    for k in ("silence", "clipping", "centroid_hz"):
        out[k], out[k + "_real"] = float(f[k].mean()), float(r[k].mean())
    ia, ib, jf, _ = floor_split(len(real), len(fake), seed)
    c_real, c_fake = r["centroid_hz"].cpu().numpy(), f["centroid_hz"].cpu().numpy()
    out["centroid_w1"] = _w1(c_real[ia], c_fake[jf])
    out["centroid_w1_floor"] = _w1(c_real[ia], c_real[ib])
    return out


def _audio(info: dict, rate: int | None = None, samples: int | None = None) -> bool:
    return (info.get("kind") == "audio" and (rate is None or info.get("rate") == rate)
            and (samples is None or list(info.get("shape") or [])[-1:] == [samples]))


register_extractor("mel-stats", ExtractorSpec(lambda rate=16000: MelStats(rate), ("rate",),
                                              default_for=lambda info: 5 if _audio(info) else None,
                                              configure=lambda info: {"rate": int(info.get("rate", 16000))}))
register_extractor("fsdd-mel", ExtractorSpec(lambda path=None: load_digit_classifier(path), ("path",),
                                             default_for=lambda info: 10 if _audio(info, 8000, 8192) else None,
                                             labels=lambda info: _audio(info, 8000, 8192)))

__all__ = ["log_mel", "mel_filterbank", "MelStats", "DigitNet", "DigitExtractor", "load_digit_classifier",
           "standardise", "clip_stats", "signal_checks"]
