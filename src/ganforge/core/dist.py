"""Data-parallel training on torch.distributed: one process per rank, each taking its shard of the batch.

Launched by ``ganforge train PRESET --nproc N`` (one machine) or by ``torchrun`` directly (several
machines); torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT) is read here.
gloo carries CPU tensors, nccl CUDA tensors.

Gradients are averaged by an explicit all_reduce after each phase's backward rather than by
wrapping networks in DistributedDataParallel: a recipe calls its networks freely (D twice per D
phase, G under no_grad, D frozen in the G phase), which DDP's one-forward-one-backward bookkeeping
does not allow, and the loop must not name a network to wrap. With equal shards of a batch-mean
loss, the mean of the ranks' gradients is the full-batch gradient, so a run on N ranks follows the
one-process run with the same global batch (up to float summation order and per-rank noise).

Without torchrun every helper is a no-op for rank 0 of a world of 1.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.distributed as dist

from . import errors
from .errors import ConfigError, GanforgeError


def _env_world() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def init_from_env(device_name: str = "auto") -> bool:
    """Join the process group torchrun set up (once); False when not launched by torchrun."""
    if _env_world() <= 1 or not dist.is_available():
        return False
    if dist.is_initialized():
        return True
    use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))  # "cuda" then means this rank's GPU
    if device_name == "mps":
        raise ConfigError("distributed training runs on cpu (gloo) or cuda (nccl); use --device cpu or cuda")
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return True


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard_batch(global_batch: int) -> int:
    """Examples per rank for a global batch of ``global_batch`` (train.batch is the global batch)."""
    n = world()
    if global_batch % n:
        raise ConfigError(f"train.batch={global_batch} does not split over {n} processes; "
                          f"use a multiple of {n}, e.g. --set train.batch={max(n, global_batch // n * n)}")
    return global_batch // n


def noise_seed(seed: int) -> int:
    """Seed of this rank's noise stream: seed * world + rank (equal to ``seed`` in one process)."""
    return seed * world() + rank()


@torch.no_grad()
def broadcast_modules(modules: Iterable[torch.nn.Module]) -> None:
    """Make every rank start from rank 0's parameters and buffers."""
    if not active():
        return
    for m in modules:
        for t in list(m.parameters()) + list(m.buffers()):
            dist.broadcast(t.data, src=0)


@torch.no_grad()
def average_grads(params: Iterable[torch.nn.Parameter]) -> None:
    """Replace each gradient by its mean over ranks: one flat all_reduce per call."""
    if not active():
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])  # one message instead of one per tensor
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def mean_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """The element-wise mean of ``values`` over ranks (logged statistics of the global batch)."""
    if not active():
        return values
    out = values.detach().float().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / world()


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (a run folder path, say)."""
    if not active():
        return obj
    box = [obj if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def on_main(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on rank 0 alone and hand its result to every rank; a user error raised there is
    raised on every rank, so no rank waits forever for a result that never comes."""
    if not active():
        return fn()
    result: tuple[str, Any] = ("ok", None)
    if is_main():
        try:
            result = ("ok", fn())
        except GanforgeError as e:
            result = (type(e).__name__, str(e))
    kind, value = broadcast_object(result)
    if kind != "ok":
        raise getattr(errors, kind, GanforgeError)(value)
    return value


def reseed_noise(gen: torch.Generator, seed: int, step: int) -> None:
    """Restart the noise stream of a rank > 0 at a checkpoint ``step``; rank 0 keeps its stream.

    A checkpoint stores rank 0's stream only (state() needs no collective), so every other rank
    restarts its stream from (seed, rank, step) both when a checkpoint is written and when one is
    loaded: resuming on the same number of ranks then continues exactly as an unbroken run.
    """
    if rank() > 0:
        gen.manual_seed(noise_seed(seed) * 1_000_003 + 1 + 7_919 * step)


def launch(nproc: int, argv: list[str]) -> int:
    """Re-run this ``ganforge`` command as ``nproc`` local ranks under torch.distributed.run."""
    if nproc < 1:
        raise ConfigError(f"--nproc must be at least 1, got {nproc}")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "ganforge", *strip_option(argv, "--nproc")]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))  # no oversubscription
    return subprocess.call(cmd, env=env)


def strip_option(argv: list[str], name: str) -> list[str]:
    """``argv`` without ``name VALUE`` / ``name=VALUE``."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(name + "="):
            out.append(arg)
    return out


class NullWriter:
    """Stands in for the stats writer on ranks > 0: only rank 0 writes logs."""

    def write(self, step: int, stats: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


def barrier() -> None:
    if active():
        dist.barrier()


__all__ = ["active", "rank", "world", "is_main", "init_from_env", "shutdown", "shard_batch", "noise_seed",
           "broadcast_modules", "average_grads", "mean_over_ranks", "broadcast_object", "on_main", "reseed_noise",
           "NullWriter", "barrier", "launch"]
