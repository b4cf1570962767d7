"""The ``translate`` evaluator: `ganforge eval RUN` for the translation recipes (metrics/translate.py says what each
figure is).

pix2pix: the run's G_ema translates held-out sources (edges2digits: the 2,000 pairs from MNIST images 8000-9999;
folders: the first --n training pairs, which the protocol says) and is scored against their targets: L1, PSNR, SSIM;
FD to the targets in a feature space (the ``translation`` extractor: ``lenet-mnist`` for digits, else
``random-conv``; or --extractor) with its real-vs-real floor; for digits, the MNIST classifier's accuracy on the
outputs and on the targets.

CycleGAN: G_AB_ema translates held-out A images and G_BA_ema held-out B images. FD of each direction's outputs to the
real images of its target domain, beside the FD of the untranslated sources (what translation has to close) and the
floor. digits2mnist, with the labels kept out of training: ``acc_translated`` (the MNIST classifier on G_AB(a)) against
``acc_source_only`` (on the untranslated, resized a) and ``acc_mnist`` (on real held-out MNIST); ``cycle_label_bab``,
how often G_AB(G_BA(b)) keeps the MNIST digit's label (MNIST classifier); ``cycle_label_aba``, how often G_BA(G_AB(a))
keeps the sklearn digit's label (the shipped 8x8 ``digits`` classifier, beside its accuracy on the a themselves,
``acc_digits_source``); ``acc_btoa``, the 8x8 classifier on G_BA(b).
"""
from __future__ import annotations

import time
from typing import Any

import torch

from ..core.errors import ConfigError
from ..data import load_dataset
from ..metrics.extractors import extract, get_extractor, load_classifier
from ..metrics.translate import fd_with_floor, label_accuracy, paired_scores, psnr_per_image, ssim_per_image
from .base import Evaluator, refuse, register_evaluator


def _extractor(name: str, info: dict) -> Any:
    """--extractor, or for auto the ``translation`` one (lenet-mnist for the digit sets, random-conv else)."""
    return get_extractor("translation", info) if name == "auto" else get_extractor(name)


def _translate(g, x: torch.Tensor, direction: str) -> torch.Tensor:
    return g.recipe.generate({"source": x.to(g.device), "direction": direction}).cpu()


def evaluate_run(g, *, n: int | None = None, seed: int = 0, extractor: str = "auto", metrics=None,
                 **other: Any) -> dict[str, Any]:
    refuse("translate", other, ("n", "seed", "extractor"), f"a {g.recipe.name} run")
    if metrics:
        raise ConfigError(f"a {g.recipe.name} run is measured by a fixed set of figures; --metrics does not apply")
    t0 = time.perf_counter()
    n = n or 2000
    if n < 4:
        raise ConfigError(f"--n {n} is too small; use at least 4")
    cfg, info = g.config, g.data_info
    data = load_dataset(cfg, seed=cfg.train.seed)
    if g.recipe.name == "pix2pix":
        m, proto = _paired(g, data, n, seed, extractor, info)
    else:
        m, proto = _unpaired(g, data, n, seed, extractor, info)
    proto.update({"seed": seed, "checkpoint": g.checkpoint, "step": g.step, "recipe": g.recipe.name,
                  "elapsed_s": round(time.perf_counter() - t0, 3)})
    return {"metrics": m, "protocol": proto}


def _paired(g, data, n, seed, extractor, info):
    p = g.recipe.eval_pairs(data, n)
    out = _translate(g, p["source"], "AtoB")
    m = paired_scores(out, p["target"])
    ext = _extractor(extractor, info)
    m.update(fd_with_floor(extract(ext, p["target"]), extract(ext, out), seed))
    if p.get("labels") is not None:
        clf = load_classifier("lenet-mnist")
        m["label_acc"] = label_accuracy(clf, out, p["labels"])
        m["label_acc_target"] = label_accuracy(clf, p["target"], p["labels"])
    proto = {"n": len(out), "pairs": "held out" if p["held_out"] else "the first training pairs (no held-out set)",
             "extractor": ext.name, "extractor_sha256": ext.sha256,
             "ssim": "Wang et al. 2004, Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03, on [0, 1]"}
    return m, proto


def _unpaired(g, data, n, seed, extractor, info):
    s = g.recipe.eval_sets(data, n)
    a, b = s["a"], s["b"]
    ab, ba = _translate(g, a, "AtoB"), _translate(g, b, "BtoA")
    m: dict[str, float] = {}
    ext_b = _extractor(extractor, info)
    fb = extract(ext_b, b)
    m.update(_named(fd_with_floor(fb, extract(ext_b, ab), seed), "_atob"))
    m["fd_atob_source"] = fd_with_floor(fb, extract(ext_b, a), seed)["fd"]
    ext_a = ext_b
    fa = extract(ext_a, a)
    m.update(_named(fd_with_floor(fa, extract(ext_a, ba), seed), "_btoa"))
    m["fd_btoa_source"] = fd_with_floor(fa, extract(ext_a, b), seed)["fd"]
    if a.shape == ab.shape:   # how far each image moved from its source (same shapes only)
        m["psnr_a_to_ab"] = float(psnr_per_image(ab, a).mean())
        m["ssim_a_to_ab"] = float(ssim_per_image(ab, a).mean())
    if s.get("a_labels") is not None:
        mnist, small = load_classifier("lenet-mnist"), load_classifier("digits")
        ya, yb = s["a_labels"], s["b_labels"]
        m["acc_translated"] = label_accuracy(mnist, ab, ya)
        m["acc_source_only"] = label_accuracy(mnist, a, ya)
        m["acc_mnist"] = label_accuracy(mnist, b, yb)
        m["cycle_label_bab"] = label_accuracy(mnist, _translate(g, ba, "AtoB"), yb)
        m["cycle_label_aba"] = label_accuracy(small, _translate(g, ab, "BtoA"), ya)
        m["acc_digits_source"] = label_accuracy(small, a, ya)
        m["acc_btoa"] = label_accuracy(small, ba, yb)
    proto = {"n_a": len(a), "n_b": len(b), "images": "held out" if s["held_out"] else "training images "
             "(no testA / testB folders)", "extractor": ext_b.name, "extractor_sha256": ext_b.sha256}
    return m, proto


def _named(d: dict, suffix: str) -> dict:
    return {f"{k}{suffix}": v for k, v in d.items()}


def evaluate_files(real: str, fake: str, **options: Any) -> dict[str, Any]:
    """Two image sets of one shape, in the same order (targets, translations): L1, PSNR, SSIM."""
    refuse("translate", {k: v for k, v in options.items() if k != "seed"}, (), "two files of paired images")
    from ..config import DataConfig
    t, o = (load_dataset(DataConfig(source="auto", path=p, labels=False)).x for p in (real, fake))
    return {"metrics": paired_scores(o, t), "protocol": {"n": len(o), "real": real, "fake": fake}}


def format_result(res: dict[str, Any]) -> str:
    rows = [f"{'metric':<22}{'value':>12}"]
    for k, v in res["metrics"].items():
        rows.append(f"{k:<22}{v:>12.5g}")
    p = res["protocol"]
    rows.append("protocol: " + " ".join(f"{k}={p[k]}" for k in ("recipe", "n", "n_a", "n_b", "pairs", "images",
                                                                "extractor", "seed", "elapsed_s") if k in p))
    return "\n".join(rows)


register_evaluator("translate", Evaluator(run=evaluate_run, files=evaluate_files, format=format_result,
                                          stem="translate-"))

__all__ = ["evaluate_run", "evaluate_files", "format_result"]
