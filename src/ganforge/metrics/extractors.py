"""Feature extractors for the offline metrics (FD, KID, k-NN, PRDC, mode counts).

An extractor maps a batch of samples of one modality to ``(N, dim)`` float32 features, runs in eval
mode and is deterministic; every distance metric then works on those features. Extractors register
in ``EXTRACTORS`` with the options they take and the data they are the default feature space for
(``default_for``: a priority, or None); ``default_extractor(info)`` asks them all, so a new modality
adds an extractor, not a branch. Each records a ``sha256`` so a metric protocol names the exact network.

The built-in ones take images ``(N, C, H, W)`` in [-1, 1] (``raw`` takes anything):

- ``raw``          the flattened pixels; no weights.
- ``lenet-mnist``  a LeNet-style classifier trained on MNIST (28x28, 1 channel); 128-D features.
- ``digits``       a small classifier trained on sklearn digits (8x8, 1 channel); 128-D features.
- ``random-conv``  a randomly initialised CNN fixed by a seed (any images); 256-D features.
- ``inception``    the FID Inception-v3 network, loaded from a local file (see ``inception.py``).

Input conversion (done by every extractor's ``features``):
- channels: 3-channel input to a 1-channel network becomes luminance (ITU-R BT.601 weights);
  ``extract(..., channels="split")`` instead runs each channel alone and concatenates the features.
  1-channel input to a 3-channel network is repeated to 3 channels.
- size: images whose side differs from the network's input side are resized bilinearly (antialiased
  when shrinking) to that square side; non-square images are stretched.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.errors import CheckpointError, ConfigError, DataError
from ..core.frozen import file_sha256
from ..core.registry import EXTRACTORS

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
TRAIN_SCRIPT = "python benchmarks/train_extractors.py"
_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601
Info = dict[str, Any]   # a run's data facts: kind, shape, ...


@dataclass(frozen=True)
class ExtractorSpec:
    build: Callable[..., Any]                          # (**options) -> Extractor
    options: tuple[str, ...] = ()                      # the keyword options build takes
    default_for: Callable[[Info], int | None] = lambda info: None   # priority as the default feature space
    labels: Callable[[Info], bool] = lambda info: False  # can label each channel of such samples (classifiers)
    configure: Callable[[Info], dict] = lambda info: {}  # options taken from the data facts (a vocabulary size)


def register_extractor(name: str, spec: ExtractorSpec) -> ExtractorSpec:
    return EXTRACTORS.register(name, spec)


def _image(info: Info, shape: tuple | None = None, side: int | None = None) -> bool:
    s = tuple(info.get("shape") or ())
    return info.get("kind") == "image" and len(s) == 3 and (shape is None or s == shape) and \
        (side is None or s[1:] == (side, side))


class Extractor(nn.Module):
    """Base class; subclasses set the class attributes and implement ``features``."""

    name: str = ""
    dim: int = 0
    sha256: str = ""
    in_channels: int = 0    # 0 = any
    in_size: int = 0        # side of the square input the network runs at; 0 = any
    antialias: bool = True  # antialiased bilinear resize when shrinking

    def finish(self) -> Extractor:
        self.eval()
        self.requires_grad_(False)
        return self

    def prepare(self, x: Tensor) -> Tensor:
        """Check the batch and convert it to the network's channels and size."""
        if x.ndim != 4:
            raise DataError(f"the {self.name} extractor expects images (N, C, H, W), got shape {tuple(x.shape)}")
        x = x.float()
        c = x.shape[1]
        if self.in_channels == 1 and c == 3:
            w = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
            x = (x * w).sum(1, keepdim=True)
        elif self.in_channels == 3 and c == 1:
            x = x.expand(-1, 3, -1, -1)
        elif self.in_channels and c != self.in_channels:
            raise DataError(f"the {self.name} extractor takes 1- or 3-channel images, got {c} channels")
        if self.in_size and tuple(x.shape[-2:]) != (self.in_size, self.in_size):
            shrink = self.antialias and min(x.shape[-2:]) > self.in_size
            x = F.interpolate(x, size=(self.in_size, self.in_size), mode="bilinear",
                              align_corners=False, antialias=shrink)
        return x

    def features(self, x: Tensor) -> Tensor:  # (N, C, H, W) -> (N, dim)
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)

    def logits(self, x: Tensor) -> Tensor | None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim, "sha256": self.sha256,
                "input": {"channels": self.in_channels or "any", "size": self.in_size or "any"}}


