"""Mode coverage on Stacked MNIST (1,000 modes), in the protocol of PacGAN / VEEGAN.

Protocol (written to docs/benchmarks.md, section `stacked-mnist`):
- Data: Stacked MNIST (Metz et al. 2017): three MNIST digits drawn independently as the R, G, B
  channels of one 3x28x28 image, 1,000 classes (``data.source=stacked-mnist``). Only the 10,000-image
  MNIST test split is on this machine, so the digits come from it.
- Train the ``stacked-mnist`` preset (``--set`` adds overrides; ``--weak-d`` sets the discriminator to a
  quarter of the preset's width, the setting of Lin et al. 2018, Table 3).
- Draw 26,000 samples from G_ema; label each channel with the shipped ``lenet-mnist`` classifier
  (``classify_channels``: 100*d1 + 10*d2 + d3); *modes* = classes with >= 1 sample, *KL* =
  KL(sample label histogram || uniform over 1,000) (``ganforge.metrics.modes.label_modes``).
- Floor: the same figures for 26,000 real Stacked MNIST images (classifier errors included).

    GANFORGE_DATA=../shared/datasets python benchmarks/stacked_mnist.py --seeds 0
    GANFORGE_DATA=../shared/datasets python benchmarks/stacked_mnist.py --seeds 0 --weak-d
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
RESULTS = os.path.join(HERE, "results", "stacked_mnist.json")
N_SAMPLES = 26_000


def label(x: torch.Tensor) -> torch.Tensor:
    from ganforge.metrics.extractors import get_extractor
    with torch.no_grad():
        return get_extractor("lenet-mnist").classify_channels(x)


def real_floor(seed: int) -> dict:
    from ganforge.config import DataConfig
    from ganforge.data import load_dataset
    from ganforge.metrics.modes import label_modes
    ds = load_dataset(DataConfig(source="stacked-mnist"), seed=10_000 + seed)
    return label_modes(label(ds.x[:N_SAMPLES]), 1000)


def run_one(seed: int, overrides: list[str], steps: int | None) -> dict:
    import ganforge
    from ganforge.metrics.modes import label_modes
    out = tempfile.mkdtemp(prefix=f"stacked-mnist-{seed}-")
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        res = ganforge.train("stacked-mnist", out=os.path.join(out, "run"), seed=seed, steps=steps,
                             overrides=overrides + ["train.sample_every=0", "train.ckpt_every=0"])
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        x = ganforge.load(res).sample(N_SAMPLES, seed=10_000 + seed)          # (26000, 3, 28, 28)
        score = label_modes(label(x), 1000)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"seed": seed, "overrides": overrides, "steps": res.step, "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu, 1), "threads": torch.get_num_threads(), **score}


def table(results: list[dict], floor: dict) -> str:
    lines = ["| setting | seeds | steps | modes (of 1000) | KL | s / run (median wall) | torch threads |",
             "|---|---|---|---|---|---|---|"]
    for setting in sorted({r["setting"] for r in results}):
        rs = [r for r in results if r["setting"] == setting]
        sd = lambda v, d=2: f" ± {statistics.stdev(v):.{d}f}" if len(v) > 1 else ""  # noqa: E731
        modes, kl = [r["modes"] for r in rs], [r["reverse_kl"] for r in rs]
        lines.append(f"| {setting} | {len(rs)} | {rs[0]['steps']} | {statistics.mean(modes):.1f}{sd(modes)} | "
                     f"{statistics.mean(kl):.3f}{sd(kl, 3)} | {statistics.median(r['seconds'] for r in rs):.0f} | "
                     f"{'/'.join(sorted({str(r.get('threads', 1)) for r in rs}))} |")
    lines.append(f"| real data (floor) | - | - | {floor['modes']} | {floor['reverse_kl']:.3f} | - | - |")
    return "\n".join(lines)


def write_doc(results: list[dict], floor: dict) -> None:
    from _doc import write_section

    from ganforge.config import PRESETS
    cmds = sorted({r["command"] for r in results})
    body = "\n\n".join([
        "Stacked MNIST (Metz et al. 2017): 3x28x28 images whose channels are three independent MNIST digits, "
        "1,000 modes, built from the 10,000-image MNIST test split (the only split on this machine). 26,000 "
        "samples from G_ema are labelled channel by channel with the shipped `lenet-mnist` classifier; "
        "*modes* = labels seen at least once, *KL* = KL(label histogram || uniform). `weak D` = "
        "`model.d_width` a quarter of the preset's. Published anchors (Lin et al. 2018, PacGAN), after far "
        "longer GPU training: standard discriminator (Table 2) PacDCGAN2 1000 modes / KL 0.06; "
        "discriminator a quarter of G's size (Table 3) PacDCGAN4 667 / 1.81, unrolled-10 327 / 4.66. "
        "Goals here: 1000 modes with KL <= 0.06 (preset), >= 700 modes with KL <= 1.5 (weak D), at most "
        "20 minutes per run on 2 cores. Rows named 'earlier', 'before', 'at G width 32' or with another step "
        "count come from earlier versions of the preset, as their names say; a row whose command sets "
        "`optim.topk=0.5` ran before that setting became the preset's, with the same configuration. "
        "`benchmarks/stacked_mnist_diag.py` splits a run's KL into per-channel parts and the dependence "
        "between channels (docs/stability.md).",
        table(results, floor),
        "Preset `stacked-mnist`: " + json.dumps(PRESETS["stacked-mnist"]) + ".",
        f"Machine: {platform.machine()}, 2 CPU cores; rows on 2 torch threads ran one at a time, rows on one "
        "thread two side by side; rows without a recorded thread count ran on one. Steps per second differ "
        "between machines: on an Intel Xeon the preset before top-k ran a whole 2-thread run in 1,146 s "
        "(41.9 steps/s; KL 0.169 on seed 0, a different trajectory from the 1-thread run); on two threads, "
        "nothing else running, 2,000-step probes of the preset gave 49.4 steps/s at G width 48 (48,000 steps "
        "in 16.2 minutes) and 65.6 at width 32, see docs/stability.md. "
        "torch " + torch.__version__ + ".",
        "Commands: " + "; ".join(f"`{c}`" for c in cmds)
        + " (per-seed results: `benchmarks/results/stacked_mnist.json`).",
    ])
    write_section("stacked-mnist", "Stacked MNIST: mode coverage", body)


def main(argv: list[str] | None = None) -> int:
    from ganforge.config import PRESETS
    from ganforge.core.seed import parse_seeds
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0", help="e.g. 0-2")
    ap.add_argument("--steps", type=int, default=None, help="override train.steps")
    ap.add_argument("--weak-d", action="store_true", help="discriminator width a quarter of the preset's")
    ap.add_argument("--set", dest="extra", action="append", default=[], help="extra key=value overrides")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--doc-only", action="store_true", help="rewrite the doc section from the stored results")
    a = ap.parse_args(argv)
    if a.doc_only:
        write_doc(json.load(open(RESULTS)), real_floor(0))
        return 0
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    overrides = list(a.extra)
    setting = "preset"
    if a.weak_d:
        overrides.append(f"model.d_width={max(1, PRESETS['stacked-mnist']['model']['d_width'] // 4)}")
        setting = "weak D"
    if a.extra:
        setting += " + " + " ".join(a.extra)
    command = "python benchmarks/stacked_mnist.py " + " ".join(argv if argv is not None else sys.argv[1:])
    new = []
    for seed in parse_seeds(a.seeds):
        r = {**run_one(seed, overrides, a.steps), "setting": setting, "command": command}
        print(json.dumps(r), flush=True)
        new.append(r)
    floor = real_floor(0)
    print(table(new, floor))
    if not a.no_write:  # runs side by side each merge their rows into the re-read file
        from _doc import store_rows
        write_doc(store_rows(RESULTS, new, ("setting", "seed")), floor)
    return 0


if __name__ == "__main__":
    sys.exit(main())
