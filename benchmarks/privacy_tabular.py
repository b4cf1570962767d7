"""Differentially private TabularGAN: what epsilon 1, 3 and 10 cost against the same model without privacy.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 GANFORGE_DATA=/path/to/datasets python benchmarks/privacy_tabular.py \
        [--data breast-cancer,adult] [--arms eps1,eps3,eps10,nodp] [--seeds 100] [--epochs breast-cancer=60,adult=10]

Data and split as benchmarks/tabular_vs_ctgan.py (one stratified 80/20 split, seed 0). Arms: ``epsN`` is
`TabularGAN(epochs=E, batch_size=B, overrides={"privacy.epsilon": N, "privacy.delta": 1e-5})`: DP-SGD on D
(Poisson sampling at rate B / rows, per-example clip 1, RDP accountant; docs/privacy.md), which also turns the
preset's WGAN-GP and PacGAN off (loss ns, pack 1) and spends 10% of epsilon on noisy category counts.
``nodp`` is the very same model and settings (ns loss, pack 1, no penalty, batch B) without noise or clipping,
so the gap is the price of privacy alone. Per (data, arm, seed): quality and TSTR as the tabular benchmark
computes them, and the membership-inference AUC of a distance attack (metrics/mia.py: training rows against as
many held-out rows, score = -distance to the nearest synthetic row; 0.5 = no leak) with its 95% DeLong interval.
Records with provenance go to benchmarks/results/privacy_tabular.json (an interrupted run continues), and
docs/benchmarks.md section ``privacy-tabular`` is rendered from that file.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _doc  # noqa: E402
from _doc import footer, load_rows, mean_sd, provenance, store_rows, write_section  # noqa: E402
from tabular_vs_ctgan import table_parts  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "privacy_tabular.json")
ARMS = ("eps1", "eps3", "eps10", "nodp")
DELTA = 1e-5
SAME_MODEL = {"model.pack": 1, "loss.kind": "ns", "reg.gp": 0.0}   # what privacy derives, for the nodp arm
# every arm: a narrower D and faster rates than CTGAN's, chosen on seed 0 from six 60-epoch breast-cancer trials
# (eps 3 quality 0.41 -> 0.48 and TSTR 0.16 -> 0.81 against D width 256, rates 2e-4); not tuned on Adult
TUNED = {"model.d_width": 64, "optim.d_lr": 1e-3, "optim.g_lr": 1e-3}


def fit(train, disc, target, arm: str, epochs: int, batch: int, seed: int):
    from ganforge import TabularGAN
    over = {"train.threads": 1, **SAME_MODEL, **TUNED}
    if arm != "nodp":
        over.update({"privacy.epsilon": float(arm[3:]), "privacy.delta": DELTA})
    m = TabularGAN(epochs=epochs, batch_size=batch, seed=seed, overrides=over)
    m.fit(train, discrete_columns=disc, target=target)
    from ganforge import api
    rec = api.info(m.run_dir)
    return m, rec


def run_one(name: str, arm: str, seed: int, epochs: int, batch: int) -> dict:
    from ganforge.metrics.tabular import mia, quality, tstr
    torch.set_num_threads(1)
    target, train, test, disc, types = table_parts(name)
    t0, c0 = time.perf_counter(), time.process_time()
    model, info = fit(train, disc, target, arm, epochs, batch, seed)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    synth = model.sample(len(train), seed=seed)
    q = quality(test, synth, types)
    t = tstr(train, test, synth, target, types, seed=0)
    a = mia(train, test, synth, types, seed=0)
    p = info["privacy"]
    return {"data": name, "arm": arm, "seed": seed, "epochs": epochs, "batch": batch, "n_train": len(train),
            "steps": info["steps_done"], "fit_s": round(fit_s, 1), "fit_cpu_s": round(fit_cpu, 1),
            "quality": q["score"], "tstr": t["synthetic"], "trtr": t["real"], "metric": t["metric"],
            "mia_auc": a["auc"], "mia_low": a["auc_low"], "mia_high": a["auc_high"], "mia_n": a["n_each"],
            "private": bool(p.get("private")), "epsilon_spent": p.get("epsilon_spent"),
            "noise_multiplier": p.get("noise_multiplier"), "sample_rate": p.get("sample_rate"),
            "accountant": p.get("accountant"), "clip": p.get("clip"), "delta": p.get("delta")}


def render() -> None:
    rows = load_rows(RESULTS)
    if not rows:
        return
    lines = ["| data (train rows, epochs, batch) | arm | seeds | steps | epsilon spent (delta 1e-5) | noise "
             "multiplier | sample rate | quality | TSTR | MIA AUC [95%] | fit CPU s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["data"] for r in rows):
        for arm in ARMS:
            g = [r for r in rows if r["data"] == name and r["arm"] == arm]
            if not g:
                continue
            r0 = g[0]
            eps = mean_sd([r["epsilon_spent"] for r in g], ".3f") if r0["private"] else "not private"
            sig = f"{r0['noise_multiplier']:.3f}" if r0["private"] else "-"
            rate = f"{r0['sample_rate']:.4f}" if r0["private"] else "-"
            ci = "; ".join(f"{r['mia_auc']:.3f} [{r['mia_low']:.3f}, {r['mia_high']:.3f}]" for r in g)
            lines.append(f"| {name} ({r0['n_train']}, {r0['epochs']}, {r0['batch']}) | {arm} | "
                         f"{', '.join(str(r['seed']) for r in g)} | {r0['steps']} | {eps} | {sig} | {rate} | "
                         f"{mean_sd([r['quality'] for r in g], '.3f')} | {r0['metric']} "
                         f"{mean_sd([r['tstr'] for r in g], '.3f')} (real {r0['trtr']:.3f}) | {ci} | "
                         f"{mean_sd([r['fit_cpu_s'] for r in g], '.1f')} |")
    seeds = sorted({r["seed"] for r in rows})
    seed_s, plural = ", ".join(map(str, seeds)), "s" if len(seeds) > 1 else ""
    text = f"""Protocol: the split of the tabular benchmark (one stratified 80/20 split per data set, seed 0); every arm