class RawExtractor(Extractor):
    """Flattened pixels. ``dim`` comes from ``shape=(C, H, W)`` or is fixed by the first batch."""

    name = "raw"

    def __init__(self, shape: tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape) if shape else None
        self.dim = int(torch.tensor(self.shape).prod()) if self.shape else 0
        self.finish()

    def features(self, x: Tensor) -> Tensor:
        if self.shape is None:
            self.shape, self.dim = tuple(x.shape[1:]), int(x[0].numel())
        if tuple(x.shape[1:]) != self.shape:
            raise DataError(f"the raw extractor was set up for shape {self.shape}, got {tuple(x.shape[1:])}")
        return x.float().flatten(1)


# ----------------------------------------------------------------------------------------------
# Classifiers trained by benchmarks/train_extractors.py and shipped in ganforge/weights/.

class SmallClassifier(nn.Module):
    """``body`` gives the penultimate (post-ReLU) features, ``head`` the class logits."""

    def __init__(self, body: nn.Sequential, dim: int, classes: int, dropout: float) -> None:
        super().__init__()
        self.body, self.drop, self.head = body, nn.Dropout(dropout), nn.Linear(dim, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.drop(self.body(x)))


def lenet(classes: int = 10) -> SmallClassifier:
    """LeNet-5 layout (LeCun et al. 1998) with ReLU and max-pooling; 28x28x1 -> 128-D, ~130k params."""
    body = nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2),    # 20 x 12 x 12
                         nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2),   # 50 x 4 x 4
                         nn.Flatten(), nn.Linear(800, 128), nn.ReLU())
    return SmallClassifier(body, 128, classes, dropout=0.3)


def digits_net(classes: int = 10) -> SmallClassifier:
    """Two 3x3 convs and one pool for 8x8x1 digits -> 128-D, ~150k params."""
    body = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 64 x 4 x 4
                         nn.Flatten(), nn.Linear(1024, 128), nn.ReLU())
    return SmallClassifier(body, 128, classes, dropout=0.3)


# name -> (builder, input side, data source, fraction of the data used for training)
CLASSIFIERS: dict[str, tuple[Any, int, str, float]] = {
    "lenet-mnist": (lenet, 28, "mnist", 0.8),
    "digits": (digits_net, 8, "digits", 0.8),
}


def classifier_split(name: str, n: int, seed: int) -> tuple[Tensor, Tensor]:
    """(train, test) indices of a classifier's data: MNIST in file order (first 80% / last 20%), digits
    after a permutation drawn from ``seed``. The test split here is the one the card's accuracy is on."""
    frac = CLASSIFIERS[name][3]
    if name == "lenet-mnist":
        order = torch.arange(n)
    else:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_train = int(round(frac * n))
    return order[:n_train], order[n_train:]


class ClassifierExtractor(Extractor):
    """Penultimate-layer features of a shipped classifier; ``logits`` gives its class scores."""

    in_channels = 1

    def __init__(self, name: str, net: SmallClassifier, card: dict[str, Any], sha256: str) -> None:
        super().__init__()
        self.name, self.net, self.card, self.sha256 = name, net, card, sha256
        self.dim, self.in_size = net.head.in_features, CLASSIFIERS[name][1]
        self.classes = net.head.out_features
        self.finish()

    def features(self, x: Tensor) -> Tensor:
        return self.net.body(self.prepare(x))

    def logits(self, x: Tensor) -> Tensor:
        return self.net.head(self.features(x))

    @torch.no_grad()
    def classify_channels(self, x: Tensor, batch: int = 500) -> Tensor:
        """Label each channel alone and combine the digits base 10, first channel most significant:
        (N, 3, H, W) -> 100*d1 + 10*d2 + d3 (stacked MNIST, Metz et al. 2017); (N, 1, H, W) -> d1."""
        if x.ndim != 4:
            raise DataError(f"classify_channels expects images (N, C, H, W), got shape {tuple(x.shape)}")
        self.eval()
        out = torch.zeros(x.shape[0], dtype=torch.int64)
        for c in range(x.shape[1]):
            for i in range(0, x.shape[0], batch):
                labels = self.logits(x[i:i + batch, c:c + 1]).argmax(1).cpu()
                out[i:i + batch] = out[i:i + batch] * self.classes + labels
        return out

    def describe(self) -> dict[str, Any]:
        card = {k: v for k, v in self.card.items() if k != "sha256"}
        return {**card, **super().describe()}


