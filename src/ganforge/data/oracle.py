"""The SeqGAN synthetic-data oracle (Yu et al. 2017): a fixed random LSTM language model that plays
"the real world" of a text-GAN benchmark.

Its parameters are the arrays p00..p14 of ``seqgan_oracle/oracle_params.npz`` (read with
``allow_pickle=False``: numbers only): embedding p00 (V, 32); input, forget and output gates and the
cell candidate, each as (W applied to the input embedding, U applied to the previous hidden state,
bias) = (p01, p02, p03), (p04, p05, p06), (p07, p08, p09), (p10, p11, p12); output layer p13 (32, V)
and bias p14 (V,). Row vectors: gate = sigmoid(x W + h U + b), candidate = tanh(x W_c + h U_c + b_c),
c = f * c_prev + i * candidate, h = o * tanh(c), logits = h p13 + p14. The start token 0 is fed at step
0; sequences have 20 tokens, sampled at temperature 1.

Scores: ``nll(tokens)`` is the oracle's mean per-token negative log-likelihood of sequences
(NLL_oracle of generated samples: quality); the oracle's own samples score about 5.75.
"""
from __future__ import annotations

import os

import numpy as np
import torch
from torch import Tensor, nn

from ..core.errors import DataError
from .builtin import find_data

ORACLE_FILE = "seqgan_oracle/oracle_params.npz"
LENGTH, START = 20, 0


class OracleLSTM(nn.Module):
    def __init__(self, params: dict[str, np.ndarray]) -> None:
        super().__init__()
        t = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in params.items()}
        self.register_buffer("emb", t["p00"])
        # the four gates side by side: (x W + h U + b) for i, f, o, candidate in one product each
        self.register_buffer("W", torch.cat([t["p01"], t["p04"], t["p07"], t["p10"]], 1))   # (E, 4H)
        self.register_buffer("U", torch.cat([t["p02"], t["p05"], t["p08"], t["p11"]], 1))   # (H, 4H)
        self.register_buffer("b", torch.cat([t["p03"], t["p06"], t["p09"], t["p12"]]))       # (4H,)
        self.register_buffer("out_w", t["p13"])
        self.register_buffer("out_b", t["p14"])
        self.hidden, self.vocab = self.U.shape[0], self.emb.shape[0]

    def _step(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        i, f, o, cand = (x @ self.W + h @ self.U + self.b).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(cand)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h @ self.out_w + self.out_b, h, c          # logits (B, V)

    def _start(self, n: int) -> tuple[Tensor, Tensor, Tensor]:
        z = torch.zeros(n, self.hidden)
        return self.emb[torch.full((n,), START, dtype=torch.long)], z, z.clone()

    @torch.no_grad()
    def sample(self, n: int, seed: int, length: int = LENGTH) -> Tensor:
        """(n, length) token ids drawn at temperature 1 with a generator seeded by ``seed``."""
        g = torch.Generator().manual_seed(int(seed))
        x, h, c = self._start(n)
        out = torch.empty(n, length, dtype=torch.long)
        for t in range(length):
            logits, h, c = self._step(x, h, c)
            tok = torch.multinomial(torch.softmax(logits, 1), 1, generator=g).squeeze(1)
            out[:, t] = tok
            x = self.emb[tok]
        return out

    @torch.no_grad()
    def nll(self, tokens: Tensor, batch: int = 2000) -> float:
        """Mean per-token negative log-likelihood (nats) of ``tokens`` (N, L) under the oracle."""
        tokens = torch.as_tensor(tokens).long()
        if tokens.ndim != 2 or tokens.numel() == 0:
            raise DataError(f"oracle NLL needs token sequences (N, L), got shape {tuple(tokens.shape)}")
        if int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab:
            raise DataError(f"oracle NLL: token ids must be in 0..{self.vocab - 1}")
        total = 0.0
        for s in range(0, tokens.shape[0], batch):
            part = tokens[s:s + batch]
            x, h, c = self._start(part.shape[0])
            for t in range(part.shape[1]):
                logits, h, c = self._step(x, h, c)
                total -= torch.log_softmax(logits, 1).gather(1, part[:, t:t + 1]).sum().item()
                x = self.emb[part[:, t]]
        return total / tokens.numel()


def load_oracle(path: str = "") -> OracleLSTM:
    """The oracle from data.path (the .npz file or its folder) or the GANFORGE_DATA search path."""
    found = find_data(ORACLE_FILE, path)
    try:
        with np.load(found, allow_pickle=False) as d:
            params = {k: d[k] for k in d.files}
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read the SeqGAN oracle {found}: {str(e).splitlines()[0]}") from None
    want = {f"p{i:02d}" for i in range(15)}
    if set(params) != want:
        raise DataError(f"{found} is not the SeqGAN oracle (arrays {sorted(params)[:4]}..., want p00..p14)")
    return OracleLSTM(params)


def oracle_path(path: str = "") -> str:
    return os.path.abspath(find_data(ORACLE_FILE, path))


__all__ = ["OracleLSTM", "load_oracle", "oracle_path", "LENGTH", "START"]
