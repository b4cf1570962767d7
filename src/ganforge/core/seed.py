"""Seeding and RNG state capture: every random thing in a run flows from the run seed."""
from __future__ import annotations

import random

import numpy as np
import torch


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


def global_rng_state() -> tuple[dict, dict[str, torch.Tensor]]:
    """(JSON-able part, tensor part) of the Python, NumPy and torch global RNG states."""
    py = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    meta = {"python": [py[0], list(py[1]), py[2]],
            "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]}
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    return meta, tensors


def set_global_rng_state(meta: dict, tensors: dict[str, torch.Tensor]) -> None:
    v, keys, gauss = meta["python"]
    random.setstate((v, tuple(keys), gauss))
    name, keys, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["rng.torch"])
    if torch.cuda.is_available():
        states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
        if states:
            torch.cuda.set_rng_state_all(states)


def parse_seeds(spec: str) -> list[int]:
    """'0-63' -> [0..63]; '1,5,9' -> [1, 5, 9]; mixed '0-3,10' works too."""
    from .errors import ConfigError
    out: list[int] = []
    try:
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part[1:]:
                a, b = part.split("-", 1) if not part.startswith("-") else part[1:].split("-", 1)
                lo, hi = int(a), int(b)
                if hi < lo:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise ConfigError(f"--seeds expects a list like '0-63' or '1,5,9', got {spec!r}") from None
    if not out or any(s < 0 for s in out):
        raise ConfigError(f"--seeds expects non-negative seeds, got {spec!r}")
    return out
