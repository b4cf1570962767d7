"""Text to image: a caption-conditioned GAN with a matching-aware discriminator (GAN-INT-CLS, Reed et al. 2016).

A frozen text encoder (pretrained on the data's real image-caption pairs: text2image_encoder.py) turns a caption,
one of each image's own picked at random every step, into a sentence embedding e. G draws an image from noise z
and e through conditioning augmentation (nets/text2image.py); D scores (image, e) pairs with a projection head.
- D phase: real images with their own captions are scored as real; real images with mismatched captions (the
  batch's captions rolled by one; with text2image.hard, for a share of the batch the nearest caption that is not
  a paraphrase) and G's images with their captions as fake, the two fake kinds weighted
  equally (text2image.mismatch sets the mismatched share; 0 leaves a plain conditional D).
- D_reg phase (reg.r1 > 0): the lazy R1 penalty (Mescheder et al. 2018) on real images with their own captions.
- G phase: the adversarial loss of G's images with their captions, plus text2image.kl times the conditioning
  augmentation's KL term.
G_ema, an average of G, draws what users see. ``ganforge sample RUN --text "a big blue three in the centre"``
(repeatable) or ``--texts FILE`` (one caption a line) draws --n images of each caption, one row per caption, the
same noise in every row; a word the model never saw is one line naming the nearest words it knows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..config import Derived
from ..core.errors import ConfigError, DataError
from ..data.captions import decode, encode
from ..losses import d_loss, g_loss, is_relativistic
from ..losses.regularizers import lazy_scale, zero_centred_penalty
from ..nets.text2image import Text2ImageD, Text2ImageG
from .base import Batch, OptimSpec, Phase, Recipe, register_recipe
from .text2image_encoder import make_encoder, pick_captions
from .text2image_presets import TEXT2IMAGE_PRESETS

GRID_CAPTIONS = 8   # captions in the training grid (each row one caption)


@dataclass
class Text2ImageConfig:
    size: int = 32                # image side (captioned-images: files are brought to it by data.resize)
    encoder: str = ""             # frozen text encoder (.safetensors); "" = pretrain one on the data (cached)
    embed: int = 32               # text encoder: word embedding size
    hidden: int = 64              # text encoder: GRU hidden units per direction
    text_dim: int = 64            # text encoder: sentence embedding size
    pretrain_steps: int = 1500    # text encoder: matching-loss steps on the real pairs
    pretrain_batch: int = 64      # text encoder: pairs per step (the captions each one is matched against)
    pretrain_lr: float = 2e-3     # text encoder: Adam learning rate
    c_dim: int = 32               # conditioning augmentation: size of c (StackGAN: 128 on 1024-D embeddings)
    kl: float = 1.0               # weight of the conditioning augmentation's KL term in G's loss
    mismatch: float = 0.5         # share of D's fake side that is real images with mismatched captions
    hard: float = 0.0             # share of those mismatched captions that are the batch's nearest other caption
    same: float = 0.95            # hard mismatches: captions whose embeddings are this cosine-close count as the same

    def validate(self) -> None:
        for key in ("embed", "hidden", "text_dim", "pretrain_batch", "c_dim"):
            if getattr(self, key) < 1:
                raise ConfigError(f"text2image.{key} must be at least 1, got {getattr(self, key)}")
        if self.pretrain_steps < 0 or self.kl < 0 or self.pretrain_lr <= 0:
            raise ConfigError("text2image.pretrain_steps and text2image.kl must not be negative, "
                              "text2image.pretrain_lr must be positive")
        if not 0 <= self.mismatch < 1:
            raise ConfigError(f"text2image.mismatch must be in [0, 1), got {self.mismatch}")
        if not 0 <= self.hard <= 1 or not 0 < self.same <= 1:
            raise ConfigError("text2image.hard must be in [0, 1] and text2image.same in (0, 1]")


@register_recipe
class Text2ImageRecipe(Recipe):
    name = "text2image"
    section, config = "text2image", Text2ImageConfig
    data_kinds = ("image-text",)
    presets = TEXT2IMAGE_PRESETS
    evaluator = "text2image"
    ema = {"G_ema": "G"}
    truncation_keys = ("z",)
    formats = {".png": "captioned-grid", ".npz": "npz"}
    condition_help = {"text": "captions (repeatable)", "texts": "a file of captions, one a line"}
    sample_options = {"texts": (str, "text-to-image runs: a file of captions, one a line (--n images of each)", None)}

    def __init__(self, cfg, data_info: dict, device: torch.device):
        super().__init__(cfg, data_info, device)
        s, m = self.settings(), cfg.model
        if is_relativistic(cfg.loss.kind):
            raise ConfigError(f"the text2image recipe takes a non-relativistic loss.kind, not {cfg.loss.kind}")
        self.vocab = list(data_info["vocab"])
        self.size = int(data_info["shape"][-1])
        make_g = lambda: Text2ImageG(m.z_dim, s.text_dim, s.c_dim, m.g_width, self.size, m.g_norm,  # noqa: E731
                                     m.attention)
        nets = {"G": make_g(), "D": Text2ImageD(s.text_dim, m.d_width, self.size, m.d_norm, m.attention),
                "G_ema": make_g()}
        nets["G_ema"].load_state_dict(nets["G"].state_dict())
        nets["G_ema"].eval().requires_grad_(False)
        self.nets = {k: v.to(device) for k, v in nets.items()}
        self.encoder = self.add_frozen("text_encoder", make_encoder(len(self.vocab), s), s.encoder)

    @classmethod
    def prepare(cls, cfg, data_info: dict) -> list[Derived]:
        """Without text2image.encoder: pretrain one on the data's real pairs (or reuse the cached one)."""
        s = cfg.section("text2image")
        if s.encoder:
            return []
        from ..data import load_dataset
        from .text2image_encoder import ensure_encoder
        path, fresh = ensure_encoder(load_dataset(cfg, seed=cfg.train.seed), s, cfg.train.seed)
        s.encoder = path
        how = "pretrained now" if fresh else "pretrained before (cached)"
        return [Derived("text2image.encoder", path, f"a text encoder {how} on the data's image-caption pairs")]

    # -- training ---------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimSpec]:
        o = self.cfg.optim
        return {"G": OptimSpec(("G",), o.g_lr, tuple(o.g_betas)), "D": OptimSpec(("D",), o.d_lr, tuple(o.d_betas))}

    def phases(self) -> list[Phase]:
        reg = self.cfg.reg
        lazy = [Phase("D_reg", "D", ("D",), self.d_reg_step, interval=reg.interval)] if reg.r1 > 0 else []
        return lazy + [Phase("D", "D", ("D",), self.d_step), Phase("G", "G", ("G",), self.g_step)]

    def d_reg_step(self, batch: Batch, step: int):
        """Lazy R1 (reg.r1 every reg.interval steps) on real images with their own captions."""
        e = self.embed(pick_captions(batch["tokens"], batch["n_captions"], self.gen))
        r1 = zero_centred_penalty(self.nets["D"], batch.x, e, self.cfg.reg.r1)
        return lazy_scale(r1, self.cfg.reg.interval), {"loss_D_r1": r1.detach()}

    @torch.no_grad()
    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.encoder(tokens)                                            # (B, text_dim)

    def _fake(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        G = self.nets["G"]
        z = torch.randn(len(e), self.cfg.model.z_dim, generator=self.gen, device=self.device)
        c, kl = G.condition(e, self.gen)
        return G(z, c), kl

    def d_step(self, batch: Batch, step: int):
        D, s, kind = self.nets["D"], self.settings(), self.cfg.loss.kind
        e = self.embed(pick_captions(batch["tokens"], batch["n_captions"], self.gen))
        with torch.no_grad():
            fake, _ = self._fake(e)
        phi = D.features(batch.x)
        real, fake_s = D.score(phi, e), D(fake, e)
        if s.mismatch > 0:
            wrong = D.score(phi, self.mismatched(e))
            # as one fake batch of the two kinds in the ratio mismatch : 1 - mismatch
            n_wrong = max(1, round(len(e) * s.mismatch / (1 - s.mismatch)))
            loss = d_loss(kind, real, torch.cat([fake_s, wrong[:n_wrong]]))
        else:
            wrong, loss = None, d_loss(kind, real, fake_s)
        stats = {"loss_D": loss.detach(), "D_real": real.detach().mean(), "D_fake": fake_s.detach().mean()}
        if wrong is not None:
            stats["D_mismatch"] = wrong.detach().mean()
        return loss, stats

    def mismatched(self, e: torch.Tensor) -> torch.Tensor:
        """Another caption for each image: the batch's captions rolled by one, and for the first text2image.hard
        share of the batch the nearest caption (cosine) that is not a paraphrase of its own (below text2image.same),
        so D must check every attribute, not only the most visible one."""
        s = self.settings()
        other = e.roll(1, 0)
        k = int(round(s.hard * len(e)))
        if k and len(e) > 1:
            u = torch.nn.functional.normalize(e, dim=1)
            sim = u[:k] @ u.T                                                    # (k, B)
            sim[sim >= s.same] = -2.0                                            # itself and its paraphrases
            other = torch.cat([e[sim.argmax(1)], other[k:]])
        return other

    def g_step(self, batch: Batch, step: int):
        s = self.settings()
        e = self.embed(pick_captions(batch["tokens"], batch["n_captions"], self.gen))
        fake, kl = self._fake(e)
        adv = g_loss(self.cfg.loss.kind, self.nets["D"](fake, e))
        loss = adv + s.kl * kl
        return loss, {"loss_G": loss.detach(), "loss_G_adv": adv.detach(), "kl": kl.detach()}

    # -- sampling ---------------------------------------------------------------------------------
    def captions_of(self, cond: dict[str, Any]) -> list[str]:
        captions = [str(t) for t in (cond.get("text") or [])]
        if isinstance(cond.get("text"), str):
            captions = [cond["text"]]
        path = cond.get("texts")
        if path:
            try:
                with open(path, encoding="utf-8") as f:
                    captions += [line.strip() for line in f if line.strip()]
            except (OSError, UnicodeDecodeError) as e:
                raise DataError(f"cannot read --texts {path}: {getattr(e, 'strerror', None) or e}") from None
            if not captions:
                raise DataError(f"--texts {path} holds no captions; write one a line")
        return captions

    def sample_inputs(self, n: int = 0, seed: int = 0, seeds=None, conditions=None) -> dict[str, Any]:
        """``n`` images (or one per seed) of each caption, the same noise for every caption."""
        captions = self.captions_of(conditions or {})
        if not captions:
            raise ConfigError('a text2image run draws images of captions: give --text "a caption" or --texts FILE')
        tokens = encode(captions, self.vocab)                                   # (k, L)
        z_dim = self.cfg.model.z_dim
        if seeds is not None:
            z = torch.stack([torch.randn(z_dim, generator=torch.Generator().manual_seed(s)) for s in seeds])
        else:
            z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))
        m = len(z)
        return {"z": z.repeat(len(captions), 1).to(self.device),
                "tokens": tokens.repeat_interleave(m, 0).to(self.device),
                "captions": [c for c in captions for _ in range(m)], "per_row": m}

    def caption_embeddings(self, captions: list[str]) -> torch.Tensor:
        """Sentence embeddings (k, E) of captions; unknown words are refused as at sampling."""
        return self.embed(encode(self.captions_of({"text": list(captions)}), self.vocab).to(self.device))

    def grid_examples(self, n: int) -> int:
        return 0 if self.data_info.get("grid_captions") else min(n, GRID_CAPTIONS)

    def grid_inputs(self, n: int, seed: int, examples=None) -> dict[str, Any]:
        captions = list(self.data_info.get("grid_captions") or [])[:GRID_CAPTIONS]
        if not captions and examples is not None:
            captions = [decode(t[0], self.vocab) for t in examples["tokens"].cpu()]
        per = max(1, n // max(1, len(captions)))
        return self.sample_inputs(per, seed=seed + 7919, conditions={"text": captions})

    @torch.no_grad()
    def generate(self, inputs: dict[str, Any], net: str | None = None, batch: int = 512) -> torch.Tensor:
        G = self.nets[net or self.sampler_net()]
        was = G.training
        G.eval()
        z, emb = inputs["z"], inputs.get("embedding")      # an embedding given (interpolation) wins over tokens
        out = []
        for i in range(0, len(z), batch):
            e = emb[i:i + batch] if emb is not None else self.embed(inputs["tokens"][i:i + batch])
            c, _ = G.condition(e, noise=False)
            out.append(G(z[i:i + batch], c))
        G.train(was)
        return torch.cat(out)

    def eval_samples(self, data, n: int, seed: int, truncation: float | None = None):
        """Real images against images of their own first captions."""
        n = min(n, len(data))
        idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]
        z = torch.randn(n, self.cfg.model.z_dim, generator=torch.Generator().manual_seed(seed + 1))
        tokens = data.extra["tokens"][idx, 0]
        drawn = self.truncate({"z": z.to(self.device), "tokens": tokens.to(self.device)}, truncation)
        return data.x, self.generate(drawn), {}

    def to_output(self, outputs: torch.Tensor, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        x = ((outputs.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()
        out: dict[str, Any] = {"x": x}
        if inputs is not None and inputs.get("captions") is not None:
            out["captions"] = np.asarray(inputs["captions"], dtype=str)
            out["per_row"] = int(inputs.get("per_row") or len(x))
        return out

    def save_samples(self, outputs, path: str, inputs=None) -> str:
        path, ext = self.output_path(path)
        out = self.to_output(outputs, inputs)
        if ext == ".npz":
            out.pop("per_row", None)
        return self.write(self.formats[ext], path, out)

    def generators(self) -> dict[str, str]:
        return {"generator": "G_ema"}


__all__ = ["Text2ImageRecipe", "Text2ImageConfig"]