def load_checked(weights: Path, make: Callable[[dict], nn.Module], how: str) -> tuple[nn.Module, dict, str]:
    """Weights of a frozen network and the JSON card beside them (``<stem>.json``), checked: the card must read, its
    sha256 match the file, and the file hold the weights of ``make(card)``. -> (network, card, sha256); each failure
    is one CheckpointError ending in ``how`` (the command that rebuilds the weights)."""
    from safetensors.torch import load_file
    card_path = weights.with_suffix(".json")
    if not weights.is_file() or not card_path.is_file():
        missing = weights if not weights.is_file() else card_path
        raise CheckpointError(f"extractor weights not found: {missing}; {how}")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"cannot read the weight card {card_path}: {e}; {how}") from None
    digest = file_sha256(weights)
    if card.get("sha256") != digest:
        raise CheckpointError(f"{weights} has sha256 {digest[:12]}... but its card {card_path.name} says "
                              f"{str(card.get('sha256'))[:12]}...; the file is damaged or stale, {how}")
    net = make(card)
    try:
        net.load_state_dict(load_file(str(weights)))
    except Exception as e:  # safetensors header errors or key/shape mismatches
        why = (str(e).strip().splitlines() or [type(e).__name__])[-1].strip()[:200]
        raise CheckpointError(f"{weights} does not hold the weights its card describes ({why}); {how}") from None
    return net, card, digest


def load_classifier(name: str, path: str | os.PathLike | None = None) -> ClassifierExtractor:
    """Load ``<name>.safetensors`` (shipped, or ``path``) and check it against the JSON card beside it."""
    weights = Path(path) if path else WEIGHTS_DIR / f"{name}.safetensors"
    net, card, digest = load_checked(weights, lambda card: CLASSIFIERS[name][0](int(card.get("classes", 10))),
                                     f"run `{TRAIN_SCRIPT} --only {name}` to rebuild it")
    return ClassifierExtractor(name, net, card, digest)


# ----------------------------------------------------------------------------------------------
# Random features: Naeem et al. 2020 ("Reliable Fidelity and Diversity Metrics for Generative
# Models", ICML) evaluate randomly initialised CNN embeddings for data far from ImageNet; Lee, Kim &
# Lee 2023 ("Demystifying Randomly Initialized Networks for Evaluating Generative Models", AAAI)
# show such features rank generative models much like trained ones.

class RandomConvExtractor(Extractor):
    """Three 3x3 convs (64-128-128 channels, He-normal weights from a seeded generator) at 32x32x3;
    features = global average and global max of the last map, concatenated (256-D).

    Every image is resized to ``size`` (default 32), up or down, so the network sees each data set at
    the same scale relative to its receptive field; gray images are repeated to 3 channels."""

    name = "random-conv"
    in_channels = 3

    def __init__(self, seed: int = 0, size: int = 32) -> None:
        super().__init__()
        if int(size) < 8:
            raise ConfigError(f"random-conv size must be at least 8, got {size}")
        self.seed, self.in_size = int(seed), int(size)
        self.net = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.ReLU(),
                                 nn.Conv2d(128, 128, 3, stride=2, padding=1), nn.ReLU())
        self.dim = 256
        gen = torch.Generator().manual_seed(self.seed)
        h = hashlib.sha256()
        with torch.no_grad():
            for conv in (m for m in self.net if isinstance(m, nn.Conv2d)):
                fan_in = conv.weight[0].numel()
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                conv.bias.copy_((torch.rand(conv.bias.shape, generator=gen) * 2 - 1) / fan_in ** 0.5)
        for key, t in self.net.state_dict().items():  # the digest names exactly this network
            h.update(f"{key}{tuple(t.shape)}".encode())
            h.update(t.contiguous().numpy().tobytes())
        self.sha256 = h.hexdigest()
        self.finish()

    def features(self, x: Tensor) -> Tensor:
        h = self.net(self.prepare(x))  # (N, 128, s/4, s/4)
        return torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "seed": self.seed}


