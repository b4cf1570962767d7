"""A whole modality defined outside ganforge, as a plug-in package would: integer sequences.

Everything a modality brings registers here, and nothing under src/ knows about it:
- a config section ``[toyseq]`` owned by the recipe, with a ``prepare`` step that derives a default;
- a data source ``toyseq``: arithmetic progressions modulo ``vocab`` (start uniform, step 1 or 2);
- networks: a GRU generator with Gumbel-softmax tokens and a GRU discriminator on one-hot tokens;
- the recipe ``toyseq`` (phases D and G, an EMA generator, export of the generator to ONNX);
- a sample writer ``toyseq-text`` (one sequence per line) and a feature extractor ``toyseq-stats``;
- a preset ``toyseq``.
A test installs it through the ``ganforge.recipes`` entry point group (a .dist-info folder on the path).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import derive
from ganforge.core.errors import ConfigError
from ganforge.core.registry import WRITERS
from ganforge.core.writers import write_bytes
from ganforge.data import Dataset, Source, register_source
from ganforge.losses import d_loss, g_loss
from ganforge.metrics.extractors import Extractor, ExtractorSpec, register_extractor
from ganforge.recipes import ExportSpec, OptimSpec, Phase, Recipe, register_recipe


@dataclass
class ToySeqConfig:
    length: int = 8          # tokens per sequence
    vocab: int = 6           # token values 0..vocab-1
    n: int = 1024            # sequences in the data set
    hidden: int = 0          # GRU width; 0 = derived from the vocabulary by prepare
    tau: float = 0.5         # Gumbel-softmax temperature of G's tokens

    def validate(self) -> None:
        if self.length < 2 or self.vocab < 2:
            raise ConfigError("toyseq.length and toyseq.vocab must be at least 2")


def progressions(s: ToySeqConfig, seed: int) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    start = torch.randint(0, s.vocab, (s.n,), generator=g)
    step = torch.randint(1, 3, (s.n,), generator=g)
    x = (start[:, None] + step[:, None] * torch.arange(s.length)) % s.vocab        # (N, L) int64
    return Dataset(x=x, y=None, kind="intseq", name="toyseq", value_range=None, class_names=None,
                   meta={"vocab": s.vocab})


register_source("toyseq", Source(lambda cfg, seed, path: progressions(cfg.section("toyseq"), seed), kind="intseq"))


class SeqG(nn.Module):
    def __init__(self, z_dim: int, hidden: int, length: int, vocab: int) -> None:
        super().__init__()
        self.length = length
        self.inp = nn.Linear(z_dim, hidden)
        self.rnn = nn.GRU(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, z: torch.Tensor) -> torch.Tensor:          # (B, Z) -> logits (B, L, V)
        h = torch.tanh(self.inp(z)).unsqueeze(1).expand(-1, self.length, -1)
        return self.out(self.rnn(h.contiguous())[0])


class SeqD(nn.Module):
    def __init__(self, hidden: int, vocab: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(vocab, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, onehot: torch.Tensor) -> torch.Tensor:     # (B, L, V) -> (B,)
        return self.out(self.rnn(onehot)[0][:, -1]).squeeze(1)


class _Tokens(nn.Module):
    def __init__(self, G: nn.Module) -> None:
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.G(z).argmax(-1)


@register_recipe
class ToySeqRecipe(Recipe):
    name = "toyseq"
    section, config = "toyseq", ToySeqConfig
    data_kinds = ("intseq",)
    ema = {"G_ema": "G"}
    formats = {".txt": "toyseq-text", ".npz": "npz"}
    presets = {"toyseq": {"data": {"source": "toyseq"}, "model": {"z_dim": 8},
                          "train": {"batch": 32, "steps": 300, "log_every": 10, "sample_every": 50,
                                    "ckpt_every": 25, "ema_beta": 0.9, "ema_warmup": 10, "n_grid": 16}}}

    @classmethod
    def prepare(cls, cfg, data_info):
        vocab = int(data_info["vocab"])
        d = derive(cfg, "toyseq.hidden", 4 * vocab, f"four units per token value ({vocab} values)")
        return [d] if d else []

    def __init__(self, cfg, data_info, device):
        super().__init__(cfg, data_info, device)
        s = self.settings()
        self.vocab, self.length, self.z_dim = int(data_info["vocab"]), int(data_info["shape"][0]), cfg.model.z_dim
        hidden = s.hidden or 4 * self.vocab
        self.nets = {"G": SeqG(self.z_dim, hidden, self.length, self.vocab).to(device),
                     "D": SeqD(hidden, self.vocab).to(device),
                     "G_ema": SeqG(self.z_dim, hidden, self.length, self.vocab).to(device)}
        self.nets["G_ema"].load_state_dict(self.nets["G"].state_dict())
        self.nets["G_ema"].requires_grad_(False)

    def optimizers(self):
        o = self.cfg.optim
        return {"G": OptimSpec(("G",), o.g_lr, tuple(o.g_betas)), "D": OptimSpec(("D",), o.d_lr, tuple(o.d_betas))}

    def phases(self):
        return [Phase("D", "D", ("D",), self.d_step), Phase("G", "G", ("G",), self.g_step)]

    def _fake(self, n: int) -> torch.Tensor:                      # Gumbel-softmax one-hots (B, L, V)
        z = torch.randn(n, self.z_dim, generator=self.gen, device=self.device)
        logits = self.nets["G"](z)
        u = torch.rand(logits.shape, generator=self.gen, device=self.device).clamp_(1e-9, 1 - 1e-9)
        return F.softmax((logits - (-u.log()).log()) / self.settings().tau, dim=-1)

    def d_step(self, batch, step):
        real = F.one_hot(batch.x, self.vocab).float()
        with torch.no_grad():
            fake = self._fake(batch.x.shape[0])
        loss = d_loss("ns", self.nets["D"](real), self.nets["D"](fake))
        return loss, {"loss_D": loss.detach()}

    def g_step(self, batch, step):
        loss = g_loss("ns", self.nets["D"](self._fake(batch.x.shape[0])))
        return loss, {"loss_G": loss.detach()}

    def sample_inputs(self, n=0, seed=0, seeds=None, conditions=None):
        if seeds is not None:
            z = torch.stack([torch.randn(self.z_dim, generator=torch.Generator().manual_seed(s)) for s in seeds])
        else:
            z = torch.randn(n, self.z_dim, generator=torch.Generator().manual_seed(seed))
        return {"z": z.to(self.device)}

    @torch.no_grad()
    def generate(self, inputs, net=None):
        return self.nets[net or self.sampler_net()](inputs["z"]).argmax(-1)    # (B, L) token ids

    def to_output(self, outputs, inputs=None):
        return {"x": outputs.cpu().numpy().astype(np.int64)}

    def export_spec(self, component):
        G = _Tokens(self.nets[self.generators()[component]]).cpu().eval()
        return ExportSpec(G, ["z"], (torch.randn(2, self.z_dim),), ["tokens"], "token ids (N, L)")


@WRITERS.register("toyseq-text")
def write_sequences(path: str, out: dict) -> None:
    write_bytes(path, "".join(" ".join(str(int(t)) for t in row) + "\n" for row in out["x"]).encode())


class SeqStats(Extractor):
    """Per sequence: its tokens one-hot (L*V) and the histogram of its steps modulo V (V)."""

    name, sha256 = "toyseq-stats", "toyseq-stats-v1"

    def __init__(self, vocab: int = 6) -> None:
        super().__init__()
        self.vocab = vocab
        self.finish()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = x.long()
        steps = F.one_hot((x[:, 1:] - x[:, :-1]) % self.vocab, self.vocab).float().mean(1)
        self.dim = x.shape[1] * self.vocab + self.vocab
        return torch.cat([F.one_hot(x, self.vocab).float().flatten(1), steps], 1)


register_extractor("toyseq-stats", ExtractorSpec(
    lambda vocab=6: SeqStats(vocab), ("vocab",), default_for=lambda info: 10 if info.get("kind") == "intseq" else None,
    configure=lambda info: {"vocab": int(info["vocab"])} if "vocab" in info else {}))
