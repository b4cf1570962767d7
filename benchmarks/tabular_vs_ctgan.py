"""ganforge's TabularGAN against CTGAN (PyPI ``ctgan``) on the same splits, epochs and seeds.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 GANFORGE_DATA=/path/to/datasets python benchmarks/tabular_vs_ctgan.py \
        [--epochs adult=30,breast-cancer=300,wine=300] [--seeds 100,101,102] [--models ...]

Data: UCI Adult (adult/adult.csv under a GANFORGE_DATA folder, target ``income``), scikit-learn's
breast-cancer and wine (target ``target``). One seeded stratified 80/20 split per data set, used by
every model and seed. Per (data set, model, seed): fit time (preprocessing included), then as many
synthetic rows as training rows, scored with ganforge.metrics.tabular against the held-out 20%:
SDMetrics quality, TSTR (hist gradient boosting; F1 of the rarer class for binary targets, accuracy
for wine) and DCR (distance to the closest training row, beside held-out real rows'). The "real" row
of each data set is the floor: the training rows themselves scored as if synthetic. Every record
(with its provenance) is kept in benchmarks/results/tabular_vs_ctgan.json, so an interrupted run
continues where it stopped; docs/benchmarks.md section ``tabular`` is rendered from that file.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import pandas as pd
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import footer, load_rows, mean_sd, provenance, store_rows, write_section  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "tabular_vs_ctgan.json")
MODELS = ("real", "ganforge", "ganforge-same-work", "ctgan", "ctgan-matched")
# ganforge's two savings that CTGAN does not make, both turned off: D judges fresh rows from G (not the
# rows of G's own step) and each column's mixture is fitted on every row (not at most 10,000)
SAME_WORK = {"tabular.reuse_fakes": False, "tabular.gmm_rows": 0}
TARGETS = {"adult": "income", "breast-cancer": "target", "wine": "target"}


def load(name: str) -> pd.DataFrame:
    if name == "adult":
        from ganforge.data.builtin import data_roots
        for root in data_roots():
            path = os.path.join(root, "adult", "adult.csv")
            if os.path.exists(path):
                return pd.read_csv(path, skipinitialspace=True)
        sys.exit("adult/adult.csv not found under GANFORGE_DATA")
    from sklearn import datasets
    frame = (datasets.load_breast_cancer if name == "breast-cancer" else datasets.load_wine)(as_frame=True).frame
    return frame


def split(df: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split
    tr, te = train_test_split(df, test_size=0.2, stratify=df[target], random_state=0)
    return tr.reset_index(drop=True), te.reset_index(drop=True)


def table_parts(name: str) -> tuple[str, pd.DataFrame, pd.DataFrame, list[str], dict[str, str]]:
    """(target column, train rows, test rows, discrete columns, column types) of a data set, as every arm splits it."""
    df = load(name)
    target = TARGETS[name]
    train, test = split(df, target)
    disc = discrete_of(df, target)
    return target, train, test, disc, {c: ("categorical" if c in disc else "continuous") for c in df.columns}


def discrete_of(df: pd.DataFrame, target: str) -> list[str]:
    return sorted(set([c for c in df.columns if df[c].dtype == object] + [target]), key=list(df.columns).index)


def fit_ganforge(train, disc, target, epochs, batch, seed, extra=None):
    from ganforge import TabularGAN
    m = TabularGAN(epochs=epochs, batch_size=batch, seed=seed, overrides={"train.threads": 1, **(extra or {})})
    m.fit(train, discrete_columns=disc, target=target)
    return lambda n: m.sample(n, seed=seed)


def fit_ctgan(train, disc, target, epochs, batch, seed, pack=10):
    from ctgan import CTGAN
    m = CTGAN(epochs=epochs, batch_size=batch, pac=pack)
    m.set_random_state(seed)
    m.fit(train, disc)
    return lambda n: m.sample(n)


def matched(rows: int, batch: int) -> tuple[int, int]:
    """The batch and pack ganforge itself uses for an epoch-counted run on this many rows."""
    from ganforge.recipes.tabular import small_table_batch
    return small_table_batch(rows, batch, 10, 4)


def warm_up(models: str) -> None:
    """One-time import costs out of every timed fit: both libraries, and torch.optim's first
    optimizer (it imports torch._dynamo, about 1 s), so no model pays them for the others."""
    import ganforge.apps.tabular  # noqa: F401
    if "ctgan" in models:
        import ctgan  # noqa: F401
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def run_one(name: str, model: str, seed: int, epochs: int, batch: int) -> dict:
    from ganforge.metrics.tabular import dcr, quality, tstr
    torch.set_num_threads(1)
    target, train, test, disc, types = table_parts(name)
    used = matched(len(train), batch) if model.startswith("ganforge") or model == "ctgan-matched" else (batch, 10)
    t0, c0 = time.perf_counter(), time.process_time()
    if model == "real":
        sampler = lambda n: train     # noqa: E731  (the floor: real rows scored as if synthetic)
    elif model.startswith("ganforge"):
        sampler = fit_ganforge(train, disc, target, epochs, batch, seed, SAME_WORK if model != "ganforge" else None)
    else:   # "ctgan": its defaults; "ctgan-matched": the batch and pack ganforge picks
        sampler = fit_ctgan(train, disc, target, epochs, used[0], seed, used[1])
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    synth = sampler(len(train))
    q = quality(test, synth, types)
    t = tstr(train, test, synth, target, types, seed=0)
    d = dcr(train, test, synth, types) if model != "real" else {}
    import ctgan
    return {"data": name, "model": model, "seed": seed, "epochs": epochs, "batch": batch, "used": list(used),
            "fit_s": round(fit_s, 1), "fit_cpu_s": round(fit_cpu, 1),
            "quality": q["score"], "shapes": q["column_shapes"], "pairs": q["column_pair_trends"],
            "tstr": t["synthetic"], "trtr": t["real"], "metric": t["metric"], "n_train": len(train),
            "dcr_ratio": d.get("ratio"), "dcr_close": d.get("synthetic_closer_than_holdout_p5"),
            "dcr_copies": d.get("synthetic_exact_copies"), "ctgan": ctgan.__version__,
            "settings": SAME_WORK if model == "ganforge-same-work" else {}}


def _ms(v: list, fmt: str = ".3f") -> str:
    return mean_sd(v, fmt)


def render() -> None:
    rows = load_rows(RESULTS)
    if not rows:
        return
    lines = ["| data (train rows, epochs) | model (batch/pack) | seeds | fit CPU s | fit wall s | quality | TSTR | "
             "DCR ratio | closer than held-out p5 |", "|---|---|---|---|---|---|---|---|---|"]
    cpu = {}
    for name in dict.fromkeys(r["data"] for r in rows):
        for model in MODELS:
            g = [r for r in rows if r["data"] == name and r["model"] == model]
            if not g:
                continue
            cpu[name, model] = statistics.mean(r["fit_cpu_s"] for r in g)
            b, p = g[0]["used"]
            fit = "- | -" if model == "real" else \
                f"{_ms([r['fit_cpu_s'] for r in g], '.1f')} | {_ms([r['fit_s'] for r in g], '.1f')}"
            lines.append(f"| {name} ({g[0]['n_train']}, {g[0]['epochs']}) | {model}"
                         f"{'' if model == 'real' else f' ({b}/{p})'} | {len(g)} | {fit} | "
                         f"{_ms([r['quality'] for r in g])} | {g[0]['metric']} {_ms([r['tstr'] for r in g])} | "
                         f"{_ms([r['dcr_ratio'] for r in g], '.2f')} | {_ms([r['dcr_close'] for r in g], '.3f')} |")
    shares = ["", "Fit CPU time of ganforge as a share of CTGAN's (mean over seeds; goal: at most 0.5 at equal "
              "epochs):", ""]
    for name in dict.fromkeys(r["data"] for r in rows):
        for mine in ("ganforge", "ganforge-same-work"):
            parts = [f"{cpu[name, mine] / cpu[name, other]:.2f}x of {other}" for other in ("ctgan", "ctgan-matched")
                     if (name, other) in cpu and (name, mine) in cpu]
            if parts:
                shares.append(f"- {name}, {mine}: " + ", ".join(parts))
    versions = sorted({r["ctgan"] for r in rows if r.get("ctgan")})
    epochs = ",".join(f"{n}={e}" for n, e in dict.fromkeys((r["data"], r["epochs"]) for r in rows))
    text = f"""Protocol: one stratified 80/20 split per data set (seed 0); every model fits on the 80% for the
