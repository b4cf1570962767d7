"""Text to image on captioned-mnist: GAN-INT-CLS with and without the mismatched-caption term, and with hard mismatches.

    OMP_NUM_THREADS=1 python benchmarks/text2image_mnist.py [--arms cls,hard,no-mismatch] [--seeds 100 101 102]
                                                            [--steps N] [--results FILE]

Each (arm, seed) trains the `captioned-mnist` preset (data/captioned_mnist.py, docs/text2image.md: MNIST test digits
0-7999 recoloured, scaled and placed on 32x32, three captions each, 45 of the 600 attribute combinations held out)
for --steps steps (default: the preset's) and is measured by `ganforge eval RUN` (evaluation/text2image.py):
- cls: the preset as it is, a matching-aware D (real images with mismatched captions on D's fake side);
- hard: text2image.hard=0.5, half the mismatched captions the batch's nearest caption that is not a paraphrase;
- no-mismatch: text2image.mismatch=0, a plain caption-conditional D.
One image is drawn for the first caption of each held-out test image, 1,000 with seen combinations (MNIST images
8000-8999) and 1,000 with held-out ones (9000-9999); the attribute reader (metrics/text2image.py: digit by the shipped
`lenet-mnist` on the located digit, colour by hue, size by bounding box, position by centroid) scores them per field
and all fields at once, beside the same reader on the real test images (the floor). FD in `random-conv` features
to the real test images, beside the real-vs-real floor (halves). The text encoder is pretrained per seed (1,500
matching steps) before G and D train; its minutes are not in the training time. R-precision (R = 1, 99 captions
of other attributes; evaluation/rprecision.py, a dual encoder of its own, not the one G was conditioned on), beside
the real images' (floor row); rows measured before it existed show '-'. Goals: all attributes right on at least
90% of seen and 75% of held-out combinations, R-precision at least 0.90, FD at most 3x the floor. Seeds default
to 100-102. Results: benchmarks/results/text2image_mnist.json; docs/benchmarks.md section `text2image-mnist`.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import arm_args, footer, load_rows, provenance, section_target, store_rows, write_section  # noqa: E402
from _doc import mean_sd as _ms  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "text2image_mnist.json")
ARMS = {"cls": [], "hard": ["text2image.hard=0.5"], "no-mismatch": ["text2image.mismatch=0"]}
FIELDS = ("digit", "colour", "size", "position", "all")


def one(arm: str, seed: int, steps: int | None, threads: int, extra: list[str], n: int) -> dict:
    import torch
    torch.set_num_threads(threads)
    import ganforge
    from ganforge import api, evaluation
    sets = [f"train.threads={threads}", "train.progress=false", "train.sample_every=0"] + ARMS[arm] + extra
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cfg, derived, _ = api.plan("captioned-mnist", seed=seed, steps=steps, overrides=sets)
        encoder_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        res = ganforge.train(cfg, out=os.path.join(tmp, "run"))
        wall = time.perf_counter() - t1
        ev = evaluation.evaluate_run(res.run_dir, n=n, json_path=os.path.join(tmp, "e.json"))
    return {"arm": arm, "seed": seed, "steps": res.step, "settings": ["preset=captioned-mnist"] + sets,
            "encoder_s": round(encoder_s, 1), "train_wall_s": round(wall, 1),
            "train_images_per_s": round(res.step * cfg.train.batch / wall, 1), "metrics": ev["metrics"],
            "protocol": {k: v for k, v in ev["protocol"].items() if k != "checkpoint"}}


def _table(rows: list[dict], part: str) -> list[str]:
    head = ["arm", "seeds", "steps", "train min"] + [f"{f} ({part})" for f in FIELDS] + ["R-precision", "FD",
                                                                                       "FD floor"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for arm in ARMS:
        mine = [r for r in rows if r["arm"] == arm]
        if mine:
            cells = [arm, str(len(mine)), str(mine[0]["steps"]), _ms([r["train_wall_s"] / 60 for r in mine], ".1f")]
            cells += [_ms([r["metrics"].get(f"attr_{f}_{part}") for r in mine]) for f in FIELDS]
            cells += [_ms([r["metrics"].get(k) for r in mine]) for k in (f"rprec_{part}", "fd", "fd_floor")]
            lines.append("| " + " | ".join(cells) + " |")
    real = ["real images (floor)", "-", "-", "-"] + [_ms([r["metrics"].get(f"attr_{f}_{part}_real")
                                                          for r in rows[:1]]) for f in FIELDS] + \
        [_ms([r["metrics"].get(f"rprec_{part}_real") for r in rows[:1]]), "-", "-"]
    return lines + ["| " + " | ".join(real) + " |"]


def render(path: str = RESULTS) -> None:
    rows = load_rows(path)
    if not rows:
        return
    body = (__doc__.split("\n\n", 2)[2].split("Results:")[0].strip() + "\n\nMean ± sample std over seeds; "
            "attribute accuracies as shares.\n\nSeen combinations:\n\n" + "\n".join(_table(rows, "seen"))
            + "\n\nHeld-out combinations:\n\n" + "\n".join(_table(rows, "held")) + "\n\n" + footer(rows))
    write_section("text2image-mnist", "Text to image: GAN-INT-CLS on captioned-mnist", body,
                  **section_target(path, RESULTS))


def main() -> None:
    a = arm_args(__doc__, ARMS, RESULTS, n_help="captions scored per part (seen, held out)", jobs=False)
    if not a.render:
        prov = provenance(vars(a))
        for s in a.seeds:
            for arm in a.arms.split(","):
                row = one(arm, s, a.steps, a.threads or 1, a.extra, a.n)
                row["provenance"] = prov
                store_rows(a.results, [row], ("arm", "seed"))
                m = row["metrics"]
                print(arm, s, f"all seen {m['attr_all_seen']:.3f} held {m['attr_all_held']:.3f} "
                      f"FD {m['fd']:.3g}/{m['fd_floor']:.3g}", f"{row['train_wall_s']:.0f}s", flush=True)
    render(a.results)


if __name__ == "__main__":
    main()
