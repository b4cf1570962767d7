"""Train the phrase network behind the ``chorale-phrases`` feature space and ship its weights.

    OMP_NUM_THREADS=1 python benchmarks/train_music_extractor.py [--seed 0] [--steps 1500]

Data: the `chorales` preset's phrases (music21's Bach chorales in C major / A minor, 16th-note grid, 4 bars, 4
voices); training on the training chorales' phrases, testing on the held-out chorales' (10% of the chorales,
music.split_seed 0: the same split the music metrics use as real reference). Task: metrics/music_features.py
``corrupt``, which of four things was done to a phrase (nothing, one voice transposed, bars shuffled, one voice
swapped with another phrase's). Model: PhraseNet. Training: Adam 1e-3, batch 64, one thread (a few minutes).
Writes src/ganforge/weights/chorale-phrases.safetensors and its card chorale-phrases.json (test accuracy, sha256,
settings).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import provenance  # noqa: E402

from ganforge.api import resolve_config  # noqa: E402
from ganforge.data import load_dataset  # noqa: E402
from ganforge.data.music import load_part  # noqa: E402
from ganforge.metrics.music_features import CLASSES, PhraseNet, corrupt  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "ganforge", "weights")


@torch.no_grad()
def accuracy(net: PhraseNet, x: torch.Tensor, bar: int, seed: int) -> float:
    g, hits = torch.Generator().manual_seed(seed), 0
    for s in range(0, len(x), 256):
        xc, y = corrupt(x[s:s + 256], bar, g)
        hits += int((net(xc).argmax(1) == y).sum())
    return hits / len(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=2000)
    a = ap.parse_args()
    prov = provenance(vars(a))     # before the weights file is rewritten, which would mark the tree as changed
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    cfg = resolve_config("chorales")
    train, test = load_dataset(cfg, seed=0), load_part(cfg, 0, "test")
    bar = int(train.meta["bar_steps"])
    net = PhraseNet(train.x.shape[1], len(CLASSES))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g, t0 = torch.Generator().manual_seed(a.seed), time.perf_counter()
    for step in range(a.steps):
        xc, y = corrupt(train.x[torch.randint(0, len(train), (64,), generator=g)], bar, g)
        loss = torch.nn.functional.cross_entropy(net(xc), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 250 == 0:
            print(step, round(loss.item(), 4), f"{time.perf_counter() - t0:.0f}s", flush=True)
    net.eval()
    acc, train_acc = accuracy(net, test.x, bar, 1), accuracy(net, train.x[:2000], bar, 2)
    from safetensors.torch import save_file
    path = os.path.join(OUT, "chorale-phrases.safetensors")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
    from ganforge.core.frozen import file_sha256
    card = {"name": "chorale-phrases", "classes": list(CLASSES), "shape": list(train.x.shape[1:]),
            "test_accuracy": round(acc, 4), "train_accuracy": round(train_acc, 4), "chance": round(1 / len(CLASSES), 4),
            "train_phrases": len(train), "test_phrases": len(test), "steps": a.steps, "batch": 64, "lr": 1e-3,
            "seed": a.seed, "train_seconds": round(time.perf_counter() - t0),
            "script": "benchmarks/train_music_extractor.py",
            "data": "music21 Bach chorales, `chorales` preset, training chorales; test: held-out chorales",
            "sha256": file_sha256(path), "provenance": prov}
    with open(os.path.join(OUT, "chorale-phrases.json"), "w") as f:
        json.dump(card, f, indent=1)
    print(f"test accuracy {acc:.3f} (train {train_acc:.3f}, chance {1 / len(CLASSES):.2f}); wrote {path}")


if __name__ == "__main__":
    main()
