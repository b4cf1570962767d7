"""Sequence networks for the text recipe: an LSTM language-model generator and a CNN discriminator.

Generator: token ids -> Embedding(V + 1, E) (index V is the start token) -> LSTM(E, H) -> Linear(H, V)
logits. ``forward`` runs teacher-forced over whole sequences (maximum-likelihood training); ``step``
advances one token, for sampling and for the adversarial rollouts.

Discriminator: a CNN over token embeddings in the manner of Kim (2014) and the SeqGAN / RelGAN
discriminators: tokens as one-hot rows (hard ids, or the soft Gumbel-softmax rows of a relaxed
generator, so gradients reach G) times an embedding matrix, 1-D convolutions of widths 2-5, ReLU,
max over time, a highway layer, dropout and a linear score.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class LSTMGenerator(nn.Module):
    def __init__(self, vocab: int, embed: int, hidden: int) -> None:
        super().__init__()
        self.vocab, self.start = vocab, vocab
        self.embed = nn.Embedding(vocab + 1, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, tokens: Tensor) -> Tensor:
        """Teacher forcing: logits (B, L, V) for predicting tokens (B, L) from the start token and their prefix."""
        start = torch.full((tokens.shape[0], 1), self.start, dtype=torch.long, device=tokens.device)
        h, _ = self.lstm(self.embed(torch.cat([start, tokens[:, :-1]], 1)))
        return self.out(h)

    def begin(self, n: int, device: torch.device) -> tuple[Tensor, None]:
        return torch.full((n,), self.start, dtype=torch.long, device=device), None

    def step(self, token: Tensor, state=None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """One step: logits (B, V) for the token after ``token`` (B,), and the new LSTM state."""
        h, state = self.lstm(self.embed(token).unsqueeze(1), state)
        return self.out(h.squeeze(1)), state


class CNNDiscriminator(nn.Module):
    def __init__(self, vocab: int, embed: int = 64, filters: int = 64, widths: tuple[int, ...] = (2, 3, 4, 5),
                 dropout: float = 0.25) -> None:
        super().__init__()
        self.vocab = vocab
        self.embed = nn.Parameter(torch.randn(vocab, embed) * embed ** -0.5)
        self.convs = nn.ModuleList(nn.Conv1d(embed, filters, w, padding=w - 1) for w in widths)
        width = filters * len(widths)
        self.highway = nn.Linear(width, 2 * width)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(width, 1)

    def forward(self, x: Tensor) -> Tensor:
        """x: token ids (B, L) or rows over the vocabulary (B, L, V) -> raw scores (B,)."""
        e = F.embedding(x, self.embed) if x.dtype == torch.long else x @ self.embed   # (B, L, E)
        e = e.transpose(1, 2)                                                          # (B, E, L)
        h = torch.cat([F.relu(conv(e)).amax(2) for conv in self.convs], 1)            # (B, filters * widths)
        t, g = self.highway(h).chunk(2, 1)
        gate = torch.sigmoid(g)
        h = gate * F.relu(t) + (1 - gate) * h
        return self.out(self.drop(h)).squeeze(1)


__all__ = ["LSTMGenerator", "CNNDiscriminator"]
