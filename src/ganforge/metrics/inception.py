"""The FID Inception-v3 network (Heusel et al. 2017), loaded only from a local weights file.

Architecture: Inception-v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture") as frozen in
the 2015-12-05 TensorFlow graph that FID is defined on, with that graph's known differences from the
paper's network: the average-pool branches of the 35x35, 17x17 and first 8x8 blocks do not count the
zero padding, the last 8x8 block's pool branch is a max-pool, and the classifier has 1008 outputs.
Module names follow the widely shared PyTorch port of those weights (file
``pt_inception-2015-12-05-6726825d.pth``), so that state dict loads as it is.

Features are the 2048-D global average pool ("pool3"); inputs are resized to 299x299 bilinearly
(no antialiasing, as in the reference FID pipeline) and kept in [-1, 1].
"""
from __future__ import annotations

import os
import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.errors import ConfigError
from .extractors import Extractor, ExtractorSpec, file_sha256, register_extractor

WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{WEIGHTS_NAME}"
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.pth?$")


class ConvBN(nn.Module):
    """conv (no bias) -> batch norm (eps 1e-3, as in the TF graph) -> ReLU."""

    def __init__(self, cin: int, cout: int, k: int | tuple[int, int], stride: int = 1,
                 pad: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg3(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class Block35(nn.Module):
    """35x35 block: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1 -> 224 + pool_ch channels."""

    def __init__(self, cin: int, pool_ch: int) -> None:
        super().__init__()
        self.branch1x1 = ConvBN(cin, 64, 1)
        self.branch5x5_1, self.branch5x5_2 = ConvBN(cin, 48, 1), ConvBN(48, 64, 5, pad=2)
        self.branch3x3dbl_1 = ConvBN(cin, 64, 1)
        self.branch3x3dbl_2, self.branch3x3dbl_3 = ConvBN(64, 96, 3, pad=1), ConvBN(96, 96, 3, pad=1)
        self.branch_pool = ConvBN(cin, pool_ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg3(x))], 1)


class Reduce35(nn.Module):
    """35x35 -> 17x17: 3x3/2 | 1x1-3x3-3x3/2 | maxpool/2 -> 384 + 96 + cin channels."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = ConvBN(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = ConvBN(cin, 64, 1)
        self.branch3x3dbl_2, self.branch3x3dbl_3 = ConvBN(64, 96, 3, pad=1), ConvBN(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)


class Block17(nn.Module):
    """17x17 block with factorised 7x7 convolutions (1x7 and 7x1) -> 768 channels."""

    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        def row(a: int, b: int) -> ConvBN:  # 1x7
            return ConvBN(a, b, (1, 7), pad=(0, 3))

        def col(a: int, b: int) -> ConvBN:  # 7x1
            return ConvBN(a, b, (7, 1), pad=(3, 0))

        self.branch1x1 = ConvBN(cin, 192, 1)
        self.branch7x7_1 = ConvBN(cin, c7, 1)
        self.branch7x7_2, self.branch7x7_3 = row(c7, c7), col(c7, 192)
        self.branch7x7dbl_1 = ConvBN(cin, c7, 1)
        self.branch7x7dbl_2, self.branch7x7dbl_3 = col(c7, c7), row(c7, c7)
        self.branch7x7dbl_4, self.branch7x7dbl_5 = col(c7, c7), row(c7, 192)
        self.branch_pool = ConvBN(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for i in range(1, 6):
            d = getattr(self, f"branch7x7dbl_{i}")(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg3(x))], 1)


class Reduce17(nn.Module):
    """17x17 -> 8x8: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | maxpool/2 -> 320 + 192 + cin channels."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = ConvBN(cin, 192, 1), ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = ConvBN(cin, 192, 1)
        self.branch7x7x3_2 = ConvBN(192, 192, (1, 7), pad=(0, 3))
        self.branch7x7x3_3 = ConvBN(192, 192, (7, 1), pad=(3, 0))
        self.branch7x7x3_4 = ConvBN(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b7 = x
        for i in range(1, 5):
            b7 = getattr(self, f"branch7x7x3_{i}")(b7)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, stride=2)], 1)


class Block8(nn.Module):
    """8x8 block with expanded 1x3/3x1 filter banks -> 2048 channels; ``pool``: 'avg' or 'max'."""

    def __init__(self, cin: int, pool: str) -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = ConvBN(cin, 320, 1)
        self.branch3x3_1 = ConvBN(cin, 384, 1)
        self.branch3x3_2a = ConvBN(384, 384, (1, 3), pad=(0, 1))
        self.branch3x3_2b = ConvBN(384, 384, (3, 1), pad=(1, 0))
        self.branch3x3dbl_1, self.branch3x3dbl_2 = ConvBN(cin, 448, 1), ConvBN(448, 384, 3, pad=1)
        self.branch3x3dbl_3a = ConvBN(384, 384, (1, 3), pad=(0, 1))
        self.branch3x3dbl_3b = ConvBN(384, 384, (3, 1), pad=(1, 0))
        self.branch_pool = ConvBN(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        a = self.branch3x3_1(x)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        p = _avg3(x) if self.pool == "avg" else F.max_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([self.branch1x1(x), self.branch3x3_2a(a), self.branch3x3_2b(a),
                          self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d), self.branch_pool(p)], 1)


