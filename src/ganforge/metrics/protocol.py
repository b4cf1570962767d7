"""Evaluation with its protocol: features from a named extractor, metrics, and a record of how.

Used by `ganforge eval` and by periodic evaluation during training (``eval.every``).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from ..core.errors import ConfigError
from ..data.dataset import Dataset
from .extractors import default_extractor, extract, get_extractor, labeller_for
from .registry import available, compute, default_metrics

LOWER_IS_BETTER = ("fd", "fd_inf", "kid", "one_nn", "reverse_kl")


def auto_extractor(info: dict) -> str:
    """The default feature space of a run's data (extractors.default_extractor)."""
    return default_extractor(info)


def featurize(extractor_name: str, x: torch.Tensor, info: dict | None = None):
    """(features, extractor) for samples ``x`` in the model's space (images in [-1, 1])."""
    ext = get_extractor(extractor_name, info)
    return extract(ext, x), ext


def better(name: str, new: float, old: float | None) -> bool:
    if old is None:
        return True
    lower = any(name == k or name.startswith(k + "_") for k in LOWER_IS_BETTER)
    return new < old if lower else new > old


CLASSIFIER_SCORES = ("is", "gan")   # computed here from a domain classifier, not by the registry


def _split_names(metrics, info: dict) -> tuple[list[str] | None, bool, bool]:
    """(registry metrics or None for the defaults, classifier scores wanted, label modes wanted).
    By default the classifier scores come whenever the feature extractor is a classifier."""
    if metrics is None:
        label = labeller_for(info) is not None and (info["shape"][0] == 1 or info.get("name") == "stacked-mnist")
        return None, True, label
    names = [n.strip().lower() for n in (metrics.split(",") if isinstance(metrics, str) else metrics) if n.strip()]
    scores = any(n in CLASSIFIER_SCORES for n in names)
    label = "label_modes" in names
    return [n for n in names if n not in CLASSIFIER_SCORES and n != "label_modes"], scores, label


def _label_ctx(info: dict, real: torch.Tensor, fake: torch.Tensor,
               real_classes: np.ndarray | None = None) -> dict[str, Any]:
    """Classifier labels of both sides for label_modes: each channel labelled alone, combined base 10.
    ``real_classes``: the real side's labels when already known (periodic evaluation labels them once)."""
    name = labeller_for(info)
    if name is None:
        raise ConfigError("label_modes needs a domain classifier; the shipped ones label 1x8x8 (digits) and "
                          f"1x28x28 or 3x28x28 (lenet-mnist) images, not {info.get('kind')} data of shape "
                          f"{tuple(info.get('shape', ()))}")
    lab = get_extractor(name)
    if real_classes is None:
        real_classes = lab.classify_channels(real).numpy()
    return {"fake_labels": lab.classify_channels(fake).numpy(), "real_labels": real_classes,
            "n_modes": lab.classes ** int(info["shape"][0]), "labeller": name}


