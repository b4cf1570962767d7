"""Data-parallel training: 2 gloo processes on CPU against one process with the same global batch.

Why the two runs can be compared at all:
- data: rank r of 2 takes the r-th half of the one-process batch (BatchSource's rank/world slicing);
- noise: ranks normally draw their own streams (seed * world + rank); here each rank draws the
  one-process stream's noise for the whole global batch and keeps its half, so both runs see the
  same latents;
- networks: D with spectral norm and G without batch norm, so no layer computes statistics over
  the batch (batch-norm statistics of a half batch differ from the full batch's);
- losses are batch means, so the mean of the two ranks' gradients is the full-batch gradient.
What remains is float summation order (different batch sizes inside the convolutions and the
all_reduce), about 1e-7 relative per gradient. Adam divides by sqrt(v), so a component whose
gradient is near zero could move by up to lr either way; the test therefore bounds the difference
of G's weights relative to how far training moved them (and D's relative to their size) by 1e-4.
Measured: 4e-7; without the gradient average 0.6 (checked below, so the test can fail).
"""
from __future__ import annotations

import os
import runpy
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file

from ganforge import api
from ganforge.core import checkpoint as ckpt
from ganforge.core import dist

WORKER = textwrap.dedent('''
    import sys, tempfile
    import torch
    from safetensors.torch import save_file
    from ganforge.config import resolve
    from ganforge.core import dist
    from ganforge.data import load_dataset
    from ganforge.engine import Trainer

    OVERRIDES = {"model.arch": "dcgan", "model.z_dim": 8, "model.g_width": 8, "model.d_width": 8,
                 "model.d_norm": "spectral", "model.g_norm": "none", "train.batch": 32, "train.steps": 3,
                 "train.ema_warmup": 0, "train.log_every": 1, "train.sample_every": 0, "train.progress": "false",
                 "train.threads": 1}

    def train_and_save(out, sync=True, shard=True):
        cfg = resolve("digits", OVERRIDES)
        data = load_dataset(cfg.data, seed=0)
        tr = Trainer(cfg, tempfile.mkdtemp(), data)
        init = {k: v.clone() for k, v in tr.recipe.nets["G"].state_dict().items()}
        rec, world, rank = tr.recipe, dist.world(), dist.rank()
        tr.gen.manual_seed(cfg.train.seed * 1_000_003 + 1)   # every rank: the one-process stream
        def latents(n):  # the global batch's noise, this rank's half of it
            z = torch.randn(n * world, rec.z_dim, generator=rec.gen)
            return z[rank * n:(rank + 1) * n], None
        rec._latents = latents
        if not sync:
            dist.average_grads = lambda params: None
        if not shard:
            tr.batches.rank, tr.batches.world = 0, 1
        tr.fit()
        if dist.is_main():
            tensors = {f"{n}.{k}": v.contiguous() for n in ("G", "D")
                       for k, v in tr.recipe.nets[n].state_dict().items()}
            tensors.update({f"init.G.{k}": v.contiguous() for k, v in init.items()})
            save_file(tensors, out)

    if __name__ == "__main__":  # under torchrun: the real run, then one without gradient averaging
        train_and_save(sys.argv[1])
        train_and_save(sys.argv[2], sync=False)
''')


def _torchrun(args: list[str], cwd: str) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", *args]
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]


def _relative_gaps(a: dict, b: dict) -> dict[str, float]:
    """Per G/D tensor: |a - b| / |a - initial| (G only has its initial weights saved)."""
    gaps = {}
    for k in a:
        if k.startswith("G.") and a[k].is_floating_point():
            moved = (a[k] - a["init." + k]).norm()
            if moved > 0:
                gaps[k] = float((a[k] - b[k]).norm() / moved)
        elif k.startswith("D.") and a[k].is_floating_point():
            gaps[k] = float((a[k] - b[k]).norm() / a[k].norm().clamp_min(1e-12))
    return gaps


@pytest.mark.slow
def test_two_ranks_follow_one_process(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    _torchrun([str(script), str(tmp_path / "two.safetensors"), str(tmp_path / "nosync.safetensors")], str(tmp_path))
    torch.set_num_threads(1)
    runpy.run_path(str(script))["train_and_save"](str(tmp_path / "one.safetensors"))
    one, two = load_file(tmp_path / "one.safetensors"), load_file(tmp_path / "two.safetensors")
    nosync = load_file(tmp_path / "nosync.safetensors")
    assert torch.equal(one["init.G.fc.weight"], two["init.G.fc.weight"])  # same start
    gaps = _relative_gaps(one, two)
    assert max(gaps.values()) < 1e-4, max(gaps.items(), key=lambda kv: kv[1])
    # without averaging, rank 0 follows its own half batch: far apart (the test can fail)
    assert max(_relative_gaps(one, nosync).values()) > 0.1


@pytest.mark.slow
def test_cli_nproc_and_resume_across_world_sizes(tmp_path, tiny):
    run = tmp_path / "run"
    api.train("digits", out=str(run), steps=2, overrides=tiny + ["model.arch=dcgan"])  # one process
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-m", "ganforge", "train", "--resume", str(run), "--steps", "4",
                          "--nproc", "2", "--no-progress"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("run: ") == 1  # rank 0 alone reports
    _, meta = ckpt.load(str(run / "checkpoints" / ckpt.ckpt_name(4)))
    assert meta["step"] == 4
    api.resume(str(run), steps=6)  # a checkpoint from two processes continues in one
    steps = [ckpt_step for ckpt_step, _ in ckpt.list_checkpoints(str(run / "checkpoints"))]
    assert steps[-1] == 6
    lines = (run / "stats.jsonl").read_text().splitlines()
    assert len(lines) == len({line for line in lines})  # no rank duplicated a log line


def test_helpers_in_one_process():
    assert not dist.active() and dist.world() == 1 and dist.is_main()
    assert dist.shard_batch(7) == 7 and dist.noise_seed(5) == 5
    assert dist.strip_option(["train", "--nproc", "2", "x", "--nproc=3"], "--nproc") == ["train", "x"]
    assert dist.on_main(lambda: "path") == "path"
    g = torch.Generator().manual_seed(1)
    state = g.get_state()
    dist.reseed_noise(g, seed=0, step=10)  # rank 0 keeps its stream
    assert torch.equal(g.get_state(), state)


def test_nproc_below_one_is_a_user_error():
    from ganforge.core.errors import ConfigError
    with pytest.raises(ConfigError):
        dist.launch(0, ["train", "digits"])
