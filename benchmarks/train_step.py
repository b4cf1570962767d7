"""The DCGAN training step: a textbook PyTorch loop against ganforge's engine, side by side.

    python benchmarks/train_step.py [--rounds 5] [--chunk 20] [--sizes 28,32] [--no-doc]

Both loops train the same networks (ganforge.nets from the preset's model config) at batch 64:
- 28x28: the `mnist` preset (MNIST test split, z 64, widths 32);
- 32x32: the `folder` preset at data.size=32 (3 channels, widths 64) on uniform-noise images.
The textbook loop is the usual tutorial form: a torch DataLoader over uint8 images with a
per-sample transform (to float, scaled to [-1, 1]), one `.item()` host sync per step for the
losses, `zero_grad()` without set_to_none, default Adam, D called on real and fake separately,
and G's step reusing the D step's fake batch (one G forward fewer than ganforge, which draws new
noise for the G phase) and no EMA: it does less work per step, so the ratio is conservative.
ganforge variants switch one speed choice off at a time. All loops are timed in interleaved
chunks (round-robin, `--rounds` x `--chunk` steps each) so a load change on this shared machine
hits every variant alike; figures are medians over rounds. Writes section `train-step` of
docs/benchmarks.md. The OMP_WAIT_POLICY comparison runs this script again in a child process.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # the ganforge CLI's default; set before torch loads

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import write_section  # noqa: E402

from ganforge.nets import build_discriminator, build_generator  # noqa: E402
from ganforge.perf.measure import (  # noqa: E402
    bench_config,
    bench_data,
    bench_trainer,
    cleanup,
    conv_peak_gflops,
    matmul_peak_gflops,
    step_flops,
)


class UInt8Images(torch.utils.data.Dataset):
    """Images kept as uint8 and converted one at a time, as a tutorial's transform does."""

    def __init__(self, x: torch.Tensor):
        self.x = ((x + 1) * 127.5).round().to(torch.uint8)

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.x[i].float().div(255.0).sub(0.5).div(0.5)  # ToTensor + Normalize(0.5, 0.5)


class Textbook:
    """The tutorial DCGAN loop on the same networks, one step per call."""

    def __init__(self, cfg, dataset):
        shape, m, o = tuple(dataset.shape), cfg.model, cfg.optim
        self.G, self.D = build_generator(m, shape), build_discriminator(m, shape)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=o.g_lr, betas=tuple(o.g_betas))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=o.d_lr, betas=tuple(o.d_betas))
        self.loader = DataLoader(UInt8Images(dataset.x), batch_size=cfg.train.batch, shuffle=True, drop_last=True)
        self.it, self.z_dim, self.losses = iter(self.loader), m.z_dim, []

    def _next(self) -> torch.Tensor:
        try:
            return next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            return next(self.it)

    def step(self) -> None:
        real = self._next()
        b = real.shape[0]
        ones, zeros = torch.ones(b), torch.zeros(b)
        fake = self.G(torch.randn(b, self.z_dim))
        self.opt_d.zero_grad()  # (1) D step
        loss_d = (F.binary_cross_entropy_with_logits(self.D(real), ones)
                  + F.binary_cross_entropy_with_logits(self.D(fake.detach()), zeros))
        loss_d.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()  # (2) G step on the same fake batch
        loss_g = F.binary_cross_entropy_with_logits(self.D(fake), ones)
        loss_g.backward()
        self.opt_g.step()
        self.losses.append((loss_d.item(), loss_g.item()))  # the per-step host sync


class Engine:
    """ganforge's own loop (Trainer.fit), continued chunk by chunk; timed from its it_per_s lines."""

    def __init__(self, cfg, dataset, channels_last="auto", joint_d=True, foreach=False, threads=0):
        cfg.train.channels_last = channels_last  # read by the loop with getattr (default auto)
        self.threads = threads
        self.tr = bench_trainer(cfg, dataset)
        if not joint_d:
            self.tr.recipe.nets["D"]._ganforge_mixes_batch = True  # forces two D calls
        if foreach:  # the engine's default is fused Adam
            for name, opt in list(self.tr.opts.items()):
                g = opt.param_groups[0]
                self.tr.opts[name] = torch.optim.Adam(g["params"], lr=g["lr"], betas=g["betas"], foreach=True)
        self.flops = None

    def run(self, n: int) -> list[float]:
        """n more steps; seconds per step of each logged interval."""
        path = os.path.join(self.tr.run_dir, "stats.jsonl")
        seen = sum(1 for _ in open(path)) if os.path.exists(path) else 0
        self.tr.cfg.train.steps = self.tr.step + n
        self.tr.fit()
        rows = [json.loads(line) for line in open(path)][seen:]
        return [1.0 / r["it_per_s"] for r in rows if "it_per_s" in r]