def evaluate_arrays(real: torch.Tensor, fake: torch.Tensor, *, kind: str = "", metrics: str | list | None = None,
                    extractor: str = "auto", seed: int = 0, info: dict | None = None,
                    real_features: torch.Tensor | None = None, fake_labels: torch.Tensor | None = None,
                    real_labels: torch.Tensor | None = None, train: torch.Tensor | None = None,
                    heldout: torch.Tensor | None = None, real_classes: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics between real and generated data (both in the model's space) with the protocol record.

    Besides the registry's metrics (fd, fd_inf, kid, pr, dc, one_nn, toy_modes):
    - ``is`` / ``gan``: with a classifier extractor (digits, lenet-mnist, inception) the Inception-Score
      analogue (``is``, and ``is_real`` for the real data); with labels for both sides (a
      class-conditional run on labelled data) also GAN-test and GAN-train accuracy. On by default.
    - ``label_modes``: modes a shipped classifier assigns (stacked MNIST: 1,000), with the real floor.
      On by default for 1-channel digits / MNIST images and stacked MNIST.
    - ``memorisation``: distances of samples to their nearest ``train`` example against those of
      ``heldout`` real examples (both in the model's space). Only on request."""
    t0 = time.perf_counter()
    info = info or {"kind": kind or ("image" if real.ndim == 4 else "vector"), "shape": tuple(real.shape[1:])}
    name = auto_extractor(info) if extractor == "auto" else extractor
    if real.shape[1:] != fake.shape[1:]:
        raise ConfigError(f"real and generated data differ in shape: {tuple(real.shape[1:])} vs "
                          f"{tuple(fake.shape[1:])}")
    names, want_scores, want_labels = _split_names(metrics, info)
    f_real = real_features if real_features is not None else featurize(name, real, info)[0]
    f_fake, ext = featurize(name, fake, info)
    ctx: dict[str, Any] = {}
    if info.get("modes") is not None and info.get("sigma") is not None:
        ctx["means"] = np.asarray(info["modes"], dtype=np.float32)
        ctx["sigma"] = float(info["sigma"])
    if names is None:
        names = default_metrics(ctx)
    labeller = None
    if want_labels:
        lab_ctx = _label_ctx(info, real, fake, real_classes)
        labeller = lab_ctx.pop("labeller")
        ctx.update(lab_ctx)
        names.append("label_modes")
    if any(n in ("memorisation", "memorization") for n in names):
        if train is None or heldout is None:
            raise ConfigError("memorisation needs the training examples and held-out real examples the model "
                              "never saw: give --heldout PATH (and, for two files, --train PATH)")
        if heldout.shape[1:] != real.shape[1:] or train.shape[1:] != real.shape[1:]:
            raise ConfigError(f"held-out / training data of shape {tuple(heldout.shape[1:])} / "
                              f"{tuple(train.shape[1:])} do not match the data's {tuple(real.shape[1:])}")
        ctx["train_feats"] = featurize(name, train, info)[0]
        ctx["heldout_feats"] = featurize(name, heldout, info)[0]
    if names:
        out = compute(names, f_real, f_fake, seed=seed, **ctx)
        protocol = out.pop("protocol")
    elif want_scores:
        out, protocol = {}, {"metrics": [], "seed": seed, "n_real": len(real), "n_fake": len(fake)}
    else:
        raise ConfigError("no metric requested; name at least one of: " + ", ".join(available() + ["is", "gan"]))
    if want_scores:
        scores = _classifier_scores(ext, real, fake, f_real, f_fake, real_labels, fake_labels, seed)
        if metrics is not None and not scores:
            raise ConfigError(f"is / gan need a classifier extractor (digits, lenet-mnist, inception), not '{name}'")
        out.update(scores)
    desc = ext.describe()
    protocol.update({"extractor": name, "extractor_sha256": desc.get("sha256", ""), "extractor_dim": desc.get("dim"),
                     "elapsed_s": round(time.perf_counter() - t0, 3)})
    if labeller:
        protocol["labeller"] = labeller
    if "train_feats" in ctx:
        protocol.update({"n_train": len(train), "n_heldout": len(heldout)})
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
        self.info = info
        self.metrics = [m for m in e.metrics.split(",") if m.strip()] or None
        self.extractor = auto_extractor(info) if e.extractor == "auto" else e.extractor
        n_real = min(len(dataset), 2 * self.n)
        idx = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(self.seed))[:n_real]
        ex = dataset.examples(idx)   # streaming data sets read just these
        x, y = ex.pop("x").cpu(), ex.pop("y", None)
        self.data = Dataset(x, y, info.get("kind", ""), info.get("name", ""), None, None,
                            extra={k: v.cpu() for k, v in ex.items()})
        self.real: torch.Tensor | None = None             # the real side, fixed at the first call
        self.real_features = self.real_classes = None     # and its features and classifier labels
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
        real, fake, _ = recipe.eval_samples(self.data, self.n, self.seed)
        fake = fake.cpu()
        if self.real is None:
            self.real = real.cpu()
            self.real_features = featurize(self.extractor, self.real, self.info)[0]
            if _split_names(self.metrics, self.info)[2] and labeller_for(self.info):
                self.real_classes = get_extractor(labeller_for(self.info)).classify_channels(self.real).numpy()
        res = evaluate_arrays(self.real, fake, metrics=self.metrics, extractor=self.extractor,
                              seed=self.seed, info=self.info, real_features=self.real_features,
                              real_classes=self.real_classes)
        res["metrics"].update(recipe.eval_checks(self.real, fake, self.seed))
        flat = {k: float(v) for k, v in res["metrics"].items() if isinstance(v, (int, float))}
        key = self.best_key or next(iter(flat))
        if key not in flat:
            raise ConfigError(f"eval.best = '{key}' is not among the computed metrics: {', '.join(flat)}")
        self.best_key = key
        is_best = better(key, flat[key], self.best)
        if is_best:
            self.best = flat[key]
        return flat, is_best
