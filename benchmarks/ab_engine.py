"""Did a change of the engine change results or speed? Two commits side by side, in one run.

    python benchmarks/ab_engine.py --base 15704f8 [--head HEAD] [--repeats 5] [--threads 1]

Both commits are checked out into temporary git worktrees (so the checkout can change meanwhile); every
job then runs in a fresh process on each side (PYTHONPATH at that worktree's src/), alternating which
side goes first, so drift in the machine's speed falls on both alike. Jobs:
- ``digits``: the digits preset (MLP) for --digits-steps steps;
- ``mnist``: the mnist preset (DCGAN 28x28) for --mnist-steps steps (needs MNIST on GANFORGE_DATA);
- ``tabular``: TabularGAN on the first 5,000 rows of UCI Adult for --tabular-steps steps (needs Adult);
- ``ring8``: the ring8 preset (the 2-D mixture, MLP) for --ring8-steps steps.
Speed: the median of the loop's own it_per_s over logging intervals (the first dropped); the spread is
the sample std over repeats of each side. Results: the sha256 of the final G_ema weights on each side
(equal digests: the change left the numbers bit for bit as they were). Written to
benchmarks/results/ab_engine.json and docs/benchmarks.md (section `engine-ab`).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import load_rows, provenance, store_rows, write_section  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "ab_engine.json")

# Runs inside the measured checkout: only API both sides have (ganforge.train, TabularGAN).
JOB = r'''
import hashlib, json, os, statistics, sys, time
import torch
from safetensors import safe_open
job, steps, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sets = ["train.sample_every=0", "train.ckpt_every=0", "train.progress=false", "train.log_every=50"]
t0 = time.perf_counter()
if job == "tabular":
    import pandas as pd
    import ganforge
    df = pd.read_csv(os.path.join(os.environ["GANFORGE_DATA"].split(os.pathsep)[0], "adult", "adult.csv"),
                     skipinitialspace=True).iloc[:5000]
    ganforge.TabularGAN(steps=steps, out=out, overrides={"train.log_every": 50}).fit(
        df, discrete_columns=["type_employer", "education", "marital", "occupation", "relationship", "race",
                              "sex", "country", "income"], target="income")
else:
    import ganforge
    ganforge.train(job, steps=steps, out=out, overrides=sets)
wall = time.perf_counter() - t0
rates = [json.loads(l)["it_per_s"] for l in open(os.path.join(out, "stats.jsonl")) if "it_per_s" in l]
ck = sorted(os.listdir(os.path.join(out, "checkpoints")))[-1]
h = hashlib.sha256()
with safe_open(os.path.join(out, "checkpoints", ck), framework="pt") as f:
    for k in sorted(f.keys()):
        if k.startswith("net.G_ema."):
            h.update(k.encode()); h.update(f.get_tensor(k).numpy().tobytes())
print(json.dumps({"it_per_s": statistics.median(rates[1:] or rates), "wall_s": wall, "digest": h.hexdigest(),
                  "module": __import__("ganforge").__file__}))
'''


def run_job(side_src: str, job: str, steps: int, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=side_src, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, "-c", JOB, job, str(steps), os.path.join(tmp, "run")], env=env,
                           capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{job} failed on {side_src}:\n{r.stderr[-2000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["module"].startswith(side_src), (out["module"], side_src)  # the side we meant was measured
    return out


def table(rows: list[dict]) -> str:
    lines = ["| job | steps | repeats | base it/s | head it/s | head / base (median of paired ratios) | "
             "G_ema weights |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        b, h = r["base_it_per_s"], r["head_it_per_s"]
        ratios = [y / x for x, y in zip(b, h)]
        same = "bit-identical" if len(set(r["base_digest"] + r["head_digest"])) == 1 else "differ"
        lines.append(f"| {r['job']} | {r['steps']} | {len(b)} | {statistics.mean(b):.1f} ± {statistics.stdev(b):.1f} "
                     f"| {statistics.mean(h):.1f} ± {statistics.stdev(h):.1f} | {statistics.median(ratios):.3f} "
                     f"(range {min(ratios):.3f}-{max(ratios):.3f}) | {same} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="15704f8", help="the commit to compare with (default: before the registries)")
    ap.add_argument("--head", default="HEAD", help="the commit measured against it")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jobs", default="digits,mnist,tabular")
    ap.add_argument("--digits-steps", type=int, default=1500)
    ap.add_argument("--mnist-steps", type=int, default=400)
    ap.add_argument("--tabular-steps", type=int, default=300)
    ap.add_argument("--ring8-steps", type=int, default=2000)
    ap.add_argument("--render", action="store_true", help="only rewrite the doc section from the stored results")
    a = ap.parse_args()
    if a.render:
        return render()
    steps = {"digits": a.digits_steps, "mnist": a.mnist_steps, "tabular": a.tabular_steps, "ring8": a.ring8_steps}
    head = subprocess.run(["git", "rev-parse", a.head], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    trees = {side: tempfile.mkdtemp(prefix=f"ganforge-{side}-") for side in ("base", "head")}
    for side, rev in (("base", a.base), ("head", head)):
        subprocess.run(["git", "worktree", "add", "--detach", trees[side], rev], cwd=ROOT, check=True,
                       capture_output=True)
    try:
        sides = {side: os.path.join(tree, "src") for side, tree in trees.items()}
        for job in a.jobs.split(","):
            res: dict[str, list[dict]] = {"base": [], "head": []}
            for rep in range(a.repeats):
                order = ("base", "head") if rep % 2 == 0 else ("head", "base")
                for side in order:
                    res[side].append(run_job(sides[side], job, steps[job], a.threads))
                    print(job, rep, side, res[side][-1]["it_per_s"], flush=True)
            row = {"job": job, "steps": steps[job], "threads": a.threads, "base": a.base, "head": head,
                   **{f"{s}_it_per_s": [r["it_per_s"] for r in res[s]] for s in res},
                   **{f"{s}_wall_s": [round(r["wall_s"], 2) for r in res[s]] for s in res},
                   **{f"{s}_digest": sorted({r["digest"] for r in res[s]}) for s in res},
                   "provenance": provenance(vars(a))}
            store_rows(RESULTS, [row], ("job", "base"))   # each job kept as soon as it is measured
    finally:
        for tree in trees.values():
            subprocess.run(["git", "worktree", "remove", "--force", tree], cwd=ROOT, capture_output=True)
    print(table(load_rows(RESULTS)))
    render()


def render() -> None:
    """docs/benchmarks.md section `engine-ab` from benchmarks/results/ab_engine.json."""
    rows = load_rows(RESULTS)
    if not rows:
        return
    p = rows[-1]["provenance"]
    commands = sorted({r["provenance"]["command"] for r in rows})
    heads, bases = sorted({r["head"][:10] for r in rows}), sorted({r["base"] for r in rows})
    body = (f"The engine at commit {', '.join(f'`{h}`' for h in heads)} against commit "
            f"{', '.join(f'`{b}`' for b in bases)} (before the registries and the modality contract), each job in "
            "a fresh process per side, sides alternating first, one thread. it/s: the loop's own steps per "
            "second, median over 50-step logging intervals (first dropped); mean ± sample std over repeats; the "
            "ratio column is the median (and range) of the per-repeat ratios. G_ema weights: sha256 of the final "
            "averaged generator on each side, so 'bit-identical' means every figure measured on these presets "
            f"with the base engine reproduces exactly. Machine: {p['cpu']}, {p['cores']} cores, torch {p['torch']}."
            "\n\n" + table(rows) + "\n\nCommands: " + "; ".join(f"`{c}`" for c in commands))
    write_section("engine-ab", "Engine A/B: a change's effect on results and step time", body)


if __name__ == "__main__":
    main()
