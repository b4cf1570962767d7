"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation.

Two generators, G_AB (A -> B) and G_BA (B -> A), and two PatchGAN discriminators, D_B (is this a real B?) and D_A.
Each step, on a batch of A images a and an unrelated batch of B images b:
- G phase: adversarial terms g_loss(D_B(G_AB(a))) + g_loss(D_A(G_BA(b))) (loss.kind; ``lsgan`` as published), cycle
  consistency translate.cycle_weight * (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|) (mean L1; 10 as published) and,
  when both domains have the same channels, identity translate.identity_weight * cycle_weight *
  (|G_AB(b) - b| + |G_BA(a) - a|) (0.5 as published).
- D phase: each D scores its domain's real images above generated ones drawn from a pool of past generated images
  (translate.pool = 50 as published; nets/translate.py ImagePool), fed with what G's phase just made; each D's loss is
  halved, as published. The pools are buffers, so checkpoints keep them.
G_AB_ema and G_BA_ema, averages of the generators' weights, translate at sampling time; export writes both.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import ConfigError
from ..losses import d_loss, g_loss, is_relativistic
from ..nets.translate import ImagePool
from .base import Batch, OptimSpec, Phase, register_recipe
from .translate_common import DIRECTIONS, TranslatorBase, grid_rows, to_uint8
from .translate_presets import CYCLEGAN_PRESETS


