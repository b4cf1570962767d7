"""Truncation at sampling time: `ganforge sample --truncation`, the Python API and `ganforge eval --truncation`."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import ganforge
from ganforge.core.errors import ConfigError
from ganforge.evaluation import evaluate_run


def gf(*args):
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("trunc") / "run"
    ganforge.train("digits", steps=30, out=str(out), progress=False,
                   overrides=["model.z_dim=8", "model.g_width=16", "model.d_width=16", "train.batch=32",
                              "train.sample_every=0"])
    return str(out)


def test_psi_zero_draws_the_mean_image_and_psi_scales_z(run):
    g = ganforge.load(run)
    full = g.sample(seeds=list(range(8)), numpy=True)["x"]
    mean = g.sample(seeds=list(range(8)), truncation=0.0, numpy=True)["x"]
    assert np.ptp(mean.astype(int), axis=0).max() == 0      # every latent pulled to the origin: one image
    assert np.ptp(full.astype(int), axis=0).max() > 0
    half, inputs = g.recipe.sample(seeds=[3, 4], conditions={"truncation": 0.5})
    z = g.recipe.sample_inputs(seeds=[3, 4])["z"]
    assert torch.allclose(inputs["z"], 0.5 * z)
    assert torch.allclose(half, g.recipe.generate({"z": 0.5 * z}))
    same = g.sample(seeds=[3, 4], truncation=1.0, numpy=True)["x"]
    assert np.array_equal(same, full[3:5])


def test_truncation_narrows_the_samples(run):
    g = ganforge.load(run)
    spread = [float(g.sample(256, seed=1, truncation=psi).flatten(1).std(0).mean()) for psi in (1.0, 0.5, 0.1)]
    assert spread[0] > spread[1] > spread[2]


@pytest.mark.parametrize("psi", [-0.5, "abc", float("nan"), float("inf")])
def test_bad_psi_is_one_clear_error(run, psi):
    g = ganforge.load(run)
    with pytest.raises(ConfigError, match="psi"):
        g.sample(4, truncation=psi)


def test_cli_sample_and_refusal(run, tmp_path):
    out = tmp_path / "s.npz"
    r = gf("sample", run, "--n", "6", "--truncation", "0.7", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert np.load(out)["x"].shape == (6, 1, 8, 8)
    bad = gf("sample", run, "--n", "6", "--truncation", "-1", "--out", str(tmp_path / "b.npz"))
    assert bad.returncode != 0 and "psi" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b.npz").exists()


def test_eval_one_row_per_level(run, tmp_path):
    res = evaluate_run(run, n=300, truncation="0.3,1", metrics="fd,pr", json_path=str(tmp_path / "e.json"))
    rows = res["by_truncation"]
    assert [r["psi"] for r in rows] == [0.3, 1.0]
    assert res["metrics"]["fd"] == rows[1]["fd"]             # the main figures are psi 1's
    assert rows[0]["fd"] != rows[1]["fd"] and rows[0]["recall"] <= rows[1]["recall"]
    assert json.load(open(tmp_path / "e.json"))["protocol"]["truncation"] == [0.3, 1.0]
    assert "by truncation" in res["text"]
    assert res["files"] == [str(tmp_path / "e.png")] and (tmp_path / "e.png").stat().st_size > 1000
    with pytest.raises(ConfigError, match="psi"):
        evaluate_run(run, n=300, truncation="0.5,x")


def test_runs_without_latents_refuse(tmp_path, tiny):
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(["to be or not to be", "that is the question"] * 20))
    res = ganforge.train("text", data=str(corpus), steps=2, out=str(tmp_path / "t"), progress=False,
                         overrides=["text.adversarial=false", "text.hidden=16", "train.batch=8",
                                    "train.sample_every=0"])
    g = ganforge.load(res.run_dir)
    with pytest.raises(ConfigError, match="truncation"):
        g.sample(2, truncation=0.5)


def test_style_generators_truncate_in_w(tmp_path):
    res = ganforge.train("digits", steps=3, out=str(tmp_path / "s"), progress=False,
                         overrides=["model.arch=style", "model.z_dim=8", "model.g_width=8", "model.d_width=8",
                                    "train.batch=8", "train.sample_every=0"])
    g = ganforge.load(res.run_dir)
    _, inputs = g.recipe.sample(seeds=[1, 2, 3], conditions={"truncation": 0.5})
    assert inputs["psi"] == 0.5 and torch.equal(inputs["z"], g.recipe.sample_inputs(seeds=[1, 2, 3])["z"])
    at_mean = g.sample(seeds=[1, 2, 3], truncation=0.0)
    assert torch.allclose(at_mean[0], at_mean[1]) and torch.allclose(at_mean[0], at_mean[2])
    G = g.recipe.nets[g.recipe.sampler_net()]
    w = G.mapping(g.recipe.sample_inputs(seeds=[1])["z"])
    assert torch.allclose(g.sample(seeds=[1], truncation=0.5), G.synthesis(G.w_avg.lerp(w, 0.5)), atol=1e-6)
