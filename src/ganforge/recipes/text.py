"""The text recipe: sequence GANs on token ids, and the maximum-likelihood baseline they must beat.

Stages are phases with a start and a stop, so one command pretrains and then trains adversarially, and
a run resumes exactly in either stage:

- ``G_mle`` (steps 0 .. text.pretrain, or every step with text.adversarial=false): teacher-forced
  cross-entropy of G's next-token logits, pads masked out, with its own Adam at text.mle_lr.
- ``D`` and ``G`` (from text.pretrain on): D, a CNN over token embeddings (nets/seq.py), judges real
  sequences against G's; G learns from D's scores in one of two ways (text.method):
  - ``gumbel`` (RelGAN, Nie et al. 2019): G's tokens are Gumbel-softmax rows softmax(beta (o + g)) fed
    to D whole, the argmax fed back to G; the inverse temperature beta rises exponentially from 1 to
    text.beta_max over the adversarial steps, beta_n = beta_max ** (n / N). RelGAN pairs it with the
    relativistic standard loss (loss.kind=rpgan).
  - ``reinforce`` (SeqGAN, Yu et al. 2017): G samples tokens; the reward of token t is D's probability
    of "real" averaged over text.rollouts Monte Carlo completions of the prefix (the sequence itself
    for the last token); G follows the policy gradient of sum_t log p(y_t) (Q_t - b_t), b_t the batch
    mean of Q_t (a baseline that lowers the variance).
  After a generated <eos> the rest of a sequence is padding, as in the data.

Sampling draws each token by inverse-CDF from softmax(logits / temperature) with one uniform number per
position from the sample's own seed, so every sample is reproducible alone; a prefix is fed first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..core.errors import ConfigError, DataError
from ..data.text import EOS, PAD, Vocab, tokenize
from ..losses import d_loss, g_loss, is_relativistic
from ..nets.seq import CNNDiscriminator, LSTMGenerator
from .base import Batch, ExportSpec, OptimSpec, Phase, Recipe, register_recipe


@dataclass
class TextConfig:
    tokens: str = "char"        # char | word: what a token is
    window: int = 0             # > 0: examples are windows of this many tokens cut from the whole file; 0: lines
    max_len: int = 0            # longest example in tokens; 0 = the longest line of the data
    long: str = "refuse"        # refuse | truncate: lines longer than max_len
    min_count: int = 1          # word tokens: rarer words become <unk>
    vocab_limit: int = 20_000   # a larger vocabulary is refused (use char tokens, or raise min_count)
    holdout: float = 0.1        # share of the examples held out for evaluation (NLL_test, BLEU)
    embed: int = 64             # G's token embedding width
    hidden: int = 256           # G's LSTM units
    d_embed: int = 64           # D's token embedding width
    d_filters: int = 64         # D's convolution channels per width (2, 3, 4, 5)
    adversarial: bool = True    # false: G by maximum likelihood alone (the baseline)
    method: str = "gumbel"      # gumbel (RelGAN relaxation) | reinforce (SeqGAN rollouts)
    pretrain: int = 2000        # maximum-likelihood steps before the adversarial ones
    mle_lr: float = 1e-2        # Adam rate of the maximum-likelihood phase (SeqGAN and RelGAN pretrain at 1e-2)
    beta_max: float = 100.0     # gumbel: the inverse temperature reached at the last step
    rollouts: int = 8           # reinforce: Monte Carlo completions per prefix
    mle_mix: float = 0.0        # weight of the maximum-likelihood loss kept in G's adversarial phase
    temperature: float = 1.0    # sampling temperature by default

    def validate(self) -> None:
        for key, allowed in (("tokens", ("char", "word")), ("long", ("refuse", "truncate")),
                             ("method", ("gumbel", "reinforce"))):
            if getattr(self, key) not in allowed:
                raise ConfigError(f"text.{key} = {getattr(self, key)!r} is not one of: {', '.join(allowed)}")
        for key in ("embed", "hidden", "d_embed", "d_filters", "rollouts", "vocab_limit", "min_count"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"text.{key} must be positive, got {getattr(self, key)}")
        for key in ("window", "max_len", "pretrain", "mle_mix", "mle_lr"):
            if getattr(self, key) < 0:
                raise ConfigError(f"text.{key} must not be negative, got {getattr(self, key)}")
        if not 0.0 <= self.holdout < 1.0:
            raise ConfigError(f"text.holdout must be in [0, 1), got {self.holdout}")
        if self.beta_max < 1.0 or self.temperature <= 0:
            raise ConfigError("text.beta_max must be at least 1 and text.temperature positive")


_TEXT = {"model": {"recipe": "text"}, "loss": {"kind": "rpgan"},
         "optim": {"g_lr": 1e-4, "d_lr": 1e-4, "g_betas": (0.9, 0.999), "d_betas": (0.9, 0.999)},
         "train": {"batch": 64, "steps": 6000, "ema_beta": 0.0, "sample_every": 500, "ckpt_every": 500,
                   "n_grid": 16, "log_every": 50}}
PRESETS = {
    "text": {**_TEXT, "data": {"source": "text"}},
    # tiny Shakespeare, character level, windows of 64 characters
    "shakespeare": {**_TEXT, "data": {"source": "text", "path": "tinyshakespeare/input.txt"},
                    "text": {"window": 64, "pretrain": 4000}},
    # the SeqGAN synthetic benchmark: G as large as the oracle (embedding and LSTM 32), 20 tokens of 5,000
    "seqgan-oracle": {**_TEXT, "data": {"source": "seqgan-oracle"},
                      "text": {"embed": 32, "hidden": 32, "pretrain": 8000, "beta_max": 100.0},
                      "train": {**_TEXT["train"], "steps": 10000}},
}


@register_recipe
class TextRecipe(Recipe):
    name = "text"
    section, config = "text", TextConfig
    data_kinds = ("text",)
    presets = PRESETS
    evaluator = "text"
    formats = {".txt": "text-lines", ".npz": "npz"}
    # Gumbel-softmax rows at a high inverse temperature, and their gradients, are full of denormal floats,
    # which x86 CPUs multiply 20-50x slower than normal ones: training flushes them to zero
    flush_denormal = True
    condition_help = {"prefix": "text every sample continues", "temperature": "softmax temperature (1 = as learned)"}

    def __init__(self, cfg, data_info: dict, device: torch.device):
        super().__init__(cfg, data_info, device)
        s = self.settings()
        self.vocab = Vocab.from_json(data_info["vocab"])
        self.length, self.has_eos = int(data_info["length"]), bool(data_info.get("eos", False))
        V = self.vocab.size
        self.nets = {"G": LSTMGenerator(V, s.embed, s.hidden).to(device)}
        if s.adversarial:
            self.nets["D"] = CNNDiscriminator(V, s.d_embed, s.d_filters).to(device)
        self.ema = {}
        if cfg.train.ema_beta > 0:
            G_ema = LSTMGenerator(V, s.embed, s.hidden).to(device)
            G_ema.load_state_dict(self.nets["G"].state_dict())
            self.nets["G_ema"] = G_ema.eval().requires_grad_(False)
            self.ema = {"G_ema": "G"}
        self.adv_steps = max(cfg.train.steps - s.pretrain, 1)

    # -- training -------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, OptimSpec]:
        o, s = self.cfg.optim, self.settings()
        specs = {"G_mle": OptimSpec(("G",), s.mle_lr, tuple(o.g_betas))}
        if "D" in self.nets:
            specs["G"] = OptimSpec(("G",), o.g_lr, tuple(o.g_betas))
            specs["D"] = OptimSpec(("D",), o.d_lr, tuple(o.d_betas))
        return specs

    def phases(self) -> list[Phase]:
        s = self.settings()
        if not s.adversarial:
            return [Phase("G_mle", "G_mle", ("G",), self.mle_step)]
        return [Phase("G_mle", "G_mle", ("G",), self.mle_step, stop=s.pretrain),
                Phase("D", "D", ("D",), self.d_step, start=s.pretrain),
                Phase("G", "G", ("G",), self.g_step, start=s.pretrain, interval=self.cfg.optim.n_critic)]

    def _nll(self, G, x: torch.Tensor) -> torch.Tensor:
        """Mean per-token cross-entropy of G on sequences x (B, L); pads after <eos> do not count."""
        logits = G(x)                                                   # (B, L, V)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x.reshape(-1), reduction="none")
        mask = self._mask(x).reshape(-1)
        return (ce * mask).sum() / mask.sum().clamp(min=1)

    def _mask(self, x: torch.Tensor) -> torch.Tensor:
        if not self.has_eos:
            return torch.ones_like(x, dtype=torch.float)
        return (x != PAD).float()

    def mle_step(self, batch: Batch, step: int):
        loss = self._nll(self.nets["G"], batch.x)
        return loss, {"loss_mle": loss.detach()}

    def beta(self, step: int) -> float:
        """RelGAN's exponential schedule of the Gumbel-softmax inverse temperature."""
        n = min(max(step - self.settings().pretrain, 0), self.adv_steps)
        return self.settings().beta_max ** (n / self.adv_steps)

    def _pad_after_eos(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, L) bool: positions after the first <eos>, which become padding."""
        if not self.has_eos:
            return torch.zeros_like(ids, dtype=torch.bool)
        seen = (ids == EOS).long().cumsum(1)
        return (seen - (ids == EOS).long()) > 0

    def _gumbel_rows(self, n: int, beta: float, grad: bool) -> torch.Tensor:
        """(n, L, V) Gumbel-softmax rows of G's tokens; the argmax is fed back as the next token."""
        G, rows, ids = self.nets["G"], [], []
        tok, state = G.begin(n, self.device)
        with torch.set_grad_enabled(grad):
            for _ in range(self.length):
                logits, state = G.step(tok, state)
                u = torch.rand(logits.shape, generator=self.gen, device=self.device).clamp_(1e-10, 1 - 1e-10)
                o = logits - (-u.log()).log()
                rows.append(F.softmax(beta * o, dim=1))
                tok = o.argmax(1).detach()
                ids.append(tok)
        soft, hard = torch.stack(rows, 1), torch.stack(ids, 1)         # (n, L, V), (n, L)
        after = self._pad_after_eos(hard)
        if after.any():
            pad = F.one_hot(torch.full_like(hard, PAD), self.vocab.size).float()
            soft = torch.where(after.unsqueeze(2), pad, soft)
        return soft

    def _sample_ids(self, n: int, grad: bool = False) -> tuple[torch.Tensor, torch.Tensor | None, list]:
        """(ids (n, L), log-probabilities of the drawn tokens (n, L) when ``grad``, per-step LSTM states)."""
        G, ids, logps, states = self.nets["G"], [], [], []
        tok, state = G.begin(n, self.device)
        with torch.set_grad_enabled(grad):
            for _ in range(self.length):
                logits, state = G.step(tok, state)
                logp = F.log_softmax(logits, 1)
                tok = self._draw(logp.detach())
                ids.append(tok)
                states.append((tok, tuple(s.detach() for s in state)))
                if grad:
                    logps.append(logp.gather(1, tok.unsqueeze(1)).squeeze(1))
        x = torch.stack(ids, 1)
        x = x.masked_fill(self._pad_after_eos(x), PAD)
        return x, (torch.stack(logps, 1) if grad else None), states

    def _draw(self, logp: torch.Tensor) -> torch.Tensor:
        """One token per row of log-probabilities (B, V), by inverse CDF with one uniform number per row
        from the loop's generator (far cheaper on a CPU than torch.multinomial over thousands of tokens)."""
        cdf = logp.exp().cumsum(1)
        u = torch.rand(logp.shape[0], 1, generator=self.gen, device=self.device) * cdf[:, -1:]
        return torch.searchsorted(cdf, u).squeeze(1).clamp_(max=logp.shape[1] - 1)

    def _fake(self, n: int, step: int, grad: bool = False) -> torch.Tensor:
        if self.settings().method == "gumbel":
            return self._gumbel_rows(n, self.beta(step), grad)
        return self._sample_ids(n)[0]

    def d_step(self, batch: Batch, step: int):
        D = self.nets["D"]
        fake = self._fake(batch.x.shape[0], step)
        real_s, fake_s = D(batch.x), D(fake)
        loss = d_loss(self.cfg.loss.kind, real_s, fake_s)
        return loss, {"loss_D": loss.detach(), "D_real": real_s.detach().mean(), "D_fake": fake_s.detach().mean()}

    def g_step(self, batch: Batch, step: int):
        s, D = self.settings(), self.nets["D"]
        if s.method == "gumbel":
            fake_s = D(self._gumbel_rows(batch.x.shape[0], self.beta(step), grad=True))
            real_s = None
            if is_relativistic(self.cfg.loss.kind):
                with torch.no_grad():
                    real_s = D(batch.x)
            loss = g_loss(self.cfg.loss.kind, fake_s, real_s)
            stats = {"loss_G": loss.detach(), "beta": torch.tensor(self.beta(step), device=self.device)}
        else:
            x, logp, states = self._sample_ids(batch.x.shape[0], grad=True)
            q = self._rewards(x, states)                                           # (B, L)
            adv = q - q.mean(0, keepdim=True)
            mask = self._mask(x)
            loss = -(logp * adv * mask).sum(1).mean()
            stats = {"loss_G": loss.detach(), "reward": q.mean().detach()}
        if s.mle_mix > 0:
            mle = self._nll(self.nets["G"], batch.x)
            loss = loss + s.mle_mix * mle
            stats["loss_mle"] = mle.detach()
        return loss, stats

    @torch.no_grad()
    def _rewards(self, x: torch.Tensor, states: list) -> torch.Tensor:
        """SeqGAN's rewards: Q_t = mean over rollouts of D's probability that the completed sequence is real."""
        D, G, K = self.nets["D"], self.nets["G"], self.settings().rollouts
        B, L = x.shape
        q = torch.empty(B, L, device=self.device)
        for t in range(L - 1):                     # prefix x[:, :t+1], completed K times
            tok, (h, c) = states[t]
            tok, state = tok.repeat(K), (h.repeat(1, K, 1), c.repeat(1, K, 1))
            tail = []
            for _ in range(L - t - 1):
                logits, state = G.step(tok, state)
                tok = self._draw(F.log_softmax(logits, 1))
                tail.append(tok)
            full = torch.cat([x[:, :t + 1].repeat(K, 1), torch.stack(tail, 1)], 1)
            full = full.masked_fill(self._pad_after_eos(full), PAD)
            q[:, t] = torch.sigmoid(D(full)).view(K, B).mean(0)
        q[:, L - 1] = torch.sigmoid(D(x))
        return q

    # -- sampling -------------------------------------------------------------------------------
    def sample_inputs(self, n: int = 0, seed: int = 0, seeds: list[int] | None = None,
                      conditions: dict | None = None) -> dict[str, torch.Tensor]:
        c = conditions or {}
        if seeds is not None:
            u = torch.stack([torch.rand(self.length, generator=torch.Generator().manual_seed(s)) for s in seeds])
        else:
            u = torch.rand(n, self.length, generator=torch.Generator().manual_seed(seed))
        temperature = float(c.get("temperature") or self.settings().temperature)
        if temperature <= 0:
            raise ConfigError(f"--temperature must be positive, got {temperature}")
        out = {"u": u.to(self.device), "temperature": torch.tensor(temperature)}
        if c.get("prefix"):
            ids = self.vocab.encode(tokenize(str(c["prefix"]), self.vocab.kind) if self.vocab.kind != "id"
                                    else str(c["prefix"]).split())
            if len(ids) >= self.length:
                raise DataError(f"the prefix has {len(ids)} tokens; this model writes {self.length} in all")
            out["prefix"] = torch.tensor(ids, dtype=torch.long, device=self.device)
        return out

    @torch.no_grad()
    def generate(self, inputs: dict[str, torch.Tensor], net: str | None = None, batch: int = 1024) -> torch.Tensor:
        """Token ids (N, L): the prefix, then tokens drawn by inverse-CDF with each sample's own uniforms."""
        G = self.nets[net or self.sampler_net()]
        was = G.training
        G.eval()
        u, temp, prefix = inputs["u"], float(inputs["temperature"]), inputs.get("prefix")
        parts = []
        for s in range(0, u.shape[0], batch):
            uu = u[s:s + batch]
            n = uu.shape[0]
            tok, state = G.begin(n, self.device)
            ids = []
            for t in range(self.length):
                logits, state = G.step(tok, state)
                if prefix is not None and t < len(prefix):
                    tok = prefix[t].expand(n)
                else:
                    cdf = F.softmax(logits / temp, 1).cumsum(1)
                    tok = torch.searchsorted(cdf, (uu[:, t] * cdf[:, -1]).unsqueeze(1)).squeeze(1)
                    tok = tok.clamp_(max=self.vocab.size - 1)
                ids.append(tok)
            x = torch.stack(ids, 1)
            parts.append(x.masked_fill(self._pad_after_eos(x), PAD))
        G.train(was)
        return torch.cat(parts) if parts else torch.zeros(0, self.length, dtype=torch.long)

    def sampler_net(self) -> str:
        return "G_ema" if "G_ema" in self.nets else "G"

    def to_output(self, outputs: torch.Tensor, inputs: dict | None = None) -> dict[str, Any]:
        return {"x": [self.vocab.decode(row) for row in outputs.tolist()], "tokens": outputs.cpu().numpy()}

    def eval_samples(self, data, n: int, seed: int):
        inputs = self.sample_inputs(n, seed=seed)
        return data.x, self.generate(inputs), {}

    # -- export ---------------------------------------------------------------------------------
    def export_spec(self, component: str) -> ExportSpec:
        """One generator step: (token (N,), h (1, N, H), c (1, N, H)) -> (logits (N, V), h, c); the sampling
        loop around it stays with the caller."""
        import copy
        G = copy.deepcopy(self.nets[self.generators()[component]]).cpu().eval()
        H = G.lstm.hidden_size
        example = (torch.zeros(2, dtype=torch.long), torch.zeros(1, 2, H), torch.zeros(1, 2, H))
        return ExportSpec(_Step(G), ["token", "h", "c"], example, ["logits", "h_next", "c_next"],
                          f"one step of the language model; start with token {G.start} and zero states")


class _Step(torch.nn.Module):
    def __init__(self, G: LSTMGenerator) -> None:
        super().__init__()
        self.G = G

    def forward(self, token, h, c):
        logits, (h2, c2) = self.G.step(token, (h, c))
        return logits, h2, c2


def per_token_nll(recipe: TextRecipe, x: torch.Tensor, net: str | None = None, batch: int = 500,
                  temperature: float = 1.0) -> float:
    """G's mean per-token negative log-likelihood (nats) of sequences x (N, L): NLL_test on held-out data.
    ``temperature``: of the model softmax(logits / T) that sampling at T draws from (Caccia et al. 2020)."""
    G = recipe.nets[net or recipe.sampler_net()]
    was = G.training
    G.eval()
    total, count = 0.0, 0.0
    with torch.no_grad():
        for s in range(0, x.shape[0], batch):
            part = x[s:s + batch].to(recipe.device)
            logits = G(part) / temperature
            ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), part.reshape(-1), reduction="none")
            mask = recipe._mask(part).reshape(-1)
            total += float((ce * mask).sum())
            count += float(mask.sum())
    G.train(was)
    return total / max(count, 1.0)


__all__ = ["TextRecipe", "TextConfig", "per_token_nll"]