same number of epochs (passes over the rows: {epochs}), one thread per fit (torch, OpenMP and BLAS:
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1); then as many synthetic rows as training rows. Quality: SDMetrics
QualityReport against the held-out 20% (mean of column shapes and column-pair trends). TSTR: a histogram
gradient-boosting model trained on the synthetic rows and tested on the held-out real rows (F1 of the rarer
class for binary targets, accuracy for wine). DCR ratio: median distance of a synthetic row to its closest
training row over the same for held-out real rows (1: as far from the training rows as unseen real rows;
near 0: copies), and the share of synthetic rows closer to a training row than 95% of held-out rows are
(5% for a sampler as private as fresh real data); at most 5,000 rows of each. The "real" row is the floor:
the training rows scored as if synthetic (TSTR there is train-on-real). Mean ± sample std over seeds. Fit time
includes preprocessing (mixture fitting); CPU seconds of the fitting process are the comparable figure.
One-time import costs are paid once before the first timed fit, so no model is charged for them.

Models: "ctgan" is CTGAN {", ".join(versions)} with its defaults (batch 500, pac 10). "ganforge" is
`TabularGAN(epochs=E, batch_size=500).fit(train, discrete_columns, target=...)`: it is told the target, so
half of its training conditions fall on it (tabular.target_share); on small tables it uses a smaller batch
and pack so that a pass is at least 4 updates (the batch/pack column); and it does less work per update than
CTGAN in two places: D's step judges the rows G made in the same iteration instead of running G again, and
each column's mixture is fitted on at most 10,000 rows. "ganforge-same-work" turns both off
(`tabular.reuse_fakes=false`, `tabular.gmm_rows=0`). "ctgan-matched" is CTGAN given ganforge's batch and
pack, to separate the effect of the batch from the rest. Adult runs at 30 epochs instead of the paper's 300
to keep the benchmark to about an hour of CPU, the same for every model.

