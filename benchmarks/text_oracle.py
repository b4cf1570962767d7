"""The SeqGAN synthetic benchmark: maximum likelihood against two sequence GANs, over temperatures.

    python benchmarks/text_oracle.py [--methods mle,gumbel,reinforce] [--seeds 100 101 102] [--jobs 2]

Each (method, seed) trains the `seqgan-oracle` preset (G: LSTM with embedding and 32 units, the
oracle's own size; 10,000 training sequences of 20 tokens out of 5,000) for the same number of steps:
- mle: maximum likelihood throughout (text.adversarial=false);
- gumbel: maximum likelihood for --pretrain steps, then --adv-gumbel RelGAN-style steps (Gumbel-softmax
  rows, inverse temperature up to text.beta_max = 100, relativistic standard loss);
- reinforce: the same pretraining, then --adv-reinforce SeqGAN-style steps (D every step, G every 5th:
  8 Monte Carlo completions per prefix, the non-saturating loss).
mle runs --pretrain plus --adv-gumbel steps, as many as the gumbel runs; mle-pretrain stops after --pretrain
steps, where the GANs leave maximum likelihood (so the GANs' own effect shows apart from more MLE steps).
Then `ganforge eval RUN --temperatures ...` on 10,000 samples per temperature: NLL_oracle (quality) and
NLL_test (diversity and fit: the held-out oracle sequences under G at that temperature), lower is better
for both. Seeds default to 100-102, not the ones the presets were set with. Results:
benchmarks/results/text_oracle.json; docs/benchmarks.md section `text-oracle`; docs/text_oracle.png.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _doc  # noqa: E402
from _doc import footer, load_rows, provenance, store_rows, write_section  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "text_oracle.json")
PLOT = os.path.join(ROOT, "docs", "text_oracle.png")
TEMPS = "0.6,0.8,1.0,1.2,1.5"
PUBLISHED = "MLE 9.038, SeqGAN 8.736, RankGAN 8.247, LeakGAN 7.038, RelGAN 6.680 (NLL_oracle, length 20)"
METHODS = {"mle": ["text.adversarial=false"],
           "mle-pretrain": ["text.adversarial=false"],   # the maximum likelihood the GANs start from
           "gumbel": ["text.method=gumbel", "loss.kind=rpgan"],
           # SeqGAN trains D more often than G; its G steps are costly (the rollouts)
           "reinforce": ["text.method=reinforce", "loss.kind=ns", "optim.n_critic=5", "text.rollouts=8"]}


MLE = ("mle", "mle-pretrain")


def one(method: str, seed: int, steps: int, pretrain: int, extra: list[str], n: int) -> dict:
    """Train and measure one run (``steps`` in all, ``pretrain`` of them maximum likelihood)."""
    import torch
    torch.set_num_threads(1)
    import ganforge
    from ganforge import evaluation
    with tempfile.TemporaryDirectory() as tmp:
        sets = METHODS[method] + [f"text.pretrain={pretrain}", "train.threads=1", "train.progress=false",
                                  "train.sample_every=0", "train.ckpt_every=0"] + extra
        t0, c0 = time.perf_counter(), time.process_time()
        res = ganforge.train("seqgan-oracle", seed=seed, steps=steps, out=os.path.join(tmp, "run"), overrides=sets)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        ev = evaluation.evaluate_run(res.run_dir, temperatures=TEMPS, n=n, json_path=os.path.join(tmp, "e.json"))
    return {"method": method, "seed": seed, "steps": steps, "pretrain": pretrain, "settings": sets,
            "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1), "it_per_s": res.it_per_s,
            "rows": ev["rows"], "n_samples": n}


def mean_curve(rows: list[dict], method: str) -> list[tuple[float, float, float, float, float]]:
    """(T, mean NLL_oracle, std, mean NLL_test, std) per temperature over seeds."""
    mine = [r for r in rows if r["method"] == method]
    out = []
    for i, t in enumerate(mine[0]["rows"]):
        o = [r["rows"][i]["nll_oracle"] for r in mine]
        te = [r["rows"][i]["nll_test"] for r in mine]
        sd = (lambda v: statistics.stdev(v) if len(v) > 1 else None)
        out.append((t["temperature"], statistics.mean(o), sd(o), statistics.mean(te), sd(te)))
    return out


def dominated(point: tuple[float, float], curve: list[tuple[float, float]]) -> bool:
    """Whether some point of the piecewise-linear MLE curve is at least as good in both coordinates."""
    pts = sorted(curve)
    cands = list(pts)
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        for k in range(1, 20):
            a = k / 20
            cands.append((x0 + a * (x1 - x0), y0 + a * (y1 - y0)))
    return any(x <= point[0] and y <= point[1] for x, y in cands)


def plot(rows: list[dict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=110)
    for method in dict.fromkeys(r["method"] for r in rows):
        c = mean_curve(rows, method)
        ax.errorbar([p[3] for p in c], [p[1] for p in c], xerr=[p[4] or 0 for p in c], yerr=[p[2] or 0 for p in c],
                    marker="o", capsize=2, label=method)
        for p in c:
            ax.annotate(f"{p[0]:g}", (p[3], p[1]), fontsize=6, xytext=(2, 2), textcoords="offset points")
    ax.set_xlabel("NLL_test (lower: better fit and diversity)")
    ax.set_ylabel("NLL_oracle (lower: better quality)")
    ax.set_title("SeqGAN oracle, mean over seeds; labels: temperature", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(PLOT)
    plt.close(fig)


def render() -> None:
    rows = load_rows(RESULTS)
    if not rows:
        return
    if _doc.PLOTS:
        plot(rows)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = ["| method | seeds | steps (MLE first) | T | NLL_oracle | NLL_test | train wall s / run |",
             "|---|---|---|---|---|---|---|"]
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        wall = statistics.mean(r["train_wall_s"] for r in mine)
        for t, o, so, te, ste in mean_curve(rows, m):
            pm = lambda v, e: f"{v:.3f}" + (f" ± {e:.3f}" if e is not None else "")  # noqa: E731
            lines.append(f"| {m} | {len(mine)} | {mine[0]['steps']} ({mine[0]['pretrain'] if m not in MLE else 'all'})"
                         f" | {t:g} | {pm(o, so)} | {pm(te, ste)} | {wall:.0f} |")
    findings = []
    curves = {m: [(p[3], p[1]) for p in mean_curve(rows, m)] for m in methods if m in MLE}
    for m in methods:
        if m in MLE or not curves:
            continue
        free = [p[0] for p in mean_curve(rows, m) if not any(dominated((p[3], p[1]), c) for c in curves.values())]
        findings.append(f"- {m}: " + (f"not dominated by the {' or '.join(curves)} curve at T = "
                                       f"{', '.join(f'{t:g}' for t in free)}" if free
                                       else f"dominated by the {' or '.join(curves)} curve at every temperature"))
    gans = [(p[1], m, p[0]) for m in methods if m not in MLE for p in mean_curve(rows, m)]
    best = min(gans) if gans else None
    if best:
        findings.append(f"- lowest GAN NLL_oracle: {best[0]:.3f} ({best[1]}, T = {best[2]:g}); goal <= 6.6: "
                        + ("met" if best[0] <= 6.6 else "not met"))
    body = (__doc__.split("\n\n", 2)[2].split("Results:")[0].strip()
            + f"\n\nPublished anchors (Yu et al. 2017; Guo et al. 2018; Nie et al. 2019): {PUBLISHED}. The oracle's own"
            " samples score 5.75. Mean ± sample std over seeds; one thread per run.\n\n" + "\n".join(lines)
            + "\n\n" + "\n".join(findings) + "\n\n![quality against diversity](text_oracle.png)\n\n"
            + footer(rows))
    write_section("text-oracle", "Text: the SeqGAN oracle, MLE against GANs over temperatures", body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="mle,gumbel,reinforce")
    ap.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    ap.add_argument("--pretrain", type=int, default=8000)
    ap.add_argument("--adv-gumbel", type=int, default=2000)
    ap.add_argument("--adv-reinforce", type=int, default=750)
    ap.add_argument("--n", type=int, default=10000, help="samples per temperature")
    ap.add_argument("--set", dest="extra", action="append", default=[], help="more overrides for every run")
    ap.add_argument("--name", default="", help="rows named 'METHOD (NAME)', apart from the method's")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--render", action="store_true")
    a = ap.parse_args()
    if not a.render:
        prov = provenance(vars(a))
        with ProcessPoolExecutor(a.jobs) as pool:
            adv = {"mle": a.adv_gumbel, "mle-pretrain": 0, "gumbel": a.adv_gumbel, "reinforce": a.adv_reinforce}
            futures = [pool.submit(one, m, s, a.pretrain + adv[m], a.pretrain, a.extra, a.n)
                       for s in a.seeds for m in a.methods.split(",")]
            for f in futures:
                row = f.result()
                row["provenance"] = prov
                if a.name:
                    row["method"] = f"{row['method']} ({a.name})"
                store_rows(RESULTS, [row], ("method", "seed", "steps", "pretrain"))
                print(row["method"], row["seed"], [(r["temperature"], round(r["nll_oracle"], 3),
                                                    round(r["nll_test"], 3)) for r in row["rows"]], flush=True)
    render()


if __name__ == "__main__":
    main()
