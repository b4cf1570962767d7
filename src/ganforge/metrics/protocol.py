"""Evaluation with its protocol: features from a named extractor, metrics, and a record of how.

Used by `ganforge eval` and by periodic evaluation during training (``eval.every``).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from ..core.errors import ConfigError
from .extractors import extract, get_extractor
from .registry import compute, default_metrics

LOWER_IS_BETTER = ("fd", "fd_inf", "kid", "one_nn", "reverse_kl")


def auto_extractor(info: dict) -> str:
    """The default feature space for a data kind: domain classifiers where they exist."""
    if info.get("kind") != "image":
        return "raw"
    c, h, w = info["shape"]
    if c in (1, 3) and (h, w) == (8, 8) and c == 1:
        return "digits"
    if (h, w) == (28, 28):
        return "lenet-mnist"
    return "random-conv"


def featurize(extractor_name: str, x: torch.Tensor, shape=None):
    """(features, extractor) for data ``x`` in the model's space (images in [-1, 1])."""
    if x.ndim == 2:  # vectors: only the raw space makes sense
        if extractor_name not in ("raw", "auto"):
            raise ConfigError(f"extractor '{extractor_name}' takes images; vector data uses 'raw'")
        ext = get_extractor("raw")
        return x.float().cpu(), ext
    ext = get_extractor(extractor_name)
    return extract(ext, x), ext


def better(name: str, new: float, old: float | None) -> bool:
    if old is None:
        return True
    lower = any(name == k or name.startswith(k + "_") for k in LOWER_IS_BETTER)
    return new < old if lower else new > old


def evaluate_arrays(real: torch.Tensor, fake: torch.Tensor, *, kind: str, metrics: str | list | None = None,
                    extractor: str = "auto", seed: int = 0, info: dict | None = None,
                    real_features: torch.Tensor | None = None, fake_labels: torch.Tensor | None = None,
                    real_labels: torch.Tensor | None = None) -> dict[str, Any]:
    """Metrics between real and generated data (both in the model's space) with the protocol record.

    With a classifier extractor (digits, lenet-mnist, inception) the Inception-Score analogue is
    added (``is``, and ``is_real`` for the real data); with labels for both sides (a class-conditional
    run on labelled data) also GAN-test and GAN-train accuracy."""
    t0 = time.perf_counter()
    info = info or {"kind": kind, "shape": tuple(real.shape[1:])}
    name = auto_extractor(info) if extractor == "auto" else extractor
    if real.shape[1:] != fake.shape[1:]:
        raise ConfigError(f"real and generated data differ in shape: {tuple(real.shape[1:])} vs {tuple(fake.shape[1:])}")
    f_real = real_features if real_features is not None else featurize(name, real)[0]
    f_fake, ext = featurize(name, fake)
    ctx: dict[str, Any] = {}
    if kind == "vector" and info.get("modes") is not None and info.get("sigma") is not None:
        ctx["means"] = np.asarray(info["modes"], dtype=np.float32)
        ctx["sigma"] = float(info["sigma"])
        if metrics is None:  # toy modes are measured on the points themselves
            metrics = default_metrics(kind, ctx)
    out = compute(metrics, f_real, f_fake, seed=seed, kind=kind, **ctx)
    protocol = out.pop("protocol")
    if kind == "image" and metrics is None:
        out.update(_classifier_scores(ext, real, fake, f_real, f_fake, real_labels, fake_labels, seed))
    desc = ext.describe()
    protocol.update({"extractor": name, "extractor_sha256": desc.get("sha256", ""), "extractor_dim": desc.get("dim"),
                     "elapsed_s": round(time.perf_counter() - t0, 3)})
    return {"metrics": out, "protocol": protocol}


def _logits(ext, x: torch.Tensor, batch: int = 500):
    with torch.no_grad():
        parts = [ext.logits(x[i:i + batch]) for i in range(0, len(x), batch)]
    return None if parts[0] is None else torch.cat(parts).cpu()


def _classifier_scores(ext, real, fake, f_real, f_fake, real_labels, fake_labels, seed) -> dict[str, float]:
    from .classifier import gan_test, gan_train, inception_score
    logits_fake = _logits(ext, fake)
    if logits_fake is None:
        return {}
    out = {"is": inception_score(logits_fake)["is"], "is_real": inception_score(_logits(ext, real[: len(fake)]))["is"]}
    if fake_labels is not None and real_labels is not None and logits_fake.shape[1] > int(fake_labels.max()):
        out["gan_test"] = gan_test(logits_fake, fake_labels)
        out["gan_train"] = gan_train(f_fake.numpy(), fake_labels.cpu().numpy(), f_real.numpy(),
                                     real_labels.cpu().numpy(), seed)
    return out


class PeriodicEval:
    """A training hook: every ``eval.every`` steps, metrics of G's samples against the training data.

    Real features are computed once. Samples come from fixed seeds so the curve is comparable over
    time; the hook draws no numbers from the training generator, so resume stays exact."""

    def __init__(self, cfg, dataset, info: dict):
        e = cfg.eval
        self.every, self.n, self.seed = e.every, e.n, cfg.train.seed + 104729
        self.kind, self.info = info["kind"], info
        self.metrics = [m for m in e.metrics.split(",") if m.strip()] or None
        self.extractor = auto_extractor(info) if e.extractor == "auto" else e.extractor
        n_real = min(len(dataset.x), 2 * self.n)
        idx = torch.randperm(len(dataset.x), generator=torch.Generator().manual_seed(self.seed))[:n_real]
        self.real = dataset.x[idx].cpu()
        self.real_features = featurize(self.extractor, self.real)[0]
        self.best_key = e.best or None
        self.best: float | None = None

    def restore_best(self, best_path: str) -> None:
        """After a resume: the best value so far comes from the kept best checkpoint."""
        import os
        from ..core.checkpoint import load
        if os.path.exists(best_path):
            ev = load(best_path)[1].get("eval", {})
            key = self.best_key or next(iter(ev), None)
            if key in ev:
                self.best_key, self.best = key, float(ev[key])

    def __call__(self, recipe) -> tuple[dict[str, float], bool]:
        """(flat metrics for stats.jsonl, whether this is the best so far)."""
        fake = recipe.generate(recipe.latents_for(self.n, seed=self.seed)).cpu()
        res = evaluate_arrays(self.real, fake, kind=self.kind, metrics=self.metrics, extractor=self.extractor,
                              seed=self.seed, info=self.info, real_features=self.real_features)
        flat = {k: float(v) for k, v in res["metrics"].items() if isinstance(v, (int, float))}
        key = self.best_key or next(iter(flat))
        if key not in flat:
            raise ConfigError(f"eval.best = '{key}' is not among the computed metrics: {', '.join(flat)}")
        self.best_key = key
        is_best = better(key, flat[key], self.best)
        if is_best:
            self.best = flat[key]
        return flat, is_best
