"""`ganforge eval` and periodic evaluation: JSON with metrics, floors and the protocol."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import ganforge
from ganforge.core.errors import ConfigError
from ganforge.evaluation import evaluate_files


def gf(*args):
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ev") / "run"
    ganforge.train("digits", steps=10, out=str(out), progress=False,
                   overrides=["model.z_dim=8", "model.g_width=16", "model.d_width=16", "train.batch=32"])
    return str(out)


@pytest.mark.slow
def test_eval_run_writes_json_with_protocol(digits_run):
    r = gf("eval", digits_run, "--n", "200")
    assert r.returncode == 0, r.stderr
    assert "fd" in r.stdout and "real floor" in r.stdout
    files = os.listdir(os.path.join(digits_run, "eval"))
    res = json.load(open(os.path.join(digits_run, "eval", files[0])))
    m, p = res["metrics"], res["protocol"]
    for k in ("fd", "fd_floor", "kid", "kid_std", "precision", "recall", "density", "coverage"):
        assert isinstance(m[k], float), k
    assert m["fd"] > m["fd_floor"] >= 0  # an untrained generator is far from the data
    assert p["n_fake"] == 200 and p["n_real"] == 1797 and p["extractor"] == "digits"
    assert len(p["extractor_sha256"]) == 64 and p["seed"] == 0 and p["elapsed_s"] > 0
    assert "digits" in p["reference"]


def test_eval_two_npz_files(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "a.npz", x=rng.normal(size=(400, 5)).astype(np.float32))
    np.savez(tmp_path / "b.npz", x=rng.normal(size=(400, 5)).astype(np.float32))
    np.savez(tmp_path / "c.npz", x=(rng.normal(size=(400, 5)) + 3).astype(np.float32))
    same = evaluate_files(str(tmp_path / "a.npz"), str(tmp_path / "b.npz"), metrics="fd,pr")
    far = evaluate_files(str(tmp_path / "a.npz"), str(tmp_path / "c.npz"), metrics="fd,pr",
                         json_path=str(tmp_path / "r.json"))
    assert same["metrics"]["fd"] < 1.0 < far["metrics"]["fd"]
    assert far["metrics"]["precision"] < same["metrics"]["precision"]
    assert json.load(open(tmp_path / "r.json"))["protocol"]["extractor"] == "raw"


@pytest.mark.slow
def test_eval_bad_input(tmp_path, digits_run):
    np.savez(tmp_path / "a.npz", x=np.zeros((50, 5), np.float32))
    np.savez(tmp_path / "b.npz", x=np.zeros((50, 6), np.float32))
    with pytest.raises(ConfigError, match="differ in shape"):
        evaluate_files(str(tmp_path / "a.npz"), str(tmp_path / "b.npz"))
    r = gf("eval", "--real", str(tmp_path / "a.npz"), "--fake", str(tmp_path / "missing.npz"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    r = gf("eval", digits_run, "--metrics", "fdd")
    assert r.returncode == 2 and "did you mean 'fd'" in r.stderr
    r = gf("eval", digits_run, "--extractor", "lenet")
    assert r.returncode == 2 and "did you mean" in r.stderr


def test_periodic_eval_logs_and_keeps_best(tmp_path):
    res = ganforge.train("ring8", steps=20, out=str(tmp_path / "r"), progress=False,
                         overrides=["data.n_points=2000", "eval.every=10", "eval.n=300", "train.log_every=10"])
    rows = [json.loads(line) for line in open(os.path.join(res.run_dir, "stats.jsonl"))]
    evals = [r for r in rows if "eval/fd" in r]
    assert [r["step"] for r in evals] == [10, 20]
    assert "eval/modes" in evals[0] and "eval/fd_floor" in evals[0]
    assert os.path.exists(os.path.join(res.run_dir, "checkpoints", "best.safetensors"))


def test_classifier_scores():
    import torch

    from ganforge.metrics.classifier import gan_test, gan_train, inception_score
    sharp_uniform = torch.eye(10).repeat(10, 1) * 50  # confident and all classes equally used
    assert abs(inception_score(sharp_uniform)["is"] - 10) < 1e-3
    one_class = torch.zeros(100, 10)
    one_class[:, 3] = 50
    assert abs(inception_score(one_class)["is"] - 1) < 1e-3  # collapse scores 1
    labels = torch.arange(100) % 10
    assert gan_test(sharp_uniform, labels) == 1.0 and gan_test(sharp_uniform, (labels + 1) % 10) == 0.0
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 4)) * 5
    y = np.arange(300) % 3
    fx, rx = centers[y] + rng.normal(size=(300, 4)), centers[y] + rng.normal(size=(300, 4))
    assert gan_train(fx, y, rx, y) > 0.9


@pytest.mark.slow
def test_eval_conditional_run_reports_is_and_gan_train_test(tmp_path):
    out = tmp_path / "c"
    ganforge.train("digits-cond", steps=10, out=str(out), progress=False,
                   overrides=["model.z_dim=8", "model.g_width=16", "model.d_width=16", "train.batch=32"])
    r = gf("eval", str(out), "--n", "300")
    assert r.returncode == 0, r.stderr
    res = json.load(open(os.path.join(out, "eval", os.listdir(out / "eval")[0])))
    m = res["metrics"]
    # the same 300 samples (seed 0, labels 0..9 in turn) through the shipped classifier, by hand
    from ganforge.metrics.extractors import get_extractor
    g = ganforge.load(str(out))
    x = g.sample(300, seed=0)
    labels = torch.arange(300) % 10
    with torch.no_grad():
        p = torch.softmax(get_extractor("digits").logits(x), 1).double()
    kl = (p * (p.clamp_min(1e-12).log() - p.mean(0, keepdim=True).clamp_min(1e-12).log())).sum(1)
    assert m["is"] == pytest.approx(float(kl.mean().exp()), rel=1e-4)
    assert m["gan_test"] == pytest.approx(float((p.argmax(1) == labels).double().mean()), abs=1e-9)
    assert m["is_real"] > 5  # real digits are confidently and evenly classified


def _digits_npz(path, keep=None):
    from sklearn.datasets import load_digits
    d = load_digits()
    x, y = d.images[:, None].astype(np.float32), d.target
    if keep is not None:
        x, y = x[np.isin(y, keep)], y[np.isin(y, keep)]
    np.savez(path, x=x, y=y)


def test_label_modes_counts_classifier_modes_with_real_floor(tmp_path):
    _digits_npz(tmp_path / "real.npz")
    _digits_npz(tmp_path / "zeros.npz", keep=[0])          # a generator collapsed onto one class
    res = evaluate_files(str(tmp_path / "real.npz"), str(tmp_path / "zeros.npz"), metrics="label_modes")
    m = res["metrics"]
    assert m["modes"] == 1 and m["modes_floor"] == 10
    assert m["reverse_kl"] > 2.0 > 0.05 > m["reverse_kl_floor"]   # log 10 = 2.30 for one class of ten
    assert res["protocol"]["labeller"] == "digits"
    with pytest.raises(ConfigError, match="domain classifier"):
        np.savez(tmp_path / "v.npz", x=np.zeros((40, 3), np.float32))
        evaluate_files(str(tmp_path / "v.npz"), str(tmp_path / "v.npz"), metrics="label_modes")


@pytest.mark.slow
def test_eval_run_default_includes_label_modes(digits_run):
    r = gf("eval", digits_run, "--n", "200", "--json", os.path.join(digits_run, "lm.json"))
    assert r.returncode == 0, r.stderr
    m = json.load(open(os.path.join(digits_run, "lm.json")))["metrics"]
    from ganforge.metrics.extractors import get_extractor
    with torch.no_grad():
        found = get_extractor("digits").logits(ganforge.load(digits_run).sample(200, seed=0)).argmax(1)
    assert m["modes"] == len(set(found.tolist())) and m["modes_floor"] == 10 and m["label_modes_n"] == 200


def test_memorisation_two_files_detects_copies(tmp_path):
    rng = np.random.default_rng(0)
    train = rng.normal(size=(500, 6)).astype(np.float32)
    np.savez(tmp_path / "train.npz", x=train)
    np.savez(tmp_path / "held.npz", x=rng.normal(size=(500, 6)).astype(np.float32))
    np.savez(tmp_path / "copies.npz", x=train[:300] + 1e-3)
    np.savez(tmp_path / "fresh.npz", x=rng.normal(size=(300, 6)).astype(np.float32))
    kw = dict(metrics="memorisation", train=str(tmp_path / "train.npz"))
    copies = evaluate_files(str(tmp_path / "held.npz"), str(tmp_path / "copies.npz"), **kw)["metrics"]
    fresh = evaluate_files(str(tmp_path / "held.npz"), str(tmp_path / "fresh.npz"), **kw)["metrics"]
    assert copies["mem_ratio"] < 0.05 and 0.7 < fresh["mem_ratio"] < 1.4
    with pytest.raises(ConfigError, match="--train"):
        evaluate_files(str(tmp_path / "held.npz"), str(tmp_path / "fresh.npz"), metrics="memorisation")


@pytest.mark.slow
def test_memorisation_of_a_run_uses_what_data_limit_left_out(tmp_path, digits_run):
    out = tmp_path / "lim"
    ganforge.train("digits", steps=10, out=str(out), progress=False,
                   overrides=["model.z_dim=8", "model.g_width=16", "model.d_width=16", "train.batch=32",
                              "data.limit=1500"])
    r = gf("eval", str(out), "--n", "200", "--metrics", "fd,memorisation", "--json", str(tmp_path / "m.json"))
    assert r.returncode == 0, r.stderr
    res = json.load(open(tmp_path / "m.json"))
    assert res["protocol"]["n_train"] == 1500 and res["protocol"]["n_heldout"] == 297
    # ten steps of training draw blobs far from every digit: no closer to the training digits than
    # held-out digits are (a ratio well under 1 would say memorised)
    assert res["metrics"]["mem_ratio"] > 1 and "fd" in res["metrics"]
    r = gf("eval", digits_run, "--metrics", "memorisation")   # trained on all of digits: nothing held out
    assert r.returncode == 2 and "--heldout" in r.stderr and len(r.stderr.strip().splitlines()) == 1