@register_recipe
class CycleGANRecipe(TranslatorBase):
    name = "cyclegan"
    data_kinds = ("image-unpaired",)
    presets = CYCLEGAN_PRESETS
    ema = {"G_AB_ema": "G_AB", "G_BA_ema": "G_BA"}
    evaluator = "translate"

    def __init__(self, cfg, data_info: dict, device: torch.device):
        super().__init__(cfg, data_info, device)
        a = tuple(int(v) for v in data_info["shape"])
        b = tuple(int(v) for v in data_info.get("b_shape") or (data_info.get("extra") or {}).get("b", a))
        shape_ok = a[1] == a[2] or (cfg.section("translate").generator == "resnet" and a[1] % 4 == 0 and a[2] % 4 == 0)
        if a[1:] != b[1:] or not shape_ok:
            raise ConfigError(f"cyclegan translates images of one size, square unless translate.generator=resnet "
                              f"(sides divisible by 4); the data has {a} and {b}; set translate.size")
        if is_relativistic(cfg.loss.kind):
            raise ConfigError(f"the translation recipes take a non-relativistic loss.kind, not {cfg.loss.kind}")
        self.shapes = {"A": a, "B": b}
        s = self.settings()
        self.identity = s.identity_weight > 0 and a[0] == b[0]
        nets = {"G_AB": self.make_g(a[0], b[0]), "G_BA": self.make_g(b[0], a[0]),
                "D_A": self.make_d(a[0]), "D_B": self.make_d(b[0]),
                "pool_A": ImagePool(s.pool, a), "pool_B": ImagePool(s.pool, b)}
        for g in ("G_AB", "G_BA"):
            nets[f"{g}_ema"] = self.make_g(self.shapes[g[2]][0], self.shapes[g[3]][0])
            nets[f"{g}_ema"].load_state_dict(nets[g].state_dict())
            nets[f"{g}_ema"].eval().requires_grad_(False)
        self.nets = {k: v.to(device) for k, v in nets.items()}
        self._fakes: tuple[torch.Tensor, ...] | None = None   # this step's (a, b, G_BA(b), G_AB(a)), detached

    def directions(self) -> tuple[str, ...]:
        return DIRECTIONS

    def net_for(self, direction: str) -> str:
        return "G_AB_ema" if direction == "AtoB" else "G_BA_ema"

    # -- training ---------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimSpec]:
        o = self.cfg.optim
        return {"G": OptimSpec(("G_AB", "G_BA"), o.g_lr, tuple(o.g_betas)),
                "D": OptimSpec(("D_A", "D_B"), o.d_lr, tuple(o.d_betas))}

    def phases(self) -> list[Phase]:
        return [Phase("G", "G", ("G_AB", "G_BA"), self.g_step), Phase("D", "D", ("D_A", "D_B"), self.d_step)]

    def g_step(self, batch: Batch, step: int):
        s, kind, n = self.settings(), self.cfg.loss.kind, self.nets
        (a,), (b,) = self.jitter_flip(batch.x), self.jitter_flip(batch["b"])
        fake_b, fake_a = n["G_AB"](a), n["G_BA"](b)
        adv_b = g_loss(kind, n["D_B"](fake_b).flatten())
        adv_a = g_loss(kind, n["D_A"](fake_a).flatten())
        cycle = F.l1_loss(n["G_BA"](fake_b), a) + F.l1_loss(n["G_AB"](fake_a), b)
        loss = adv_a + adv_b + s.cycle_weight * cycle
        stats = {"loss_G_adv_A": adv_a.detach(), "loss_G_adv_B": adv_b.detach(), "cycle": cycle.detach()}
        if self.identity:
            ident = F.l1_loss(n["G_AB"](b), b) + F.l1_loss(n["G_BA"](a), a)
            loss = loss + s.identity_weight * s.cycle_weight * ident
            stats["identity"] = ident.detach()
        self._fakes = (a, b, fake_a.detach(), fake_b.detach())
        stats["loss_G"] = loss.detach()
        return loss, stats

    def d_step(self, batch: Batch, step: int):
        kind, n = self.cfg.loss.kind, self.nets
        a, b, fake_a, fake_b = self._fakes
        self._fakes = None
        fake_a, fake_b = n["pool_A"].query(fake_a, self.gen), n["pool_B"].query(fake_b, self.gen)
        real_a, real_b = n["D_A"](a).flatten(), n["D_B"](b).flatten()
        loss_a = 0.5 * d_loss(kind, real_a, n["D_A"](fake_a).flatten())
        loss_b = 0.5 * d_loss(kind, real_b, n["D_B"](fake_b).flatten())
        return loss_a + loss_b, {"loss_D_A": loss_a.detach(), "loss_D_B": loss_b.detach(),
                                 "D_A_real": real_a.detach().mean(), "D_B_real": real_b.detach().mean()}

    # -- the grid, evaluation, export ---------------------------------------------------------------
    def grid_inputs(self, n: int, seed: int, examples=None) -> dict:
        return {"source": examples["x"], "other": examples["b"], "direction": "AtoB"}

    def save_grid(self, outputs, stem: str, inputs=None) -> list[str]:
        """Rows: A, G_AB(A), then B, G_BA(B), for the same fixed images at every step."""
        back = self.generate({"source": inputs["other"], "direction": "BtoA"})
        rows = grid_rows({"source": to_uint8(inputs["source"]), "x": to_uint8(outputs)})["x"], \
            grid_rows({"source": to_uint8(inputs["other"]), "x": to_uint8(back)})["x"]
        if rows[0].shape[1] != rows[1].shape[1]:
            rows = tuple(np.repeat(r, 3, 1) if r.shape[1] == 1 else r for r in rows)
        return [self.write("png-grid", stem + ".png", {"x": np.concatenate(rows)}, nrow=len(outputs))]

    def eval_sets(self, data, n: int) -> dict:
        """Held-out images of both domains (with labels for the built set), else the training images."""
        if self.data_info.get("name") == "digits2mnist":
            from ..data.translate_digits import digits2mnist
            p = digits2mnist(self.cfg.data.path, part="test")
            return {"a": p["a"][:n], "b": p["b"][:n], "a_labels": p["a_labels"][:n], "b_labels": p["b_labels"][:n],
                    "held_out": True}
        import os

        from ..data.translate import read_unpaired
        if os.path.isdir(os.path.join(self.data_info.get("name", ""), "testA")):
            a, b = read_unpaired(self.cfg, self.data_info["name"], "test")
            return {"a": a[:n], "b": b[:n], "held_out": True}
        na, nb = int(self.data_info.get("n_a", len(data))), int(self.data_info.get("n_b", len(data)))
        return {"a": data.x[:min(n, na)], "b": data.extra["b"][:min(n, nb)], "held_out": False}

    def eval_samples(self, data, n: int, seed: int):
        """G_AB's translations of held-out A images against real held-out B images (``eval.every``)."""
        s = self.eval_sets(data, n)
        return s["b"], self.generate({"source": s["a"].to(self.device)}), {}

    def generators(self) -> dict[str, str]:
        return {"G_AB": "G_AB_ema", "G_BA": "G_BA_ema"}


__all__ = ["CycleGANRecipe"]