class FIDInceptionV3(nn.Module):
    """299x299x3 in [-1, 1] -> 2048-D pool3 features (``forward``); ``fc`` gives the 1008 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = ConvBN(3, 32, 3, stride=2)   # 149
        self.Conv2d_2a_3x3 = ConvBN(32, 32, 3)             # 147
        self.Conv2d_2b_3x3 = ConvBN(32, 64, 3, pad=1)      # 147 -> maxpool 73
        self.Conv2d_3b_1x1 = ConvBN(64, 80, 1)             # 73
        self.Conv2d_4a_3x3 = ConvBN(80, 192, 3)            # 71 -> maxpool 35
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = Block35(192, 32), Block35(256, 64), Block35(288, 64)
        self.Mixed_6a = Reduce35(288)                      # 17
        self.Mixed_6b, self.Mixed_6c = Block17(768, 128), Block17(768, 160)
        self.Mixed_6d, self.Mixed_6e = Block17(768, 160), Block17(768, 192)
        self.Mixed_7a = Reduce17(768)                      # 8
        self.Mixed_7b, self.Mixed_7c = Block8(1280, "avg"), Block8(2048, "max")
        self.fc = nn.Linear(2048, 1008)

    def forward(self, x: Tensor) -> Tensor:  # (N, 3, 299, 299) -> (N, 2048)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(x, 3, stride=2)))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return x.mean((2, 3))


class InceptionExtractor(Extractor):
    name = "inception"
    dim = 2048
    in_channels = 3
    in_size = 299
    antialias = False

    def __init__(self, net: FIDInceptionV3, path: str, sha256: str, verified: str) -> None:
        super().__init__()
        self.net, self.path, self.sha256, self.verified = net, path, sha256, verified
        self.finish()

    def features(self, x: Tensor) -> Tensor:
        return self.net(self.prepare(x))

    def logits(self, x: Tensor) -> Tensor:
        """The 1008 class scores of the TF graph (what the Inception Score is computed on)."""
        return self.net.fc(self.features(x))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "architecture": "FID Inception-v3 (2015-12-05 graph), pool3",
                "file": os.path.basename(self.path), "checksum": self.verified}


def _how_to_get() -> str:
    return (f"download {WEIGHTS_NAME} on a machine with internet ({WEIGHTS_URL}), copy it here and pass "
            f"path=... or set GANFORGE_INCEPTION=/path/to/{WEIGHTS_NAME}")


def _check_digest(path: str, expected: str | None) -> tuple[str, str]:
    """(sha256 of the file, how it was verified); a wrong digest is a ConfigError."""
    actual = file_sha256(path)
    if expected:
        expected = expected.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{8,64}", expected):
            raise ConfigError(f"inception sha256 must be 8 to 64 hex digits, got {expected!r}")
        source = "given sha256"
    elif m := _HASH_IN_NAME.search(os.path.basename(path)):
        expected, source = m.group(1), "hash prefix in the file name"
    else:
        return actual, "unverified (no expected sha256 known; pass sha256=...)"
    if not actual.startswith(expected):
        raise ConfigError(f"inception weights {path} have sha256 {actual[:16]}..., expected {expected[:16]}... "
                          f"({source}); the file is damaged or not the FID weights: {_how_to_get()}")
    return actual, f"matches {source}"


def load_inception(path: str | os.PathLike | None = None, sha256: str | None = None) -> InceptionExtractor:
    """Load the FID Inception from a local pytorch-fid style state dict; never downloads."""
    path = str(path or os.environ.get("GANFORGE_INCEPTION", ""))
    if not path:
        raise ConfigError(f"the inception extractor needs a local weights file: {_how_to_get()}")
    if not os.path.isfile(path):
        raise ConfigError(f"inception weights file not found: {path}; {_how_to_get()}")
    digest, verified = _check_digest(path, sha256)
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:  # not a torch file, or one holding more than tensors
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"cannot read {path} as a torch state dict ({first}); {_how_to_get()}") from None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ConfigError(f"{path} is not a state dict of tensors; {_how_to_get()}")
    net = FIDInceptionV3()
    # files saved by old torch versions carry no BN step counters; nothing here reads them
    expected = {k for k in net.state_dict() if not k.endswith("num_batches_tracked")}
    got = {k for k in state if not k.endswith("num_batches_tracked")}
    if expected != got:
        odd = sorted(expected - got)[:1] + sorted(got - expected)[:1]
        raise ConfigError(f"{path} is not an FID Inception-v3 state dict ({len(expected - got)} keys missing, "
                          f"{len(got - expected)} unexpected, e.g. {odd[0]!r}); {_how_to_get()}")
    try:
        net.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        why = str(e).strip().splitlines()[-1].strip()[:200]
        raise ConfigError(f"{path} does not fit the FID Inception-v3 ({why}); {_how_to_get()}") from None
    return InceptionExtractor(net, path, digest, verified)


register_extractor("inception", ExtractorSpec(lambda path=None, sha256=None: load_inception(path, sha256),
                                              ("path", "sha256")))
