"""FD over the course of training on a small subset, with and without augmentation: does the
unaugmented run get worse as its discriminator overfits, and does augmentation hold it off?

Protocol (written to docs/benchmarks.md, section `small-data-curve`):
- Train the `digits` or `mnist` preset on a seeded share of its data (``data.limit``) with the arms
  of benchmarks/small_data.py (none, DiffAugment, ADA with ``color,translation,cutout``), keeping a
  checkpoint every ``--every`` steps.
- At each checkpoint: FD in the domain classifier's features between samples of G_ema and the *whole*
  real set (N = half the real set, sampling seed 10,000 + run seed), as in the small-data table, and
  for ADA the mean p and r_t over the steps logged since the previous checkpoint.
- The best FD of a run and the step it came at show whether a longer run would have been worse
  than a shorter one (overfitting), which one number at the end cannot.
- The MNIST rows were measured with the `mnist` preset at the DCGAN rates (Adam 2e-4, beta1 0.5, no R1),
  before it took its tuned rates; ``--set`` each of benchmarks/_doc.py's DCGAN_RATES to re-run them as recorded.
- Per-run curves are kept in benchmarks/results/small_data_curve.json.

    GANFORGE_DATA=../shared/datasets python benchmarks/small_data_curve.py --preset mnist --frac 0.01 \\
        --arms none,ada --seeds 0 --steps 30000 --every 5000
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
RESULTS = os.path.join(HERE, "results", "small_data_curve.json")
KEY = ("preset", "setting", "frac", "steps", "every", "arm", "seed")


def run_curve(preset: str, frac: float, arm: str, seed: int, steps: int, every: int,
              extra: list[str] = (), keep: str | None = None) -> dict:
    from small_data import ARMS, real_and_limit, score, setting_name

    import ganforge
    real, limit = real_and_limit(preset, frac, seed)
    tmp = tempfile.mkdtemp(prefix=f"curve-{preset}-")
    run_dir = keep or os.path.join(tmp, "run")
    overrides = (ARMS[arm] + list(extra) + [f"data.limit={limit}", "train.sample_every=0", f"train.ckpt_every={every}",
                                            f"train.keep_ckpts={steps // every + 1}", "train.threads=1"])
    try:
        t0 = time.perf_counter()
        ganforge.train(preset, out=run_dir, seed=seed, steps=steps, progress=False, overrides=overrides)
        seconds = time.perf_counter() - t0
        stats = [json.loads(line) for line in open(os.path.join(run_dir, "stats.jsonl"))]
        curve = []
        for name in sorted(os.listdir(os.path.join(run_dir, "checkpoints"))):
            g = ganforge.load(os.path.join(run_dir, "checkpoints", name))
            step = g.step
            ev = score(real, g, seed, "fd")
            point = {"step": step, "fd": round(float(ev["metrics"]["fd"]), 3),
                     "fd_floor": round(float(ev["metrics"]["fd_floor"]), 3)}
            window = [r for r in stats if "ada_p" in r and step - every < r.get("step", -1) <= step]
            if window:
                point.update({k: round(statistics.mean(r[k] for r in window), 3) for k in ("ada_p", "ada_r_t")})
            curve.append(point)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"preset": preset, "setting": setting_name(list(extra)), "frac": frac, "arm": arm, "seed": seed,
            "steps": steps, "every": every, "n_train": limit or len(real.x), "seconds": round(seconds, 1),
            "threads": 1, "curve": curve}


def table(rows: list[dict]) -> str:
    lines = []
    groups = sorted({(r["preset"], r["setting"], r["frac"], r["steps"], r["every"]) for r in rows},
                    key=lambda k: (k[0], k[1] != "preset", k[1], k[2], k[3], k[4]))
    for preset, setting, frac, steps, every in groups:
        mine = [r for r in rows if (r["preset"], r["setting"], r["frac"], r["steps"], r["every"])
                == (preset, setting, frac, steps, every)]
        marks = sorted({p["step"] for r in mine for p in r["curve"]})
        lines += [f"{preset}, {setting}, {mine[0]['n_train']} training examples ({100 * frac:g}%), "
                  f"FD at each checkpoint (ADA: p / r_t over the preceding {every} steps):", "",
                  "| augmentation | seed | " + " | ".join(f"{s} steps" for s in marks)
                  + " | best FD (step) | s / run |",
                  "|---|---|" + "---|" * len(marks) + "---|---|"]
        for r in sorted(mine, key=lambda r: (["none", "diffaugment", "ada"].index(r["arm"]), r["seed"])):
            by = {p["step"]: p for p in r["curve"]}
            cells = []
            for s in marks:
                p = by.get(s)
                cells.append("-" if p is None else f"{p['fd']:.1f}" + (f" ({p['ada_p']:.2f} / {p['ada_r_t']:.2f})"
                                                                      if "ada_p" in p else ""))
            best = min(r["curve"], key=lambda p: p["fd"])
            lines.append(f"| {r['arm']} | {r['seed']} | " + " | ".join(cells)
                         + f" | {best['fd']:.1f} ({best['step']}) | {r['seconds']:.0f} |")
        floor = statistics.mean(p["fd_floor"] for r in mine for p in r["curve"])
        lines += ["", f"Real-vs-real FD floor at the same N: {floor:.2f}.", ""]
    return "\n".join(lines).rstrip()


def write_doc(rows: list[dict], cmds: list[str]) -> None:
    from _doc import write_section
    doc = __doc__.split("Protocol (written to docs/benchmarks.md, section `small-data-curve`):\n")[1].split("\n\n")[0]
    body = (f"Protocol:\n{doc}\n\n{table(rows)}\n\nOne torch thread per run; wall times include other jobs "
            f"on the machine.\n\nCommands: " + "; ".join(f"`{c}`" for c in cmds))
    write_section("small-data-curve", "Small data over training: FD at each checkpoint", body)


def main() -> None:
    from _doc import load_rows, store_rows
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="mnist", choices=["digits", "mnist"])
    ap.add_argument("--frac", type=float, default=0.01)
    ap.add_argument("--arms", default="none,ada")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--steps", type=int, default=30_000)
    ap.add_argument("--every", type=int, default=5_000)
    ap.add_argument("--set", dest="extra", action="append", default=[], help="extra key=value override for every arm")
    ap.add_argument("--keep", default=None, help="keep the run folder here (one arm and seed only)")
    ap.add_argument("--doc-only", action="store_true", help="rewrite the doc section from the stored results")
    a = ap.parse_args()
    if a.steps % a.every:
        ap.error("--steps must be a multiple of --every")
    if a.keep and ("," in a.arms or "," in a.seeds):
        ap.error("--keep takes one arm and one seed")
    if not a.doc_only:
        cmd = "python benchmarks/small_data_curve.py " + " ".join(sys.argv[1:])
        for seed in (int(s) for s in a.seeds.split(",")):
            for arm in a.arms.split(","):
                r = run_curve(a.preset, a.frac, arm, seed, a.steps, a.every, a.extra, a.keep)
                r["command"] = cmd
                print(json.dumps(r), flush=True)
                store_rows(RESULTS, [r], KEY)
    rows = load_rows(RESULTS)
    write_doc(rows, sorted({r["command"] for r in rows if "command" in r}))


if __name__ == "__main__":
    main()
