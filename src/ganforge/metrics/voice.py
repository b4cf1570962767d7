"""Figures of voice conversion: who is speaking, and is it still the same word.

- The speaker classifier ``fsdd-speakers``: the spoken-digit CNN of metrics/audio.py (DigitNet) with one output
  per speaker, over log-magnitude spectrograms log(1 + |STFT|) (n_fft 128, hop 64, the Nyquist bin and last frame
  dropped: the features the ``fsdd-speakers`` preset converts) standardised per clip, so loudness does not decide.
  Trained on the training recordings (index 5-49) of the two speakers by ``python
  benchmarks/train_speaker_classifier.py`` and shipped in ganforge/weights with its held-out accuracy and sha256.
- ``speaker_share``: the share of clips the speaker classifier assigns to a speaker; on converted clips, with the
  target speaker, the conversion's success rate.
- ``digit_accuracy``: the shipped FSDD digit classifier (``fsdd-mel``) on clips centred in its 8,192 samples,
  against the digits spoken: does the conversion keep the word.
- ``median_f0``: the median pitch of the voiced frames (autocorrelation), to see whether the voice's pitch moved
  toward the target speaker's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..core.errors import DataError
from ..data.audio import spectrogram
from .audio import DigitNet, standardise
from .extractors import WEIGHTS_DIR, load_checked

N_FFT, HOP = 128, 64
TRAIN_SCRIPT = "python benchmarks/train_speaker_classifier.py"


def speaker_features(x: Tensor) -> Tensor:
    """Clips (N, 1, S) -> per-clip standardised log-magnitude spectrograms (N, 1, 64, S / 64)."""
    if x.ndim != 3 or x.shape[1] != 1:
        raise DataError(f"speaker features take clips (N, 1, samples), got shape {tuple(x.shape)}")
    return standardise(spectrogram(x.float(), N_FFT, HOP)).unsqueeze(1)


class SpeakerClassifier:
    def __init__(self, net: DigitNet, card: dict[str, Any], sha256: str) -> None:
        self.net, self.card, self.sha256 = net.eval(), card, sha256
        self.speakers = list(card["speakers"])

    @torch.no_grad()
    def classify(self, x: Tensor, batch: int = 256) -> Tensor:
        """The index (in ``speakers``) of the speaker of each clip (N, 1, S)."""
        return torch.cat([self.net(speaker_features(x[i:i + batch])).argmax(1) for i in range(0, len(x), batch)])


def load_speaker_classifier(path: str | None = None) -> SpeakerClassifier:
    weights = WEIGHTS_DIR / "fsdd-speakers.safetensors" if path is None else Path(path)
    net, card, digest = load_checked(weights, lambda card: DigitNet(len(card.get("speakers", [0, 0]))),
                                     f"run `{TRAIN_SCRIPT}` to rebuild it")
    return SpeakerClassifier(net, card, digest)


def speaker_share(x: Tensor, speaker: str, clf: SpeakerClassifier) -> float:
    """Share of clips ``x`` the classifier assigns to ``speaker``."""
    if speaker not in clf.speakers:
        raise DataError(f"the speaker classifier knows {', '.join(clf.speakers)}, not {speaker!r}; train one for "
                        f"these speakers with `{TRAIN_SCRIPT}`")
    return float((clf.classify(x) == clf.speakers.index(speaker)).float().mean())


def centre(x: Tensor, samples: int) -> Tensor:
    """Clips (N, 1, S) centred in ``samples`` (silence either side), or their middle when longer."""
    n = x.shape[-1]
    if n >= samples:
        s = (n - samples) // 2
        return x[..., s:s + samples]
    s = (samples - n) // 2
    return torch.nn.functional.pad(x, (s, samples - n - s))


def digit_accuracy(x: Tensor, digits: Tensor, clf=None) -> float:
    """The FSDD digit classifier's accuracy on clips ``x`` (8 kHz) against the digits spoken."""
    if clf is None:
        from .audio import load_digit_classifier
        clf = load_digit_classifier()
    pred = clf.classify_channels(centre(x.float(), int(clf.card["samples"])))
    return float((pred == digits.cpu()).float().mean())


def median_f0(x: Tensor, rate: int, frame: int = 400, lo_hz: float = 60.0, hi_hz: float = 400.0) -> tuple[float, float]:
    """(median pitch in Hz over the voiced frames of clips (N, 1, S), share of frames voiced). Frames of ``frame``
    samples every half frame; a frame is voiced when its RMS is at least 5% of its clip's peak and its
    autocorrelation peak between lags rate / hi_hz and rate / lo_hz is at least 0.4 of the lag-0 value; its pitch is
    rate / that lag. NaN when no frame is voiced."""
    x = x.reshape(len(x), -1).float()
    frames = x.unfold(1, frame, frame // 2)                                    # (N, F, frame)
    loud = frames.pow(2).mean(-1).sqrt() >= 0.05 * x.abs().amax(1, keepdim=True)
    f = frames - frames.mean(-1, keepdim=True)
    spec = torch.fft.rfft(f, 2 * frame)
    ac = torch.fft.irfft(spec.abs() ** 2, 2 * frame)[..., :frame]              # autocorrelation, lags 0..frame-1
    lo, hi = int(rate / hi_hz), int(rate / lo_hz)
    peak, lag = ac[..., lo:hi].max(-1)
    voiced = loud & (peak >= 0.4 * ac[..., 0]) & (ac[..., 0] > 0)
    pitch = rate / (lag[voiced] + lo).float()
    return (float(pitch.median()) if len(pitch) else float("nan")), float(voiced.float().mean())


__all__ = ["median_f0", "speaker_features", "SpeakerClassifier", "load_speaker_classifier", "speaker_share",
           "digit_accuracy", "centre", "N_FFT", "HOP"]