fits the same TabularGAN on the 80% for the same epochs and batch, one thread (OMP_NUM_THREADS=1), then
draws as many synthetic rows as training rows. The private arms (`privacy.epsilon` 1, 3, 10; delta 1e-5)
train D by DP-SGD with Poisson sampling at rate batch / rows, per-example clip norm 1 and the noise
multiplier the RDP accountant gives for the planned steps; 10% of epsilon goes to Laplace-noised category
counts. They turn the preset's WGAN-GP and PacGAN off (loss ns, pack 1), so "nodp" is that same model
without noise or clipping: the gap between an eps arm and nodp is the price of privacy alone (nodp is not
the default TabularGAN of the tabular section). Every arm uses D width 64 and learning rates 1e-3 (chosen on
seed 0 from six short breast-cancer trials; not tuned on Adult). Not covered by epsilon: the table encoding
(column types, category lists, per-column mixtures and value ranges), fitted on the real rows
(docs/privacy.md). Quality and TSTR as in the tabular section (TSTR "real" is train-on-real). MIA AUC: a
distance attack, training rows against as many held-out rows, scored by minus the distance to the nearest
synthetic row (encoding of the DCR figure); 0.5 = the samples do not tell members from non-members; 95%
DeLong interval per seed. Seeds: {seed_s} ({len(seeds)} seed{plural}: the table shows each setting's
figures, not a ranking of close ones; differences within the MIA intervals are noise). Every arm is attacked
with the same member and non-member rows (seed 0), so the arms' AUCs share that draw's bias; an AUC at or
below 0.5 for every arm, the model without privacy included, means this attack finds no membership signal at
these training lengths, not that privacy was measured to help.

{chr(10).join(lines)}

{footer(rows)}"""
    write_section("privacy-tabular", "Differentially private tabular synthesis (epsilon 1, 3, 10, none)", text)
    if _doc.TARGET == _doc.DOC:   # the privacy page too, unless report.py --check renders into a copy
        write_section("privacy-measured", "Measured figures (generated from benchmarks/results/privacy_tabular.json)",
                      _summary(rows), path=os.path.join(ROOT, "docs", "privacy.md"))


def _summary(rows: list[dict]) -> str:
    """A short table for docs/privacy.md; the protocol is in docs/benchmarks.md."""
    out = ["| data | arm | epsilon spent | quality | TSTR | MIA AUC |", "|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["data"] for r in rows):
        for arm in ARMS:
            g = [r for r in rows if r["data"] == name and r["arm"] == arm]
            if g:
                eps = mean_sd([r["epsilon_spent"] for r in g], ".3f") if g[0]["private"] else "not private"
                out.append(f"| {name} | {arm} | {eps} | {mean_sd([r['quality'] for r in g], '.3f')} | "
                           f"{mean_sd([r['tstr'] for r in g], '.3f')} | {mean_sd([r['mia_auc'] for r in g], '.3f')} |")
    seeds = sorted({r["seed"] for r in rows})
    return (f"Mean ± std over seeds {', '.join(map(str, seeds))}; protocol, intervals and machine in "
            "[benchmarks.md](benchmarks.md), section \"Differentially private tabular synthesis\".\n\n"
            + "\n".join(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="breast-cancer,adult")
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--epochs", default="breast-cancer=60,adult=10")
    ap.add_argument("--batch", default="breast-cancer=45,adult=500")
    ap.add_argument("--seeds", default="100")
    ap.add_argument("--render", action="store_true", help="only rewrite the docs section from the results file")
    a = ap.parse_args()
    if not a.render:
        epochs = {k: int(v) for k, v in (p.split("=") for p in a.epochs.split(","))}
        batch = {k: int(v) for k, v in (p.split("=") for p in a.batch.split(","))}
        prov = provenance(vars(a))
        key = ("data", "arm", "seed", "epochs", "batch")
        for name in a.data.split(","):
            for seed in (int(s) for s in a.seeds.split(",")):
                for arm in a.arms.split(","):
                    done = {tuple(r[k] for k in key) for r in load_rows(RESULTS)}
                    if (name, arm, seed, epochs[name], batch[name]) in done:
                        continue
                    res = run_one(name, arm, seed, epochs[name], batch[name])
                    res["provenance"] = prov
                    store_rows(RESULTS, [res], key)
                    print(name, arm, seed, f"steps {res['steps']} quality {res['quality']:.3f} tstr {res['tstr']:.3f}",
                          f"mia {res['mia_auc']:.3f} [{res['mia_low']:.3f}, {res['mia_high']:.3f}] eps "
                          f"{res['epsilon_spent']} cpu {res['fit_cpu_s']}s", flush=True)
    render()


if __name__ == "__main__":
    main()
