"""How recognisable are the samples of `ganforge train digits` and `ganforge train mnist`?

Protocol (written to docs/benchmarks.md, section `image-quality`):
- Train the preset with its defaults (seeds given by --seeds), timing the whole `api.train` call.
- digits: a logistic-regression classifier on the 8x8 pixels, trained on a seeded 80% of the 1,797
  real digits, tested on the other 20% (its accuracy is reported). mnist: the shipped `lenet-mnist`
  classifier (trained on the first 8,000 MNIST test-split images, accuracy on the last 2,000 in its
  weight card).
- Classify 1,000 samples from G_ema (seed 0): number of classes present, largest class share, mean
  top-class probability; the same mean for the real held-out images is the reference.
- Floors (digits): >= 9 classes, mean confidence >= 0.8 x the real figure, <= 3 minutes per run.

    python benchmarks/image_quality.py --preset digits --seeds 0 1 2
    python benchmarks/image_quality.py --preset mnist --seeds 0
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from _doc import write_section  # noqa: E402

import ganforge  # noqa: E402
from ganforge.config import DataConfig  # noqa: E402
from ganforge.data import load_dataset  # noqa: E402


def digits_classifier(seed: int = 0):
    from sklearn.linear_model import LogisticRegression
    ds = load_dataset(DataConfig(source="digits"))
    x = ((ds.x.reshape(len(ds.x), -1).numpy() + 1) / 2)  # pixels in [0, 1]
    y = ds.y.numpy()
    idx = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    clf = LogisticRegression(max_iter=2000, C=1.0).fit(x[idx[:cut]], y[idx[:cut]])
    xt, yt = x[idx[cut:]], y[idx[cut:]]
    acc = float((clf.predict(xt) == yt).mean())
    real_conf = float(clf.predict_proba(xt).max(1).mean())
    probs = lambda imgs: clf.predict_proba(((imgs.reshape(len(imgs), -1) + 1) / 2).numpy())  # noqa: E731
    return probs, acc, real_conf, "logistic regression on pixels, 80/20 split"


def mnist_classifier():
    from ganforge.metrics.extractors import get_extractor
    ext = get_extractor("lenet-mnist")
    ds = load_dataset(DataConfig(source="mnist"))
    held = ds.x[8000:]
    with torch.no_grad():
        real = torch.softmax(ext.logits(held), 1)
    acc = float((real.argmax(1) == ds.y[8000:]).float().mean())
    real_conf = float(real.max(1).values.mean())

    def probs(imgs):
        with torch.no_grad():
            return torch.softmax(ext.logits(imgs), 1).numpy()
    return probs, acc, real_conf, "lenet-mnist (shipped), test on images 8000-9999"


def run(preset: str, seed: int, probs, steps: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = ganforge.train(preset, seed=seed, steps=steps, out=os.path.join(tmp, "run"), progress=False)
        wall = time.perf_counter() - t0
        g = ganforge.load(res.run_dir)
        x = g.sample(1000, seed=0)
    p = probs(x)
    counts = np.bincount(p.argmax(1), minlength=10)
    return {"seed": seed, "wall_s": wall, "steps": res.step, "classes": int((counts > 0).sum()),
            "max_share": float(counts.max() / counts.sum()), "conf": float(p.max(1).mean())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="digits", choices=["digits", "mnist"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=None, help="override the preset's steps")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    if a.preset == "digits":
        probs, acc, real_conf, how = digits_classifier()
    else:
        probs, acc, real_conf, how = mnist_classifier()
    rows = [run(a.preset, s, probs, a.steps) for s in a.seeds]
    for r in rows:
        print(r)
    lines = [f"Preset `{a.preset}` with its defaults ({rows[0]['steps']} steps), "
             f"{len(rows)} seeds; machine: {platform.machine()}, {os.cpu_count()} CPU cores, "
             f"torch {torch.__version__}, {torch.get_num_threads()} threads; load average at the end "
             f"{os.getloadavg()[0]:.1f} (other jobs shared the 2 cores: wall times are pessimistic).",
             f"Classifier: {how}; its test accuracy {acc:.3f}; mean top-class probability on real "
             f"held-out images {real_conf:.3f}. 1,000 samples from G_ema per run.", "",
             "| seed | wall time (s) | classes present | largest class share | mean confidence | vs real |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['seed']} | {r['wall_s']:.1f} | {r['classes']} | {r['max_share']:.3f} | "
                     f"{r['conf']:.3f} | {r['conf'] / real_conf:.2f} |")
    med = lambda k: float(np.median([r[k] for r in rows]))  # noqa: E731
    lines.append(f"| median | {med('wall_s'):.1f} | {med('classes'):.0f} | {med('max_share'):.3f} | "
                 f"{med('conf'):.3f} | {med('conf') / real_conf:.2f} |")
    lines += ["", f"Command: `python benchmarks/image_quality.py --preset {a.preset} --seeds "
              + " ".join(map(str, a.seeds)) + (f" --steps {a.steps}" if a.steps else "") + "`"]
    if not a.no_write:
        write_section(f"image-quality-{a.preset}", f"Sample quality: {a.preset}", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
