"""OpenMP wait policy and the 28x28 DCGAN step: the textbook loop and ganforge's engine, each in a
fresh process per policy (unset = OpenMP's default, ACTIVE, PASSIVE), 2 threads, median ms/step of
5 x 20 steps after 20 warm-up steps; every combination twice, the best of the two reported.

    GANFORGE_DATA=../shared/datasets python benchmarks/omp_policy.py

Prints the table; the train-step section of docs/benchmarks.md quotes it. Run on an idle machine
and again under load to see both sides of the choice the `ganforge` command makes.
"""
from __future__ import annotations

import os
import subprocess
import sys

CHILD = r'''
import sys, statistics, torch
sys.path.insert(0, sys.argv[2])
import train_step as T
torch.set_num_threads(2)
cfg = T.bench_config("mnist", 20, 10, {})
data, _ = T.bench_data(cfg)
if sys.argv[1] == "textbook":
    loop = T.Textbook(T.bench_config("mnist", 20, 10, {}), data)
    run = lambda: T.time_textbook(loop, 20, 10)
else:
    loop = T.Engine(cfg, data)
    run = lambda: loop.run(20)
run()
times = [t for _ in range(5) for t in run()]
print(statistics.median(times) * 1e3)
T.cleanup()
'''


def child(which: str, policy: str) -> float:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy != "unset":
        env["OMP_WAIT_POLICY"] = policy
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, "-c", CHILD, which, here], env=env, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    best: dict[tuple[str, str], float] = {}
    for _ in range(2):
        for which in ("textbook", "ganforge"):
            for policy in ("unset", "ACTIVE", "PASSIVE"):
                ms = child(which, policy)
                best[(which, policy)] = min(ms, best.get((which, policy), float("inf")))
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print("| loop | OMP_WAIT_POLICY unset | ACTIVE | PASSIVE |\n|---|---|---|---|")
    for which in ("textbook", "ganforge"):
        print(f"| {which} | " + " | ".join(f"{best[(which, p)]:.1f} ms" for p in ("unset", "ACTIVE", "PASSIVE")) + " |")


if __name__ == "__main__":
    main()
