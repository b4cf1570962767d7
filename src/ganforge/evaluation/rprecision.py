"""R-precision of text-to-image runs (Xu et al. 2018, AttnGAN): does an image's own caption rank first?

An evaluation-only dual encoder (an image encoder and a text encoder, nets/text2image.py) is trained on the run's
real image-caption pairs with the sentence matching loss of the recipe's own encoder (text2image_encoder.py), but
with its own seed and both halves kept, so the figure never uses the encoder G was conditioned on. Weights are cached
under ``GANFORGE_CACHE``/text2image as ``rprec-<key>.safetensors`` (key: the data's sha256, the settings below and the
torch version) with a JSON card beside them; later evaluations of runs on the same data reuse them.

R-precision with R = 1: for each image, its caption and ``OTHERS`` (99) captions of other images are ranked by
cosine similarity to the image; a hit when its own caption ranks first. The other captions are drawn only among
images whose attributes differ from the image's own (``groups``), so a caption saying the same thing in other words
is never counted as a wrong answer. Published: 67.82 on CUB, 85.47 on COCO (AttnGAN).
"""
from __future__ import annotations

import hashlib
import json
import os

import torch
import torch.nn.functional as F

SEED = 7919          # the evaluation encoder's own seed (never a run's)
STEPS = 1500         # matching-loss steps on the real pairs
BATCH = 64
LR = 2e-3
DIM, EMBED, HIDDEN = 64, 32, 64
OTHERS = 99


def r_precision(img: torch.Tensor, txt: torch.Tensor, groups: list | None = None, others: int = OTHERS,
                seed: int = 0) -> float:
    """Share of rows i whose txt[i] is the closest (cosine) to img[i] among itself and ``others`` rows drawn
    from those whose group differs from group i (all other rows when ``groups`` is None)."""
    n = len(img)
    if n < 2:
        raise ValueError("R-precision needs at least two image-caption pairs")
    img, txt = F.normalize(img.float(), dim=1), F.normalize(txt.float(), dim=1)
    sim = img @ txt.T                                                       # (n, n)
    gen = torch.Generator().manual_seed(seed)
    keys = list(range(n)) if groups is None else [tuple(g) if isinstance(g, (list, tuple)) else g for g in groups]
    hits = 0
    for i in range(n):
        pool = torch.tensor([j for j in range(n) if keys[j] != keys[i]], dtype=torch.long)
        if len(pool) == 0:
            continue
        pick = pool[torch.randperm(len(pool), generator=gen)[:others]]
        hits += bool((sim[i, pick] < sim[i, i]).all())
    return hits / n


def _nets(dataset):
    from ..nets.text2image import ImageEncoder, TextEncoder
    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        return ImageEncoder(dataset.x.shape[-1], DIM), TextEncoder(len(dataset.meta["vocab"]), EMBED, HIDDEN, DIM)


def _train(dataset) -> tuple[torch.nn.Module, torch.nn.Module, dict]:
    from ..recipes.text2image_encoder import fit_matching
    img, txt = _nets(dataset)
    acc = fit_matching(img, txt, dataset, STEPS, BATCH, LR, torch.Generator().manual_seed(SEED + 1))
    card = {"what": "R-precision dual encoder (evaluation only)", "steps": STEPS, "batch": min(BATCH, len(dataset.x)),
            "lr": LR, "seed": SEED, "train_match_acc_last50": acc}
    return img.eval(), txt.eval(), card


def dual_encoder(dataset) -> tuple[torch.nn.Module, torch.nn.Module, str]:
    """(image encoder, text encoder, weights path) for ``dataset``'s real pairs: from the cache, else trained now."""
    from safetensors.torch import load_file

    from ..data.cache import cache_dir
    from ..recipes.text2image_encoder import fingerprint, save_cached
    key = {"data": fingerprint(dataset), "steps": STEPS, "batch": BATCH, "lr": LR, "seed": SEED, "dim": DIM,
           "embed": EMBED, "hidden": HIDDEN, "torch": torch.__version__.split("+")[0]}
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    folder = os.path.join(cache_dir(), "text2image")
    path = os.path.join(folder, f"rprec-{name}.safetensors")
    if os.path.isfile(path):
        img, txt = _nets(dataset)
        w = load_file(path)
        img.load_state_dict({k[4:]: v for k, v in w.items() if k.startswith("img.")})
        txt.load_state_dict({k[4:]: v for k, v in w.items() if k.startswith("txt.")})
        return img.eval(), txt.eval(), path
    img, txt, card = _train(dataset)
    weights = {**{f"img.{k}": v.detach().contiguous() for k, v in img.state_dict().items()},
               **{f"txt.{k}": v.detach().contiguous() for k, v in txt.state_dict().items()}}
    save_cached(weights, path, {**card, "key": key})
    return img, txt, path


@torch.no_grad()
def score(img_net, txt_net, images: torch.Tensor, tokens: torch.Tensor, groups: list, seed: int) -> float:
    """R-precision of ``images`` against their own captions (``tokens``), in batches of 500."""
    e_img = torch.cat([img_net(images[i:i + 500]) for i in range(0, len(images), 500)])
    e_txt = torch.cat([txt_net(tokens[i:i + 500]) for i in range(0, len(tokens), 500)])
    return r_precision(e_img, e_txt, groups, seed=seed)


__all__ = ["r_precision", "dual_encoder", "score"]
