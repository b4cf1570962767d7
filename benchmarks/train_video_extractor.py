"""Train the 3-D CNN behind the ``clip3d-mnist`` feature space (metrics/video3d.py) and ship its weights.

    OMP_NUM_THREADS=1 python benchmarks/train_video_extractor.py [--seed 0] [--steps 1200] [--clips 16384]

Data: Moving MNIST clips built as the `moving-mnist` preset builds them (one digit, 16 frames of 32x32, speeds
1-2 pixels a frame per axis) but from construction seed 11 (video.mm_seed), --clips of them from MNIST test images
0-7999; tested on the preset's own 1,000 held-out clips (images 8000-9999, construction seed 1), which no
training clip shows. Task: the digit (10 classes) and the direction of the first move (4 classes). Training: Adam
1e-3, batch 64, one thread. Writes src/ganforge/weights/clip3d-mnist.safetensors and its card clip3d-mnist.json
(held-out accuracies, also on the held-out clips with frames shuffled and frozen, sha256, settings, provenance).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import provenance  # noqa: E402

from ganforge.api import resolve_config  # noqa: E402
from ganforge.data.moving_mnist import load_moving_mnist  # noqa: E402
from ganforge.metrics.video import frozen, shuffled  # noqa: E402
from ganforge.metrics.video3d import NAME, Clip3DNet, first_direction  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "ganforge", "weights")


@torch.no_grad()
def accuracy(net: Clip3DNet, x: torch.Tensor, digit: torch.Tensor, direction: torch.Tensor) -> tuple[float, float]:
    hits_d = hits_m = 0
    for s in range(0, len(x), 250):
        d, m = net(x[s:s + 250])
        hits_d += int((d.argmax(1) == digit[s:s + 250]).sum())
        hits_m += int((m.argmax(1) == direction[s:s + 250]).sum())
    return hits_d / len(x), hits_m / len(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--clips", type=int, default=16384)
    a = ap.parse_args()
    prov = provenance(vars(a))     # before the weights file is rewritten, which would mark the tree as changed
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    cfg = resolve_config("moving-mnist")
    test = load_moving_mnist(cfg, 0, part="test")
    cfg.section("video").mm_seed, cfg.section("video").mm_clips = 11, a.clips
    train = load_moving_mnist(cfg, 0, part="train")
    labels = {k: (ds.extra["digits"][:, 0], first_direction(ds.extra["traj"])) for k, ds in
              (("train", train), ("test", test))}
    net = Clip3DNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g, t0 = torch.Generator().manual_seed(a.seed), time.perf_counter()
    digit, direction = labels["train"]
    for step in range(a.steps):
        i = torch.randint(0, len(train.x), (64,), generator=g)
        d, m = net(train.x[i])
        loss = F.cross_entropy(d, digit[i]) + F.cross_entropy(m, direction[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            print(step, round(loss.item(), 4), f"{time.perf_counter() - t0:.0f}s", flush=True)
    net.eval()
    acc = {"test": accuracy(net, test.x, *labels["test"]),
           "test_shuffled": accuracy(net, shuffled(test.x, 1), *labels["test"]),
           "test_frozen": accuracy(net, frozen(test.x), *labels["test"]),
           "train": accuracy(net, train.x[:2000], labels["train"][0][:2000], labels["train"][1][:2000])}
    from safetensors.torch import save_file
    path = os.path.join(OUT, f"{NAME}.safetensors")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
    from ganforge.core.frozen import file_sha256
    card = {"name": NAME, "shape": list(train.x.shape[1:]), "width": 16, "features": net.fc.out_features,
            "heads": ["digit (10)", "first move (4)"],
            **{f"{k}_accuracy": {"digit": round(v[0], 4), "direction": round(v[1], 4)} for k, v in acc.items()},
            "chance": {"digit": 0.1, "direction": 0.25}, "train_clips": len(train.x), "test_clips": len(test.x),
            "steps": a.steps, "batch": 64, "lr": 1e-3, "seed": a.seed, "train_seconds": round(time.perf_counter() - t0),
            "script": "benchmarks/train_video_extractor.py",
            "data": "Moving MNIST as the moving-mnist preset builds it: training clips from construction seed 11 "
                    "(MNIST test images 0-7999); test: the preset's held-out clips (images 8000-9999)",
            "sha256": file_sha256(path), "provenance": prov}
    with open(os.path.join(OUT, f"{NAME}.json"), "w") as f:
        json.dump(card, f, indent=1)
    print(json.dumps({k: card[k] for k in card if k.endswith("accuracy")}), f"wrote {path}")


if __name__ == "__main__":
    main()
