"""``ganforge bench``: training and sampling speed, model FLOPs, MFU and peak memory per preset.

Each preset runs in a fresh child process (spawned), so its peak resident memory is its own and no
preset inherits another's allocator or thread state. MFU is achieved training FLOP/s over the
machine's fp32 peak: the larger of the best matmul (the parent before and after, and each child
before training, so a load spike during one of them cannot inflate MFU) and the best large
convolution (``measure.conv_peak_gflops``: where oneDNN's convolutions use wider vectors than the
matmul library, the matmul figure alone would let MFU pass 100%). ``mfu_matmul`` is against the
matmul figure alone.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
from typing import Any

from ..core.checkpoint import atomic_write_bytes
from ..core.errors import GanforgeError

DEFAULT_PRESETS = ["digits", "mnist"]


def machine_info() -> dict[str, Any]:
    import torch
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "torch": torch.__version__, **nominal_peak(),
            "torch_threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
            "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_start": _loadavg()}


def nominal_peak(cpuinfo: str = "/proc/cpuinfo") -> dict[str, Any]:
    """The machine's theoretical fp32 peak from /proc/cpuinfo: logical cores x clock x FLOPs per cycle,
    with FLOPs per cycle from the widest vector FMA the CPU reports (AVX-512: 2 units x 16 lanes x 2;
    AVX2 + FMA: 2 x 8 x 2; AVX: 8 x 2; else SSE 4 x 2), assuming two FMA units per core. A figure to
    read the measured peaks against; MFU is taken against the measured ones."""
    flags, mhz = set(), 0.0
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "flags" and not flags:
                    flags = set(value.split())
                elif key.strip() == "cpu MHz" and not mhz:
                    mhz = float(value)
    except (OSError, ValueError):
        return {"nominal_peak_gflops": None, "nominal_peak_basis": "unknown (no /proc/cpuinfo)"}
    if "avx512f" in flags:
        per, isa = 64, "AVX-512 FMA"
    elif "avx2" in flags and "fma" in flags:
        per, isa = 32, "AVX2 FMA"
    elif "avx" in flags:
        per, isa = 16, "AVX"
    else:
        per, isa = 8, "SSE"
    cores = os.cpu_count() or 1
    return {"nominal_peak_gflops": round(cores * mhz / 1000 * per, 1),
            "nominal_peak_basis": f"{cores} cores x {mhz / 1000:.2f} GHz x {per} FLOP/cycle ({isa}, two FMA units)"}


def _loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def measure_preset(preset: str, steps: int, threads: int = 0, log_every: int = 10,
                   matmul_n: int = 2048) -> dict[str, Any]:
    """All figures for one preset, in this process (the child's work)."""
    import torch

    from . import measure as M
    if threads > 0:
        torch.set_num_threads(threads)
    peak = M.matmul_peak_gflops(matmul_n)
    cfg = M.bench_config(preset, max(steps, 2 * log_every), log_every)
    dataset, synthetic = M.bench_data(cfg)
    try:
        flops = M.step_flops(cfg, dataset)
        steps_per_s, intervals = M.train_speed(cfg, dataset)
        rss_train = M.peak_rss_mb()
        recipe = M.bench_trainer(cfg, dataset).recipe
        sample = M.sample_speed(recipe)
        onnx = M.onnx_sample_speed(recipe)
    finally:
        M.cleanup()
    return {"data": dataset.name, "synthetic_data": synthetic, "shape": list(dataset.shape),
            "batch": cfg.train.batch, "threads": torch.get_num_threads(), "peak_gflops_child": round(peak, 1),
            "train_steps_per_s": round(steps_per_s, 3), "train_samples_per_s": round(steps_per_s * cfg.train.batch, 1),
            "timed_intervals": intervals, "flops_per_step": flops,
            "achieved_gflops": round(flops * steps_per_s / 1e9, 4),
            "sample_images_per_s": round(sample, 1), "onnx_images_per_s": None if onnx is None else round(onnx, 1),
            "peak_rss_mb": round(rss_train, 1), "peak_rss_with_sampling_mb": round(M.peak_rss_mb(), 1)}


def _child(preset: str, steps: int, threads: int, matmul_n: int, queue) -> None:
    try:
        queue.put(("ok", measure_preset(preset, steps, threads, matmul_n=matmul_n)))
    except GanforgeError as e:
        queue.put(("error", f"{type(e).__name__}: {e}"))
    except Exception as e:  # a crash in one preset should not lose the others' figures
        queue.put(("error", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"))


def _result(proc, queue) -> tuple[str, Any]:
    """The child's message, or an error when it died without one (a crash, the OOM killer)."""
    import queue as queue_mod
    while True:
        try:
            return queue.get(timeout=1.0)
        except queue_mod.Empty:
            if not proc.is_alive() and queue.empty():
                return "error", f"the measuring process exited with code {proc.exitcode}"


def run_bench(presets: list[str], steps: int = 60, threads: int = 0, matmul_n: int = 2048) -> dict[str, Any]:
    """Measure every preset in its own spawned process; returns the JSON-able result."""
    import torch

    from ..config import PRESETS
    from ..core.errors import ConfigError
    from .measure import conv_peak_gflops, matmul_peak_gflops
    unknown = [p for p in presets if p not in PRESETS and not os.path.isfile(p)]
    if unknown:
        raise ConfigError(f"unknown preset '{unknown[0]}' for bench (see `ganforge presets`)")
    if threads > 0:
        torch.set_num_threads(threads)
    machine = machine_info()
    peaks = [matmul_peak_gflops(matmul_n)]
    ctx = mp.get_context("spawn")
    results: dict[str, Any] = {}
    for preset in presets:
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(preset, steps, threads, matmul_n, queue))
        proc.start()
        kind, value = _result(proc, queue)
        proc.join()
        results[preset] = value if kind == "ok" else {"error": value}
        if kind == "ok":
            peaks.append(value["peak_gflops_child"])
    peaks.append(matmul_peak_gflops(matmul_n))
    peak = max(peaks)
    conv_peaks = [conv_peak_gflops() for _ in range(2)]
    fp32_peak = max(peak, *conv_peaks)
    for r in results.values():
        if "error" not in r:
            r["mfu"] = round(r["achieved_gflops"] / fp32_peak, 5)
            r["mfu_matmul"] = round(r["achieved_gflops"] / peak, 5)
    machine["loadavg_end"] = _loadavg()
    return {"machine": machine, "matmul_peak_gflops": round(peak, 1), "matmul_size": matmul_n,
            "matmul_peak_all_gflops": [round(p, 1) for p in peaks],
            "conv_peak_gflops": round(max(conv_peaks), 1), "peak_gflops": round(fp32_peak, 1),
            "presets": results}


def format_table(res: dict[str, Any]) -> str:
    """A Markdown table of :func:`run_bench`'s result (also readable on a terminal)."""
    m = res["machine"]
    lines = [f"machine: {m['cpu']}, {m['logical_cores']} logical cores, torch {m['torch']}, "
             f"{m['torch_threads']} threads, OMP_WAIT_POLICY={m['omp_wait_policy'] or 'unset'}, "
             f"load average {m['loadavg_start']} -> {m.get('loadavg_end')}",
             f"fp32 matmul peak (best {res.get('matmul_size', 2048)}^3): {res['matmul_peak_gflops']} GFLOP/s "
             f"(all measurements: {res['matmul_peak_all_gflops']}); fp32 convolution peak: "
             f"{res.get('conv_peak_gflops')} GFLOP/s; MFU against the larger, {res.get('peak_gflops')} GFLOP/s "
             f"(nominal peak {m.get('nominal_peak_gflops')} GFLOP/s = {m.get('nominal_peak_basis')}; "
             "MFU uses the measured peak)", "",
             "| preset | data | batch | train samples/s | GFLOP/step | GFLOP/s | MFU | MFU vs matmul | sample img/s | "
             "ONNX img/s | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in res["presets"].items():
        if "error" in r:
            lines.append(f"| {name} | error: {r['error']} ||||||||||")
            continue
        data = f"{r['data']} {'x'.join(map(str, r['shape']))}"
        onnx = "-" if r["onnx_images_per_s"] is None else f"{r['onnx_images_per_s']:,.0f}"
        lines.append(f"| {name} | {data} | {r['batch']} | {r['train_samples_per_s']:,.0f} | "
                     f"{r['flops_per_step'] / 1e9:.3f} | {r['achieved_gflops']:.1f} | {100 * r['mfu']:.1f}% | "
                     f"{100 * r.get('mfu_matmul', r['mfu']):.1f}% | {r['sample_images_per_s']:,.0f} | {onnx} | "
                     f"{r['peak_rss_mb']:,.0f} |")
    return "\n".join(lines)


def write_json(res: dict[str, Any], path: str) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write_bytes(path, json.dumps(res, indent=2).encode())
    return path


__all__ = ["run_bench", "measure_preset", "format_table", "write_json", "machine_info", "DEFAULT_PRESETS"]
