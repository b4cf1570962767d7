"""Measurements behind ``ganforge bench``: matmul and convolution peaks, FLOPs of a training step, step and
sampling speed.

Every training figure comes from the real engine: a :class:`~ganforge.engine.Trainer` built from the
preset and run with ``fit()``. Step speed is read from the loop's own ``it_per_s`` log lines (one per
``log_every`` steps, the first dropped as warm-up), so it includes everything the loop does per
step (phases, EMA, stat accumulation, the per-interval host sync).
"""
from __future__ import annotations

import json
import math
import os
import statistics
import tempfile
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..config import Config, resolve
from ..core.errors import DataError
from ..data import load_dataset
from ..data.dataset import Dataset

# Shapes used when a preset's data is not on this machine: speed does not depend on pixel values.
_FALLBACK_SHAPES = {"mnist": (1, 28, 28), "stacked-mnist": (3, 28, 28), "digits": (1, 8, 8)}
SYNTHETIC_N = 10_000


def matmul_peak_gflops(n: int = 2048, repeats: int = 7) -> float:
    """Best-of-``repeats`` fp32 GFLOP/s of an n x n x n matmul (2 n^3 FLOPs) with torch's threads."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # first call pays for allocation and library start-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


@torch.no_grad()
def conv_peak_gflops(repeats: int = 7) -> float:
    """Best-of-``repeats`` fp32 GFLOP/s of a large channels_last 4x4 convolution (64 x 128 x 16 x 16).

    On some CPUs (AMD with AVX-512, for one) torch's matmul library takes a narrower vector path than
    oneDNN's convolutions, so the matmul figure understates what the machine does in a GAN step and
    an MFU against it can exceed 100%. The fp32 peak used for MFU is the larger of the two."""
    x = torch.randn(64, 128, 16, 16).contiguous(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(128, 128, 4, padding=2, bias=False).to(memory_format=torch.channels_last)
    out = conv(x)  # warm-up: oneDNN picks and caches its kernel on the first call
    flops = 2 * out.numel() * 128 * 16
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        conv(x)
        best = min(best, time.perf_counter() - t)
    return flops / best / 1e9


def bench_config(preset: str, steps: int, log_every: int, overrides: dict | None = None) -> Config:
    """The preset as a benchmark runs it: no progress bar, samples and checkpoints only at the end."""
    ov = {"train.steps": steps, "train.log_every": log_every, "train.sample_every": 0,
          "train.ckpt_every": 0, "train.progress": "false", "train.n_grid": 1, "eval.every": 0}
    ov.update(overrides or {})
    return resolve(preset, ov)


def bench_data(cfg: Config) -> tuple[Dataset, bool]:
    """(data set, synthetic?): the preset's own data when found, else uniform noise of its shape."""
    try:
        return load_dataset(cfg, seed=cfg.train.seed), False
    except DataError:
        shape = _FALLBACK_SHAPES.get(cfg.data.source)
        if shape is None and cfg.data.source == "folder":
            side = cfg.data.size or 32
            shape = (cfg.data.channels or 3, side, side)
        if shape is None:
            raise
        x = torch.rand(SYNTHETIC_N, *shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
        return Dataset(x, None, "image", f"synthetic-{cfg.data.source}", (0.0, 255.0), None), True


_RUN_DIRS: list[str] = []


def bench_trainer(cfg: Config, dataset: Dataset):
    """A Trainer in a scratch run folder, removed by :func:`cleanup`."""
    from ..engine import Trainer
    _RUN_DIRS.append(tempfile.mkdtemp(prefix="ganforge-bench-"))
    return Trainer(cfg, _RUN_DIRS[-1], dataset)


def cleanup() -> None:
    import shutil
    while _RUN_DIRS:
        shutil.rmtree(_RUN_DIRS.pop(), ignore_errors=True)


class _NoModuleTracking:
    """Stands in for FlopCounterMode's module tracker: only the global total is read here. The
    tracker puts backward hooks on every module input, and autograd.grad with respect to a leaf
    input (R1, R2, gradient penalty) then fails inside torch ("A leaf node was passed to
    _will_engine_execute_node ...")."""
    parents = ("Global",)

    def __enter__(self):
        return self

    def __exit__(self, *args) -> None:
        return None


def _flop_counter() -> FlopCounterMode:
    fc = FlopCounterMode(display=False)
    fc.mod_tracker = _NoModuleTracking()
    return fc


def step_flops(cfg: Config, dataset: Dataset) -> float:
    """Model FLOPs of one training step (all due phases, forward and backward), averaged over a
    full cycle of phase intervals; the end-of-run sample grid is counted apart and taken off."""
    from ..config import from_dict
    cfg = from_dict(cfg.to_dict())  # a private copy: steps are set below
    trainer = bench_trainer(cfg, dataset)
    cycle = 1
    for phase in trainer.phases:
        cycle = cycle * phase.interval // math.gcd(cycle, phase.interval)
    cfg.train.steps = cycle
    with _flop_counter() as grid_fc:
        trainer.recipe.generate(trainer.grid_inputs)
    with _flop_counter() as fc:
        trainer.fit()
    return (fc.get_total_flops() - grid_fc.get_total_flops()) / cycle


def train_speed(cfg: Config, dataset: Dataset) -> tuple[float, int]:
    """(median steps/s over the logged intervals after the first, intervals used)."""
    trainer = bench_trainer(cfg, dataset)
    trainer.fit()
    with open(os.path.join(trainer.run_dir, "stats.jsonl")) as f:
        rates = [row["it_per_s"] for row in map(json.loads, f) if "it_per_s" in row]
    rates = rates[1:] if len(rates) > 1 else rates
    return statistics.median(rates), len(rates)


@torch.no_grad()
def sample_speed(recipe, n: int = 8192, batch: int = 1024, repeats: int = 5) -> float:
    """Median images (or vectors) per second drawn from the sampling network (G_ema)."""
    inputs = recipe.sample_inputs(n, seed=0)
    recipe.generate(inputs, batch=batch)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        recipe.generate(inputs, batch=batch)
        times.append(time.perf_counter() - t)
    return n / statistics.median(times)


def onnx_sample_speed(recipe, n: int = 8192, batch: int = 1024, repeats: int = 5) -> float | None:
    """Median samples/s of the exported ONNX generator under onnxruntime; None without onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    from ..export.onnx import export_module
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "g.onnx")
        export_module(recipe, path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = torch.get_num_threads()
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        inputs = {k: v.cpu().numpy() for k, v in recipe.sample_inputs(batch, seed=0).items()}
        sess.run(None, inputs)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(n // batch):
                sess.run(None, inputs)
            times.append(time.perf_counter() - t)
    return (n // batch) * batch / statistics.median(times)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    import resource
    import sys
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
