"""Differentially private TabularGAN: what epsilon 1, 3 and 10 cost against the same model without privacy, an
arm built to leak (so the attacks are seen to work), and smartnoise-synth's DP-CTGAN and PATE-CTGAN at epsilon 3.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 GANFORGE_DATA=/path/to/datasets python benchmarks/privacy_tabular.py \
        [--data breast-cancer,adult] [--arms eps1,eps3,eps10,nodp,memorise] [--seeds 100,101,102] \
        [--epochs breast-cancer=60,adult=10] [--note "shared CPU"]

smartnoise-synth 1.0.8 (not a ganforge dependency) needs Opacus 0.14, older than ganforge's, so its arms run in
their own process with that version first on the path:

    pip install smartnoise-synth   # or --no-deps plus its imports: smartnoise-sql, sqlalchemy, antlr4 4.9.3, opendp
    pip install --target /tmp/opacus014 --no-deps opacus==0.14.0
    PYTHONPATH=/tmp/opacus014 python benchmarks/privacy_tabular.py --arms dpctgan-eps3,patectgan-eps3 ...

Data and split as benchmarks/tabular_vs_ctgan.py (one stratified 80/20 split, seed 0). Arms: ``epsN`` is
`TabularGAN(epochs=E, batch_size=B, overrides={"privacy.epsilon": N, "privacy.delta": 1e-5})`: DP-SGD on D
(Poisson sampling at rate B / rows, per-example clip 1, RDP accountant; docs/privacy.md), which also turns the
preset's WGAN-GP and PacGAN off (loss ns, pack 1) and spends 10% of epsilon on noisy category counts.
``nodp`` is the very same model and settings (ns loss, pack 1, no penalty, batch B) without noise or clipping,
so the gap is the price of privacy alone. ``memorise`` has no privacy and is meant to overfit: MEMORISE["rows"]
training rows, many passes, a wide D without dropout; its non-members are the held-out rows plus the training
rows it did not see. ``dpctgan-eps3`` / ``patectgan-eps3``: smartnoise-synth's synthesizers at epsilon 3 and
delta 1e-5, their defaults otherwise, the batch rounded down to even, the continuous bounds given from the
training rows (ganforge's encoding takes its ranges from them too), fit time measured the same way.
Per (data, arm, seed): quality and TSTR as the tabular benchmark computes them, fit CPU and wall seconds, and two
membership-inference AUCs with 95% DeLong intervals (metrics/mia.py; members against as many non-members;
0.5 = no leak): by minus the distance to the nearest synthetic row, and (ganforge arms) by D's logit.
Records with provenance go to benchmarks/results/privacy_tabular.json (an interrupted run continues; ``--note``
is stored with each row, e.g. that other jobs shared the CPU), and docs/benchmarks.md section
``privacy-tabular`` is rendered from that file, with the goal line: at epsilon 3, ganforge's TSTR and quality at
least the best smartnoise synthesizer's in at most half its fit CPU time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _doc  # noqa: E402
from _doc import footer, load_rows, mean_sd, provenance, store_rows, write_section  # noqa: E402
from tabular_vs_ctgan import table_parts  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "privacy_tabular.json")
ARMS = ("eps1", "eps3", "eps10", "nodp", "memorise", "dpctgan-eps3", "patectgan-eps3")
SMARTNOISE = {"dpctgan-eps3": "dpctgan", "patectgan-eps3": "patectgan"}
DELTA = 1e-5
SAME_MODEL = {"model.pack": 1, "loss.kind": "ns", "reg.gp": 0.0}   # what privacy derives, for the nodp arm
# every arm: a narrower D and faster rates than CTGAN's, chosen on seed 0 from six 60-epoch breast-cancer trials
# (eps 3 quality 0.41 -> 0.48 and TSTR 0.16 -> 0.81 against D width 256, rates 2e-4); not tuned on Adult
TUNED = {"model.d_width": 64, "optim.d_lr": 1e-3, "optim.g_lr": 1e-3}
# the arm that should leak: no privacy, a few rows, many passes, a wide D without dropout taking 5 steps per G step;
# chosen on breast cancer, seed 100, from six settings (300 passes with one D step per G step: DCR attack AUC 0.575,
# D-score 0.590; 1000 passes: 0.559, 0.480; this one: 0.570, 0.625; D-scores then encoded rows with seed 0, not
# with the run's seed as d_mia now does)
MEMORISE = {"rows": 200, "epochs": 600, "batch": 20,
            "over": {"model.d_width": 256, "tabular.dropout": 0.0, "optim.n_critic": 5}}


SMARTNOISE_EPOCHS = 300   # smartnoise's default, a cap: both synthesizers stop when their accountant reaches epsilon


def plan(arm: str, epochs: int, batch: int) -> tuple[int, int]:
    """The (epochs, batch) an arm runs with: the data set's, except for the memorising arm's own and smartnoise's
    epoch cap."""
    if arm == "memorise":
        return MEMORISE["epochs"], MEMORISE["batch"]
    return (SMARTNOISE_EPOCHS if arm in SMARTNOISE else epochs), batch


def fit(train, disc, target, arm: str, epochs: int, batch: int, seed: int):
    from ganforge import TabularGAN
    over = {"train.threads": 1, **SAME_MODEL, **TUNED}
    if arm == "memorise":
        over.update(MEMORISE["over"])
    elif arm != "nodp":
        over.update({"privacy.epsilon": float(arm[3:]), "privacy.delta": DELTA})
    m = TabularGAN(epochs=epochs, batch_size=batch, seed=seed, overrides=over)
    m.fit(train, discrete_columns=disc, target=target)
    from ganforge import api
    rec = api.info(m.run_dir)
    return m, rec


def fit_smartnoise(train, disc, arm: str, epochs: int, batch: int, seed: int):
    """smartnoise-synth's synthesizer at epsilon 3 and delta 1e-5, its defaults otherwise (pac 1, sigma 5 for
    DP-CTGAN), the batch rounded down to even (it needs one). The continuous columns' bounds are given from the
    training rows, as ganforge's encoding takes its value ranges, so the whole budget goes to training."""
    import numpy as np
    from snsynth import Synthesizer
    from snsynth.transform import MinMaxTransformer
    torch.manual_seed(seed)
    np.random.seed(seed)
    cont = [c for c in train.columns if c not in disc]
    bounds = {c: MinMaxTransformer(lower=float(train[c].min()), upper=float(train[c].max()), negative=True)
              for c in cont}
    m = Synthesizer.create(SMARTNOISE[arm], epsilon=float(arm.split("eps")[1]), delta=DELTA, epochs=epochs,
                           batch_size=batch - batch % 2, verbose=False)
    m.fit(train, transformer=bounds, categorical_columns=list(disc), continuous_columns=cont, preprocessor_eps=0.0)
    spent = list(getattr(m, "epsilon_list", None) or [None])   # DP-CTGAN: the spend before each epoch
    done = len(spent) - (spent[-1] is not None and spent[-1] > m.epsilon)   # it stops at the first one past epsilon
    steps = done * max(len(train) // m._batch_size, 1) if spent[-1] is not None else None
    return m, {"private": True, "epsilon_spent": spent[-1], "accountant": "smartnoise", "delta": DELTA, "steps": steps}


def check_smartnoise(arms: list[str]) -> None:
    """One line when the smartnoise arms cannot run: smartnoise-synth 1.0.8's DP-CTGAN needs Opacus 0.14."""
    if not any(a in SMARTNOISE for a in arms):
        return
    try:
        import opacus
        import snsynth  # noqa: F401
    except ImportError as e:
        sys.exit(f"the smartnoise arms need smartnoise-synth: {e}")
    if any(SMARTNOISE.get(a) == "dpctgan" for a in arms) and not opacus.__version__.startswith("0.14"):
        sys.exit(f"dpctgan-eps3 needs Opacus 0.14 (found {opacus.__version__}): pip install --target DIR --no-deps "
                 "opacus==0.14.0 and run with PYTHONPATH=DIR, apart from the ganforge arms")


def members(name: str, arm: str):
    """(target, members, non-members, test, discrete columns, column types): the training split, except that the
    memorising arm trains on MEMORISE["rows"] of it (seed 0) and the rest of the split joins its non-members."""
    import pandas as pd
    target, train, test, disc, types = table_parts(name)
    if arm != "memorise":
        return target, train, test, test, disc, types
    keep = train.sample(MEMORISE["rows"], random_state=0).index
    return (target, train.loc[keep].reset_index(drop=True),
            pd.concat([test, train.drop(keep)], ignore_index=True), test, disc, types)


def run_one(name: str, arm: str, seed: int, epochs: int, batch: int) -> dict:
    from ganforge.metrics.tabular import d_mia, mia, quality, tstr
    torch.set_num_threads(1)
    target, train, outside, test, disc, types = members(name, arm)
    t0, c0 = time.perf_counter(), time.process_time()
    if arm in SMARTNOISE:
        model, p = fit_smartnoise(train, disc, arm, epochs, batch, seed)
        info = {"steps_done": p.pop("steps")}
    else:
        model, info = fit(train, disc, target, arm, epochs, batch, seed)
        p = info["privacy"]
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    synth = model.sample(len(train)) if arm in SMARTNOISE else model.sample(len(train), seed=seed)
    synth = synth.astype({c: train[c].dtype for c in train.columns if c in disc}, errors="ignore")
    q = quality(test, synth, types)
    t = tstr(train, test, synth, target, types, seed=0)
    a = mia(train, outside, synth, types, seed=0)
    d = d_mia(model.recipe, train, outside, seed=0) if arm not in SMARTNOISE else {}
    return {"data": name, "arm": arm, "seed": seed, "epochs": epochs, "batch": batch, "n_train": len(train),
            "steps": info["steps_done"], "fit_s": round(fit_s, 1), "fit_cpu_s": round(fit_cpu, 1),
            "quality": q["score"], "tstr": t["synthetic"], "trtr": t["real"], "metric": t["metric"],
            "mia_auc": a["auc"], "mia_low": a["auc_low"], "mia_high": a["auc_high"], "mia_n": a["n_each"],
            "d_auc": d.get("auc"), "d_low": d.get("auc_low"), "d_high": d.get("auc_high"),
            "private": bool(p.get("private")), "epsilon_spent": p.get("epsilon_spent"),
            "noise_multiplier": p.get("noise_multiplier"), "sample_rate": p.get("sample_rate"),
            "accountant": p.get("accountant"), "clip": p.get("clip"), "delta": p.get("delta"),
            **({"smartnoise": _version("smartnoise-synth"), "opacus": _version("opacus")} if arm in SMARTNOISE else {})}


def _version(dist: str) -> str:
    from importlib.metadata import version

    import opacus
    return opacus.__version__ if dist == "opacus" else version(dist)


def _ci(g: list[dict], k: str) -> str:
    return "; ".join(f"{r[k + '_auc']:.3f} [{r[k + '_low']:.3f}, {r[k + '_high']:.3f}]" for r in g
                     if r.get(k + "_auc") is not None) or "-"


def _fmt(v, fmt: str) -> str:
    return "-" if v is None else f"{v:{fmt}}"


def _goal(rows: list[dict]) -> list[str]:
    """Per data set: ganforge at epsilon 3 against each smartnoise synthesizer at epsilon 3, and the verdict against
    the best of them (the higher mean TSTR)."""
    out = []
    for name in dict.fromkeys(r["data"] for r in rows):
        mean = {arm: {k: statistics.mean(r[k] for r in g) for k in ("quality", "tstr", "fit_cpu_s")}
                for arm in ("eps3", *SMARTNOISE)
                if (g := [r for r in rows if r["data"] == name and r["arm"] == arm])}
        rivals = [a for a in SMARTNOISE if a in mean]
        if "eps3" not in mean or not rivals:
            continue
        me, met = mean["eps3"], {}
        for arm in rivals:
            it = mean[arm]
            ratio = me["fit_cpu_s"] / it["fit_cpu_s"]
            met[arm] = me["tstr"] >= it["tstr"] and me["quality"] >= it["quality"] and ratio <= 0.5
            out.append(f"- {name}, against {arm}: TSTR {me['tstr']:.3f} against {it['tstr']:.3f}, quality "
                       f"{me['quality']:.3f} against {it['quality']:.3f}, fit CPU {me['fit_cpu_s']:.1f} s against "
                       f"{it['fit_cpu_s']:.1f} s ({ratio:.2f}x): {'met' if met[arm] else 'not met'}")
        best = max(rivals, key=lambda a: (mean[a]["tstr"], mean[a]["quality"]))
        out.append(f"- {name}: the best smartnoise synthesizer measured ({' and '.join(rivals)}) is {best}, so the "
                   f"goal is {'met' if met[best] else 'not met'}")
    return out


def render() -> None:
    rows = load_rows(RESULTS)
    if not rows:
        return
    lines = ["| data (train rows, epochs, batch) | arm | seeds | steps | epsilon spent | noise multiplier | sample "
             "rate | quality | TSTR | DCR attack AUC [95%] | D-score attack AUC [95%] | fit CPU s | fit wall s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["data"] for r in rows):
        for arm in ARMS:
            g = [r for r in rows if r["data"] == name and r["arm"] == arm]
            if not g:
                continue
            r0 = g[0]
            eps = mean_sd([r["epsilon_spent"] for r in g], ".3f") if r0["private"] else "not private"
            lines.append(f"| {name} ({r0['n_train']}, {r0['epochs']}, {r0['batch']}) | {arm} | "
                         f"{', '.join(str(r['seed']) for r in g)} | {_fmt(r0['steps'], '')} | {eps} | "
                         f"{_fmt(r0['noise_multiplier'], '.3f')} | {_fmt(r0['sample_rate'], '.4f')} | "
                         f"{mean_sd([r['quality'] for r in g], '.3f')} | {r0['metric']} "
                         f"{mean_sd([r['tstr'] for r in g], '.3f')} (real {r0['trtr']:.3f}) | {_ci(g, 'mia')} | "
                         f"{_ci(g, 'd')} | {mean_sd([r['fit_cpu_s'] for r in g], '.1f')} | "
                         f"{mean_sd([r['fit_s'] for r in g], '.1f')} |")
    seeds = sorted({r["seed"] for r in rows})
    seed_s, plural = ", ".join(map(str, seeds)), "s" if len(seeds) > 1 else ""
    noted = [r for r in rows if r.get("note")]
    notes = "".join(f"\n- {n}: {sum(r.get('note') == n for r in rows)} rows "
                    f"({', '.join(sorted({r['data'] + ' ' + r['arm'] for r in rows if r.get('note') == n}))})"
                    for n in dict.fromkeys(r["note"] for r in noted))
    goal = _goal(rows)
    versions = sorted({f"smartnoise-synth {r['smartnoise']} with Opacus {r['opacus']}" for r in rows
                       if r.get("smartnoise")})
    text = f"""Protocol: the split of the tabular benchmark (one stratified 80/20 split per data set, seed 0); every arm
fits on the 80% with one thread (OMP_NUM_THREADS=1), then draws as many synthetic rows as training rows. The
private ganforge arms (`privacy.epsilon` 1, 3, 10; delta 1e-5) train D by DP-SGD with Poisson sampling at
rate batch / rows, per-example clip norm 1 and the noise multiplier the RDP accountant gives for the planned
steps; 10% of epsilon goes to Laplace-noised category counts. They turn the preset's WGAN-GP and PacGAN off
(loss ns, pack 1), so "nodp" is that same model without noise or clipping: the gap between an eps arm and
nodp is the price of privacy alone (nodp is not the default TabularGAN of the tabular section). Every ganforge
arm uses D width 64 and learning rates 1e-3 (chosen on seed 0 from six short breast-cancer trials; not tuned on
Adult), except "memorise". Not covered by epsilon: the table encoding (column types, category lists,
per-column mixtures and value ranges), fitted on the real rows (docs/privacy.md). Quality and TSTR as in the
tabular section (TSTR "real" is train-on-real, on the arm's own training rows).

"memorise" is the arm built to leak, a check that the attacks can find what they look for: no privacy,
{MEMORISE['rows']} of the training rows (drawn with seed 0), {MEMORISE['epochs']} passes at batch
{MEMORISE['batch']}, D width 256 without dropout and 5 D steps per G step (chosen on breast cancer, seed
100, from six settings; one D step per G step leaked less to the D-score attack). Its non-members are the
held-out rows together with the training rows it did not see.

"dpctgan-eps3" and "patectgan-eps3" are smartnoise-synth's DP-CTGAN and PATE-CTGAN
({", ".join(versions) or "not run yet"}) at epsilon 3 and delta 1e-5, with their defaults otherwise (pac 1,
DP-CTGAN's noise multiplier 5 and per-layer clipping, PATE-CTGAN's teachers of at most 1,000 rows), the data
set's batch rounded down to even, and smartnoise's default of 300 epochs as a cap (the epochs column): both
train until their own accountant reaches epsilon. Their continuous columns' bounds are given from the training
rows, as ganforge's encoding takes its ranges, so neither spends budget on preprocessing. Their accountants
are taken as they report: DP-CTGAN's (Opacus 0.14) assumes Poisson sampling that its shuffled batches do not
do, and it stops at the first epoch past epsilon (so it spends slightly more than 3; steps are its epochs
times its batches per epoch); PATE-CTGAN stops when its moments accountant passes epsilon (it reports no
spend). Seeds set torch's and NumPy's generators (smartnoise takes no seed). smartnoise-synth 1.0.8 needs
Opacus 0.14, so these arms run in a separate process with that version on the path (the docstring of
benchmarks/privacy_tabular.py). Read in the installed source of PATE-CTGAN (smartnoise-synth 1.0.8): its student
discriminator and every teacher are one and the same module, so the discriminator its generator learns from is
also trained on the real rows directly, without noise, while its accountant counts only the noisy teacher votes
(with fewer than 1,000 rows, as breast cancer's 455, there is a single teacher). Its reported epsilon therefore
does not bound what its rows reveal, and its quality and TSTR are not those of a model private in effect; they
are shown as measured.

Attacks, each over training rows against as many non-member rows (at most 5,000 of each, drawn with seed 0),
with a 95% DeLong interval per seed, 0.5 = no membership signal: "DCR attack" scores a row by minus its
distance to the nearest synthetic row (the encoding of the DCR figure); "D-score attack" by the trained
discriminator's logit (Hayes et al. 2019, LOGAN; `metrics.tabular.d_mia`: rows encoded with the run's seed, so
the training rows get the encoding D saw), for ganforge arms only (smartnoise's synthesizers do not keep their
discriminator after fitting) and only for rows measured since it exists ("-" before). Every arm trained on the
full split is attacked with the same member and non-member rows, so their AUCs share that draw's bias; an AUC at or
below 0.5 for a trained arm means the attack finds no membership signal at that training length, not that
privacy was measured to help. Seeds: {seed_s} ({len(seeds)} seed{plural}: the table shows each setting's
figures, not a ranking of close ones; differences within the intervals are noise).

{chr(10).join(lines)}

Goal: at epsilon 3, ganforge's TSTR and quality at least the best smartnoise synthesizer's (the one with the
higher mean TSTR) in at most half its fit CPU time (means over seeds; ganforge's are its eps3 rows above):
{chr(10).join(goal) or "- not measured yet"}
{f"{chr(10)}Rows measured while other jobs shared the machine's two cores (their fit times, wall time above all, are "
 f"upper bounds):{notes}{chr(10)}" if noted else ""}
{footer(rows)}"""
    title = "Differentially private tabular synthesis (epsilon 1, 3, 10, none, smartnoise at 3)"
    write_section("privacy-tabular", title, text)
    if _doc.TARGET == _doc.DOC:   # the privacy page too, unless report.py --check renders into a copy
        write_section("privacy-measured", "Measured figures (generated from benchmarks/results/privacy_tabular.json)",
                      _summary(rows), path=os.path.join(ROOT, "docs", "privacy.md"))


def _summary(rows: list[dict]) -> str:
    """A short table for docs/privacy.md; the protocol is in docs/benchmarks.md."""
    out = ["| data | arm | epsilon spent | quality | TSTR | DCR attack AUC | D-score attack AUC | fit CPU s |",
           "|---|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["data"] for r in rows):
        for arm in ARMS:
            g = [r for r in rows if r["data"] == name and r["arm"] == arm]
            if g:
                eps = mean_sd([r["epsilon_spent"] for r in g], ".3f") if g[0]["private"] else "not private"
                out.append(f"| {name} | {arm} | {eps} | {mean_sd([r['quality'] for r in g], '.3f')} | "
                           f"{mean_sd([r['tstr'] for r in g], '.3f')} | {mean_sd([r['mia_auc'] for r in g], '.3f')} | "
                           f"{mean_sd([r.get('d_auc') for r in g], '.3f')} | "
                           f"{mean_sd([r['fit_cpu_s'] for r in g], '.1f')} |")
    seeds = sorted({r["seed"] for r in rows})
    return (f"Mean ± std over seeds {', '.join(map(str, seeds))}; protocol, intervals and machine in "
            "[benchmarks.md](benchmarks.md), section \"Differentially private tabular synthesis\".\n\n"
            + "\n".join(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="breast-cancer,adult")
    ap.add_argument("--arms", default=",".join(a for a in ARMS if a not in SMARTNOISE))
    ap.add_argument("--epochs", default="breast-cancer=60,adult=10")
    ap.add_argument("--batch", default="breast-cancer=45,adult=500")
    ap.add_argument("--seeds", default="100")
    ap.add_argument("--note", default="", help="a remark stored with every row of this invocation (e.g. a shared CPU)")
    ap.add_argument("--render", action="store_true", help="only rewrite the docs section from the results file")
    a = ap.parse_args()
    if not a.render:
        epochs = {k: int(v) for k, v in (p.split("=") for p in a.epochs.split(","))}
        batch = {k: int(v) for k, v in (p.split("=") for p in a.batch.split(","))}
        bad = [x for x in a.arms.split(",") if x not in ARMS]
        if bad:
            ap.error(f"unknown arm {bad[0]!r}; choose from {', '.join(ARMS)}")
        check_smartnoise(a.arms.split(","))
        prov = provenance(vars(a))
        if a.note:
            prov["note"] = a.note
        key = ("data", "arm", "seed", "epochs", "batch")
        for name in a.data.split(","):
            for seed in (int(s) for s in a.seeds.split(",")):
                for arm in a.arms.split(","):
                    done = {tuple(r[k] for k in key) for r in load_rows(RESULTS)}
                    e, b = plan(arm, epochs[name], batch[name])
                    if (name, arm, seed, e, b) in done:
                        continue
                    res = run_one(name, arm, seed, e, b)
                    res["provenance"] = prov
                    if a.note:
                        res["note"] = a.note
                    store_rows(RESULTS, [res], key)
                    print(name, arm, seed, f"steps {res['steps']} quality {res['quality']:.3f} tstr {res['tstr']:.3f}",
                          f"mia {res['mia_auc']:.3f} [{res['mia_low']:.3f}, {res['mia_high']:.3f}]",
                          f"d {res['d_auc']} eps {res['epsilon_spent']} cpu {res['fit_cpu_s']}s", flush=True)
    render()


if __name__ == "__main__":
    main()
