"""The ``text2image`` evaluator: `ganforge eval RUN` for text-to-image runs.

captioned-mnist runs: G_ema draws one image (seeds 0..n-1 after ``seed``) for each of the first --n captions of the
held-out test images (the first caption of each; default n 1,000 per part): images 8000-8999 carry seen attribute
combinations, 9000-9999 held-out ones. The attribute reader (metrics/text2image.py) scores them against their
captions per field and for all fields at once, ``attr_<field>_seen`` / ``attr_<field>_held``, beside the same
figures on the real test images themselves (``..._real``, the reader's floor). FD of the generated images to the
real test images in ``random-conv`` features (or --extractor), with its real-vs-real floor.

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


def attribute_figures(g, n: int, seed: int) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
    """(figures, generated images, real test images) of a captioned-mnist run."""
    from ..data.captioned_mnist import build
    from ..metrics.text2image import attribute_report
    test = build(g.config.data.path, part="test")
    held = test["held"]
    keep = torch.cat([(~held).nonzero().flatten()[:n], held.nonzero().flatten()[:n]])
    caps = [test["captions"][i][0] for i in keep.tolist()]
    fake = draw(g, caps, seed)
    real, attrs, part = test["x"][keep], test["attrs"][keep], held[keep]
    m = attribute_report(fake, attrs, part)
    m.update({f"{k}_real": v for k, v in attribute_report(real, attrs, part).items()})
    return m, fake, real


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
        m, fake, real = attribute_figures(g, n, seed)
        what = f"captions of held-out test images: {n} seen and {n} held-out combinations at most"
    else:
        data = load_dataset(g.config, seed=g.config.train.seed)
        real, fake, _ = g.recipe.eval_samples(data, n, seed)
        m, what = {}, "first captions of training images"
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
