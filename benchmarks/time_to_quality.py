"""Time to quality: Frechet distance of G_ema's samples against training wall-clock seconds.

    python benchmarks/time_to_quality.py [--steps 3000] [--every 250] [--n 2000]

For the `digits` (digits extractor) and `mnist` (lenet-mnist extractor) presets: one training run
(seed 0) keeping a checkpoint every `--every` steps; the wall-clock of a checkpoint is its file's
modification time minus the start of `ganforge.train` (start-up and data loading included,
evaluation excluded: it runs after training). Each checkpoint's G_ema draws `--n` samples (seed 1);
FD is taken against `--n` training images (at most half the data set) (the data the model was fit to: for MNIST
the 10k test split, the only split on disk). Floor: FD between two disjoint real subsets of `--n` images.
Writes docs/time_to_quality.png and section `time-to-quality` of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import DOC, write_section  # noqa: E402

from ganforge import api  # noqa: E402
from ganforge.core import checkpoint as ckpt  # noqa: E402
from ganforge.data import load_dataset  # noqa: E402
from ganforge.metrics import frechet_distance  # noqa: E402
from ganforge.metrics.extractors import get_extractor  # noqa: E402

RUNS = (("digits", "digits"), ("mnist", "lenet-mnist"))


@torch.no_grad()
def features(extractor, x: torch.Tensor, batch: int = 500) -> np.ndarray:
    return torch.cat([extractor.features(x[i:i + batch]) for i in range(0, x.shape[0], batch)]).numpy()


def curve(preset: str, extractor_name: str, steps: int, every: int, n: int, root: str) -> dict:
    out = os.path.join(root, preset)
    t0 = time.time()
    res = api.train(preset, out=out, steps=steps, progress=False,
                    overrides=[f"train.ckpt_every={every}", "train.keep_ckpts=1000", "train.sample_every=0"])
    cfg = api.load(res.run_dir).config
    data = load_dataset(cfg.data, seed=0)
    ext = get_extractor(extractor_name)
    n = min(n, data.x.shape[0] // 2)  # two disjoint real subsets (digits has 1,797 images)
    perm = torch.randperm(data.x.shape[0], generator=torch.Generator().manual_seed(0))
    real_a, real_b = features(ext, data.x[perm[:n]]), features(ext, data.x[perm[n:2 * n]])
    points = []
    for step, path in ckpt.list_checkpoints(os.path.join(out, "checkpoints")):
        g = api.load(path)
        fake = features(ext, g.sample(n, seed=1).cpu())
        points.append((step, os.path.getmtime(path) - t0, frechet_distance(real_a, fake)))
    return {"preset": preset, "extractor": extractor_name, "points": points, "n": n,
            "floor": frechet_distance(real_a, real_b), "it_per_s": res.it_per_s}


def plot(curves: list[dict], path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.6))
    for ax, c in zip(np.atleast_1d(axes), curves):
        secs = [p[1] for p in c["points"]]
        ax.plot(secs, [p[2] for p in c["points"]], "o-", label="G_ema")
        ax.axhline(c["floor"], color="grey", ls="--", label="real vs real")
        ax.set_yscale("log")
        ax.set_xlabel("training wall-clock (s)")
        ax.set_ylabel(f"FD ({c['extractor']} features)")
        ax.set_title(f"{c['preset']} preset")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def render(curves: list[dict], args, load: tuple[str, str]) -> str:
    lines = [f"Command: `python benchmarks/time_to_quality.py --steps {args.steps} --every {args.every} --n {args.n}`. "
             "Seed 0, one run per preset, 2 CPU cores shared with other jobs (load average "
             f"{load[0]} at start, {load[1]} at end): the seconds are pessimistic, the FD values are not. "
             f"FD of {args.n} G_ema samples against {args.n} training images; the floor is FD between two "
             "disjoint real subsets of the same size (digits: 898 each, half of its 1,797 images).", "",
             "![FD against wall-clock](time_to_quality.png)", ""]
    for c in curves:
        lines += [f"**{c['preset']}** ({c['extractor']} features; real-vs-real floor {c['floor']:.2f}; "
                  f"{c['it_per_s']:.1f} steps/s overall):", "", "| step | seconds | FD |", "|---|---|---|"]
        lines += [f"| {s} | {t:.0f} | {fd:.2f} |" for s, t, fd in c["points"]]
        lines.append("")
    return "\n".join(lines)


def _load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--every", type=int, default=250)
    ap.add_argument("--n", type=int, default=2000)
    a = ap.parse_args()
    load0 = _load()
    with tempfile.TemporaryDirectory() as root:
        curves = [curve(p, e, a.steps, a.every, a.n, root) for p, e in RUNS]
    plot(curves, os.path.join(os.path.dirname(DOC), "time_to_quality.png"))
    body = render(curves, a, (load0, _load()))
    print(body)
    write_section("time-to-quality", "Time to quality: FD against training wall-clock (CPU)", body)


if __name__ == "__main__":
    main()