# ----------------------------------------------------------------------------------------------

def get_extractor(name: str, info: Info | None = None, **options: Any) -> Extractor:
    """Build a registered extractor by name; options: raw(shape), lenet-mnist/digits(path),
    random-conv(seed, size), inception(path, sha256), and whatever a plug-in's extractor takes.
    ``info`` (the data facts) fills the options the extractor takes from the data."""
    spec = EXTRACTORS.get(name, "feature extractor")
    if info is not None:
        options = {**spec.configure(info), **options}
    bad = sorted(set(options) - set(spec.options))
    if bad:
        raise ConfigError(f"the {name} extractor has no option '{bad[0]}'; its options: "
                          f"{', '.join(spec.options) or 'none'}")
    return spec.build(**options)


def default_extractor(info: Info) -> str:
    """The feature space a data kind is measured in by default: the registered extractor that claims
    these samples with the highest priority (domain classifiers over random features over raw)."""
    claims = [(p, name) for name, spec in EXTRACTORS.items() if (p := spec.default_for(info)) is not None]
    if not claims:
        raise ConfigError(f"no feature extractor is registered for {info.get('kind')} data of shape "
                          f"{tuple(info.get('shape') or ())}; give one with --extractor")
    return max(claims)[1]


def labeller_for(info: Info) -> str | None:
    """The shipped classifier that can label these images (per channel): digits 8x8, lenet-mnist 28x28."""
    return next((name for name, spec in EXTRACTORS.items() if spec.labels(info)), None)


register_extractor("raw", ExtractorSpec(lambda shape=None: RawExtractor(shape), ("shape",), lambda info: 0))
register_extractor("digits", ExtractorSpec(
    lambda path=None: load_classifier("digits", path), ("path",),
    default_for=lambda info: 10 if _image(info, (1, 8, 8)) else None, labels=lambda info: _image(info, (1, 8, 8))))
register_extractor("lenet-mnist", ExtractorSpec(
    lambda path=None: load_classifier("lenet-mnist", path), ("path",),
    default_for=lambda info: 10 if _image(info, side=28) else None,
    labels=lambda info: _image(info, side=28) and info["shape"][0] in (1, 3)))
register_extractor("random-conv", ExtractorSpec(
    lambda seed=0, size=32: RandomConvExtractor(seed, size), ("seed", "size"),
    default_for=lambda info: 5 if _image(info) else None))


@torch.no_grad()
def extract(extractor: Extractor, x: Tensor, batch: int = 500, channels: str = "luminance") -> Tensor:
    """Features of samples ``x`` (N, ...) in batches -> (N, dim) float32 on the CPU.

    ``channels="split"`` (1-channel image extractors, C > 1 input): each channel is featurised alone
    and the results concatenated -> (N, C * dim); the default converts colour to luminance."""
    if channels not in ("luminance", "split"):
        raise ConfigError(f"extract channels must be 'luminance' or 'split', got {channels!r}")
    if batch <= 0:
        raise ConfigError(f"extract batch must be positive, got {batch}")
    x = torch.as_tensor(x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise DataError(f"extract expects a non-empty batch of samples (N, ...), got shape {tuple(x.shape)}")
    extractor.eval()
    if channels == "split" and extractor.in_channels == 1 and x.ndim == 4 and x.shape[1] > 1:
        return torch.cat([extract(extractor, x[:, c:c + 1], batch) for c in range(x.shape[1])], 1)
    device = next(extractor.parameters(), torch.empty(0)).device
    parts = [extractor.features(x[i:i + batch].to(device)).float().cpu() for i in range(0, x.shape[0], batch)]
    return torch.cat(parts)
