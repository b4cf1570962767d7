"""``ganforge bench`` on the shipped presets, written into docs/benchmarks.md (section `bench`).

    python benchmarks/bench.py [PRESET ...] [--steps 60]

Default presets: digits (MLP, 8x8), mnist (DCGAN 28x28), folder (DCGAN 32x32, 3 channels, on
uniform-noise images when no folder is given). Each preset runs in its own spawned process.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the ganforge command does

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import write_section  # noqa: E402

from ganforge.perf.bench import format_table, run_bench  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("presets", nargs="*", default=["digits", "mnist", "folder"])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--json", help="also write the JSON result here")
    a = ap.parse_args()
    res = run_bench(a.presets, steps=a.steps)
    table = format_table(res)
    print(table)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    cmd = "python benchmarks/bench.py " + " ".join(sys.argv[1:])
    body = (f"Command: `{cmd.strip()}` (the same figures as `ganforge bench {' '.join(a.presets)} --steps {a.steps}`)."
            " Each preset in a fresh process; batch and networks as the preset defines them. Training "
            "samples/s: median of the loop's own it_per_s over 10-step intervals (first dropped) x batch. "
            "GFLOP/step: FlopCounterMode over full steps (D phase + G phase, forward and backward). MFU: "
            "achieved GFLOP/s over the machine's fp32 peak, the larger of the best matmul and the best large "
            "convolution of the run ('MFU vs matmul': over the matmul figure alone). Sampling: G_ema, 8,192 samples "
            "in batches of 1,024, median of 5; ONNX: the exported G_ema under onnxruntime (CPU, same "
            "threads). Peak RSS: ru_maxrss of the preset's process after training (torch itself ~300 MB). "
            "Load average before and after is in the first line: on this machine speeds varied up to 3x "
            "between an idle and a shared CPU (the train-step section has interleaved ratios).\n\n" + table)
    write_section("bench", "ganforge bench: speed, MFU and memory per preset", body)


if __name__ == "__main__":
    main()
