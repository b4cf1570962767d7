"""NaN/Inf guard (rollback, lower learning rates, give up) and the collapse alarm."""
import dataclasses
import json
import math

import pytest
import torch

from ganforge.api import resolve_config
from ganforge.core import checkpoint as ckpt
from ganforge.core.errors import GanforgeError
from ganforge.data import load_dataset
from ganforge.engine import Trainer
from ganforge.engine.guard import all_finite, mean_pairwise_distance


def make_trainer(tmp_path, tiny, steps=20, extra=()):
    cfg = resolve_config("ring8", steps=steps, overrides=tiny + ["data.n_points=2000", *extra])
    return Trainer(cfg, str(tmp_path / "run"), load_dataset(cfg.data, seed=0))


def poison(trainer, phase_name, from_step, times=1):
    """Make a phase's loss NaN at ``from_step`` and later steps, ``times`` times in all."""
    i = [p.name for p in trainer.phases].index(phase_name)
    phase, left = trainer.phases[i], {"n": times}

    def loss(batch, step):
        value, stats = phase.loss(batch, step)
        if step >= from_step and left["n"] > 0:
            left["n"] -= 1
            value = value * float("nan")
        return value, stats
    trainer.phases[i] = dataclasses.replace(phase, loss=loss)


def rows(trainer):
    with open(f"{trainer.run_dir}/stats.jsonl") as f:
        return [json.loads(line) for line in f]


def finite_weights(trainer):
    return all(torch.isfinite(v).all() for n in trainer.recipe.nets.values() for v in n.state_dict().values()
               if v.is_floating_point())


def test_all_finite():
    assert all_finite([1.0, torch.tensor(2.0), torch.ones(3)])
    assert not all_finite([1.0, torch.tensor([1.0, float("inf")])])
    assert not all_finite([float("nan")])
    assert all_finite([])


def test_nan_before_any_checkpoint_rolls_back_to_the_start(tmp_path, tiny, capsys):
    t = make_trainer(tmp_path, tiny, extra=["train.ckpt_every=0"])
    lr0 = {k: o.param_groups[0]["lr"] for k, o in t.opts.items()}
    poison(t, "D", from_step=7)
    out = t.fit()
    assert out["step"] == 20 and finite_weights(t)
    r = rows(t)
    events = [x for x in r if x.get("event") == "nan_rollback"]
    assert len(events) == 1 and events[0]["step"] == 0 and events[0]["bad_step"] == 10
    assert [x["step"] for x in r if "event" not in x] == [5, 10, 15, 20]   # lines past step 0 were replaced
    assert all(math.isfinite(x["loss_D"]) for x in r if "loss_D" in x)
    for k, o in t.opts.items():
        assert o.param_groups[0]["lr"] == pytest.approx(lr0[k] * 0.5)
    assert "rolled back to step 0" in capsys.readouterr().err
    _, meta = ckpt.load(t.run_dir)                            # the reduced rates persist for a resume
    assert meta["optimizers"]["D"]["param_groups"][0]["lr"] == pytest.approx(lr0["D"] * 0.5)


def test_nan_rolls_back_to_the_last_checkpoint(tmp_path, tiny):
    t = make_trainer(tmp_path, tiny, extra=["train.ckpt_every=5", "train.keep_ckpts=10"])
    poison(t, "G", from_step=12)
    t.fit()
    events = [x for x in rows(t) if x.get("event") == "nan_rollback"]
    assert [(e["step"], e["bad_step"]) for e in events] == [(10, 15)]
    for _, path in ckpt.list_checkpoints(f"{t.run_dir}/checkpoints"):
        tensors, _ = ckpt.load(path)
        assert all(torch.isfinite(v).all() for v in tensors.values() if v.is_floating_point())


def test_checkpoint_time_check_catches_nan_between_log_lines(tmp_path, tiny):
    t = make_trainer(tmp_path, tiny, extra=["train.ckpt_every=5", "train.log_every=100"])
    poison(t, "D", from_step=7)
    t.fit()
    events = [x for x in rows(t) if x.get("event") == "nan_rollback"]
    assert [(e["step"], e["bad_step"]) for e in events] == [(5, 10)]
    assert finite_weights(t)


