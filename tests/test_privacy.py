"""Differentially private training: the noise for a budget, the budget's end, resume, per-example
clipping, refusals, the membership-inference attacks (by distance and by D's score) and the install line when
Opacus is missing."""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from ganforge import api
from ganforge.core import privacy as P
from ganforge.core.errors import ConfigError
from ganforge.metrics.mia import auc_delong, distance_attack, score_attack

TINY = {"model.z_dim": 8, "model.g_width": 16, "model.d_width": 16, "model.mlp_layers": 1, "tabular.max_modes": 3,
        "tabular.dropout": 0.0, "train.log_every": 5, "train.progress": "false", "train.batch": 20,
        "privacy.epsilon": 3, "privacy.delta": 1e-5}


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.integers(18, 70, n), "score": rng.normal(3.0, 2.0, n),
                         "color": rng.choice(["red", "green", "blue"], n, p=[0.6, 0.3, 0.1]),
                         "income": np.where(rng.random(n) < 0.3, ">50K", "<=50K")})


def sets(**more) -> list[str]:
    return [f"{k}={v}" for k, v in {**TINY, **more}.items()]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("priv") / "t.csv"
    frame().to_csv(path, index=False)
    return str(path)


# -- accounting ---------------------------------------------------------------------------------
def test_noise_for_a_budget_spends_at_most_epsilon_and_more_steps_exceed_it():
    pytest.importorskip("opacus")
    eps, delta, q, steps = 3.0, 1e-5, 0.05, 400
    sigma = P.noise_for_budget(eps, delta, q, steps)
    assert P.epsilon_spent(sigma, q, steps, delta) <= eps
    assert P.epsilon_spent(sigma, q, steps, delta) > 0.98 * eps          # not wastefully noisy
    most = P.steps_within(eps, delta, q, sigma, at_least=steps)
    assert most >= steps
    assert P.epsilon_spent(sigma, q, most + 1, delta) > eps              # one more step would overspend
    assert P.epsilon_spent(sigma * 0.95, q, steps, delta) > eps          # less noise would overspend


# -- a private run ------------------------------------------------------------------------------
def test_a_private_run_records_its_spend_and_refuses_to_train_past_the_budget(table, tmp_path):
    pytest.importorskip("opacus")
    run = api.train("tabular", data=table, out=str(tmp_path / "r"), steps=30,
                    overrides=sets(**{"train.ckpt_every": 10}))
    with open(os.path.join(run.run_dir, "data.json")) as f:
        rec = json.load(f)["privacy"]
    assert rec["private"] and rec["steps_spent"] == 30 and rec["sample_rate"] == pytest.approx(20 / 200)
    assert rec["epsilon_spent"] <= 3.0 and rec["accountant"] == "rdp" and rec["clip"] == 1.0
    assert P.epsilon_spent(rec["noise_multiplier"], rec["sample_rate"], 31, 1e-5) + rec["epsilon_counts"] > 3.0
    assert "not covered" not in P.summary(rec) and api.info(run.run_dir)["privacy"]["steps_spent"] == 30
    with pytest.raises(ConfigError, match="privacy budget of this run is spent"):
        api.resume(run.run_dir, steps=60)
    # resumed from step 20 and asked for 60: it trains to its budget, 30 private steps, and says why it stopped
    os.remove(os.path.join(run.run_dir, "checkpoints", "ckpt-00000030.safetensors"))
    again = api.resume(run.run_dir, steps=60)
    assert again.step == 30 and "privacy budget reached" in again.stopped
    with open(os.path.join(run.run_dir, "data.json")) as f:
        assert json.load(f)["privacy"]["steps_spent"] == 30


def test_a_private_run_resumes_exactly(table, tmp_path):
    """Poisson batches are a function of (seed, step) and the noise comes from the checkpointed RNG: a run cut
    at step 5 and resumed ends bit-identical to the run left alone."""
    pytest.importorskip("opacus")
    from ganforge.core import checkpoint as ckpt
    run = api.train("tabular", data=table, out=str(tmp_path / "a"), steps=10, overrides=sets(**{"train.ckpt_every": 5}))
    last = os.path.join(run.run_dir, "checkpoints", "ckpt-00000010.safetensors")
    straight = ckpt.load(last)[0]
    os.remove(last)
    api.resume(run.run_dir)
    again = ckpt.load(last)[0]
    for k in straight:
        assert torch.equal(straight[k], again[k]), k


