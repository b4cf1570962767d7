"""Write one benchmark's table into docs/benchmarks.md between its own markers."""
from __future__ import annotations

import os
import re

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "benchmarks.md")
HEAD = "# Benchmarks\n\nMeasured tables, each with its protocol and the command that produced it.\n"
TARGET = DOC     # where write_section writes when no path is given (report.py --check points it at a copy)
PLOTS = True     # whether renderers redraw their pictures in docs/ (not when only checking the text)


def write_section(name: str, title: str, body: str, path: str | None = None) -> None:
    path = path or TARGET
    text = open(path).read() if os.path.exists(path) else HEAD
    block = f"<!-- BEGIN {name} -->\n## {title}\n\n{body.rstrip()}\n<!-- END {name} -->"
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def sections(text: str) -> dict[str, str]:
    """{name: whole block} of every marked section of a benchmarks document."""
    return {m.group(1): m.group(0) for m in re.finditer(r"<!-- BEGIN (\S+) -->.*?<!-- END \1 -->", text, re.S)}


def load_rows(path: str) -> list[dict]:
    """A benchmark's stored per-run results (a JSON list), or [] before the first run."""
    import json
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)


def store_rows(path: str, new: list[dict], key: tuple[str, ...]) -> list[dict]:
    """Merge ``new`` into the results at ``path``, replacing rows with the same ``key`` fields; the
    file is re-read first (another invocation may have stored rows meanwhile) and replaced atomically."""
    import json
    keys = {tuple(r[k] for k in key) for r in new}
    rows = [r for r in load_rows(path) if tuple(r[k] for k in key) not in keys] + list(new)
    rows.sort(key=lambda r: tuple(str(r[k]) for k in key))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"  # runs side by side must not share a temp file
    with open(tmp, "w") as f:
        json.dump(rows, f, indent=1)
    os.replace(tmp, path)
    return rows


def arm_args(doc: str, arms: dict, results: str | None = None, n_help: str | None = None, jobs: bool = True):
    """The command line every arms-by-seeds benchmark takes (--arms, --seeds, --steps, --threads, --set, --jobs,
    --n, --results, --render), parsed, with unknown arms refused in one line."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--arms", default=",".join(arms))
    ap.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    ap.add_argument("--steps", type=int, default=None, help="default: the preset's")
    if n_help:
        ap.add_argument("--n", type=int, default=1000, help=n_help)
    ap.add_argument("--threads", type=int, default=None, help="per run (default: 2 / jobs)" if jobs else "per run")
    ap.add_argument("--set", dest="extra", action="append", default=[], help="more overrides for every run")
    if jobs:
        ap.add_argument("--jobs", type=int, default=1)
    if results:
        ap.add_argument("--results", default=results, help="results file (a probe writes elsewhere)")
    ap.add_argument("--render", action="store_true")
    a = ap.parse_args()
    bad = [x for x in a.arms.split(",") if x not in arms]
    if bad:
        ap.error(f"unknown arm {bad[0]!r}; choose from {', '.join(arms)}")
    return a


def section_target(path: str, results: str) -> dict:
    """write_section's target for results at ``path``: the document, or a page beside a probe's results file."""
    return {} if path == results else {"path": os.path.splitext(path)[0] + ".md"}


def mean_sd(values: list, fmt: str = ".3g") -> str:
    """'mean ± sample std' of the values that are not None ('mean' alone for one value, '-' for none)."""
    import statistics
    v = [x for x in values if x is not None]
    if not v:
        return "-"
    return f"{statistics.mean(v):{fmt}}" + (f" ± {statistics.stdev(v):{fmt}}" if len(v) > 1 else "")


def footer(rows: list[dict]) -> str:
    """The machine of the newest row, and every command behind the rows with the commit(s) it ran at (each row's
    provenance; rows from before provenance was recorded are counted apart)."""
    known = [r for r in rows if r.get("provenance")]
    p = max(known, key=lambda r: r["provenance"].get("date", ""))["provenance"]
    runs: dict[str, set[str]] = {}
    for r in known:
        q = r["provenance"]
        runs.setdefault(q["command"], set()).add(q["commit"][:10] + (" with uncommitted changes" if q["dirty"] else ""))
    cmds = "; ".join(f"`{c}` (commit {', '.join(sorted(v))})" for c, v in sorted(runs.items()))
    old = len(rows) - len(known)
    return (f"Machine: {p['cpu']}, {p['cores']} cores, torch {p['torch']}.\n\nCommands: {cmds}"
            + (f"; {old} rows from before commands and commits were recorded" if old else ""))


def provenance(config: dict | None = None) -> dict:
    """Where a result came from: the command, the commit (and whether the tree had changes), a hash of
    the config, versions, the machine and the date. Every results record carries one."""
    import datetime
    import hashlib
    import json
    import platform
    import subprocess
    import sys

    import numpy
    import torch

    import ganforge

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, cwd=os.path.dirname(DOC),
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    blob = json.dumps(config or {}, sort_keys=True, default=str).encode()
    return {"command": " ".join(["python"] + sys.argv), "commit": git("rev-parse", "HEAD"),
            # results and the documents rendered from them change with every run: only code counts as dirty
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", ":(top)",
                              ":(top,exclude)benchmarks/results", ":(top,exclude)docs")),
            "config_sha256": hashlib.sha256(blob).hexdigest()[:16], "ganforge": ganforge.__version__,
            "torch": torch.__version__, "numpy": numpy.__version__, "python": platform.python_version(),
            "cpu": cpu, "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


# The `mnist` preset's optimiser before it took its tuned rates (1e-3, beta1 0, lazy R1): what the watermark and
# detector rows were measured with, kept so those figures re-run as recorded
DCGAN_RATES = ["optim.g_lr=2e-4", "optim.d_lr=2e-4", "optim.g_betas=0.5,0.999", "optim.d_betas=0.5,0.999", "reg.r1=0"]