{chr(10).join(lines)}
{chr(10).join(shares)}

Published anchor (SDGym, another classifier ensemble, so compare the gaps, not the values): Adult F1
train-on-real 0.662, CTGAN 0.597.

{footer(rows)}"""
    write_section("tabular", "Tabular synthesis: ganforge TabularGAN vs CTGAN", text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", default="adult=30,breast-cancer=300,wine=300")
    ap.add_argument("--batch", default="adult=500,breast-cancer=500,wine=500")
    ap.add_argument("--seeds", default="100,101,102")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--render", action="store_true", help="only rewrite the docs section from the results file")
    a = ap.parse_args()
    if not a.render:
        epochs = {k: int(v) for k, v in (p.split("=") for p in a.epochs.split(","))}
        batch = {k: int(v) for k, v in (p.split("=") for p in a.batch.split(","))}
        seeds = [int(s) for s in a.seeds.split(",")]
        prov = provenance(vars(a))
        warm_up(a.models)
        key = ("data", "model", "seed", "epochs", "batch")
        for name in epochs:
            for seed in seeds:
                for model in a.models.split(","):
                    if model == "ctgan-matched" and matched(1_000_000, batch[name]) == matched(
                            len(split(load(name), TARGETS[name])[0]), batch[name]):
                        continue   # ganforge keeps CTGAN's batch here: nothing to match
                    if model == "real" and seed != seeds[0]:
                        continue   # the floor does not depend on a seed
                    done = {tuple(r[k] for k in key) for r in load_rows(RESULTS)}
                    if (name, model, seed, epochs[name], batch[name]) in done:
                        continue
                    res = run_one(name, model, seed, epochs[name], batch[name])
                    res["provenance"] = prov
                    store_rows(RESULTS, [res], key)
                    print(name, model, seed, f"quality {res['quality']:.3f} tstr {res['tstr']:.3f}",
                          f"dcr {res['dcr_ratio']} cpu {res['fit_cpu_s']}s", flush=True)
    render()


if __name__ == "__main__":
    main()