def test_a_private_image_run_trains_and_derives_what_it_needs(tmp_path, tiny):
    """digits (class-conditional): the preset's spectral norm gives way to none (a derived, recorded change) and
    the record is kept."""
    pytest.importorskip("opacus")
    run = api.train("digits", out=str(tmp_path / "d"), steps=3,
                    overrides=tiny + ["model.g_norm=none", "model.conditional=true", "privacy.epsilon=3"])
    with open(os.path.join(run.run_dir, "data.json")) as f:
        data = json.load(f)
    assert data["privacy"]["steps_spent"] == 3 and 0 < data["privacy"]["epsilon_spent"] <= 3
    assert {"key": "model.d_norm", "value": "none"}.items() <= next(
        d for d in data["derived"] if d["key"] == "model.d_norm").items()


def test_a_run_without_privacy_says_so(table, tmp_path):
    run = api.train("tabular", data=table, out=str(tmp_path / "n"), steps=2,
                    overrides=sets(**{"privacy.epsilon": 0, "model.pack": 1}))
    assert api.info(run.run_dir)["privacy"]["private"] is False
    assert P.summary(api.info(run.run_dir)["privacy"]) == "not differentially private"


def test_each_real_example_moves_the_update_by_at_most_the_clip_norm(table, tmp_path):
    """With the noise off, adding one (huge) real example to D's step changes the summed gradient by at most clip,
    though its own unclipped gradient is far larger."""
    pytest.importorskip("opacus")
    from ganforge.config import resolve
    from ganforge.data import load_dataset
    from ganforge.engine.loop import Trainer
    from ganforge.losses import d_loss
    from ganforge.recipes import Phase, prepare
    cfg = resolve("tabular", {**{k: v for k, v in TINY.items()}, "data.path": table, "train.steps": 10})
    ds = load_dataset(cfg, seed=0)
    prepare(cfg, ds.info())
    tr = Trainer(cfg, str(tmp_path / "c"), ds)
    D, opt, clip = tr.recipe.nets["D"], tr.opts["D"], cfg.privacy.clip
    opt.noise_multiplier = 0.0
    g = torch.Generator().manual_seed(0)
    width = D.net[0].in_features if hasattr(D, "net") else next(D.parameters()).shape[1]
    real, fake = torch.randn(12, width, generator=g), torch.randn(12, width, generator=g)
    real[0] *= 1000.0
    start = {k: v.clone() for k, v in D.state_dict().items()}

    def update(r, f):
        D.load_state_dict(start)
        phase = Phase("D", "D", ("D",), lambda b, s: (d_loss("ns", D(r), D(f)), {}), reads_real=True)
        tr.run_phase(phase, None, {})
        return torch.cat([p.grad.flatten() for p in D.parameters()]) * opt.expected_batch_size

    with_one, without = update(real, fake), update(real[1:], fake[1:])
    assert (with_one - without).norm() <= clip * (1 + 1e-4)
    D.load_state_dict(start)
    raw = torch.autograd.grad(d_loss("ns", D(real[:1]), D(fake[:1])), list(D.parameters()))
    assert torch.cat([r.flatten() for r in raw]).norm() > 10 * clip     # clipping did the bounding


def test_a_private_d_step_leaves_g_untouched(table, tmp_path):
    """D's generated halves come from G in eval mode: G's batch-norm statistics (and weights) do not follow the real
    batch's size or conditions."""
    pytest.importorskip("opacus")
    from ganforge.config import resolve
    from ganforge.data import load_dataset
    from ganforge.engine.loop import Trainer
    from ganforge.recipes import prepare
    cfg = resolve("tabular", {**TINY, "data.path": table, "train.steps": 10})
    ds = load_dataset(cfg, seed=0)
    prepare(cfg, ds.info())
    tr = Trainer(cfg, str(tmp_path / "g"), ds)
    G = tr.recipe.nets["G"]
    before = {k: v.clone() for k, v in G.state_dict().items()}
    d_phase = next(p for p in tr.phases if p.reads_real)
    tr.run_phase(d_phase, tr.batches.get(0), {})
    assert G.training and all(torch.equal(before[k], v) for k, v in G.state_dict().items())