def time_textbook(tb: Textbook, n: int, log_every: int) -> list[float]:
    out = []
    for _ in range(n // log_every):
        t = time.perf_counter()
        for _ in range(log_every):
            tb.step()
        out.append((time.perf_counter() - t) / log_every)
    return out


def textbook_flops(tb: Textbook) -> float:
    with FlopCounterMode(display=False) as fc:
        tb.step()
    return fc.get_total_flops()


def measure_size(size: int, rounds: int, chunk: int, log_every: int) -> dict:
    preset, ov = ("mnist", {}) if size == 28 else ("folder", {"data.size": 32})
    base = bench_config(preset, chunk, log_every, ov)
    dataset, synthetic = bench_data(base)
    fresh = lambda: bench_config(preset, chunk, log_every, ov)  # noqa: E731
    loops = {
        "textbook (DataLoader, .item(), zero_grad(), default Adam), 2 threads": (Textbook(fresh(), dataset), 2),
        "ganforge, 2 threads": (Engine(fresh(), dataset), 2),
        "ganforge, 1 thread": (Engine(fresh(), dataset), 1),
        "ganforge without channels_last, 2 threads": (Engine(fresh(), dataset, channels_last="off"), 2),
        "ganforge with two D calls (no cat(real, fake)), 2 threads": (Engine(fresh(), dataset, joint_d=False), 2),
        "ganforge with foreach Adam, 2 threads": (Engine(fresh(), dataset, foreach=True), 2),
    }
    times: dict[str, list[float]] = {k: [] for k in loops}
    for r in range(rounds + 1):  # round 0 is warm-up
        for name, (loop, threads) in loops.items():
            torch.set_num_threads(threads)
            per = time_textbook(loop, chunk, log_every) if isinstance(loop, Textbook) else loop.run(chunk)
            if r > 0:
                times[name] += per
    torch.set_num_threads(2)
    tb_name = next(iter(loops))
    flops = {"ganforge": step_flops(fresh(), dataset), "textbook": textbook_flops(loops[tb_name][0])}
    rows = {}
    for name, ts in times.items():
        sec = statistics.median(ts)
        f = flops["textbook" if name == tb_name else "ganforge"]
        rows[name] = {"ms_per_step": sec * 1e3, "samples_per_s": base.train.batch / sec,
                      "gflops_per_step": f / 1e9, "gflop_per_s": f / sec / 1e9, "n": len(ts)}
    return {"size": size, "preset": preset, "data": dataset.name, "synthetic": synthetic,
            "shape": list(dataset.shape), "rows": rows, "textbook": tb_name}


def wait_policy_child(size: int, policy: str, chunk: int) -> float:
    """Median ms/step of the default ganforge loop (2 threads) in a child with OMP_WAIT_POLICY=policy."""
    code = (f"import sys; sys.argv=['x']; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r});"
            f"import train_step as T, statistics, torch; torch.set_num_threads(2);"
            f"p, ov = ('mnist', {{}}) if {size} == 28 else ('folder', {{'data.size': 32}});"
            f"c = T.bench_config(p, {chunk}, 10, ov); d, _ = T.bench_data(c); e = T.Engine(c, d);"
            f"e.run(10); print(statistics.median(e.run({chunk})) * 1e3); T.cleanup()")
    env = dict(os.environ, OMP_WAIT_POLICY=policy)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def loadavg() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def _peak(peak) -> float:
    """The fp32 peak for MFU: the larger of the matmul and convolution figures (older logs: a float)."""
    return max(peak.values()) if isinstance(peak, dict) else float(peak)


def _loaded(load: tuple[str, str]) -> bool:
    try:
        return max(float(load[0].split(" / ")[0]), float(load[1].split(" / ")[0])) > 1.5
    except (ValueError, IndexError):
        return True


def render(results: list[dict], peak, policy: dict, sampling: dict, load: tuple[str, str], cmd: str) -> str:
    fp32 = _peak(peak)
    what = (f"best 2048^3 matmul **{peak['matmul']:.1f} GFLOP/s**, best large convolution (channels_last, "
            f"oneDNN) **{peak['conv']:.1f} GFLOP/s**; MFU is against the larger" if isinstance(peak, dict)
            else f"best 2048^3 matmul in this run: **{fp32:.1f} GFLOP/s**")
    shared = ("the CPU was shared with other jobs, so absolute figures are pessimistic" if _loaded(load)
              else "the machine was otherwise idle")
    lines = [f"Command: `{cmd}`. Machine: {os.cpu_count()} logical cores ({_cpu()}), torch "
             f"{torch.__version__}, fp32, eager. fp32 peak measured in this run: {what}. Load average "
             f"(1/5/15 min) at start {load[0]}, at end {load[1]}: {shared}; the ratios were taken in one "
             "run with the loops interleaved. MFU = model FLOPs per step (FlopCounterMode over one full step: "
             "D phase + G phase with backward) x steps/s / fp32 peak.", ""]
    for res in results:
        rows, tb = res["rows"], res["textbook"]
        tb_sps = rows[tb]["samples_per_s"]
        data = f"{res['data']}{' (synthetic)' if res['synthetic'] else ''}, {'x'.join(map(str, res['shape']))}"
        lines += [f"**{res['size']}x{res['size']}** (`{res['preset']}` preset, {data}, batch 64):", "",
                  "| loop | ms/step | samples/s | vs textbook | GFLOP/step | GFLOP/s | MFU |",
                  "|---|---|---|---|---|---|---|"]
        for name, r in rows.items():
            lines.append(f"| {name} | {r['ms_per_step']:.1f} | {r['samples_per_s']:,.0f} | "
                         f"{r['samples_per_s'] / tb_sps:.2f}x | {r['gflops_per_step']:.3f} | {r['gflop_per_s']:.1f} | "
                         f"{100 * r['gflop_per_s'] / fp32:.1f}% |")
        lines.append("")
    lines += ["What was tried (figures from the tables above unless stated):", ""]
    for size, (active, passive) in policy.items():
        lines.append(f"- OpenMP waiting, {size}x{size}, 2 threads, this run: OMP_WAIT_POLICY=ACTIVE (spinning) "
                     f"{active:.0f} ms/step vs PASSIVE {passive:.0f} ms/step ({passive / active:.2f}x the time "
                     "of ACTIVE). On an idle machine spinning is faster; with other jobs on the cores it was "
                     "3.6x slower (519 vs 145 ms/step, an earlier run at load ~9), because spinning workers "
                     "starve each other. The `ganforge` command therefore sets PASSIVE only when the 1-minute load "
                     "average is at least the core count, and otherwise leaves OpenMP's default (spin "
                     "briefly, then sleep); a policy set by the user wins. Separate processes per policy "
                     "(`benchmarks/omp_policy.py`, idle machine, 28x28, ms/step, unset / ACTIVE / PASSIVE): "
                     "textbook 26.6 / 29.0 / 38.4, ganforge 31.6 / 32.0 / 41.2. Measured that way, a "
                     "fresh process per loop, ganforge was 0.84x the textbook loop's speed, not the "
                     "interleaved 1.0x of the table: the gap between the two loops is within the spread "
                     "between processes.")
    lines += ["- Threads: 1 vs 2 threads rows above.",
              "- channels_last (NHWC) for convolutional networks on CPU: kept (row 'without channels_last').",
              "- One D call on cat(real, fake) when D has no batch norm / minibatch-stddev: kept "
              "(row 'two D calls'); with spectral norm it also halves the power iterations per D step.",
              "- Fused Adam (`fused=True`, the engine's default on CPU and CUDA) vs multi-tensor foreach Adam: "
              "row 'foreach Adam'. Whole steps differ by less than the spread between runs (this run: foreach "
              "ahead by 3-6%; the previous one: fused ahead by 1-5%). The optimizer step alone (A/B in one "
              "process, best of 3 x 200 steps) is faster fused: mnist G 107 vs 252 us and D 62 vs 129 us at 2 "
              "threads, 32x32 G 389 vs 717 us and D 307 vs 484 us; for the small MLPs of tabular and toy runs "
              "80 vs 210 us (1 thread). That, and a 24% shorter wine fit (benchmarks/tabular_vs_ctgan.py), is "
              "why fused is the default.",
              "- torch.compile (no speed-up on these sizes) and bf16 autocast (2.6-2.9x slower: no bf16 "
              "hardware) were measured earlier on this machine and not re-measured.",
              "- Already in the engine before: in-memory batches (one gather per step), statistics summed on "
              "device with one host sync per log interval, zero_grad(set_to_none=True).", ""]
    lines.append(f"Sampling from G_ema (`mnist` preset, 28x28, {sampling['threads']} threads, batches of "
                 f"{sampling['batch']}, median of 5): **{sampling['images_per_s']:,.0f} images/s**.")
    return "\n".join(lines + [""] + goals(results, peak, sampling))


def goals(results: list[dict], peak, sampling: dict) -> list[str]:
    """The targets set for this step, each against this run's figures."""
    fp32 = _peak(peak)
    mm = peak["matmul"] if isinstance(peak, dict) else fp32

    def ours(res):
        return res["rows"]["ganforge, 2 threads"]
    out = ["Targets (this run):", ""]
    for res in results:
        r, tb = ours(res), res["rows"][res["textbook"]]
        mfu = r["gflop_per_s"] / fp32
        out.append(f"- {res['size']}x{res['size']}: MFU {100 * mfu:.0f}% of the fp32 peak (target >= 50%: "
                   f"{'met' if mfu >= 0.5 else 'not met'}; {100 * r['gflop_per_s'] / mm:.0f}% against the "
                   f"matmul figure alone); {r['samples_per_s'] / tb['samples_per_s']:.2f}x the textbook loop "
                   f"(target >= 1.5x: {'met' if r['samples_per_s'] >= 1.5 * tb['samples_per_s'] else 'not met'}).")
    g_flops = 3.8e6  # mnist preset G forward per image (FlopCounterMode: 0.40 MFLOP fc + 3.41 MFLOP convs)
    out += [f"- Sampling: {sampling['images_per_s']:,.0f} images/s (target >= 20,000: "
            f"{'met' if sampling['images_per_s'] >= 20000 else 'not met'}). G's forward is 3.8 MFLOP per image, "
            f"so 20,000 images/s needs {20000 * g_flops / 1e9:.0f} GFLOP/s sustained in small transposed "
            "convolutions.",
            "- Peak memory of `mnist` training: see the `bench` section (target < 2 GB).",
            "- Why MFU is low at 28x28 and the loop gain is small (profile, 1 thread, mnist step): oneDNN "
            "convolutions and their backward are ~75% of the step and identical in both loops; the two "
            "1-channel layers (G's last transposed conv, D's first conv) run at ~3 GFLOP/s against ~40-70 for "
            "the 32/64-channel ones. What ganforge removes (per-sample DataLoader transforms, the per-step "
            "sync, for-loop Adam, D's unused weight gradients in the G step) is about a tenth of a step at "
            "these sizes; a 1.5x gain would have to come from the networks' arithmetic, not from the loop. "
            "On a loaded machine the ratio moved between 1.1x and 1.55x across runs at 28x28 (OpenMP "
            "spinning in the textbook loop costs it more there).", ""]
    return out


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "unknown")
    except OSError:
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=20, help="steps per loop per round (a multiple of 10)")
    ap.add_argument("--sizes", default="28,32")
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--render", metavar="LOG", help="re-render the doc section from a previous run's output")
    a = ap.parse_args()
    if a.render:
        rerender(a.render)
        return
    torch.set_num_threads(2)
    load0 = loadavg()
    mm = matmul_peak_gflops()
    results = [measure_size(int(s), a.rounds, a.chunk, 10) for s in a.sizes.split(",")]
    peak = {"matmul": max(mm, matmul_peak_gflops()), "conv": max(conv_peak_gflops() for _ in range(3))}
    policy = {28: (wait_policy_child(28, "ACTIVE", a.chunk), wait_policy_child(28, "PASSIVE", a.chunk))}
    from ganforge.perf.measure import sample_speed
    cfg = bench_config("mnist", 2, 1)
    data, _ = bench_data(cfg)
    torch.set_num_threads(2)
    recipe = bench_trainer(cfg, data).recipe
    sampling = {"images_per_s": sample_speed(recipe, batch=512), "batch": 512, "threads": 2}
    cleanup()
    cmd = "python benchmarks/train_step.py " + " ".join(sys.argv[1:])
    body = render(results, peak, policy, sampling, (load0, loadavg()), cmd.strip())
    print(body)
    print(json.dumps({"peak": peak, "results": results, "policy": policy, "sampling": sampling}))
    if not a.no_doc:
        write_section("train-step", "Training step: textbook loop vs ganforge (DCGAN, batch 64, CPU)", body)


def rerender(log: str) -> None:
    """The section again from a saved run (its printed body and last JSON line), e.g. after editing render()."""
    with open(log) as f:
        text = f.read().splitlines()
    data = json.loads(next(ln for ln in reversed(text) if ln.startswith("{")))
    head = text[0]
    cmd = head.split("`")[1]
    load = head.split("at start ")[1].split(", at end ")
    policy = {int(k): tuple(v) for k, v in data["policy"].items()}
    body = render(data["results"], data["peak"], policy, data["sampling"], (load[0], load[1].split(":")[0]), cmd)
    write_section("train-step", "Training step: textbook loop vs ganforge (DCGAN, batch 64, CPU)", body)
    print(body)


if __name__ == "__main__":
    main()
