"""The command line: every preset smoke-runs, errors are one line with a non-zero exit."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

TINY = ["--set", "model.z_dim=8", "--set", "model.g_width=8", "--set", "model.d_width=8",
        "--set", "train.batch=16", "--set", "train.log_every=2", "--no-progress"]


def gf(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def assert_one_line_error(r, needle):
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganforge: error:"), r.stderr
    assert needle in lines[0], lines[0]


@pytest.mark.parametrize("preset, extra", [
    ("digits", []), ("digits-cond", []), ("ring8", ["--set", "data.n_points=1000"]),
    ("grid25", ["--set", "data.n_points=1000"]),
])
@pytest.mark.slow
def test_builtin_presets_smoke(tmp_path, preset, extra):
    run = tmp_path / "run"
    r = gf("train", preset, "--steps", "4", "--out", str(run), *TINY, *extra)
    assert r.returncode == 0, r.stderr
    r = gf("info", str(run))
    assert r.returncode == 0 and "steps      4 / 4" in r.stdout, r.stdout + r.stderr
    r = gf("sample", str(run), "--n", "9", "--out", str(tmp_path / "s.png"))
    assert r.returncode == 0 and Image.open(tmp_path / "s.png").size[0] > 0


@pytest.mark.slow
def test_mnist_preset_smoke(tmp_path, datasets_dir):
    env = dict(os.environ, GANFORGE_DATA=datasets_dir)
    r = gf("train", "mnist", "--steps", "3", "--out", str(tmp_path / "m"), *TINY, env=env)
    assert r.returncode == 0, r.stderr
    r = gf("sample", str(tmp_path / "m"), "--n", "5", "--out", str(tmp_path / "m.npz"))
    x = np.load(tmp_path / "m.npz")["x"]
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.uint8


@pytest.mark.slow
def test_folder_preset_smoke(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        d = tmp_path / "imgs" / cls
        d.mkdir(parents=True)
        for i in range(20):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(d / f"{i}.png")
    r = gf("train", "folder", "--data", str(tmp_path / "imgs"), "--steps", "3", "--out", str(tmp_path / "f"),
           "--set", "data.size=16", *TINY)
    assert r.returncode == 0, r.stderr
    r = gf("sample", str(tmp_path / "f"), "--seeds", "0-5", "--out", str(tmp_path / "f.npz"))
    assert np.load(tmp_path / "f.npz")["x"].shape == (6, 3, 16, 16)


@pytest.mark.slow
def test_dry_run_prints_resolved_config(tmp_path):
    r = gf("train", "digits", "--dry-run", "--steps", "9", "--set", "optim.d_lr=0.0004", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cfg = json.loads(r.stdout)
    assert cfg["train"]["steps"] == 9 and cfg["optim"]["d_lr"] == 0.0004
    assert "why" not in cfg and "# preset digits: an MLP" in r.stderr   # the preset's reasons, on stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_sample_seeds_npz_and_labels(tmp_path):
    run = tmp_path / "c"
    assert gf("train", "digits-cond", "--steps", "3", "--out", str(run), *TINY).returncode == 0
    r = gf("sample", str(run), "--seeds", "0-11", "--out", str(tmp_path / "a.npz"))
    assert r.returncode == 0, r.stderr
    a = np.load(tmp_path / "a.npz")
    assert a["x"].shape == (12, 1, 8, 8) and a["y"].tolist() == [s % 10 for s in range(12)]
    gf("sample", str(run), "--seeds", "5", "--out", str(tmp_path / "b.npz"))
    assert np.array_equal(np.load(tmp_path / "b.npz")["x"][0], a["x"][5])


@pytest.mark.parametrize("args, needle", [
    (["train", "digitz"], "did you mean 'digits'"),
    (["train", "digits", "--set", "optim.lrr=1"], "did you mean"),
    (["train", "digits", "--set", "train.steps=x"], "expects int"),
    (["train", "folder", "--data", "/no/such/folder"], "/no/such/folder"),
    (["train", "--resume", "/no/such/run"], "no such run"),
    (["sample", "/no/such/run"], "no such run"),
    (["info", "/no/such/run"], "no such run"),
    (["train", "digits", "--set", "model.conditional=true", "--set", "data.labels=false", "--steps", "2"],
     "labelled data"),
])
@pytest.mark.slow
def test_user_errors_are_one_line(tmp_path, args, needle):
    assert_one_line_error(gf(*args, cwd=tmp_path), needle)
    assert not (tmp_path / "runs").exists() or not os.listdir(tmp_path / "runs")


@pytest.mark.slow
def test_sample_from_empty_run_and_bad_out(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(gf("sample", str(tmp_path / "empty")), "holds no checkpoint")
    run = tmp_path / "r"
    assert gf("train", "digits", "--steps", "2", "--out", str(run), *TINY).returncode == 0
    assert_one_line_error(gf("sample", str(run), "--out", str(tmp_path / "x.jpg")), ".png or .npz")
    assert_one_line_error(gf("sample", str(run), "--seeds", "a-b"), "--seeds")


def test_omp_wait_policy_follows_the_load(monkeypatch):
    from ganforge import cli
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setattr(cli.os, "getloadavg", lambda: (64.0, 0.0, 0.0))
    cli._choose_omp_wait_policy()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"      # busy machine: workers sleep
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setattr(cli.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    cli._choose_omp_wait_policy()
    assert "OMP_WAIT_POLICY" not in os.environ             # idle machine: OpenMP's own default
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setattr(cli.os, "getloadavg", lambda: (64.0, 0.0, 0.0))
    cli._choose_omp_wait_policy()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"       # the user's choice wins
