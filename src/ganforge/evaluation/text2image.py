"""The ``text2image`` evaluator: `ganforge eval RUN` for text-to-image runs.

captioned-mnist runs: G_ema draws one image (seeds 0..n-1 after ``seed``) for each of the first --n captions of the
held-out test images (the first caption of each; default n 1,000 per part): images 8000-8999 carry seen attribute
combinations, 9000-9999 held-out ones. The attribute reader (metrics/text2image.py) scores them against their
captions per field and for all fields at once, ``attr_<field>_seen`` / ``attr_<field>_held``, beside the same
figures on the real test images themselves (``..._real``, the reader's floor). R-precision (``rprec_seen`` /
``rprec_held``, with ``..._real``): evaluation/rprecision.py. FD of the generated images to the
real test images in ``random-conv`` features (or --extractor), with its real-vs-real floor. ``diversity``: the mean
pairwise feature distance of 16 images of one caption (8 captions), beside ``diversity_real``, the same among real
test images sharing every caption attribute (up to 16 groups of up to 16).

Other caption folders: FD of images drawn for the first captions of --n training images, in the same features.
"""
from __future__ import annotations

import time
from typing import Any

import torch

from ..core.errors import ConfigError
from ..data import load_dataset
from ..metrics.extractors import extract, get_extractor
from ..metrics.translate import fd_with_floor
from .base import Evaluator, refuse, register_evaluator


def draw(g, captions: list[str], seed: int) -> torch.Tensor:
    """One image per caption, the noise of caption i from seed + i."""
    from ..data.captions import encode
    r = g.recipe
    z = torch.stack([torch.randn(g.config.model.z_dim, generator=torch.Generator().manual_seed(seed + i))
                     for i in range(len(captions))])
    tokens = encode(captions, r.vocab)
    return r.generate({"z": z.to(r.device), "tokens": tokens.to(r.device)}).cpu()


def attribute_figures(g, n: int, seed: int, test: dict) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
    """(figures, generated images, real test images) of a captioned-mnist run; ``test``: its test part."""
    from ..metrics.text2image import attribute_report
    held = test["held"]
    keep = torch.cat([(~held).nonzero().flatten()[:n], held.nonzero().flatten()[:n]])
    caps = [test["captions"][i][0] for i in keep.tolist()]
    fake = draw(g, caps, seed)
    real, attrs, part = test["x"][keep], test["attrs"][keep], held[keep]
    m = attribute_report(fake, attrs, part)
    m.update({f"{k}_real": v for k, v in attribute_report(real, attrs, part).items()})
    m.update(r_precision_figures(g, caps, attrs, part, fake, real, seed))
    return m, fake, real


def r_precision_figures(g, caps: list[str], attrs: torch.Tensor, part: torch.Tensor, fake: torch.Tensor,
                        real: torch.Tensor, seed: int) -> dict[str, float]:
    """``rprec_seen`` / ``rprec_held`` of the generated images and ``..._real`` of the real ones (evaluation/
    rprecision.py: a dual encoder of its own, trained on the run's real training pairs)."""
    from ..data.captions import encode
    from .rprecision import dual_encoder, score
    data = load_dataset(g.config, seed=g.config.train.seed)
    img_net, txt_net, _ = dual_encoder(data)
    tokens = encode(caps, data.meta["vocab"])
    out = {}
    for name, sel in (("seen", ~part), ("held", part)):
        idx = sel.nonzero().flatten()
        if len(idx) >= 2:
            groups = attrs[idx].tolist()
            out[f"rprec_{name}"] = score(img_net, txt_net, fake[idx], tokens[idx], groups, seed)
            out[f"rprec_{name}_real"] = score(img_net, txt_net, real[idx], tokens[idx], groups, seed)
    return out


def diversity(g, captions: list[str], ext, seed: int, per: int = 16) -> float:
    """Mean pairwise feature distance between ``per`` images of one caption (different noise), over captions:
    how much the noise still varies once the caption is fixed (0: one image per caption)."""
    from ..metrics.text2image import mean_pairwise
    return sum(mean_pairwise(extract(ext, draw(g, [cap] * per, seed + 1000 * (k + 1))))
               for k, cap in enumerate(captions)) / len(captions)


def real_diversity(x: torch.Tensor, attrs: torch.Tensor, ext, groups: int = 16, per: int = 16) -> float:
    """The same figure for real images that share all caption attributes (digit, colour, size, position): what
    one caption leaves open in the data itself."""
    from ..metrics.text2image import mean_pairwise
    keys: dict[tuple, list[int]] = {}
    for i, a in enumerate(attrs.tolist()):
        keys.setdefault(tuple(a), []).append(i)
    out = [mean_pairwise(extract(ext, x[idx])) for idx in [v[:per] for v in keys.values() if len(v) >= 2][:groups]]
    return sum(out) / len(out) if out else float("nan")


def evaluate_run(g, *, n: int | None = None, seed: int = 0, extractor: str = "auto", metrics=None,
                 **other: Any) -> dict[str, Any]:
    refuse("text2image", other, ("n", "seed", "extractor"), "a text2image run")
    if metrics:
        raise ConfigError("a text2image run is measured by a fixed set of figures; --metrics does not apply")
    t0 = time.perf_counter()
    n = n or 1000
    if n < 4:
        raise ConfigError(f"--n {n} is too small; use at least 4")
    ext = get_extractor("random-conv" if extractor == "auto" else extractor)
    if g.data_info.get("name") == "captioned-mnist":
        from ..data.captioned_mnist import build
        test = build(g.config.data.path, part="test")
        m, fake, real = attribute_figures(g, n, seed, test)
        what = f"captions of held-out test images: {n} seen and {n} held-out combinations at most"
        m["diversity"] = diversity(g, [c[0] for c in test["captions"][:8]], ext, seed)
        m["diversity_real"] = real_diversity(test["x"], test["attrs"], ext)
    else:
        data = load_dataset(g.config, seed=g.config.train.seed)
        real, fake, _ = g.recipe.eval_samples(data, n, seed)
        m, what = {}, "first captions of training images"
        caps = [str(c) for c in (g.data_info.get("grid_captions") or [])[:8]]
        if caps:
            m["diversity"] = diversity(g, caps, ext, seed)
    m.update(fd_with_floor(extract(ext, real), extract(ext, fake.cpu()), seed))
    proto = {"n": len(fake), "captions": what, "extractor": ext.name, "seed": seed, "checkpoint": g.checkpoint,
             "step": g.step, "recipe": g.recipe.name, "elapsed_s": round(time.perf_counter() - t0, 3)}
    return {"metrics": m, "protocol": proto}


def evaluate_files(real: str, fake: str, **options: Any) -> dict[str, Any]:
    raise ConfigError("text-to-image images are measured against their captions: give a run (ganforge eval RUN)")


def format_result(res: dict[str, Any]) -> str:
    rows = [f"{'metric':<26}{'value':>12}"]
    rows += [f"{k:<26}{v:>12.5g}" for k, v in res["metrics"].items()]
    p = res["protocol"]
    rows.append("protocol: " + " ".join(f"{k}={p[k]}" for k in ("recipe", "n", "extractor", "seed", "elapsed_s")))
    return "\n".join(rows)


register_evaluator("text2image", Evaluator(run=evaluate_run, files=evaluate_files, format=format_result,
                                           stem="text2image-"))

__all__ = ["evaluate_run", "attribute_figures", "draw", "format_result"]
