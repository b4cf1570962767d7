"""Fault injection: kills anywhere, full disks at every write site, damaged files, two processes at once.

    python benchmarks/faults.py [--kills 20] [--recipes image,tabular] [--seed 0]

Every fault is injected into real `ganforge` processes (the command line, as a user runs it):
- Kill anywhere: a reference run, then the same run killed with SIGKILL --kills times and resumed after
  each kill. Half the kills land at a random moment; the other half at a failpoint (core/faults.py)
  inside a checkpoint write, a sample-grid write, a stats.jsonl line or an evaluation, at a random hit.
  A kill at a random moment lands 1-10 s after the process starts (start-up included). After the
  last resume the final networks, optimizer states and stats.jsonl (timing fields aside) are compared
  with the reference, bit for bit.
- Disk full: the run folder on a tmpfs of a few sizes (needs the right to mount one; skipped otherwise),
  so that writes fail at different sites; the run must stop with one line and no temporary file, and
  `--resume` after the tmpfs is enlarged must end identical to the reference.
- Damaged files: the newest checkpoint truncated or with one flipped bit, stats.jsonl cut mid-line, the
  samples folder deleted; then resume, sample, eval and report each either recover or refuse in one line.
- Concurrency: two `train --out` (and two `--resume`) processes started at the same moment on one folder.
Outcomes: recovered exactly / clear refusal (exit 2, one line) / traceback (the goal is none). A disk-full
run counts twice: it first stops with one line (a clear refusal), then, with space freed, resumes to the
very end of the reference run (recovered exactly). A kill that lands after the run's last step ends the
kill series early.
Results: benchmarks/results/faults.json, docs/benchmarks.md section `faults`.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import load_rows, provenance, store_rows, write_section  # noqa: E402

from ganforge.core import checkpoint as ckpt  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "faults.json")
POINTS = ["write:ckpt-*", "write:grid-*", "stats:*", "eval:*"]


def recipes(tmp: str) -> dict[str, list[str]]:
    """The runs under test: the image recipe (digits) and the tabular recipe (a table of 3,000 rows)."""
    rng = np.random.default_rng(0)
    n = 3000
    table = os.path.join(tmp, "table.csv")
    with open(table, "w") as f:
        f.write("age,hours,score,color,flag\n")
        for a, h, s, c, g in zip(rng.integers(18, 70, n), rng.integers(10, 60, n), rng.normal(3, 2, n),
                                 rng.choice(["red", "green", "blue"], n, p=[0.6, 0.3, 0.1]), rng.random(n) < 0.4):
            f.write(f"{a},{h},{s:.4f},{c},{g}\n")
    common = ["--no-progress", "--set", "train.threads=1", "--set", "train.log_every=10"]
    return {
        "image": ["train", "digits", "--steps", "1500", "--set", "train.ckpt_every=50",
                  "--set", "train.sample_every=40", "--set", "eval.every=100", "--set", "eval.n=300", *common],
        "tabular": ["train", "tabular", "--data", table, "--steps", "2400", "--set", "train.ckpt_every=40",
                    "--set", "train.sample_every=50", "--set", "train.batch=100", "--set", "model.pack=10",
                    "--set", "eval.every=200", "--set", "eval.n=300", *common],
    }


def gf(args: list[str], env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, **kw)


def outcome(r: subprocess.CompletedProcess) -> str:
    err = r.stderr.strip().splitlines()
    if "Traceback" in r.stderr or r.returncode not in (0, 2):
        return "traceback"
    if r.returncode == 2:
        return "refused" if len([e for e in err if e.startswith("ganforge: error:")]) == 1 else "traceback"
    return "recovered"


def final_state(run: str) -> tuple[dict, list]:
    tensors, _ = ckpt.load(run)
    rows = [json.loads(line) for line in open(os.path.join(run, "stats.jsonl"))]
    return ({k: v for k, v in tensors.items() if k.startswith(("net.", "opt."))},
            [{k: v for k, v in r.items() if k not in ("time", "it_per_s")} for r in rows])


def identical(a: str, b: str) -> bool:
    (ta, sa), (tb, sb) = final_state(a), final_state(b)
    import torch
    return ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta) and sa == sb


def leftovers(run: str) -> list[str]:
    return [os.path.join(d, n) for d, _, ns in os.walk(run) for n in ns if ckpt.is_leftover(n)]


def logged_step(run: str) -> int:
    try:
        return max(json.loads(line)["step"] for line in open(os.path.join(run, "stats.jsonl"))
                   if line.endswith("\n"))
    except (OSError, ValueError):
        return 0


def kill_anywhere(name: str, args: list[str], tmp: str, kills: int, rng: random.Random) -> dict:
    ref, run = os.path.join(tmp, f"{name}-ref"), os.path.join(tmp, f"{name}-killed")
    t0 = time.perf_counter()
    r = gf(args + ["--out", ref])
    assert r.returncode == 0, r.stderr
    ref_s = time.perf_counter() - t0
    steps = int(args[args.index("--steps") + 1])
    events, cmd, tracebacks = [], args + ["--out", run], 0
    while len(events) < kills:
        mode = "time" if len(events) % 2 == 0 else rng.choice(POINTS)
        env = {} if mode == "time" else {"GANFORGE_FAILPOINT": f"{mode}:{rng.randint(1, 3)}"}
        p = subprocess.Popen([sys.executable, "-m", "ganforge", *cmd], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
        if mode == "time":
            time.sleep(rng.uniform(1.0, min(ref_s, 10.0)))   # start-up (imports, data) included
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
        code = p.wait()
        err = p.stderr.read()
        tracebacks += "Traceback" in err
        if code == 0:   # the run reached its end before this kill landed
            break
        found = ckpt.list_checkpoints(os.path.join(run, "checkpoints"))
        events.append({"mode": mode, "at_step": logged_step(run), "ckpt_step": found[-1][0] if found else 0,
                       "leftovers": len(leftovers(run))})
        cmd = ["train", "--resume", run, "--no-progress"]
    r = gf(["train", "--resume", run, "--no-progress"])
    tracebacks += "Traceback" in r.stderr
    exact = r.returncode == 0 and identical(ref, run)
    lost = [max(e["at_step"] - e["ckpt_step"], 0) for e in events]
    return {"fault": f"kill ({name})", "injected": len(events), "exact": len(events) if exact else 0,
            "refused": 0, "tracebacks": tracebacks, "lost_steps_mean": round(float(np.mean(lost)), 1) if lost else 0,
            "lost_steps_max": max(lost, default=0), "steps": steps,
            "modes": {m: sum(e["mode"] == m for e in events) for m in ["time"] + POINTS},
            "kill_steps": sorted(e["at_step"] for e in events), "final_identical": exact}


def can_mount(tmp: str) -> bool:
    probe = os.path.join(tmp, "probe")
    os.makedirs(probe, exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", probe], capture_output=True)
    return ok


def disk_full(name: str, args: list[str], tmp: str, sizes: list[str]) -> dict:
    ref = os.path.join(tmp, f"{name}-ref")
    sites, refused, exact, tracebacks = [], 0, 0, 0
    for size in sizes:
        mnt = os.path.join(tmp, f"{name}-disk-{size}")
        os.makedirs(mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mnt], check=True)
        try:
            run = os.path.join(mnt, "run")
            r = gf(args + ["--out", run])
            kind = outcome(r)
            tracebacks += kind == "traceback"
            if r.returncode == 0:
                sites.append((size, "none (fits)"))
                continue
            line = r.stderr.strip().splitlines()[-1]
            site = os.path.basename(line.split("cannot write ", 1)[1].split(":")[0]) if "cannot write" in line else line
            sites.append((size, site))
            refused += kind == "refused" and not leftovers(mnt)
            subprocess.run(["mount", "-o", "remount,size=256m", mnt], check=True)   # space freed
            r = gf(["train", "--resume", run, "--no-progress"] if os.path.isdir(run) else args + ["--out", run])
            tracebacks += outcome(r) == "traceback"
            exact += r.returncode == 0 and identical(ref, run)
        finally:
            subprocess.run(["umount", mnt], capture_output=True)
    return {"fault": f"disk full ({name})", "injected": len(sizes), "exact": exact, "refused": refused,
            "tracebacks": tracebacks, "sites": sites}


def damaged(name: str, args: list[str], tmp: str) -> dict:
    ref = os.path.join(tmp, f"{name}-ref")
    steps = int(args[args.index("--steps") + 1])
    outcomes, cases = [], {}

    def fresh(tag: str) -> str:
        run = os.path.join(tmp, f"{name}-damaged-{tag}")
        shutil.copytree(ref, run, ignore=shutil.ignore_patterns(".lock"))
        return run

    def newest(run: str) -> str:
        return ckpt.list_checkpoints(os.path.join(run, "checkpoints"))[-1][1]

    def truncate(run: str) -> None:
        path = newest(run)
        with open(path, "r+b") as f:
            f.truncate(1000)

    def flip(run: str) -> None:
        path = newest(run)
        data = bytearray(open(path, "rb").read())
        data[-10] ^= 0x40
        open(path, "wb").write(bytes(data))

    def cut_stats(run: str) -> None:
        path = os.path.join(run, "stats.jsonl")
        text = open(path).read()
        open(path, "w").write(text[: len(text) * 2 // 3])

    def no_samples(run: str) -> None:
        shutil.rmtree(os.path.join(run, "samples"))

    sample_out = "x.csv" if name == "tabular" else "x.png"
    eval_args = (["--real", args[args.index("--data") + 1], "--metrics", "quality"] if name == "tabular"
                 else ["--n", "200"])
    for tag, damage in (("truncated-ckpt", truncate), ("flipped-ckpt", flip), ("cut-stats", cut_stats),
                        ("no-samples", no_samples)):
        for action in ("resume", "sample", "eval", "report"):
            run = fresh(f"{tag}-{action}")
            damage(run)
            cmd = {"resume": ["train", "--resume", run, "--steps", str(steps + 20), "--no-progress"],
                   "sample": ["sample", run, "--n", "8", "--out", os.path.join(run, sample_out)],
                   "eval": ["eval", run, *eval_args], "report": ["report", run]}[action]
            kind = outcome(gf(cmd))
            outcomes.append(kind)
            cases[f"{tag}/{action}"] = kind
    return {"fault": f"damaged files ({name})", "injected": len(outcomes),
            "exact": outcomes.count("recovered"), "refused": outcomes.count("refused"),
            "tracebacks": outcomes.count("traceback"), "cases": cases}


def concurrency(name: str, args: list[str], tmp: str) -> dict:
    run = os.path.join(tmp, f"{name}-twice")
    results = []
    steps = int(args[args.index("--steps") + 1])
    for cmd in (args + ["--out", run], ["train", "--resume", run, "--steps", str(steps + 50), "--no-progress"]):
        procs = [subprocess.Popen([sys.executable, "-m", "ganforge", *cmd], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        done = [subprocess.CompletedProcess(cmd, p.wait(), "", p.stderr.read()) for p in procs]
        results.append(sorted(outcome(r) for r in done))
    ok = sum(r == ["recovered", "refused"] for r in results)
    return {"fault": f"two processes on one folder ({name})", "injected": len(results), "exact": ok,
            "refused": ok, "tracebacks": sum(r.count("traceback") for r in results), "pairs": results}


def table(rows: list[dict]) -> str:
    lines = ["| fault | injected | recovered exactly | clear refusals | tracebacks | data lost |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lost = (f"{r['lost_steps_mean']} steps on average, at most {r['lost_steps_max']} (since the last checkpoint)"
                if "lost_steps_mean" in r else "none beyond the steps since the last valid checkpoint")
        refused = r["refused"] if "pairs" not in r else f"{r['refused']} (the second process)"
        lines.append(f"| {r['fault']} | {r['injected']} | {r['exact']} | {refused} | {r['tracebacks']} | {lost} |")
    return "\n".join(lines)


def details(rows: list[dict]) -> str:
    out = []
    for r in rows:
        if "modes" in r:
            out.append(f"- {r['fault']}: kill points by kind {r['modes']}; steps at the kills "
                       f"{r['kill_steps']} of {r['steps']}; final state identical to the reference: "
                       f"{r['final_identical']}.")
        if "sites" in r:
            out.append(f"- {r['fault']}: tmpfs size -> the write that failed: "
                       + ", ".join(f"{s} -> {w}" for s, w in r["sites"]) + ".")
        if "cases" in r:
            out.append(f"- {r['fault']}: " + ", ".join(f"{k}: {v}" for k, v in r["cases"].items()) + ".")
    return "\n".join(out)


def render(mountable: bool | None = None) -> None:
    rows = load_rows(RESULTS)
    if not rows:
        return
    if mountable is None:                      # the stored rows say whether the disk-full runs happened
        mountable = any("sites" in r for r in rows)
    prov = rows[-1]["provenance"]
    body = (__doc__.split("\n\n", 2)[2].split("Results:")[0].strip() + "\n\n" + table(rows) + "\n\n" + details(rows)
            + ("" if mountable else "\n\nDisk-full runs skipped: this machine does not allow mounting a tmpfs.")
            + f"\n\nMachine: {prov['cpu']}, {prov['cores']} cores; commit {prov['commit'][:10]}"
            + f"{' (uncommitted changes)' if prov['dirty'] else ''}.\n\nCommand: `{prov['command']}`")
    write_section("faults", "Reliability under faults: kills, full disks, damaged files, concurrency", body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--recipes", default="image,tabular")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", default="12k,64k,600k,6m", help="tmpfs sizes for the disk-full runs")
    ap.add_argument("--render", action="store_true", help="only rewrite the doc section from the stored results")
    a = ap.parse_args()
    if a.render:
        return render()
    rng = random.Random(a.seed)
    prov = provenance(vars(a))   # the code as it was when the runs started
    rows = []
    with tempfile.TemporaryDirectory(prefix="ganforge-faults-") as tmp:
        runs = recipes(tmp)
        mountable = can_mount(tmp)
        for name in a.recipes.split(","):
            rows.append(kill_anywhere(name, runs[name], tmp, a.kills, rng))
            print(rows[-1], flush=True)
            if mountable:
                rows.append(disk_full(name, runs[name], tmp, a.sizes.split(",")))
                print(rows[-1], flush=True)
            rows.append(damaged(name, runs[name], tmp))
            print(rows[-1], flush=True)
            rows.append(concurrency(name, runs[name], tmp))
            print(rows[-1], flush=True)
    for r in rows:
        r["provenance"] = prov
    store_rows(RESULTS, rows, ("fault",))
    render(mountable)


if __name__ == "__main__":
    main()
