"""A paired translation modality defined outside ganforge: 1-D signals A -> B and back.

Shows what a translation recipe needs from the engine, with no edit under src/:
- paired examples: the data source gives ``x`` (a signal of domain A) and ``target`` (its partner in
  domain B: the same wave reversed in time and negated);
- two generators (G_AB, G_BA, each with an EMA copy) and two discriminators, trained in one G phase
  with adversarial, L1 and cycle losses;
- a frozen network: a fixed linear encoder loaded from the safetensors file ``[toypair] encoder``,
  used in a feature-matching loss, never trained and never written into checkpoints;
- the sample grid translates the same fixed real sources at every step;
- ``ganforge sample RUN --input FILE`` translates the user's own signals; evaluation compares
  translations of real sources with their true targets.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.core.errors import ConfigError
from ganforge.data import Dataset, Source, register_source
from ganforge.losses import d_loss, g_loss
from ganforge.recipes import ExportSpec, OptimSpec, Phase, Recipe, register_recipe


@dataclass
class ToyPairConfig:
    length: int = 16         # samples per signal
    n: int = 512             # pairs in the data set
    encoder: str = ""        # safetensors file of the frozen encoder (weight (8, length), bias (8,))
    l1: float = 10.0         # weight of the paired L1 loss
    cycle: float = 1.0       # weight of the cycle-consistency loss
    feat: float = 1.0        # weight of the frozen encoder's feature-matching loss


def signal_pairs(s: ToyPairConfig, seed: int) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, s.length)
    freq = 1 + 3 * torch.rand(s.n, 1, generator=g)
    phase = 2 * math.pi * torch.rand(s.n, 1, generator=g)
    a = 0.8 * torch.sin(2 * math.pi * freq * t + phase)                  # (N, T) domain A
    b = -a.flip(1)                                                        # (N, T) domain B, its partner
    return Dataset(x=a, y=None, kind="signal-pair", name="toypair", value_range=None, class_names=None,
                   extra={"target": b})


register_source("toypair", Source(lambda cfg, seed, path: signal_pairs(cfg.section("toypair"), seed),
                                  kind="signal-pair"))


def mlp(i: int, o: int, hidden: int = 32) -> nn.Module:
    return nn.Sequential(nn.Linear(i, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, o))


class Translator(nn.Module):
    def __init__(self, length: int) -> None:
        super().__init__()
        self.net = mlp(length, length)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(x))


class Critic(nn.Module):
    def __init__(self, length: int) -> None:
        super().__init__()
        self.net = mlp(length, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


@register_recipe
class ToyPairRecipe(Recipe):
    name = "toypair"
    section, config = "toypair", ToyPairConfig
    data_kinds = ("signal-pair",)
    ema = {"G_AB_ema": "G_AB", "G_BA_ema": "G_BA"}
    formats = {".npz": "npz"}
    condition_help = {"input": "domain-A signals (N, length) to translate"}
    presets = {"toypair": {"data": {"source": "toypair"},
                           "train": {"batch": 32, "steps": 300, "log_every": 10, "sample_every": 50,
                                     "ckpt_every": 25, "ema_beta": 0.9, "ema_warmup": 10, "n_grid": 8}}}

    def __init__(self, cfg, data_info, device):
        super().__init__(cfg, data_info, device)
        self.length = int(data_info["shape"][0])
        nets = {"G_AB": Translator(self.length), "G_BA": Translator(self.length),
                "D_A": Critic(self.length), "D_B": Critic(self.length)}
        for g in ("G_AB", "G_BA"):
            nets[f"{g}_ema"] = Translator(self.length)
            nets[f"{g}_ema"].load_state_dict(nets[g].state_dict())
            nets[f"{g}_ema"].requires_grad_(False)
        self.nets = {k: v.to(device) for k, v in nets.items()}
        self.encoder = self.add_frozen("encoder", nn.Linear(self.length, 8), self.settings().encoder)

    def optimizers(self):
        o = self.cfg.optim
        return {"G": OptimSpec(("G_AB", "G_BA"), o.g_lr, tuple(o.g_betas)),
                "D": OptimSpec(("D_A", "D_B"), o.d_lr, tuple(o.d_betas))}

    def phases(self):
        return [Phase("D", "D", ("D_A", "D_B"), self.d_step), Phase("G", "G", ("G_AB", "G_BA"), self.g_step)]

    def d_step(self, batch, step):
        a, b = batch.x, batch["target"]
        with torch.no_grad():
            fake_b, fake_a = self.nets["G_AB"](a), self.nets["G_BA"](b)
        loss = (d_loss("ns", self.nets["D_B"](b), self.nets["D_B"](fake_b))
                + d_loss("ns", self.nets["D_A"](a), self.nets["D_A"](fake_a)))
        return loss, {"loss_D": loss.detach()}

    def g_step(self, batch, step):
        s, a, b = self.settings(), batch.x, batch["target"]
        fake_b, fake_a = self.nets["G_AB"](a), self.nets["G_BA"](b)
        adv = g_loss("ns", self.nets["D_B"](fake_b)) + g_loss("ns", self.nets["D_A"](fake_a))
        l1 = F.l1_loss(fake_b, b) + F.l1_loss(fake_a, a)
        cycle = F.l1_loss(self.nets["G_BA"](fake_b), a) + F.l1_loss(self.nets["G_AB"](fake_a), b)
        feat = F.mse_loss(self.encoder(fake_b), self.encoder(b))
        loss = adv + s.l1 * l1 + s.cycle * cycle + s.feat * feat
        return loss, {"loss_G": loss.detach(), "l1": l1.detach(), "feat": feat.detach()}

    # -- sampling: translations of given sources ---------------------------------------------------
    def sample_inputs(self, n=0, seed=0, seeds=None, conditions=None):
        src = (conditions or {}).get("input")
        if src is None:
            raise ConfigError("a toypair run translates signals: give --input FILE (an NPZ with x of shape "
                              f"(N, {self.length}))")
        src = torch.as_tensor(src).float()
        if src.ndim != 2 or src.shape[1] != self.length:
            raise ConfigError(f"--input must hold signals of shape (N, {self.length}), got {tuple(src.shape)}")
        return {"a": src.to(self.device)}

    def grid_examples(self, n):
        return n

    def grid_inputs(self, n, seed, examples=None):
        return {"a": examples["x"]}

    @torch.no_grad()
    def generate(self, inputs, net=None):
        return self.nets[net or "G_AB_ema"](inputs["a"])

    def eval_samples(self, data, n, seed):
        n = min(n, len(data))
        return data.extra["target"][:n], self.generate({"a": data.x[:n].to(self.device)}), {}

    def to_output(self, outputs, inputs=None):
        out = {"x": outputs.cpu().numpy()}
        if inputs is not None:
            out["source"] = inputs["a"].cpu().numpy()
        return out

    # -- export: both directions -------------------------------------------------------------------
    def generators(self):
        return {"G_AB": "G_AB_ema", "G_BA": "G_BA_ema"}

    def export_spec(self, component):
        import copy
        G = copy.deepcopy(self.nets[self.generators()[component]]).cpu().eval()
        name = "a" if component == "G_AB" else "b"
        return ExportSpec(G, [name], (torch.zeros(2, self.length),), ["out"], f"translated signals {component}")