def test_gives_up_after_nan_retries(tmp_path, tiny):
    t = make_trainer(tmp_path, tiny, extra=["train.ckpt_every=0", "train.nan_retries=2"])
    poison(t, "D", from_step=3, times=10**6)
    with pytest.raises(GanforgeError, match="diverged") as e:
        t.fit()
    assert "\n" not in str(e.value) and "train.nan_retries" in str(e.value)
    assert len([x for x in rows(t) if x.get("event") == "nan_rollback"]) == 2


def test_mean_pairwise_distance():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    assert mean_pairwise_distance(x) == pytest.approx(10.0 / 3)
    assert mean_pairwise_distance(torch.ones(5, 1, 2, 2)) == 0.0


def test_collapse_alarm_fires_on_a_collapsed_generator(tmp_path, tiny, capsys):
    t = make_trainer(tmp_path, tiny, steps=10, extra=["train.collapse_every=5", "optim.g_lr=0"])
    for name in ("G", "G_ema"):                   # every z maps to one point
        torch.nn.init.zeros_(t.recipe.nets[name].out.weight)
    t.fit()
    ratios = [x["collapse_ratio"] for x in rows(t) if "collapse_ratio" in x]
    assert ratios == [0.0, 0.0]
    assert "possible mode collapse at step 5" in capsys.readouterr().err


def test_collapse_alarm_is_quiet_on_diverse_samples(tmp_path, tiny, capsys):
    t = make_trainer(tmp_path, tiny, steps=10, extra=["train.collapse_every=5"])
    real = t.dataset.x[-64:]                      # stands in for a perfect generator
    t.recipe.generate = lambda inputs, net=None: real
    t.fit()
    ratios = [x["collapse_ratio"] for x in rows(t) if "collapse_ratio" in x]
    assert len(ratios) == 2 and all(0.7 < r < 1.3 for r in ratios)
    assert "collapse" not in capsys.readouterr().err


def test_rollback_lowers_the_rate_a_schedule_starts_from(tmp_path, tiny):
    t = make_trainer(tmp_path, tiny, extra=["train.ckpt_every=0", "optim.lr_decay=0.5"])
    lr0 = {k: o.param_groups[0]["lr"] for k, o in t.opts.items()}
    poison(t, "D", from_step=3)
    t.fit()
    for k, o in t.opts.items():
        assert o.param_groups[0]["base_lr"] == pytest.approx(lr0[k] * 0.5)
        assert o.param_groups[0]["lr"] == pytest.approx(lr0[k] * 0.5 * 1 / 10)   # the last step of 20: 1/10 left


def test_collapse_alarm_warns_on_a_fall_from_the_runs_best(tmp_path, tiny, capsys):
    t = make_trainer(tmp_path, tiny, steps=15, extra=["train.collapse_every=5", "train.collapse_threshold=0.05"])
    real = t.dataset.x[-64:]
    # diverse at step 5, a quarter of the spread at 10 (above the absolute threshold), back at 15
    scale = {5: 1.0, 10: 0.25, 15: 1.0}
    t.recipe.generate = lambda inputs, net=None: real.mean(0) + scale[t.step] * (real - real.mean(0))
    t.fit()
    ratios = [x["collapse_ratio"] for x in rows(t) if "collapse_ratio" in x]
    assert len(ratios) == 3 and ratios[1] == pytest.approx(ratios[0] / 4, rel=1e-3) and ratios[1] > 0.05
    err = capsys.readouterr().err
    assert "fell to" in err and "at step 10" in err and "step 15" not in err and "train.collapse_drop=0.5" in err
    t2 = make_trainer(tmp_path / "off", tiny, steps=15,
                      extra=["train.collapse_every=5", "train.collapse_threshold=0.05", "train.collapse_drop=0"])
    t2.recipe.generate = lambda inputs, net=None: real.mean(0) + scale[t2.step] * (real - real.mean(0))
    t2.fit()
    assert "collapse" not in capsys.readouterr().err
