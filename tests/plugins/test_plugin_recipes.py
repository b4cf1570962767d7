"""Two modalities added from outside src/ (ganforge_toyseq.py, ganforge_toypair.py in this folder), installed
through the ``ganforge.recipes`` entry point group, and driven end to end through the public CLI and API:
train -> SIGKILL + resume (bit-exact) -> sample -> eval -> report -> export."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.core import checkpoint as ckpt

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
FAST = ["--no-progress", "--set", "train.threads=1"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """An environment where the two plug-ins are installed: a .dist-info folder naming their modules."""
    site = tmp_path_factory.mktemp("site")
    dist = site / "ganforge_toys-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ganforge-toys\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[ganforge.recipes]\ntoyseq = ganforge_toyseq\n"
                                           "toypair = ganforge_toypair\n")
    paths = [str(site), str(HERE)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def gf(env, *args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True)


def one_line_error(r: subprocess.CompletedProcess, needle: str) -> None:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("ganforge: error:"), r.stderr
    assert needle in lines[0], lines[0]


def nets(run: Path) -> dict[str, torch.Tensor]:
    tensors, meta = ckpt.load(str(run))
    return {k: v for k, v in tensors.items() if k.startswith(("net.", "opt."))}, meta


def stats(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("it_per_s", "time")} for r in rows]


def train_killed_and_resumed(env, run: Path, args: list[str]) -> int:
    """Train with one SIGKILL at a random moment after the first checkpoint, then resume to the end."""
    cmd = [sys.executable, "-m", "ganforge", "train", *args, "--out", str(run), *FAST]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while p.poll() is None and not ckpt.list_checkpoints(str(run / "checkpoints")):
        time.sleep(0.01)
    time.sleep(random.Random(7).uniform(0.0, 0.2))
    killed = p.poll() is None
    if killed:
        p.send_signal(signal.SIGKILL)
    p.wait()
    r = gf(env, "train", "--resume", run, "--no-progress")
    assert r.returncode == 0, r.stderr
    return int(killed)


def assert_same_run(a: Path, b: Path) -> dict:
    ta, meta = nets(a)
    tb, _ = nets(b)
    assert ta.keys() == tb.keys()
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k
    assert stats(a) == stats(b)
    return meta


# ------------------------------------------------------------------------------------------------ toyseq

def test_a_new_modality_from_a_plugin_end_to_end(env, tmp_path):
    r = gf(env, "presets")
    assert r.returncode == 0 and "toyseq" in r.stdout and "toypair" in r.stdout, r.stderr
    r = gf(env, "train", "toyseq", "--dry-run", "--set", "toyseq.vocab=5")
    cfg = json.loads(r.stdout)
    assert cfg["toyseq"]["vocab"] == 5 and cfg["toyseq"]["hidden"] == 20      # prepare derived it from the data
    assert "toyseq.hidden = 20" in r.stderr
    one_line_error(gf(env, "train", "toyseq", "--dry-run", "--set", "toyseq.vocb=5"), "did you mean 'toyseq.vocab'")

    ref, run = tmp_path / "ref", tmp_path / "run"
    r = gf(env, "train", "toyseq", "--out", ref, *FAST)
    assert r.returncode == 0, r.stderr
    assert train_killed_and_resumed(env, run, ["toyseq"]) == 1, "the run ended before the kill; make it longer"
    meta = assert_same_run(ref, run)
    assert meta["step"] == 300 and meta["recipe"] == "toyseq"
    derived = json.loads((run / "data.json").read_text())["derived"]
    assert derived == [{"key": "toyseq.hidden", "value": 24, "why": "four units per token value (6 values)"}]

    grids = sorted((run / "samples").iterdir())
    assert [g.name for g in grids][-1] == "grid-00000300.txt"               # the recipe's own writer
    lines = grids[-1].read_text().splitlines()
    assert len(lines) == 16 and all(len(line.split()) == 8 for line in lines)

    r = gf(env, "sample", ref, "--n", "5", "--seed", "3", "--out", tmp_path / "s.txt")
    assert r.returncode == 0, r.stderr
    seqs = np.array([[int(t) for t in line.split()] for line in (tmp_path / "s.txt").read_text().splitlines()])
    assert seqs.shape == (5, 8) and seqs.min() >= 0 and seqs.max() < 6
    assert gf(env, "sample", ref, "--n", "5", "--seed", "3", "--out", tmp_path / "s.npz").returncode == 0
    assert np.array_equal(np.load(tmp_path / "s.npz")["x"], seqs)
    one_line_error(gf(env, "sample", ref, "--out", tmp_path / "s.png"), "writes .txt or .npz files")
    one_line_error(gf(env, "sample", ref, "--label", "1", "--out", tmp_path / "s.txt"), "takes no --label")

    r = gf(env, "eval", ref, "--n", "300", "--metrics", "fd,pr")
    assert r.returncode == 0, r.stderr
    res = json.loads(Path(r.stdout.strip().splitlines()[-1].split("written: ")[1]).read_text())
    assert res["protocol"]["extractor"] == "toyseq-stats" and res["protocol"]["extractor_dim"] == 8 * 6 + 6
    assert res["metrics"]["fd"] > res["metrics"]["fd_floor"] >= 0

    r = gf(env, "report", ref)
    assert r.returncode == 0, r.stderr
    assert "<pre>" in (ref / "report.html").read_text()                    # text grids shown as text

    assert gf(env, "export", ref, "--format", "hf", "--out", tmp_path / "hf").returncode == 0
    index = json.loads((tmp_path / "hf" / "model_index.json").read_text())
    assert list(index["components"]) == ["generator"] and index["recipe"] == "toyseq"
    assert gf(env, "sample", tmp_path / "hf", "--n", "5", "--seed", "3", "--out", tmp_path / "h.npz").returncode == 0
    assert np.array_equal(np.load(tmp_path / "h.npz")["x"], seqs)

    # the Python API, with the plug-in registered by importing it
    sys.path.insert(0, str(HERE))
    try:
        import ganforge_toyseq  # noqa: F401

        import ganforge
        g = ganforge.load(ref)
        assert np.array_equal(g.sample(5, seed=3, numpy=True)["x"], seqs)
        ort = pytest.importorskip("onnxruntime")
        pytest.importorskip("onnx")
        r = gf(env, "export", ref, "--out", tmp_path / "g.onnx")
        assert r.returncode == 0, r.stderr
        sess = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
        z = g.recipe.sample_inputs(5, seed=3)["z"]
        assert [i.name for i in sess.get_inputs()] == ["z"]
        assert np.array_equal(sess.run(None, {"z": z.numpy()})[0], seqs)
    finally:
        sys.path.remove(str(HERE))


# ------------------------------------------------------------------------------------------------ toypair

def _encoder(path: Path, seed: int) -> str:
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(seed)
    save_file({"weight": torch.randn(8, 16, generator=g), "bias": torch.zeros(8)}, str(path))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_paired_plugin_with_two_generators_and_a_frozen_network(env, tmp_path):
    enc = tmp_path / "encoder.safetensors"
    sha = _encoder(enc, 0)
    args = ["toypair", "--set", f"toypair.encoder={enc}"]
    ref, run = tmp_path / "ref", tmp_path / "run"
    r = gf(env, "train", *args, "--out", ref, *FAST)
    assert r.returncode == 0, r.stderr
    assert train_killed_and_resumed(env, run, args) == 1, "the run ended before the kill; make it longer"
    meta = assert_same_run(ref, run)

    tensors, meta = ckpt.load(str(ref))
    assert not [k for k in tensors if "encoder" in k]                     # frozen: not in the checkpoint
    assert {k.split(".")[1] for k in tensors if k.startswith("net.")} == {"G_AB", "G_BA", "D_A", "D_B",
                                                                          "G_AB_ema", "G_BA_ema"}
    assert meta["frozen"] == {"encoder": {"file": str(enc), "sha256": sha}}

    grids = sorted((ref / "samples").glob("grid-*.npz"))
    first, last = np.load(grids[0]), np.load(grids[-1])
    assert np.array_equal(first["source"], last["source"])                # the same fixed real sources
    assert first["x"].shape == (8, 16) and not np.allclose(first["x"], last["x"])

    src = np.sin(np.linspace(0, 3, 16, dtype=np.float32))[None].repeat(3, 0) * np.array([[0.2], [0.5], [0.8]],
                                                                                         dtype=np.float32)
    np.savez(tmp_path / "in.npz", x=src)
    r = gf(env, "sample", ref, "--input", tmp_path / "in.npz", "--out", tmp_path / "t.npz")
    assert r.returncode == 0, r.stderr
    out = np.load(tmp_path / "t.npz")
    assert out["x"].shape == (3, 16) and np.allclose(out["source"], src)
    # trained to reverse and negate: closer to the true partner than the untranslated input is
    assert np.abs(out["x"] - (-src[:, ::-1])).mean() < np.abs(src - (-src[:, ::-1])).mean()
    one_line_error(gf(env, "sample", ref, "--out", tmp_path / "t.npz"), "give --input FILE")
    one_line_error(gf(env, "sample", ref, "--label", "2", "--input", tmp_path / "in.npz"), "takes no --label")

    r = gf(env, "eval", ref, "--metrics", "fd")
    assert r.returncode == 0, r.stderr
    assert gf(env, "report", ref).returncode == 0

    assert gf(env, "export", ref, "--format", "hf", "--out", tmp_path / "hf").returncode == 0
    index = json.loads((tmp_path / "hf" / "model_index.json").read_text())
    assert set(index["components"]) == {"G_AB", "G_BA"}                  # both generators, whole
    assert index["frozen"]["encoder"]["sha256"] == sha
    assert (tmp_path / "hf" / "frozen" / "encoder.safetensors").read_bytes() == enc.read_bytes()
    moved = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "hf", moved)
    enc.rename(tmp_path / "gone.safetensors")                              # the model folder needs no outside file
    r = gf(env, "sample", moved, "--input", tmp_path / "in.npz", "--out", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.load(tmp_path / "m.npz")["x"], out["x"])
    one_line_error(gf(env, "sample", ref, "--input", tmp_path / "in.npz", "--out", tmp_path / "m.npz"),
                   "frozen network weights not found")
    _encoder(enc, 1)                                                        # another file at the same path
    one_line_error(gf(env, "train", "--resume", ref, "--steps", "320"), "not the file")

    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    _encoder(enc, 0)
    r = gf(env, "export", ref, "--out", tmp_path / "pair.onnx")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.glob("pair-*.onnx")) == ["pair-G_AB.onnx", "pair-G_BA.onnx"]
    sess = ort.InferenceSession(str(tmp_path / "pair-G_AB.onnx"), providers=["CPUExecutionProvider"])
    assert np.allclose(sess.run(None, {"a": src})[0], out["x"], atol=1e-5)
