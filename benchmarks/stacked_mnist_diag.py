"""Where a Stacked MNIST KL comes from: per-channel digit shares, their KL, and the labeller's confidence.

KL(q || uniform over 1,000) splits exactly into the three per-channel KLs (each channel's digit
histogram against uniform over 10) plus the multi-information of the three digits, KL(q || q1 q2 q3),
which is 0 when the channels are independent. A large per-channel part with a small
multi-information means the generator draws some digits too often in every channel. A low labeller
confidence (mean top softmax probability) means many samples are ambiguous digits.

    GANFORGE_DATA=../shared/datasets python benchmarks/stacked_mnist_diag.py RUN_OR_CHECKPOINT [...]
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

N_SAMPLES = 26_000


def analyse(x: torch.Tensor) -> dict:
    """x: (N, 3, 28, 28) images in [-1, 1] -> the KL split and the labeller's confidence."""
    from ganforge.metrics import label_kl_split
    from ganforge.metrics.extractors import get_extractor
    lab = get_extractor("lenet-mnist").eval()
    with torch.no_grad():
        p = torch.cat([torch.cat([lab.logits(x[i:i + 1000, c:c + 1]).softmax(1)
                                  for i in range(0, x.shape[0], 1000)])[:, None] for c in range(3)], 1)
    digits = p.argmax(2).numpy()                                      # (N, 3)
    split = label_kl_split(digits)
    return {"modes": len(np.unique(digits @ np.array([100, 10, 1]))), "kl": split["reverse_kl"],
            "channel_kl": [round(v, 4) for v in split["position_kl"]],
            "multi_information": split["multi_information"],
            "digit_share": [[round(float(v), 3) for v in np.bincount(digits[:, c], minlength=10) / len(digits)]
                            for c in range(3)],
            "confidence": float(p.max(2).values.mean()),
            "ambiguous": float((p.max(2).values < 0.9).float().mean())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", help="run folders or checkpoint files")
    ap.add_argument("--real", action="store_true", help="also analyse 26,000 real Stacked MNIST images")
    ap.add_argument("--seed", type=int, default=10_000, help="sampling seed (the benchmark's: 10000 + run seed)")
    a = ap.parse_args(argv)
    import ganforge
    jobs = [("real", None)] if a.real else []
    for name, path in jobs + [(p, p) for p in a.paths]:
        if path is None:
            from ganforge.config import DataConfig
            from ganforge.data import load_dataset
            x = load_dataset(DataConfig(source="stacked-mnist"), seed=a.seed).x[:N_SAMPLES]
        else:
            x = ganforge.load(path).sample(N_SAMPLES, seed=a.seed)
        r = analyse(x)
        print(f"{name}: {r['modes']} modes, KL {r['kl']:.3f} = channels {r['channel_kl']} "
              f"+ multi-information {r['multi_information']:.3f}; labeller confidence {r['confidence']:.3f}, "
              f"ambiguous (top p < 0.9) {r['ambiguous']:.1%}")
        for c, s in enumerate(r["digit_share"]):
            print(f"  channel {c} digit shares: {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
