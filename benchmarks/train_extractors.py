"""Train the classifiers behind the `lenet-mnist` and `digits` feature extractors and write the shipped
weights: src/ganforge/weights/<name>.safetensors plus a <name>.json card (accuracy, split, sha256).

    python benchmarks/train_extractors.py                    # both
    python benchmarks/train_extractors.py --only digits      # one

MNIST here is the 10,000-image test split found on GANFORGE_DATA: the first 8,000 images train, the
last 2,000 measure accuracy. Digits (sklearn, 1,797 images) uses a seeded 80/20 split. Training runs on
one thread with a fixed seed so the written files are reproducible on a given torch build.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from ganforge.config import DataConfig
from ganforge.data import load_dataset
from ganforge.metrics.extractors import CLASSIFIERS, TRAIN_SCRIPT, WEIGHTS_DIR, classifier_split, file_sha256

# name -> epochs, batch, learning rate, max shift of the random translation (pixels)
RECIPES = {"lenet-mnist": (12, 64, 1e-3, 2), "digits": (30, 32, 1e-3, 1)}


def shift(x: torch.Tensor, pixels: int, gen: torch.Generator) -> torch.Tensor:
    """Random translation by up to ``pixels`` in each direction (background -1 fills the gap)."""
    if pixels == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (pixels,) * 4, value=-1.0)
    dy, dx = torch.randint(0, 2 * pixels + 1, (2, n), generator=gen)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None].expand(-1, x.shape[1], -1, w + 2 * pixels)
    out = padded.gather(2, rows)                                         # (N, C, H, W + 2p)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :].expand(-1, x.shape[1], h, -1)
    return out.gather(3, cols)                                           # (N, C, H, W)


@torch.no_grad()
def accuracy(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    pred = torch.cat([net(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    return float((pred == y).float().mean())


def train_one(name: str, seed: int, out: Path) -> dict:
    builder, size, source, _ = CLASSIFIERS[name]
    epochs, batch, lr, pixels = RECIPES[name]
    ds = load_dataset(DataConfig(source=source), seed)
    assert ds.x.shape[1:] == (1, size, size), f"{source} images are {tuple(ds.x.shape[1:])}"
    tr, te = classifier_split(name, len(ds.x), seed)
    xtr, ytr, xte, yte = ds.x[tr], ds.y[tr], ds.x[te], ds.y[te]

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = builder(10)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    t0 = time.time()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            loss = F.cross_entropy(net(shift(xtr[idx], pixels, gen)), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
        print(f"{name} epoch {epoch + 1}/{epochs} loss {loss.item():.4f} "
              f"test acc {accuracy(net, xte, yte):.4f} ({time.time() - t0:.0f}s)", flush=True)

    acc = accuracy(net, xte, yte)
    path = out / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    path.chmod(0o644)  # package data: readable by everyone
    card = {
        "name": name,
        "architecture": (builder.__doc__ or "").strip(),
        "dim": net.head.in_features,
        "classes": 10,
        "input": [1, size, size],
        "params": sum(p.numel() for p in net.parameters()),
        "train_data": f"{source} ({ds.name}); " + ("first 80% of the file order trains, last 20% tests"
                                                   if name == "lenet-mnist" else
                                                   f"seeded permutation (seed {seed}): first 80% trains, rest tests"),
        "n_train": len(tr),
        "n_test": len(te),
        "test_accuracy": round(acc, 4),
        "recipe": {"epochs": epochs, "batch": batch, "lr": lr, "optimizer": "Adam, cosine schedule",
                   "augment": f"random shifts up to {pixels} px"},
        "command": f"{TRAIN_SCRIPT} --only {name} --seed {seed}",
        "seed": seed,
        "torch_version": torch.__version__,
        "sha256": file_sha256(path),
    }
    (out / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"{name}: test accuracy {acc:.4f} on {len(te)} held-out images -> {path} "
          f"({path.stat().st_size / 1e3:.0f} kB)", flush=True)
    return card


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=sorted(CLASSIFIERS), help="train only these")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="folder for the weights and cards")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # one thread: the same float reduction order on every run
    torch.use_deterministic_algorithms(True)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or sorted(CLASSIFIERS, reverse=True):
        train_one(name, args.seed, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
