"""Image translation on digits: the pix2pix ablation on edges2digits and CycleGAN on digits2mnist.

    OMP_NUM_THREADS=1 python benchmarks/translate_digits.py [--arms l1,cgan,l1+cgan,cyclegan] [--seeds 100 101 102]
                                                             [--steps N]

Each (arm, seed) trains a preset for --steps steps (default: the preset's) and is measured by `ganforge eval RUN`
(evaluation/translate.py; docs/translation.md):
- l1, cgan, l1+cgan: pix2pix (U-Net G, PatchGAN D on (edges, digit) pairs) on edges2digits, the presets
  `edges2digits-l1` (L1 alone, no D), `edges2digits-cgan` (the conditional GAN term alone) and `edges2digits` (L1
  weighted 100 + cGAN), trained on the pairs from MNIST test images 0-7999 and scored on the 2,000 held-out pairs from
  images 8000-9999: L1, PSNR and SSIM to the true digit, FD to the true digits in `lenet-mnist` features beside the
  real-vs-real floor (two halves of the held-out digits, 1,000 each), and the shipped MNIST classifier's accuracy on
  the outputs beside its accuracy on the true digits. Published ordering (Isola et al. 2017, Cityscapes labels ->
  photos): L1 alone is best per pixel and blurry, L1 + cGAN the most realistic.
- cyclegan: the `digits2mnist` preset (scikit-learn's digits resized to 32x32 -> MNIST padded to 32x32, labels never
  used in training), scored on the 359 held-out sklearn digits and 2,000 held-out MNIST digits: the MNIST
  classifier's accuracy on translated digits against the untranslated (resized) ones, FD to MNIST, and how often a
  cycle keeps the label. Goal: at least 95% on translated digits.
Speed: training images per second (batch x steps / wall time) and translated images per second (G_ema, batches of
256, after a warm-up). Seeds default to 100-102, not the ones the presets were set with. Results:
benchmarks/results/translate_digits.json; docs/benchmarks.md section `translate-digits`.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import arm_args, footer, load_rows, provenance, section_target, store_rows, write_section  # noqa: E402
from _doc import mean_sd as _ms  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "translate_digits.json")
ARMS = {"l1": "edges2digits-l1", "cgan": "edges2digits-cgan", "l1+cgan": "edges2digits", "cyclegan": "digits2mnist"}


def one(arm: str, seed: int, steps: int | None, threads: int, extra: list[str]) -> dict:
    import torch
    torch.set_num_threads(threads)
    import ganforge
    from ganforge import evaluation
    sets = [f"train.threads={threads}", "train.progress=false", "train.sample_every=0"] + extra
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = ganforge.train(ARMS[arm], seed=seed, steps=steps, out=os.path.join(tmp, "run"), overrides=sets)
        wall = time.perf_counter() - t0
        g = ganforge.load(res.run_dir)
        src = torch.zeros(256, *g.recipe.shapes["A"])
        g.recipe.generate({"source": src[:16]})                          # warm-up
        t1 = time.perf_counter()
        g.recipe.generate({"source": src})
        translate_s = time.perf_counter() - t1
        ev = evaluation.evaluate_run(res.run_dir, json_path=os.path.join(tmp, "e.json"))
    return {"arm": arm, "seed": seed, "steps": res.step, "settings": [f"preset={ARMS[arm]}"] + sets,
            "train_wall_s": round(wall, 1), "train_images_per_s": round(res.step * g.config.train.batch / wall, 1),
            "translate_images_per_s": round(256 / translate_s, 1), "metrics": ev["metrics"],
            "protocol": {k: v for k, v in ev["protocol"].items() if k != "checkpoint"}}


def _table(rows: list[dict], arms: list[str], cols: list[tuple[str, str]]) -> list[str]:
    head = ["arm", "seeds", "steps", "train min"] + [c for c, _ in cols] + ["train img/s", "translate img/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for arm in arms:
        mine = [r for r in rows if r["arm"] == arm]
        if not mine:
            continue
        cells = [arm, str(len(mine)), str(mine[0]["steps"]), _ms([r["train_wall_s"] / 60 for r in mine], ".1f")]
        cells += [_ms([r["metrics"].get(k) for r in mine]) for _, k in cols]
        cells += [_ms([r["train_images_per_s"] for r in mine], ".0f"), _ms([r["translate_images_per_s"] for r in mine],
                                                                            ".0f")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(path: str = RESULTS) -> None:
    rows = load_rows(path)
    if not rows:
        return
    paired = _table(rows, ["l1", "cgan", "l1+cgan"],
                    [("L1", "l1"), ("PSNR dB", "psnr"), ("SSIM", "ssim"), ("FD", "fd"), ("FD floor", "fd_floor"),
                     ("label acc", "label_acc"), ("label acc of true digits", "label_acc_target")])
    cycle = _table(rows, ["cyclegan"],
                   [("acc translated", "acc_translated"), ("acc source only", "acc_source_only"),
                    ("acc real MNIST", "acc_mnist"), ("FD to MNIST", "fd_atob"), ("FD source", "fd_atob_source"),
                    ("FD floor", "fd_floor_atob"), ("cycle label B-A-B", "cycle_label_bab"),
                    ("cycle label A-B-A", "cycle_label_aba")])
    body = (__doc__.split("\n\n", 2)[2].split("Results:")[0].strip() + "\n\nMean ± sample std over seeds.\n\n"
            + ("\n".join(paired) + "\n\n" if len(paired) > 2 else "")
            + ("\n".join(cycle) + "\n\n" if len(cycle) > 2 else "") + footer(rows))
    write_section("translate-digits", "Translation: pix2pix ablation on edges2digits, CycleGAN on digits2mnist", body,
                  **section_target(path, RESULTS))


def main() -> None:
    a = arm_args(__doc__, ARMS, RESULTS)
    if not a.render:
        prov = provenance(vars(a))
        threads = a.threads or max(1, 2 // a.jobs)
        with ProcessPoolExecutor(a.jobs, max_tasks_per_child=1) as pool:
            futures = [pool.submit(one, arm, s, a.steps, threads, a.extra) for s in a.seeds
                       for arm in a.arms.split(",")]
            for f in futures:
                row = f.result()
                row["provenance"] = prov
                store_rows(a.results, [row], ("arm", "seed"))
                m = row["metrics"]
                figures = (f"FD {m['fd']:.3g}/{m['fd_floor']:.3g} label {m['label_acc']:.3f} L1 {m['l1']:.3f} "
                           f"SSIM {m['ssim']:.3f}" if "fd" in m else
                           f"acc {m['acc_translated']:.3f} (source only {m['acc_source_only']:.3f})")
                print(row["arm"], row["seed"], figures, f"{row['train_wall_s']:.0f}s", flush=True)
    render(a.results)


if __name__ == "__main__":
    main()
