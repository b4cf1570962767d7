"""Pretraining the text-to-image recipe's frozen text encoder on the data's real image-caption pairs.

The matching loss is the sentence-level half of AttnGAN's DAMSM (Xu et al. 2018): in a batch of B images and one
caption of each, the cosine similarities of image and sentence embeddings, times gamma (10, as published), are
logits; the loss is the cross-entropy of picking each image's own caption among the B and each caption's own image
(both directions). The image encoder (nets/text2image.py) is dropped afterwards; the text encoder is written as a
safetensors file with a JSON card beside it and used frozen by every run that names it (text2image.encoder).

When text2image.encoder is not given, ``ensure_encoder`` trains one before the run starts and keeps it under
``GANFORGE_CACHE`` (default ~/.cache/ganforge) in ``text2image/``, named by the sha256 of what determines it (the
data's bytes, the encoder settings, the seed, the torch version), so later runs on the same data reuse it.
"""
from __future__ import annotations

import hashlib
import json
import os

import torch
import torch.nn.functional as F

from ..core.errors import write_failed
from ..nets.text2image import ImageEncoder, TextEncoder

GAMMA = 10.0


def make_encoder(vocab_size: int, s) -> TextEncoder:
    return TextEncoder(vocab_size, s.embed, s.hidden, s.text_dim)


def pick_captions(tokens: torch.Tensor, n_caps: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """One caption of each example, uniformly among its own: (B, K, L) -> (B, L)."""
    k = (torch.rand(n_caps.shape, generator=gen, device=n_caps.device) * n_caps).long()
    return tokens[torch.arange(len(tokens), device=tokens.device), k]


def matching_loss(img: torch.Tensor, txt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, share of images whose own caption scores highest) of a batch of paired embeddings."""
    logits = GAMMA * F.normalize(img, dim=1) @ F.normalize(txt, dim=1).T        # (B, B)
    target = torch.arange(len(img), device=img.device)
    loss = F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)
    return loss, (logits.argmax(1) == target).float().mean()


def fit_matching(img, txt, dataset, steps: int, batch: int, lr: float, gen: torch.Generator) -> float:
    """Train an image and a text encoder together on ``dataset``'s real pairs by the matching loss (Adam, one
    caption of each image per step); -> the mean match accuracy of the last 50 steps."""
    opt = torch.optim.Adam(list(txt.parameters()) + list(img.parameters()), lr=lr)
    x, tokens, n_caps = dataset.x, dataset.extra["tokens"], dataset.extra["n_captions"]
    batch = min(batch, len(x))
    accs = []
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=gen)
        loss, acc = matching_loss(img(x[idx]), txt(pick_captions(tokens[idx], n_caps[idx], gen)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        accs.append(float(acc))
    tail = accs[-50:] or [0.0]
    return sum(tail) / len(tail)


def pretrain(dataset, s, seed: int) -> tuple[dict[str, torch.Tensor], dict]:
    """Train a text encoder (and a throw-away image encoder) on ``dataset``; -> (its weights, a card)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed * 101 + 3)
        txt = make_encoder(len(dataset.meta["vocab"]), s)
        img = ImageEncoder(dataset.x.shape[-1], s.text_dim)
    gen = torch.Generator().manual_seed(seed * 101 + 4)
    acc = fit_matching(img, txt, dataset, s.pretrain_steps, s.pretrain_batch, s.pretrain_lr, gen)
    batch = min(s.pretrain_batch, len(dataset.x))
    card = {"what": "text2image text encoder", "loss": "sentence matching (DAMSM sentence term), gamma 10",
            "steps": s.pretrain_steps, "batch": batch, "lr": s.pretrain_lr, "seed": seed,
            "vocab": len(dataset.meta["vocab"]), "embed": s.embed, "hidden": s.hidden, "dim": s.text_dim,
            "train_match_acc_last50": acc, "torch_version": torch.__version__}
    return {k: v.detach().contiguous() for k, v in txt.state_dict().items()}, card


def fingerprint(dataset) -> str:
    h = hashlib.sha256()
    for t in (dataset.x, dataset.extra["tokens"], dataset.extra["n_captions"]):
        h.update(t.contiguous().numpy().tobytes())
    h.update(json.dumps(dataset.meta["vocab"]).encode())
    return h.hexdigest()


def encoder_dir() -> str:
    from ..data.cache import cache_dir
    return os.path.join(cache_dir(), "text2image")


def ensure_encoder(dataset, s, seed: int) -> tuple[str, bool]:
    """(the encoder file for this data and these settings, whether it was trained now)."""
    key = {"data": fingerprint(dataset), "embed": s.embed, "hidden": s.hidden, "dim": s.text_dim,
           "steps": s.pretrain_steps, "batch": s.pretrain_batch, "lr": s.pretrain_lr, "seed": seed,
           "torch": torch.__version__.split("+")[0]}
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    path = os.path.join(encoder_dir(), f"encoder-{name}.safetensors")
    if os.path.isfile(path):
        return path, False
    weights, card = pretrain(dataset, s, seed)
    save_cached(weights, path, {**card, "key": key})
    return path, True


def save_cached(weights: dict[str, torch.Tensor], path: str, card: dict) -> None:
    """Write ``weights`` to ``path`` (safetensors) with ``card`` as JSON beside it; the weights appear whole or not
    at all (written aside, then renamed), so a killed writer never leaves a file a later run would trust."""
    from safetensors.torch import save_file
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        save_file(weights, tmp)
        with open(path[:-len(".safetensors")] + ".json", "w") as f:
            json.dump(card, f, indent=1)
        os.replace(tmp, path)
    except OSError as e:
        raise write_failed(path, e) from None


__all__ = ["pretrain", "fit_matching", "ensure_encoder", "save_cached", "make_encoder", "matching_loss",
           "pick_captions", "fingerprint"]