# -- refusals -----------------------------------------------------------------------------------
@pytest.mark.parametrize("setting, words", [("model.d_norm=batch", "batch norm"),
                                            ("model.d_norm=spectral", "spectral norm"),
                                            ("model.mbstd=2", "minibatch"),
                                            ("model.pack=2", "model.pack=2"),
                                            ("reg.r1=1", "reg.r1")])
def test_settings_that_mix_examples_are_refused(setting, words, tmp_path, tiny):
    pytest.importorskip("opacus")
    with pytest.raises(ConfigError, match=words):
        api.train("digits", out=str(tmp_path / "x"), steps=2,
                  overrides=tiny + ["model.g_norm=none", "privacy.epsilon=3", setting])
    assert not os.path.exists(tmp_path / "x")


def test_missing_opacus_gives_the_install_line(monkeypatch, table, tmp_path):
    monkeypatch.setitem(sys.modules, "opacus", None)                    # import opacus -> ImportError
    with pytest.raises(ConfigError, match=r"pip install ganforge\[privacy\]"):
        P.require_opacus()
    with pytest.raises(ConfigError, match=r"pip install ganforge\[privacy\]"):
        api.train("tabular", data=table, out=str(tmp_path / "m"), steps=2, overrides=sets())


# -- membership inference -----------------------------------------------------------------------
def test_delong_auc_matches_the_pairwise_count():
    rng = np.random.default_rng(1)
    pos, neg = rng.normal(0.5, 1, 60), rng.normal(0, 1, 50)
    auc, se = auc_delong(pos, neg)
    assert auc == pytest.approx(np.mean(pos[:, None] > neg[None, :]))
    assert 0.02 < se < 0.2


def test_mia_auc_is_near_half_for_an_unrelated_generator_and_high_for_copies():
    rng = np.random.default_rng(0)
    train, held = rng.normal(size=(300, 5)), rng.normal(size=(300, 5))
    unrelated = rng.normal(size=(600, 5))
    res = distance_attack(train, held, unrelated)
    assert abs(res["auc"] - 0.5) < 0.07 and res["auc_low"] < 0.5 < res["auc_high"]
    copies = distance_attack(train, held, train + 1e-3 * rng.normal(size=train.shape))
    assert copies["auc"] > 0.95 and copies["auc_low"] > 0.9


def test_tabular_eval_reports_the_attack(tmp_path):
    from ganforge.metrics.tabular import evaluate_tables
    train, test = frame(200, 1), frame(200, 2)
    res = evaluate_tables(test, train.copy(), "mia", train=train)          # "synthetic" rows that copy training
    assert res["mia"]["auc"] > 0.95
    res = evaluate_tables(test, frame(400, 3), "mia", train=train)
    assert res["mia"]["auc_low"] < 0.5 < res["mia"]["auc_high"]


def test_score_attack_is_near_half_for_unrelated_scores_and_near_one_for_separating_ones():
    rng = np.random.default_rng(0)
    res = score_attack(rng.normal(size=400), rng.normal(size=600))     # 400 of each are attacked
    assert res["n_each"] == 400 and abs(res["auc"] - 0.5) < 0.07 and res["auc_low"] < 0.5 < res["auc_high"]
    split = score_attack(rng.normal(3.0, 1.0, 300), rng.normal(0.0, 1.0, 300))
    assert split["auc"] > 0.95 and split["auc_low"] > 0.9


def test_tabular_eval_of_a_run_reports_the_discriminator_attack(tmp_path):
    from ganforge import evaluation
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    frame(200, 1).to_csv(train, index=False)
    frame(200, 2).to_csv(test, index=False)
    plain = [f"{k}={v}" for k, v in TINY.items() if not k.startswith("privacy.")]
    run = api.train("tabular", data=str(train), out=str(tmp_path / "r"), steps=10, overrides=plain)
    res = evaluation.evaluate_run(run.run_dir, real=str(test), metrics="mia", json_path=str(tmp_path / "e.json"))
    d = res["mia_d"]
    assert d["n_each"] == 200 and 0.0 <= d["auc_low"] <= d["auc"] <= d["auc_high"] <= 1.0
    assert "mia (D)  discriminator-score AUC" in res["text"] and "mia      membership" in res["text"]
    scores = api.load(run.run_dir).recipe.d_scores(frame(200, 1))
    assert scores.shape == (200,) and np.isfinite(scores).all()
