"""Feature spaces for piano-rolls (N, K tracks, T steps, P pitches) of 0 / 1, for FD, KID and precision / recall.

- ``chorale-phrases``: the 128 penultimate features of a small CNN trained on real chorale phrases (the
  ``chorales`` preset's training scores) to tell a real phrase from three corruptions of it (Corruptions below):
  features that respond to wrong harmony, broken phrase order and incoherent counterpoint. Trained by
  ``python benchmarks/train_music_extractor.py`` and shipped in ganforge/weights with its card (held-out accuracy
  on the held-out chorales, sha256, settings). The default for rolls of the chorales' shape (4, 64, 48).
- ``pianoroll-stats`` (no weights; any shape): per track the share of steps each pitch sounds (P), the share of
  phrases' steps that sound at each step (T) and the normalised pitch-class histogram (12).

Corruptions (one per example, drawn uniformly): 0 none; 1 one track moved by 1-6 semitones up or down (pitches
shifted off the roll are lost); 2 the bars of the phrase in a random order other than their own; 3 one track
replaced by the same track of another phrase of the batch.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..core.errors import DataError
from .extractors import WEIGHTS_DIR, Extractor, ExtractorSpec, load_checked, register_extractor

TRAIN_SCRIPT = "python benchmarks/train_music_extractor.py"
CLASSES = ("real", "track transposed", "bars shuffled", "track swapped")
SHAPE = (4, 64, 48)


class PhraseNet(nn.Module):
    """Two streams joined into 128 features and len(CLASSES) logits. The roll: tracks as channels of 2-D
    convolutions over (steps, pitches), an octave-wide pitch filter then three strided blocks, global average
    pooling (64). The chroma: each track's roll folded into 12 pitch classes, the K x 12 classes as channels of
    1-D convolutions over time (harmony between voices whatever their octaves), global average pooling (64)."""

    def __init__(self, tracks: int = 4, classes: int = len(CLASSES)) -> None:
        super().__init__()
        conv = lambda i, o, k, s, p: nn.Sequential(nn.Conv2d(i, o, k, s, p), nn.ReLU())  # noqa: E731
        conv1 = lambda i, o, s: nn.Sequential(nn.Conv1d(i, o, 4, s, 1 if s == 2 else 0), nn.ReLU())  # noqa: E731
        self.roll = nn.Sequential(conv(tracks, 16, (1, 12), 1, (0, 6)), conv(16, 32, (4, 3), 2, 1),
                                  conv(32, 32, (4, 3), 2, 1), conv(32, 64, (4, 3), 2, 1),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.chroma = nn.Sequential(conv1(12 * tracks, 64, 1), conv1(64, 64, 2), conv1(64, 64, 2),
                                    nn.AdaptiveAvgPool1d(1), nn.Flatten())
        self.join = nn.Sequential(nn.Linear(128, 128), nn.ReLU())
        self.head = nn.Linear(128, classes)

    def body(self, x: Tensor) -> Tensor:
        B, K, T, P = x.shape
        c = x.view(B, K, T, P // 12, 12).amax(3).permute(0, 1, 3, 2).reshape(B, K * 12, T)   # (B, K*12, T)
        return self.join(torch.cat([self.roll(x), self.chroma(c)], 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def corrupt(x: Tensor, bar_steps: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """(corrupted copies of phrases x (B, K, T, P), their class 0..3); see the module docstring."""
    B, K, T, P = x.shape
    y = torch.randint(0, len(CLASSES), (B,), generator=g)
    out = x.clone()
    track = torch.randint(0, K, (B,), generator=g)
    for i in range(B):
        k, c = int(track[i]), int(y[i])
        if c == 1:
            s = int(torch.randint(1, 7, (1,), generator=g)) * (1 if torch.rand(1, generator=g) < 0.5 else -1)
            out[i, k] = torch.roll(x[i, k], s, dims=1)
            out[i, k, :, (slice(0, s) if s > 0 else slice(P + s, P))] = 0
        elif c == 2:
            bars = T // bar_steps
            order = torch.randperm(bars, generator=g)
            while bool((order == torch.arange(bars)).all()):
                order = torch.randperm(bars, generator=g)
            out[i] = x[i].view(K, bars, bar_steps, P)[:, order].reshape(K, T, P)
        elif c == 3:
            out[i, k] = x[(i + 1 + int(torch.randint(0, B - 1, (1,), generator=g))) % B, k]
    return out, y


class PhraseExtractor(Extractor):
    name = "chorale-phrases"

    def __init__(self, net: PhraseNet, card: dict, sha256: str) -> None:
        super().__init__()
        self.net, self.card, self.sha256, self.dim = net, card, sha256, 128
        self.finish()

    def features(self, x: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != tuple(self.card["shape"]):
            raise DataError(f"the {self.name} extractor takes piano-rolls {tuple(self.card['shape'])}, got "
                            f"{tuple(x.shape[1:])}; use --extractor pianoroll-stats")
        return self.net.body((x > 0.5).float())

    def describe(self) -> dict[str, Any]:
        return {**{k: v for k, v in self.card.items() if k != "sha256"}, **super().describe()}


def load_phrase_net(path: str | None = None) -> PhraseExtractor:
    weights = WEIGHTS_DIR / "chorale-phrases.safetensors" if path is None else Path(path)
    net, card, digest = load_checked(weights, lambda card: PhraseNet(int(card["shape"][0]),
                                                                     len(card.get("classes", CLASSES))),
                                     f"run `{TRAIN_SCRIPT}` to rebuild it")
    return PhraseExtractor(net, card, digest)


class RollStats(Extractor):
    name = "pianoroll-stats"

    def __init__(self) -> None:
        super().__init__()
        self.sha256 = "pianoroll-stats-v1"
        self.finish()

    def features(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise DataError(f"the {self.name} extractor takes piano-rolls (N, tracks, steps, pitches), got shape "
                            f"{tuple(x.shape)}")
        x = (x > 0.5).float()
        P = x.shape[-1]
        pcm = nn.functional.one_hot(torch.arange(P, device=x.device) % 12, 12).float()
        pc = x.sum(2) @ pcm
        pc = pc / pc.sum(-1, keepdim=True).clamp_min(1)
        return torch.cat([x.mean(2).flatten(1), x.amax(3).flatten(1), pc.flatten(1)], 1)


def _roll(info: dict, shape: tuple | None = None) -> bool:
    return info.get("kind") == "pianoroll" and (shape is None or tuple(info.get("shape") or ()) == shape)


register_extractor("chorale-phrases", ExtractorSpec(lambda path=None: load_phrase_net(path), ("path",),
                                                    default_for=lambda info: 10 if _roll(info, SHAPE) else None))
register_extractor("pianoroll-stats", ExtractorSpec(lambda: RollStats(), (),
                                                    default_for=lambda info: 5 if _roll(info) else None))

__all__ = ["PhraseNet", "PhraseExtractor", "RollStats", "corrupt", "load_phrase_net", "CLASSES", "SHAPE"]
