"""Mode coverage on the 2-D mixtures Ring-8 and Grid-25, in the PacGAN protocol.

Protocol (written to docs/benchmarks.md, section `toy2d`; Lin et al. 2018, after Srivastava et al. 2017):
- Train each row's configuration on ring8 / grid25 (100,000 training points), one run per seed.
- Draw 2,500 samples from G_ema; a sample is high quality within 3 sigma of its nearest mean; a mode is
  captured with >= 1 high-quality sample; reverse KL of the high-quality histogram against uniform
  (``ganforge.metrics.modes.toy_modes``).
- Rows: ``baseline`` is a plain non-saturating GAN with the preset's networks and optimiser, every
  toolbox option off; each other row turns one option on over the baseline; ``preset`` is the
  ganforge default (``ganforge train ring8`` / ``grid25``).
- Runs single-threaded (tiny MLPs are fastest so), ``--jobs`` runs side by side; wall time per run
  is the whole ``ganforge.train`` call.

    python benchmarks/toy2d.py                                   # every row, 10 seeds for preset/baseline, 3 else
    python benchmarks/toy2d.py --data ring8 --rows preset --seeds 0-9
    python benchmarks/toy2d.py --rows preset --set train.steps=3000 --no-write   # a quick what-if

Per-seed results are kept in benchmarks/results/toy2d.json, so rows can be re-run one by one and the
table is rebuilt from everything stored (a re-run replaces the matching row/seed entries).
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
from concurrent.futures import ProcessPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
RESULTS = os.path.join(HERE, "results", "toy2d.json")

# every option the rows toggle, switched off: the baseline on top of a preset
BASELINE = {"loss.kind": "ns", "model.pack": "1", "model.mbstd": "0", "model.d_norm": "none",
            "model.g_sn": "false", "reg.gp": "0", "reg.r1": "0", "reg.r2": "0", "reg.label_smooth": "0",
            "reg.inst_noise": "0", "optim.n_critic": "1", "optim.lr_decay": "0"}
ROWS: dict[str, tuple[str, dict[str, str]]] = {
    "baseline": ("plain non-saturating GAN", {}),
    "pack4": ("PacGAN, pack 4", {"model.pack": "4"}),
    "pack4-x4": ("PacGAN, pack 4, 4x the batch (as many packs per step as the baseline has samples)",
                 {"model.pack": "4", "train.batch": "x4"}),
    "mbstd": ("minibatch stddev, group 4", {"model.mbstd": "4"}),
    "r1": ("R1 gamma 0.1, lazy every 4", {"reg.r1": "0.1", "reg.interval": "4"}),
    "gp": ("WGAN-GP lambda 0.1, wgan loss, 5 D steps per G step",
           {"loss.kind": "wgan", "reg.gp": "0.1", "optim.n_critic": "5"}),
    "sn": ("spectral norm in D", {"model.d_norm": "spectral"}),
    "ls": ("one-sided label smoothing 0.1", {"reg.label_smooth": "0.1"}),
    "noise": ("instance noise 0.1 (ring) / 0.5 (grid), decaying over half the steps", {"reg.inst_noise": "AUTO"}),
    "rpgan": ("relativistic pairing loss (RpGAN)", {"loss.kind": "rpgan"}),
    "preset": ("ganforge defaults (the preset as is)", {}),
    "preset-fresh": ("the preset on seeds 100-109, never used to choose it", {}),
    "real": ("floor: 2,500 draws from the true mixture (no training)", {}),
}
FRESH = list(range(100, 110))
NOISE = {"ring8": 0.1, "grid25": 0.5}
GOALS = {"ring8": (8.0, 0.97, 0.03), "grid25": (24.9, 0.95, 0.03)}
ANCHOR = {"ring8": "7.8 / 95.9% / 0.07", "grid25": "24.8 / 93.6% / 0.04"}  # PacGAN4, Lin et al. 2018, Table 1


def overrides(data: str, row: str, extra: list[str]) -> list[str]:
    from ganforge.config import resolve
    ov = {} if row in ("preset", "preset-fresh", "real") else dict(BASELINE)
    for k, v in ROWS[row][1].items():
        ov[k] = v
    if ov.get("train.batch") == "x4":
        ov["train.batch"] = str(4 * resolve(data, {}).train.batch)
    if ov.get("reg.inst_noise") == "AUTO":
        steps = resolve(data, {}).train.steps
        ov["reg.inst_noise"], ov["reg.inst_noise_steps"] = str(NOISE[data]), str(steps // 2)
    return [f"{k}={v}" for k, v in ov.items()] + list(extra)


def run_one(job: tuple[str, str, int, list[str]]) -> dict:
    """One training run and its score; runs in a worker process, single-threaded."""
    import torch
    torch.set_num_threads(1)
    import ganforge
    from ganforge.data.toy2d import TOY_SETS
    from ganforge.metrics.modes import toy_modes
    data, row, seed, ov = job
    if row == "real":   # what a perfect sampler scores with the same number of samples
        from ganforge.data.toy2d import sample_mixture
        means, sigma = TOY_SETS[data]
        x, _ = sample_mixture(means, sigma, 2500, generator=torch.Generator().manual_seed(10_000 + seed))
        return {"data": data, "row": row, "seed": seed, "overrides": [], "seconds": 0.0, "cpu_seconds": 0.0,
                "steps": 0, **toy_modes(x, means, sigma)}
    out = tempfile.mkdtemp(prefix=f"toy2d-{data}-{row}-{seed}-")
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        res = ganforge.train(data, out=os.path.join(out, "run"), seed=seed, progress=False,
                             overrides=ov + ["train.threads=1", "train.sample_every=0", "train.ckpt_every=0"])
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        x = ganforge.load(res).sample(2500, seed=10_000 + seed)
        means, sigma = TOY_SETS[data]
        score = toy_modes(x, means, sigma)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"data": data, "row": row, "seed": seed, "overrides": ov, "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu, 1), "steps": res.step, **score}


KEY = ("data", "row", "seed")


def store(new: list[dict]) -> list[dict]:
    from _doc import store_rows
    return store_rows(RESULTS, new, KEY)


def load_results() -> list[dict]:
    from _doc import load_rows
    return load_rows(RESULTS)


def _ms(vals: list[float], fmt: str) -> str:
    m = statistics.mean(vals)
    return (fmt.format(m) + (" ± " + fmt.format(statistics.stdev(vals)) if len(vals) > 1 else ""))


def table(results: list[dict], data: str) -> str:
    goal_m, goal_hq, goal_kl = GOALS[data]
    lines = [f"**{data}** (goal for the preset: {goal_m} modes, >= {goal_hq:.0%} high quality, rKL <= {goal_kl}; "
             f"PacGAN4 published: {ANCHOR[data]})", "",
             "| row | options | seeds | steps | modes | high quality % | reverse KL | CPU s / run | wall s / run |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row, (desc, _) in ROWS.items():
        rs = [r for r in results if r["data"] == data and r["row"] == row]
        if not rs:
            continue
        kls = [r["reverse_kl"] if r["reverse_kl"] is not None else float("nan") for r in rs]
        steps = "/".join(str(v) for v in sorted({r.get("steps", 0) for r in rs})) if row != "real" else "-"
        lines.append(f"| {row} | {desc} | {len(rs)} | {steps} | {_ms([r['modes'] for r in rs], '{:.1f}')} | "
                     f"{_ms([100 * r['high_quality'] for r in rs], '{:.1f}')} | {_ms(kls, '{:.3f}')} | "
                     f"{statistics.median(r['cpu_seconds'] for r in rs):.0f} | "
                     f"{statistics.median(r['seconds'] for r in rs):.0f} |")
    return "\n".join(lines)


def write_doc(results: list[dict]) -> None:
    from _doc import write_section

    from ganforge.config import PRESETS
    presets = "; ".join(f"`{d}`: " + json.dumps(PRESETS[d]) for d in ("ring8", "grid25"))
    body = "\n\n".join([
        "Mode coverage of 2-D Gaussian mixtures in the PacGAN protocol (Lin et al. 2018): Ring-8 (8 means "
        "on the unit circle, std 0.01) and Grid-25 (5x5 means 2 apart, std 0.05), 100,000 training points. "
        "2,500 samples from G_ema per run; *high quality* = within 3 std of the nearest mean; *modes* = means "
        "with >= 1 high-quality sample; *reverse KL* = KL(high-quality histogram || uniform) "
        "(`ganforge.metrics.modes.toy_modes`). Mean ± sample std over seeds. The `real` row is the floor: a "
        "perfect sampler's 2,500 draws score about 98.9% high quality (the chance that a 2-D Gaussian lands "
        "within 3 std, 1 - exp(-4.5)) and a reverse KL above 0 from the finite sample alone.",
        "Rows: `baseline` = the preset's networks and optimiser with every toolbox option off (plain "
        "non-saturating loss, no normalisation); each other row adds one option to the baseline; `preset` "
        "is what `ganforge train ring8` / `grid25` runs, on seeds 0-9, the seeds its settings were chosen on; "
        "`preset-fresh` is the same on seeds 100-109, never used to choose anything. Preset and baseline rows "
        "use 10 seeds; the single-option rows use fewer (see the seeds column). Every row runs the preset's "
        "step count and EMA (see the steps column).",
        table(results, "ring8"), table(results, "grid25"),
        f"Presets: {presets}.",
        machine(results),
    ])
    write_section("toy2d", "Toy 2-D mixtures: mode coverage (PacGAN protocol)", body)


def machine(results: list[dict]) -> str:
    """Where the rows were measured (each run single-threaded) and the commands behind them."""
    provs = [r["provenance"] for r in results if "provenance" in r]
    where = "; ".join(sorted({f"{p['cpu']}, {p['cores']} cores, torch {p['torch']}, commit {p['commit'][:10]}"
                              + (" (uncommitted changes)" if p["dirty"] else "") for p in provs}))
    older = len(results) - len(provs)
    return ("Machine: " + (where or "not recorded") + (f"; {older} older runs without a recorded machine or commit"
                                                         if older else "") + ". Each run single-threaded; *CPU s* "
            "is the process CPU time of the whole `ganforge.train` call (start-up included), what one run takes "
            "on an idle core; *wall s* grows when runs share the cores. Medians over seeds. Commands: "
            + "; ".join(f"`{c}`" for c in sorted({r.get("command", "") for r in results}))
            + " (per-seed results: `benchmarks/results/toy2d.json`).")


def render() -> None:
    write_doc(load_results())


def main(argv: list[str] | None = None) -> int:
    from ganforge.core.seed import parse_seeds
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="ring8,grid25", help="ring8, grid25 or ring8,grid25 (both, the default)")
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated among {', '.join(ROWS)}")
    ap.add_argument("--seeds", default="", help="e.g. 0-9 (default: 0-9 for preset/baseline, 0-2 for the rest)")
    ap.add_argument("--steps", type=int, default=0, help="override train.steps (0 = the preset's)")
    ap.add_argument("--set", dest="extra", action="append", default=[], help="extra key=value overrides")
    ap.add_argument("--jobs", type=int, default=2, help="runs side by side")
    ap.add_argument("--no-write", action="store_true", help="print only; keep results.json and the doc as they are")
    a = ap.parse_args(argv)
    for data in a.data.split(","):
        if data not in GOALS:
            ap.error(f"unknown --data {data!r}; choose ring8, grid25 or ring8,grid25")
    extra = a.extra + ([f"train.steps={a.steps}"] if a.steps else [])
    jobs = []
    for data in a.data.split(","):
        for row in a.rows.split(","):
            if row not in ROWS:
                ap.error(f"unknown row {row!r}; choose from {', '.join(ROWS)}")
            default = FRESH if row == "preset-fresh" else list(range(10 if row in ("preset", "baseline", "real")
                                                                        else 3))
            seeds = parse_seeds(a.seeds) if a.seeds else default
            jobs += [(data, row, s, overrides(data, row, extra)) for s in seeds]
    command = "python benchmarks/toy2d.py " + " ".join(argv if argv is not None else sys.argv[1:])
    from _doc import provenance
    prov = provenance(vars(a))
    new = []
    with ProcessPoolExecutor(max_workers=a.jobs) as pool:
        for r in pool.map(run_one, jobs):
            new.append(r)
            print(json.dumps({k: r[k] for k in ("data", "row", "seed", "modes", "high_quality", "reverse_kl",
                                                "seconds", "cpu_seconds")}), flush=True)
            if not a.no_write:  # stored as each run ends: an interrupted invocation keeps what finished
                store([dict(r, command=command.strip(), provenance=prov)])
    for data in a.data.split(","):
        print(table(new, data))
    if not a.no_write:
        write_doc(load_results())
    return 0


if __name__ == "__main__":
    sys.exit(main())
