"""Speed of the evaluation metrics: FD + KID + precision/recall + density/coverage, 10,000 vs 10,000.

Real: the 10,000 MNIST test-split images. Second set: the same images with Gaussian pixel noise
(std 0.3 in [-1, 1] units) and a seeded shuffle, so no pair is identical. Both go through the shipped
`lenet-mnist` extractor (128-D), then the metrics (k=3 for P/R, k=5 for D/C, KID 100 subsets of
1,000), without floors. Reported: extraction time, metric time, total; median of --repeats.

    python benchmarks/metrics_speed.py --repeats 3
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from _doc import write_section  # noqa: E402

from ganforge.config import DataConfig  # noqa: E402
from ganforge.data import load_dataset  # noqa: E402
from ganforge.metrics import compute  # noqa: E402
from ganforge.metrics.extractors import extract, get_extractor  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    real = load_dataset(DataConfig(source="mnist")).x
    g = torch.Generator().manual_seed(0)
    fake = (real + 0.3 * torch.randn(real.shape, generator=g)).clamp(-1, 1)[torch.randperm(len(real), generator=g)]
    ext = get_extractor("lenet-mnist")
    rows = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        fr, ff = extract(ext, real), extract(ext, fake)
        t1 = time.perf_counter()
        res = compute(["fd", "kid", "pr", "dc"], fr, ff, seed=0, kind="image", floor=False)
        t2 = time.perf_counter()
        rows.append((t1 - t0, t2 - t1, t2 - t0))
        shown = {k: round(v, 4) for k, v in res.items() if k != "protocol"}
        print(f"extract {t1 - t0:.1f}s metrics {t2 - t1:.1f}s", shown)
    med = [statistics.median(r[i] for r in rows) for i in range(3)]
    body = "\n".join([
        "Protocol: 10,000 MNIST test images vs the same images with N(0, 0.3^2) pixel noise, shuffled; "
        "`lenet-mnist` features (128-D); FD, KID (100 subsets of 1,000), precision/recall (k=3), "
        "density/coverage (k=5); no floors. k-NN in float32 blocks, never an N x N matrix.",
        f"Machine: 2 CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads; load average "
        f"{os.getloadavg()[0]:.1f} at the end (other jobs shared the cores). Median of {a.repeats} repeats.", "",
        "| step | seconds |", "|---|---:|",
        f"| feature extraction (20,000 images) | {med[0]:.1f} |",
        f"| FD + KID + P/R + D/C | {med[1]:.1f} |",
        f"| total | {med[2]:.1f} |", "",
        f"Goal: at most 60 s in total ({'met' if med[2] <= 60 else 'not met'}).", "",
        f"Command: `{'OMP_NUM_THREADS=1 ' if torch.get_num_threads() == 1 else ''}"
        f"python benchmarks/metrics_speed.py --repeats {a.repeats}`"])
    if not a.no_write:
        write_section("metrics-speed", "Evaluation speed: 10,000 vs 10,000 MNIST images", body)
    print(body)


if __name__ == "__main__":
    main()
