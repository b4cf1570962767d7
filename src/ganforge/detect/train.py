"""Training and using a real-vs-generated image detector (detect/nets.py), saved as safetensors + JSON.

Images come in as uint8 (N, C, H, W) from the same places ``ganforge eval`` reads (a data set name such as
``mnist``, an NPZ with key x, an IDX file, an image folder) or, for generated images, a run or model folder
(sampled from G_ema with a seed). Real and generated images are used at full 8-bit precision on both sides
(no file format differs between them), so the detector cannot learn a compression difference.

Augmentation (Wang et al. 2020, "CNN-generated images are surprisingly easy to spot... for now"): each
training image is blurred (Gaussian, sigma uniform in [0, 1.5]) with probability p and JPEG-compressed
(quality uniform in [30, 100]) with probability p, p = ``augment`` (0.5 by default; 0 turns it off).
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass

import numpy as np
import torch

from ..core.checkpoint import atomic_write_bytes, safetensors_bytes
from ..core.errors import CheckpointError, ConfigError, DataError
from .nets import KINDS, build

FORMAT = "ganforge-detector"


def is_run(path: str) -> bool:
    from ..core import bundle
    return (os.path.isdir(os.path.join(path, "checkpoints")) or bundle.is_bundle(path)
            or path.endswith(".safetensors"))


def images(path: str, n: int | None = None, seed: int = 0) -> np.ndarray:
    """uint8 (N, C, H, W) images from a data set, file or folder, or ``n`` samples of a run."""
    if is_run(path):
        from .. import api
        g = api.load(path)
        if g.data_info.get("kind") != "image":
            raise ConfigError(f"{path} generates {g.data_info.get('kind')} data; detectors work on images")
        out = g.sample(n or 1000, seed=seed, numpy=True)
        return np.asarray(out["x"])
    from ..config import DataConfig
    from ..core.registry import SOURCES
    from ..data import load_dataset, to_uint8
    if os.path.exists(path):
        cfg = DataConfig(source="auto", path=path)
    elif path in SOURCES.names():
        cfg = DataConfig(source=path)
    else:
        raise DataError(f"{path}: no such file, folder, run or data set")
    ds = load_dataset(cfg)
    if ds.kind != "image":
        raise DataError(f"{path} holds {ds.kind} data; detectors work on images")
    x = ds.x
    if n is not None and n < len(x):
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]]
    return to_uint8(x)


def augment(x: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Blur and JPEG each image with probability p (uint8 in and out)."""
    if p <= 0:
        return x
    from PIL import Image, ImageFilter
    out = x.copy()
    for i in range(len(x)):
        blur, jpeg = rng.random() < p, rng.random() < p
        if not (blur or jpeg):
            continue
        arr = x[i, 0] if x.shape[1] == 1 else x[i].transpose(1, 2, 0)
        im = Image.fromarray(np.ascontiguousarray(arr))
        if blur:
            im = im.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.5))))
        if jpeg:
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=int(rng.integers(30, 101)))
            im = Image.open(io.BytesIO(buf.getvalue())).convert(im.mode)
        a = np.asarray(im)
        out[i] = a[None] if x.shape[1] == 1 else a.transpose(2, 0, 1)
    return out


def to_float(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x)).float() / 255.0


@dataclass
class Detector:
    net: torch.nn.Module
    meta: dict

    def logits(self, x: np.ndarray, batch: int = 512) -> torch.Tensor:
        self.net.eval()
        with torch.no_grad():
            return torch.cat([self.net(to_float(x[i:i + batch])) for i in range(0, len(x), batch)])

    def prob(self, x: np.ndarray) -> np.ndarray:
        return torch.sigmoid(self.logits(x)).numpy()

    def save(self, out: str) -> str:
        """``out`` (a new or empty folder): detector.safetensors and detector.json."""
        if os.path.isfile(out):
            raise ConfigError(f"--out {out} is a file; give a folder for the detector")
        os.makedirs(out, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        atomic_write_bytes(os.path.join(out, "detector.safetensors"), safetensors_bytes(state))
        atomic_write_bytes(os.path.join(out, "detector.json"), json.dumps(self.meta, indent=1).encode())
        return out


def load(path: str) -> Detector:
    """A detector folder written by :meth:`Detector.save` (JSON + safetensors: nothing is executed)."""
    from safetensors.torch import load_file
    meta_path, weights = os.path.join(path, "detector.json"), os.path.join(path, "detector.safetensors")
    if not (os.path.isfile(meta_path) and os.path.isfile(weights)):
        raise CheckpointError(f"{path} is not a detector folder (detector.json + detector.safetensors)")
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("format") != FORMAT or meta.get("kind") not in KINDS:
            raise ValueError("not a ganforge detector")
        net = build(meta["kind"], [int(v) for v in meta["shape"]], int(meta.get("width", 32)))
        net.load_state_dict(load_file(weights))
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise CheckpointError(f"cannot load the detector in {path}: {str(e).splitlines()[0]}") from None
    return Detector(net, meta)


def fit(real: np.ndarray, fake: np.ndarray, kind: str = "cnn", steps: int = 1500, batch: int = 64,
        lr: float = 1e-3, p_aug: float = 0.5, seed: int = 0, width: int = 32, sources: dict | None = None) -> Detector:
    """Train a detector on uint8 real and generated images of one shape (label 1 = generated)."""
    if kind not in KINDS:
        raise ConfigError(f"detector kind {kind!r} is not one of: {', '.join(KINDS)}")
    if real.shape[1:] != fake.shape[1:]:
        raise DataError(f"real images are {tuple(real.shape[1:])} but generated ones are {tuple(fake.shape[1:])}; "
                        "a detector needs one image shape")
    if min(len(real), len(fake)) < 2:
        raise DataError("a detector needs at least 2 real and 2 generated images")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    c, h, w = real.shape[1:]
    net = build(kind, [c, h, w], width)
    x, y = np.concatenate([real, fake]), np.r_[np.zeros(len(real)), np.ones(len(fake))].astype(np.float32)
    weight = torch.tensor([len(x) / (2 * len(real)), len(x) / (2 * len(fake))])   # balanced classes
    if kind == "spectrum":
        net.fit_scaler(to_float(augment(x, p_aug, rng)))
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-4 if kind == "spectrum" else 0.0)
    net.train()
    for _ in range(steps):
        idx = rng.integers(0, len(x), batch)
        target = torch.from_numpy(y[idx])
        logit = net(to_float(augment(x[idx], p_aug, rng)))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, target, weight=weight[target.long()])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    meta = {"format": FORMAT, "kind": kind, "shape": [c, h, w], "width": width,
            "steps": steps, "batch": batch, "lr": lr, "augment": p_aug, "seed": seed, "n_real": len(real),
            "n_fake": len(fake), "sources": sources or {}}
    return Detector(net, meta)


__all__ = ["Detector", "fit", "load", "images", "augment", "is_run"]
