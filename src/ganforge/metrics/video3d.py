"""The ``clip3d-mnist`` feature space: a small 3-D CNN trained on real Moving MNIST clips, an offline FVD analogue.

FVD (Unterthiner et al. 2018) is the Frechet distance in the features of an action-recognition network (I3D),
whose weights are downloaded; this one is trained here on the clips it judges. ``Clip3DNet`` reads a whole clip
(1, 16, 32, 32) in [-1, 1] through four 3-D convolutions (16, 32, 64, 128 channels; the first halves space only,
the others halve time and space; LeakyReLU 0.2), a dense layer to 32 features (ReLU: the feature space; few, so
that the Frechet distance of a few hundred clips is not dominated by its small-sample bias), and two heads: the
digit (10 classes) and the direction of the first move (4 classes: up or down, times left or right).
The direction head makes the features see motion: a network that only had to name the digit could ignore time.
benchmarks/train_video_extractor.py trains it on clips built as the `moving-mnist` preset builds them (MNIST test
images 0-7999) and tests it on the held-out clips (images 8000-9999); the weights ship with a card of their
held-out accuracies and sha256. Not comparable with published FVD figures.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ..core.errors import DataError
from .extractors import WEIGHTS_DIR, Extractor, ExtractorSpec, load_checked, register_extractor

NAME = "clip3d-mnist"
SHAPE = (1, 16, 32, 32)
TRAIN_SCRIPT = "python benchmarks/train_video_extractor.py"


class Clip3DNet(nn.Module):
    def __init__(self, width: int = 16, features: int = 32) -> None:
        super().__init__()
        w = [1, width, 2 * width, 4 * width, 8 * width]
        kernels = [((3, 4, 4), (1, 2, 2), (1, 1, 1))] + [(4, 2, 1)] * 3     # (kernel, stride, padding)
        self.convs = nn.ModuleList(nn.Conv3d(a, b, k, s, p) for (a, b), (k, s, p) in zip(zip(w, w[1:]), kernels))
        self.fc = nn.Linear(8 * width * 2 * 2 * 2, features)
        self.digit = nn.Linear(features, 10)
        self.direction = nn.Linear(features, 4)

    def body(self, x: Tensor) -> Tensor:
        """Clips (N, 1, 16, 32, 32) -> features (N, 32)."""
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return F.relu(self.fc(x.flatten(1)))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.digit(h), self.direction(h)


def first_direction(traj: Tensor) -> Tensor:
    """Trajectories (N, digits, T, 2) of (row, column) centres -> the first digit's first move as 0..3:
    2 * (moving down) + (moving right). Moving MNIST velocities are never 0 on an axis."""
    move = traj[:, 0, 1] - traj[:, 0, 0]
    return 2 * (move[:, 0] > 0).long() + (move[:, 1] > 0).long()


class Clip3DExtractor(Extractor):
    name = NAME

    def __init__(self, net: Clip3DNet, card: dict, sha256: str) -> None:
        super().__init__()
        self.net, self.card, self.sha256, self.dim = net, card, sha256, net.fc.out_features
        self.finish()

    def features(self, x: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != SHAPE:
            raise DataError(f"the {NAME} extractor takes Moving MNIST clips {SHAPE} (N, C, T, H, W), got "
                            f"{tuple(x.shape)}; use --extractor lenet-video")
        return self.net.body(x.float())

    def logits(self, x: Tensor) -> Tensor:
        return self.net.digit(self.features(x))

    def describe(self) -> dict[str, Any]:
        return {**{k: v for k, v in self.card.items() if k not in ("sha256", "provenance")}, **super().describe()}


def load_clip3d(path: str | None = None) -> Clip3DExtractor:
    weights = WEIGHTS_DIR / f"{NAME}.safetensors" if path is None else Path(path)
    net, card, digest = load_checked(weights, lambda card: Clip3DNet(int(card.get("width", 16)),
                                                                     int(card.get("features", 32))),
                                     f"run `{TRAIN_SCRIPT}` to rebuild it")
    return Clip3DExtractor(net, card, digest)


def _moving_mnist_clips(info: dict) -> bool:
    return info.get("kind") == "video" and tuple(info.get("shape") or ()) == SHAPE


register_extractor(NAME, ExtractorSpec(lambda path=None: load_clip3d(path), ("path",),
                                       default_for=lambda info: 20 if _moving_mnist_clips(info) else None))

__all__ = ["Clip3DNet", "Clip3DExtractor", "load_clip3d", "first_direction", "NAME", "SHAPE"]
