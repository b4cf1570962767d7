"""Does augmentation help more as data shrinks? digits and MNIST at 10% and 100% (MNIST also at 1%),
with and without DiffAugment / ADA.

Protocol (written to docs/benchmarks.md, section `small-data`):
- Train the `digits` or `mnist` preset on a seeded 10% (MNIST also 1%; ``data.limit``) or all of
  its data (setting ``preset``; ``--set`` overrides for every arm are named in the setting column), with
  (a) no augmentation, (b) DiffAugment ``color,translation,cutout`` on real and fake alike (Zhao et
  al. 2020), (c) ADA with the same policies (p moved by r_t = E[sign(D(real))] toward 0.6, Karras et
  al. 2020; `augment.ada_speed` 10,000 images). Everything else is the preset's default, the same
  steps for every arm.
- Score: FD and KID in the domain classifier's features (``digits`` / ``lenet-mnist``) between
  samples of G_ema and the *whole* real set (not only the training subset: a generator that copies
  its subset would otherwise look perfect), with the real-vs-real floor at the same N
  (``ganforge.metrics.protocol.evaluate_arrays``). N = half the real set (898 digits, 5,000 MNIST).
- Copy reference: the same FD for N images drawn with replacement from the training subset itself,
  what a generator that reproduced its training images exactly would score.
- The MNIST rows were measured with the `mnist` preset at the DCGAN rates (Adam 2e-4, beta1 0.5, no R1),
  before it took its tuned rates; ``--set`` each of benchmarks/_doc.py's DCGAN_RATES to re-run them as recorded.
- Per-run results are kept in benchmarks/results/small_data.json (re-runs replace entries with the
  same data, size, steps, arm and seed), so arms, seeds and run lengths can be added one at a time;
  each run length gets its own rows, and the FD gain compares arms at the same length.

    python benchmarks/small_data.py --preset digits --seeds 0,1,2
    GANFORGE_DATA=../shared/datasets python benchmarks/small_data.py --preset mnist --seeds 0,1 --steps 2000
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
RESULTS = os.path.join(HERE, "results", "small_data.json")
POLICY = "color,translation,cutout"
ARMS = {"none": [], "diffaugment": [f"augment.policy={POLICY}"],
        "ada": [f"augment.policy={POLICY}", "augment.ada=true"]}


def real_and_limit(preset: str, frac: float, seed: int):
    """The whole real set of a preset and the ``data.limit`` that keeps ``frac`` of it (0 = all)."""
    from ganforge.config import resolve
    from ganforge.data import load_dataset
    real = load_dataset(resolve(preset).data, seed=seed)
    return real, (int(round(frac * len(real.x))) if frac < 1 else 0)


def score(real, g, seed: int, metrics: str) -> dict:
    """FD (and KID) between N = half the real set of G's samples (seed 10,000 + run seed) and all of it."""
    from ganforge.metrics.protocol import evaluate_arrays
    fake = g.sample(len(real.x) // 2, seed=10_000 + seed)
    return evaluate_arrays(real.x, fake, kind="image", metrics=metrics, seed=seed, info=g.data_info)


def run_one(preset: str, frac: float, arm: str, seed: int, steps: int | None, extra: list[str] = ()) -> dict:
    import ganforge
    real, limit = real_and_limit(preset, frac, seed)
    out = tempfile.mkdtemp(prefix=f"small-{preset}-")
    overrides = (ARMS[arm] + list(extra)
                 + [f"data.limit={limit}", "train.sample_every=0", "train.ckpt_every=0", "train.threads=1"])
    try:
        t0 = time.perf_counter()
        res = ganforge.train(preset, out=os.path.join(out, "run"), seed=seed, steps=steps, progress=False,
                             overrides=overrides)
        seconds = time.perf_counter() - t0
        ada = _ada_tail(os.path.join(res.run_dir, "stats.jsonl"))
        ev = score(real, ganforge.load(res.run_dir), seed, "fd,kid")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    m = ev["metrics"]
    return {"preset": preset, "setting": setting_name(extra), "frac": frac, "arm": arm, "seed": seed, "steps": res.step,
            "n_train": limit or len(real.x),
            "fd": m["fd"], "fd_floor": m["fd_floor"], "kid": m["kid"], "kid_floor": m["kid_floor"],
            "extractor": ev["protocol"]["extractor"], "seconds": round(seconds, 1), "threads": 1, **ada}


def copy_fd(preset: str, frac: float, seed: int) -> float:
    """FD against the whole real set of N images drawn (with replacement) from the training subset."""
    import dataclasses

    from ganforge.config import resolve
    from ganforge.data import load_dataset
    from ganforge.metrics.protocol import evaluate_arrays
    real, limit = real_and_limit(preset, frac, seed)
    sub = load_dataset(dataclasses.replace(resolve(preset).data, limit=limit), seed=seed).x      # (n_train, C, H, W)
    idx = torch.randint(0, len(sub), (len(real.x) // 2,), generator=torch.Generator().manual_seed(seed))
    ev = evaluate_arrays(real.x, sub[idx], kind="image", metrics="fd", seed=seed,
                         info={"kind": "image", "shape": tuple(real.x.shape[1:])})
    return float(ev["metrics"]["fd"])


def with_copy_fd(rows: list[dict]) -> list[dict]:
    """Fill ``fd_copy`` where a row lacks it (one computation per data, size and seed)."""
    cache: dict[tuple, float] = {}
    for r in rows:
        if "fd_copy" not in r:
            key = (r["preset"], r["frac"], r["seed"])
            if key not in cache:
                cache[key] = round(copy_fd(*key), 3)
            r["fd_copy"] = cache[key]
    return rows


def _ada_tail(path: str) -> dict:
    """Mean ADA p and r_t over the last quarter of the logged steps ({} when ADA was off)."""
    rows = [json.loads(line) for line in open(path)]
    rows = [r for r in rows if "ada_p" in r][-max(1, len(rows) // 4):]
    if not rows:
        return {}
    return {k: round(statistics.mean(r[k] for r in rows), 3) for k in ("ada_p", "ada_r_t")}


def setting_name(extra: list[str]) -> str:
    """How the table names a run's networks and training: the preset, plus any ``--set`` overrides."""
    return "preset" + "".join(f" + {e}" for e in extra)


def load_results() -> list[dict]:
    from _doc import load_rows
    return [{"setting": "preset", **r} for r in load_rows(RESULTS)]


def save(new: list[dict]) -> list[dict]:
    from _doc import store_rows
    return store_rows(RESULTS, new, ("preset", "setting", "frac", "steps", "arm", "seed"))


def table(rows: list[dict]) -> str:
    def ms(v):
        return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}"
    lines = ["| data | setting | training examples | augmentation | seeds | steps | FD | FD floor | "
             "FD of the subset copied | KID | FD gain over none | ADA p / r_t | s / run |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    settings = sorted({(r["preset"], r["setting"]) for r in rows}, key=lambda k: (k[0], k[1] != "preset", k[1]))
    for preset, setting in settings:
        mine = [r for r in rows if (r["preset"], r["setting"]) == (preset, setting)]
        for frac in sorted({r["frac"] for r in mine}):
            for steps in sorted({r["steps"] for r in mine if r["frac"] == frac}):
                def group(arm: str, mine=mine, frac=frac, steps=steps) -> list[dict]:
                    return [r for r in mine if (r["frac"], r["steps"], r["arm"]) == (frac, steps, arm)]
                base = [r["fd"] for r in group("none")]
                for arm in ARMS:
                    rs = group(arm)
                    if not rs:
                        continue
                    fd = [r["fd"] for r in rs]
                    gain = (f"{100 * (1 - statistics.mean(fd) / statistics.mean(base)):+.0f}%"
                            if base and arm != "none" else "-")
                    lines.append(f"| {preset} | {setting} | {rs[0]['n_train']} ({100 * frac:.0f}%) | {arm} | "
                                 f"{len(rs)} | "
                                 f"{steps} | {ms(fd)} | {statistics.mean(r['fd_floor'] for r in rs):.2f} | "
                                 f"{_mean_cell(rs, 'fd_copy')} | "
                                 f"{ms([r['kid'] for r in rs])} | {gain} | {_ada_cell(rs)} | "
                                 f"{statistics.median(r['seconds'] for r in rs):.0f} |")
    return "\n".join(lines)


def _mean_cell(rs: list[dict], key: str) -> str:
    return f"{statistics.mean(r[key] for r in rs):.2f}" if all(key in r for r in rs) else "-"


def _ada_cell(rs: list[dict]) -> str:
    if not all("ada_p" in r for r in rs):
        return "-"
    return (f"{statistics.mean(r['ada_p'] for r in rs):.2f} / "
            f"{statistics.mean(r['ada_r_t'] for r in rs):.2f}")


def write_doc(rows: list[dict], cmds: str) -> None:
    from _doc import write_section
    doc = __doc__.split("Protocol (written to docs/benchmarks.md, section `small-data`):\n")[1].split("\n\n")[0]
    body = (f"Protocol:\n{doc}\n\n{table(rows)}\n\nFD gain = 1 - FD(arm) / FD(none) at the same data size "
            f"(positive: augmentation helped). ADA p / r_t: their means over the last quarter of each run "
            f"(ADA arm only). Machine: {platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
            f"one torch thread per run (rows without a `threads` entry in the results file ran on torch's "
            f"default of two); wall times include other jobs on the machine.\n\n"
            f"Commands: {cmds}")
    write_section("small-data", "Small data: augmentation on 1% to 100% of digits and MNIST", body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="digits", choices=["digits", "mnist"])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--fracs", default="0.1,1.0")
    ap.add_argument("--steps", type=int, default=None, help="override the preset's train.steps")
    ap.add_argument("--set", dest="extra", action="append", default=[],
                    help="extra key=value override for every arm (the table names it in the setting column)")
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--doc-only", action="store_true", help="rewrite the doc section from the stored results")
    a = ap.parse_args()
    rows = load_results()
    if a.doc_only:
        rows = save(with_copy_fd(rows))
        write_doc(rows, "; ".join(_previous_cmds()))
        return
    for frac in (float(f) for f in a.fracs.split(",")):
        for seed in (int(s) for s in a.seeds.split(",")):
            for arm in a.arms.split(","):
                r = with_copy_fd([run_one(a.preset, frac, arm, seed, a.steps, a.extra)])[0]
                print(json.dumps(r), flush=True)
                rows = save([r])
    print(table(rows))
    if not a.no_doc:
        cmd = "`python benchmarks/small_data.py " + " ".join(sys.argv[1:]) + "`"
        prev = [c for c in _previous_cmds() if c != cmd]
        write_doc(rows, "; ".join(prev + [cmd]))


def _previous_cmds() -> list[str]:
    """Commands recorded in the doc section, so a run for one preset keeps the other's command."""
    from _doc import DOC
    try:
        text = open(DOC).read()
    except OSError:
        return []
    if "<!-- BEGIN small-data -->" not in text:
        return []
    sec = text.split("<!-- BEGIN small-data -->")[1].split("<!-- END small-data -->")[0]
    line = next((ln for ln in sec.splitlines() if ln.startswith("Commands: ")), "")
    return [c.strip() for c in line[len("Commands: "):].split(";") if c.strip()]


if __name__ == "__main__":
    main()
