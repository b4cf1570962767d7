"""Faults a run meets in the wild: a full disk, a damaged newest checkpoint, a kill before the first
checkpoint, two processes on one run folder. Each ends in a clean recovery or one clear line."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganforge
from ganforge.cli import main
from ganforge.core import checkpoint as ckpt
from ganforge.core.errors import WriteError

TINY = ["model.z_dim=8", "model.g_width=8", "model.d_width=8", "train.batch=16", "train.log_every=5",
        "train.sample_every=0", "train.ema_warmup=5", "train.progress=false", "train.ckpt_every=10",
        "train.keep_ckpts=5"]


def weights(run) -> dict[str, torch.Tensor]:
    tensors, _ = ckpt.load(str(run))
    return {k: v for k, v in tensors.items() if k.startswith(("net.", "opt."))}


def same(a, b) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A 40-step digits run left alone."""
    return ganforge.train("digits", steps=40, out=str(tmp_path_factory.mktemp("ref") / "r"), overrides=TINY).run_dir


def one_line(capsys, code: int, needle: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err and err[-1].startswith("ganforge: error:"), err
    assert needle in err[-1], err[-1]
    return err[-1]


def test_a_full_disk_at_a_checkpoint_keeps_the_last_one_and_resumes_exactly(reference, tmp_path, monkeypatch,
                                                                            capsys):
    run = tmp_path / "r"
    real_fsync, writes = os.fsync, []

    def fsync(fd):  # the disk fills while the checkpoint of step 30 is written
        writes.append(fd)
        if any(n.startswith("ckpt-00000030") for n in os.listdir(run / "checkpoints")):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(ckpt.os, "fsync", fsync)
    code = main(["train", "digits", "--steps", "40", "--out", str(run), *sum((["--set", s] for s in TINY), [])])
    line = one_line(capsys, code, "ckpt-00000030.safetensors: no space left on the device")
    assert "free" in line and "--resume" in line
    assert sorted(os.listdir(run / "checkpoints")) == ["ckpt-00000010.safetensors", "ckpt-00000020.safetensors"]
    monkeypatch.setattr(ckpt.os, "fsync", real_fsync)   # space freed
    ganforge.resume(str(run))
    assert same(reference, run)


def test_write_errors_name_the_file_and_leave_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")
    monkeypatch.setattr(ckpt.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space")))
    with pytest.raises(WriteError, match=r"x.bin: no space left on the device \(.* free, about 5 bytes needed\)"):
        ckpt.atomic_write_bytes(str(target), b"hello")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["x.bin"]


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(reference, tmp_path, capsys, damage):
    run = tmp_path / "r"
    ganforge.train("digits", steps=30, out=str(run), overrides=TINY)
    newest = run / "checkpoints" / "ckpt-00000030.safetensors"
    data = bytearray(newest.read_bytes())
    if damage == "truncate":
        newest.write_bytes(bytes(data[:1000]))
    else:
        data[-10] ^= 0x40                                       # one bit in the tensor bytes
        newest.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "s.png")]) == 0
    err = capsys.readouterr().err
    assert "ckpt-00000030.safetensors" in err and "using ckpt-00000020.safetensors" in err and "10 steps lost" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["train", "--resume", str(run), "--steps", "40"]) == 0    # the damaged one is set aside
    assert (run / "checkpoints" / "ckpt-00000030.safetensors.damaged").exists()
    assert same(reference, run)


def test_no_valid_checkpoint_is_one_line(tmp_path, capsys):
    run = tmp_path / "r"
    ganforge.train("digits", steps=10, out=str(run), overrides=TINY)
    (run / "checkpoints" / "ckpt-00000010.safetensors").write_bytes(b"\x00" * 100)
    capsys.readouterr()
    one_line(capsys, main(["sample", str(run), "--out", str(tmp_path / "s.png")]), "no valid checkpoint in")


def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_zero(reference, tmp_path, capsys):
    run = tmp_path / "r"
    ganforge.train("digits", steps=40, out=str(run), overrides=TINY)
    for sub in ("checkpoints", "samples"):                     # what a kill in the first seconds leaves
        for name in os.listdir(run / sub):
            os.remove(run / sub / name)
    lines = (run / "stats.jsonl").read_text().splitlines()
    (run / "stats.jsonl").write_text("\n".join(lines[:3]) + "\n")  # logged before the kill
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 0
    assert "holds no checkpoint" in capsys.readouterr().err
    assert same(reference, run)
    assert (run / "stats.jsonl").read_text().count("\n") == (Path(reference) / "stats.jsonl").read_text().count("\n")


def test_sampling_refusals_are_one_line(reference, tmp_path, capsys):
    one_line(capsys, main(["sample", reference, "--n", "0", "--out", str(tmp_path / "s.png")]), "n > 0")
    one_line(capsys, main(["sample", reference, "--label", "3", "--out", str(tmp_path / "s.png")]),
             "not class-conditional")
    one_line(capsys, main(["sample", reference, "--text", "a cat", "--out", str(tmp_path / "s.png")]), "--text")


@pytest.mark.slow
def test_two_processes_on_one_run_folder(tmp_path):
    run = tmp_path / "r"
    args = [sys.executable, "-m", "ganforge", "train", "digits", "--steps", "300", "--out", str(run),
            *sum((["--set", s] for s in TINY), [])]
    procs = [subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    err = next(e for code, e in results if code == 2).strip().splitlines()
    assert len(err) == 1 and ("in use by another ganforge process" in err[0] or "already holds a run" in err[0])
    assert ckpt.load(str(run))[1]["step"] == 300
