"""The training loop shared by the scripts that train ganforge's shipped clip classifiers (digits, speakers)."""
from __future__ import annotations

import torch


def fit_shifted(net, x: torch.Tensor, y: torch.Tensor, feats, steps: int, batch: int, gen: torch.Generator,
                log_every: int) -> None:
    """Adam (lr 1e-3) on the cross-entropy of ``net(feats(clips))``, random batches of ``batch`` clips from ``x``
    (N, 1, samples), each batch rolled in time by one random shift of up to 1,000 samples."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for step in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=gen)
        shift = torch.randint(-1000, 1001, (1,), generator=gen).item()
        loss = torch.nn.functional.cross_entropy(net(feats(torch.roll(x[idx], shift, dims=2))), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % log_every == 0:
            print(step, round(loss.item(), 4), flush=True)
