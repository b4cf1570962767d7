"""The GAN recipe's stability and anti-collapse options, kept out of the D and G steps.

Everything D sees goes through :meth:`GANOptions.d_input`, for real and generated samples alike
and in every phase (D, G, D_reg), so D always judges one kind of input:

    x (B, C, H, W) or (B, F)
      -> DiffAugment ops with probability p      (images only; augment.policy, augment.ada)
      -> + Gaussian instance noise, std decaying  (reg.inst_noise, reg.inst_noise_steps)
      -> PacGAN packing of `pack` samples         (model.pack): (B/pack, pack*C, H, W) or (B/pack, pack*F)

Penalties are taken on D's actual input (after augmentation and packing), as in StyleGAN2-ADA.
Diagnostics (gradient norms, ADA's p and r_t) are added to the loop's on-device stat sums in
``after_step``: no host sync per step.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..core.errors import ConfigError
from ..diffaug import ADAController, augment, parse_policy
from ..losses import relative_scores
from ..losses.regularizers import add_noise, check_label_smoothing, instance_noise_std, smoothed_d_loss


def accumulate(acc: dict[str, Any], stats: dict[str, Tensor]) -> None:
    """Add stats to the loop's running sums, in its format (value sum + "n_" count)."""
    for k, v in stats.items():
        acc[k] = acc[k] + v if k in acc else v.detach().clone()
        acc["n_" + k] = acc.get("n_" + k, 0) + 1


def grad_norm(params: list[Tensor]) -> Tensor | None:
    """L2 norm of the parameters' current gradients (after clipping, if any), on device."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return None
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def pack(x: Tensor, k: int) -> Tensor:
    """PacGAN: join k consecutive samples along the first data axis: (B, C, ...) -> (B/k, k*C, ...)."""
    if k == 1:
        return x
    return x.reshape(x.shape[0] // k, k * x.shape[1], *x.shape[2:])


class GANOptions:
    def __init__(self, cfg, data_info: dict, device: torch.device) -> None:
        self.cfg, self.device = cfg, device
        m, reg, aug = cfg.model, cfg.reg, cfg.augment
        self.pack = int(m.pack)
        if cfg.train.batch % self.pack:
            raise ConfigError(f"train.batch={cfg.train.batch} is not divisible by model.pack={self.pack}; "
                              f"use a batch that is a multiple of {self.pack}")
        if self.pack > 1 and m.conditional:
            raise ConfigError("model.pack > 1 cannot be combined with model.conditional (a packed group "
                              "has no single label); set model.pack=1 or model.conditional=false")
        check_label_smoothing(cfg.loss.kind, reg.label_smooth)
        self.policy = parse_policy(aug.policy)
        if (self.policy or aug.ada) and data_info.get("kind") != "image":
            raise ConfigError("augment.policy / augment.ada work on images only; this data is "
                              f"{data_info.get('kind')}: set augment.policy='' and augment.ada=false")
        if aug.ada and not self.policy:
            raise ConfigError("augment.ada needs augmentations to apply: set augment.policy, "
                              "e.g. augment.policy=color,translation,cutout")
        if not 0.0 <= aug.p <= 1.0:
            raise ConfigError(f"augment.p must be in [0, 1], got {aug.p}")
        self.fixed_p = aug.p if aug.p > 0 else 1.0  # a policy without ADA always applies unless p is set
        self.ada = (ADAController(aug.ada_target, aug.ada_interval, aug.ada_speed, cfg.train.batch, aug.p, device)
                    if aug.ada else None)
        self.reg = reg
        self.topk, self.topk_gamma = cfg.optim.topk, cfg.optim.topk_gamma
        self.steps_per_epoch = max(int(data_info.get("n") or cfg.train.batch), 1) / cfg.train.batch
        self._params: dict[str, list[Tensor]] | None = None

    # -- what D sees ----------------------------------------------------------------------------
    def noise_std(self, step: int) -> float:
        return instance_noise_std(self.reg.inst_noise, step, self.reg.inst_noise_steps)

    def d_input(self, x: Tensor, step: int, gen: torch.Generator | None) -> Tensor:
        if self.policy:
            p = self.ada.p if self.ada is not None else self.fixed_p
            x = augment(x, self.policy, p, gen)
        x = add_noise(x, self.noise_std(step), gen)
        return pack(x, self.pack)

    def d_adv_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return smoothed_d_loss(self.cfg.loss.kind, real_logits, fake_logits, self.reg.label_smooth)

    def topk_share(self, step: int) -> float:
        """Top-k G updates (Sinha et al. 2020): the share of G's batch its loss keeps at ``step``,
        gamma^epoch, never below optim.topk."""
        if self.topk >= 1.0:
            return 1.0
        return max(self.topk, self.topk_gamma ** (step / self.steps_per_epoch))

    def g_scores(self, fake_logits: Tensor, step: int,
                 real_logits: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """D's scores of G's batch that G's loss sees: the highest-scored share (all by default),
        so the samples D finds least real send G no gradient. With ``loss.kind=rpgan`` the share is
        the pairs whose generated sample D scores highest relative to its real partner, and the
        partners' scores are kept with them; other real scores pass through whole."""
        share = self.topk_share(step)
        if share >= 1.0:
            return fake_logits, real_logits
        k = max(1, round(share * fake_logits.shape[0]))
        kind = self.cfg.loss.kind
        if real_logits is not None and kind == "rpgan":
            idx = relative_scores(kind, fake_logits, real_logits).topk(k, sorted=False).indices
            return fake_logits[idx], real_logits[idx]
        return fake_logits.topk(k, sorted=False).values, real_logits

    def observe_real(self, real_logits: Tensor, stats: dict[str, Tensor]) -> None:
        """Feed ADA's overfitting signal; logs this step's mean sign(D(real)) as ``ada_r_t``."""
        if self.ada is not None:
            stats["ada_r_t"] = self.ada.observe(real_logits)

    # -- lazy regularisation --------------------------------------------------------------------
    @property
    def lazy(self) -> bool:
        return self.reg.r1 > 0 or self.reg.r2 > 0

    # -- per step -------------------------------------------------------------------------------
    def after_step(self, step: int, acc: dict[str, Any], nets: dict[str, nn.Module], g_ran: bool) -> None:
        stats: dict[str, Tensor] = {}
        if self._params is None:  # walking the module tree every step costs more than the norms
            self._params = {k: list(nets[k].parameters()) for k in ("D", "G")}
        d_norm = grad_norm(self._params["D"])   # D runs every step and after D_reg: its own grads
        if d_norm is not None:
            stats["grad_norm_D"] = d_norm
        if g_ran and (g_norm := grad_norm(self._params["G"])) is not None:
            stats["grad_norm_G"] = g_norm
        if self.ada is not None:
            self.ada.step(step)
            stats["ada_p"] = self.ada.p
        accumulate(acc, stats)

    def state_dict(self) -> dict[str, Any]:
        return {"ada": self.ada.state_dict()} if self.ada is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.ada is not None and "ada" in state:
            self.ada.load_state_dict(state["ada"])


__all__ = ["GANOptions", "accumulate", "grad_norm", "pack"]
