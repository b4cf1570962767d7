"""pix2pix (Isola et al. 2017): paired image-to-image translation.

G (a U-Net, nets/translate.py) maps a source image x to an image of the target domain. D (a PatchGAN) scores
overlapping patches of (x, image) pairs, the source concatenated to the image on the channel axis (with
translate.conditional_d=false, the image alone). Each step:
- G phase: G's loss is the conditional adversarial term g_loss(D(x, G(x))) (loss.kind; ``ns`` as published) plus
  translate.l1_weight * mean |G(x) - y| (100 as published); translate.adversarial=false leaves L1 alone;
  translate.l1_weight=0 the adversarial term alone. These are the three arms of the paper's ablation.
- D phase (when adversarial): D scores real pairs (x, y) above (x, G(x)), on the G(x) G's phase just made (one G
  forward per step); its loss is halved, as published, to slow D relative to G.
translate.jitter / translate.flip move a pair together. G_ema, an average of G's weights, translates at sampling
time. Evaluation: evaluation/translate.py.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core.errors import ConfigError
from ..losses import d_loss, g_loss, is_relativistic
from .base import Batch, OptimSpec, Phase, register_recipe
from .translate_common import TranslatorBase
from .translate_presets import PIX2PIX_PRESETS


@register_recipe
class Pix2PixRecipe(TranslatorBase):
    name = "pix2pix"
    data_kinds = ("image-pair",)
    presets = PIX2PIX_PRESETS
    ema = {"G_ema": "G"}
    evaluator = "translate"

    def __init__(self, cfg, data_info: dict, device: torch.device):
        super().__init__(cfg, data_info, device)
        a = tuple(int(v) for v in data_info["shape"])
        b = tuple(int(v) for v in data_info.get("target_shape") or (data_info.get("extra") or {}).get("target", a))
        if a[1:] != b[1:] or a[1] != a[2]:
            raise ConfigError(f"pix2pix translates square images of one size, the data has {a} -> {b}; set "
                              "translate.size")
        if is_relativistic(cfg.loss.kind):
            raise ConfigError(f"the translation recipes take a non-relativistic loss.kind, not {cfg.loss.kind}")
        self.shapes = {"A": a, "B": b}
        s = self.settings()
        self.nets = {"G": self.make_g(a[0], b[0]), "D": self.make_d(b[0] + (a[0] if s.conditional_d else 0))}
        self.nets["G_ema"] = self.make_g(a[0], b[0])
        self.nets["G_ema"].load_state_dict(self.nets["G"].state_dict())
        self.nets["G_ema"].eval().requires_grad_(False)
        self.nets = {k: v.to(device) for k, v in self.nets.items()}
        self._fake: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None  # this step's (x, y, G(x))

    def net_for(self, direction: str) -> str:
        return "G_ema"

    # -- training ---------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimSpec]:
        o = self.cfg.optim
        return {"G": OptimSpec(("G",), o.g_lr, tuple(o.g_betas)), "D": OptimSpec(("D",), o.d_lr, tuple(o.d_betas))}

    def phases(self) -> list[Phase]:
        s = self.settings()
        if not s.adversarial and s.l1_weight <= 0:
            raise ConfigError("translate.adversarial=false and translate.l1_weight=0 leave G no loss; set one")
        out = [Phase("G", "G", ("G",), self.g_step)]
        return out + ([Phase("D", "D", ("D",), self.d_step)] if s.adversarial else [])

    def _score(self, x: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        inp = torch.cat([x, image], 1) if self.settings().conditional_d else image
        return self.nets["D"](inp).flatten()                         # (N * h * w,) patch logits

    def g_step(self, batch: Batch, step: int):
        s, kind = self.settings(), self.cfg.loss.kind
        x, y = self.jitter_flip(batch.x, batch["target"])
        fake = self.nets["G"](x)
        l1 = F.l1_loss(fake, y)
        stats = {"l1": l1.detach()}
        loss = s.l1_weight * l1
        if s.adversarial:
            adv = g_loss(kind, self._score(x, fake))
            loss = loss + adv
            stats["loss_G_adv"] = adv.detach()
            self._fake = (x, y, fake.detach())
        stats["loss_G"] = loss.detach()
        return loss, stats

    def d_step(self, batch: Batch, step: int):
        x, y, fake = self._fake
        self._fake = None
        real, gen = self._score(x, y), self._score(x, fake)
        loss = 0.5 * d_loss(self.cfg.loss.kind, real, gen)
        return loss, {"loss_D": loss.detach(), "D_real": real.detach().mean(), "D_fake": gen.detach().mean()}

    # -- the grid and evaluation --------------------------------------------------------------------
    def grid_inputs(self, n: int, seed: int, examples=None) -> dict:
        return {"source": examples["x"], "target": examples["target"], "direction": "AtoB"}

    def eval_pairs(self, data, n: int) -> dict:
        """Held-out (source, target[, label]) pairs: the built set's test part, else the first n training pairs."""
        if self.data_info.get("name") == "edges2digits":
            from ..data.translate_digits import edges2digits
            x, t, y = edges2digits(self.cfg.data.path, part="test")
            if self.settings().direction == "BtoA":         # digits -> edge maps: no digit to read the label of
                return {"source": t[:n], "target": x[:n], "held_out": True}
            return {"source": x[:n], "target": t[:n], "labels": y[:n], "held_out": True}
        n = min(n, len(data))
        return {"source": data.x[:n], "target": data.extra["target"][:n], "held_out": False}

    def eval_samples(self, data, n: int, seed: int):
        """Translations of held-out sources against their true targets (``eval.every`` during training)."""
        p = self.eval_pairs(data, n)
        return p["target"], self.generate({"source": p["source"].to(self.device)}), {}

    def generators(self) -> dict[str, str]:
        return {"G_AB": "G_ema"}


__all__ = ["Pix2PixRecipe"]
