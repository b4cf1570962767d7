"""tiny Shakespeare, character level: maximum likelihood against a sequence GAN at the same wall-clock budget.

    python benchmarks/text_shakespeare.py [--minutes 10] [--seeds 100 101 102] [--jobs 2]

Both train the `shakespeare` preset (windows of 64 characters of tiny Shakespeare, 10% held out; G an
LSTM with 256 units) for the same wall-clock budget on one thread each: a speed probe of each stage
turns the budget into steps. mle: maximum likelihood throughout; gumbel: maximum likelihood for the
first half of the budget, then RelGAN-style adversarial training for the second half. Measured on
2,000 samples at temperature 1: BLEU-4 against the held-out windows, Self-BLEU-4 among the first 500
samples, NLL_test (held-out windows under G), and the LM / reverse-LM scores (an LSTM LM trained 1,000
steps on the real training text scores the samples; one trained on the samples scores the held-out
text); speed: training and sampling tokens per second and peak memory. Results:
benchmarks/results/text_shakespeare.json; docs/benchmarks.md section `text-shakespeare`.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import footer, load_rows, mean_sd, provenance, store_rows, write_section  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "text_shakespeare.json")
COMMON = ["train.threads=1", "train.progress=false", "train.sample_every=0", "train.ckpt_every=0",
          "train.log_every=20"]


def probe(sets: list[str], steps: int, tmp: str) -> float:
    """Steps per second of a short run (its logged intervals after the first)."""
    import json

    import ganforge
    out = os.path.join(tmp, f"probe-{random.random():.9f}")
    ganforge.train("shakespeare", steps=steps, out=out, overrides=COMMON + sets)
    rates = [json.loads(line)["it_per_s"] for line in open(os.path.join(out, "stats.jsonl"))]
    return statistics.median(rates[1:] or rates)


def one(method: str, seed: int, minutes: float) -> dict:
    import torch
    torch.set_num_threads(1)
    import ganforge
    from ganforge import evaluation
    budget = minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        mle_rate = probe(["text.adversarial=false"], 60, tmp)
        if method == "mle":
            sets, steps = ["text.adversarial=false"], int(budget * mle_rate)
        else:
            adv_rate = probe(["text.pretrain=20", "text.method=gumbel"], 60, tmp)
            pre = int(budget / 2 * mle_rate)
            sets, steps = [f"text.pretrain={pre}", "text.method=gumbel"], pre + int(budget / 2 * adv_rate)
        t0 = time.perf_counter()
        res = ganforge.train("shakespeare", seed=seed, steps=steps, out=os.path.join(tmp, "run"),
                             overrides=COMMON + sets)
        wall = time.perf_counter() - t0
        g = ganforge.load(res.run_dir)
        t1 = time.perf_counter()
        samples = g.sample(2000, seed=seed, numpy=True)["x"]
        sample_s = time.perf_counter() - t1
        ev = evaluation.evaluate_run(res.run_dir, n=2000, seed=seed, metrics="nll,bleu,self_bleu,distinct,lm",
                                     json_path=os.path.join(tmp, "e.json"))
    length = g.recipe.length
    return {"method": method, "seed": seed, "minutes": minutes, "steps": steps, "settings": sets,
            "train_wall_s": round(wall, 1), "train_tokens_per_s": round(res.it_per_s * 64 * length),
            "sample_tokens_per_s": round(2000 * length / sample_s),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            **{k: v for k, v in ev["rows"][0].items() if k != "temperature"},
            "examples": random.Random(seed).sample(list(samples), 20)}


def render() -> None:
    rows = load_rows(RESULTS)
    if not rows:
        return
    keys = [("bleu4", "BLEU-4 (higher: closer to real)"), ("self_bleu4", "Self-BLEU-4 (lower: more varied)"),
            ("nll_test", "NLL_test"), ("lm_score", "LM score"), ("reverse_lm_score", "reverse LM score"),
            ("train_tokens_per_s", "train tokens/s"), ("sample_tokens_per_s", "sample tokens/s"),
            ("peak_rss_mb", "peak RSS MB")]
    lines = ["| method | seeds | steps | " + " | ".join(k[1] for k in keys) + " |",
             "|---|---|---|" + "---|" * len(keys)]
    for m in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == m]

        def cell(k: str, mine=mine) -> str:
            return mean_sd([r[k] for r in mine], ".0f" if k.endswith(("_per_s", "_mb")) else ".3f")
        lines.append(f"| {m} | {len(mine)} | {statistics.mean(r['steps'] for r in mine):.0f} | "
                     + " | ".join(cell(k) for k, _ in keys) + " |")
    samples = []
    for m in dict.fromkeys(r["method"] for r in rows):
        first = next(r for r in rows if r["method"] == m)
        samples.append(f"**{m}** (seed {first['seed']}), 20 random samples:\n\n```\n"
                       + "\n".join(s.replace("\n", "⏎") for s in first["examples"]) + "\n```")
    body = (__doc__.split("\n\n", 2)[2].split("Results:")[0].strip() + " Mean ± sample std over seeds.\n\n"
            + "\n".join(lines) + "\n\n" + "\n\n".join(samples)
            + "\n\n" + footer(rows))
    write_section("text-shakespeare", "Text: tiny Shakespeare, MLE against a GAN at equal wall-clock", body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    ap.add_argument("--methods", default="mle,gumbel")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--render", action="store_true")
    a = ap.parse_args()
    if not a.render:
        prov = provenance(vars(a))
        with ProcessPoolExecutor(a.jobs) as pool:
            futures = [pool.submit(one, m, s, a.minutes) for s in a.seeds for m in a.methods.split(",")]
            for f in futures:
                row = f.result()
                row["provenance"] = prov
                store_rows(RESULTS, [row], ("method", "seed", "minutes"))
                print(row["method"], row["seed"], row["steps"], row.get("bleu4"), row.get("nll_test"), flush=True)
    render()


if __name__ == "__main__":
    main()
