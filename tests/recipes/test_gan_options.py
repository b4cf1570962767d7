"""The GAN recipe's toolbox options: validation, what D sees, lazy phases, and a few steps of each."""
import pytest
import torch

import ganforge
from ganforge.api import resolve_config
from ganforge.core import checkpoint as ckpt
from ganforge.core.errors import ConfigError
from ganforge.data import load_dataset
from ganforge.engine import Trainer
from ganforge.recipes import Batch, build_recipe
from ganforge.recipes.gan_options import pack


def recipe_for(preset, tiny, extra=()):
    cfg = resolve_config(preset, overrides=tiny + ["data.n_points=2000", *extra])
    ds = load_dataset(cfg.data, seed=0)
    info = {**ds.info()}
    r = build_recipe(cfg, info, torch.device("cpu"))
    r.gen = torch.Generator().manual_seed(0)
    return r, ds


@pytest.mark.parametrize("preset, extra, match", [
    ("ring8", ["model.pack=3"], "not divisible by model.pack=3"),
    ("digits", ["model.pack=2", "model.conditional=true"], "model.conditional"),
    ("ring8", ["loss.kind=hinge", "reg.label_smooth=0.1"], "label_smooth"),
    ("ring8", ["augment.policy=color"], "images only"),
    ("digits", ["augment.ada=true"], "augment.policy"),
    ("digits", ["augment.policy=colour"], "unknown policy"),
    ("ring8", ["optim.topk=0"], r"optim.topk must be in \(0, 1\]"),
])
def test_config_errors(tiny, preset, extra, match):
    with pytest.raises(ConfigError, match=match):
        recipe_for(preset, tiny, extra)


def test_pack_joins_consecutive_samples():
    x = torch.arange(24.0).view(4, 2, 3)
    p = pack(x, 2)
    assert p.shape == (2, 4, 3) and torch.equal(p[1], torch.cat([x[2], x[3]]))
    assert pack(x, 1) is x


@pytest.mark.parametrize("preset", ["ring8", "digits"])
def test_d_sees_packed_real_and_fake(tiny, preset):
    r, ds = recipe_for(preset, tiny, ["model.pack=4"])
    seen = []
    D = r.nets["D"]
    D.register_forward_hook(lambda m, inp, out: seen.append((tuple(inp[0].shape), tuple(out.shape))))
    batch = Batch(ds.x[:16])
    r.d_step(batch, 0)
    r.g_step(batch, 0)
    packed = (4 * ds.x.shape[1], *ds.x.shape[2:])
    # real and fake in the D step (one call or two), fake in the G step: 3 x 16 examples in groups of 4
    assert all(inp[1:] == packed and out == inp[:1] for inp, out in seen)
    assert sum(inp[0] for inp, _ in seen) == 12


def test_lazy_r1_phase_and_interval_scaling(tiny):
    r, ds = recipe_for("ring8", tiny, ["reg.r1=2", "reg.interval=4"])
    names = [(p.name, p.interval) for p in r.phases()]
    assert names == [("D_reg", 4), ("D", 1), ("G", 1)]
    loss, stats = r.d_reg_step(Batch(ds.x[:16]), 3)
    assert loss.item() == pytest.approx(4 * stats["loss_D_r1"].item(), rel=1e-6)
    assert stats["loss_D_r1"].item() > 0
    r2, _ = recipe_for("ring8", tiny, ["reg.r1=0", "reg.r2=1", "reg.interval=8"])
    loss, stats = r2.d_reg_step(Batch(ds.x[:16]), 7)
    assert set(stats) == {"loss_D_r2"} and loss.item() == pytest.approx(8 * stats["loss_D_r2"].item(), rel=1e-6)
    plain, _ = recipe_for("ring8", tiny, ["reg.r1=0"])
    assert [p.name for p in plain.phases()] == ["D", "G"]


def test_instance_noise_reaches_d_and_decays(tiny):
    r, ds = recipe_for("ring8", tiny, ["reg.inst_noise=0.5", "reg.inst_noise_steps=100"])
    x = ds.x[:16]
    assert (r.options.d_input(x, 0, r.gen) - x).std().item() == pytest.approx(0.5, rel=0.5)
    assert torch.equal(r.options.d_input(x, 100, r.gen), x)


def test_g_sn_puts_spectral_norm_in_g(tiny):
    for preset in ("ring8", "digits"):
        r, _ = recipe_for(preset, tiny, ["model.g_sn=true"])
        for name in ("G", "G_ema"):
            wrapped = [m for m in r.nets[name].modules() if hasattr(m, "parametrizations")]
            assert wrapped and all("weight" in m.parametrizations for m in wrapped)
        plain, _ = recipe_for(preset, tiny)
        assert not any(hasattr(m, "parametrizations") for m in plain.nets["G"].modules())


OPTIONS = {
    "pack": ["model.pack=4"],
    "mbstd": ["model.mbstd=4"],
    "r1": ["reg.r1=1", "reg.interval=2"],
    "r2": ["reg.r2=1", "reg.interval=2"],
    "gp": ["reg.gp=10", "loss.kind=wgan"],
    "sn": ["model.g_sn=true", "model.d_norm=spectral"],
    "ls": ["reg.label_smooth=0.1"],
    "noise": ["reg.inst_noise=0.1", "reg.inst_noise_steps=4"],
    "diffaug": ["augment.policy=color,translation,cutout"],
    "ada": ["augment.policy=color,translation,cutout", "augment.ada=true", "augment.ada_interval=2"],
    "share": ["optim.share_fakes=true", "optim.n_critic=2"],
    "topk": ["optim.topk=0.5", "optim.topk_gamma=0.5"],
    "rpgan": ["loss.kind=rpgan", "optim.topk=0.5", "optim.topk_gamma=0.5", "model.pack=2"],
    "ragan": ["loss.kind=ragan", "optim.share_fakes=true"],
}
KEYS = {"r1": "loss_D_r1", "r2": "loss_D_r2", "gp": "loss_D_gp", "ada": "ada_p"}


@pytest.mark.parametrize("option", list(OPTIONS))
def test_every_option_trains(tmp_path, tiny, option):
    preset = "digits" if option in ("diffaug", "ada") else "ring8"
    res = ganforge.train(preset, steps=6, out=str(tmp_path / option),
                         overrides=tiny + ["data.n_points=2000", "train.log_every=6", *OPTIONS[option]])
    s = res.stats
    assert {"loss_D", "loss_D_adv", "loss_G", "D_real", "D_fake", "grad_norm_D", "grad_norm_G"} <= set(s)
    assert all(v == v and abs(v) < 1e6 for v in s.values())       # finite
    if option in KEYS:
        assert KEYS[option] in s
    if option == "ada":
        assert 0 < s["ada_p"] <= 1 and "ada_r_t" in s


def test_ada_p_survives_save_and_resume_exactly(tmp_path, tiny):
    ov = tiny + ["augment.policy=color,translation,cutout", "augment.ada=true", "augment.ada_interval=1",
                 "augment.ada_speed=100", "train.ckpt_every=3", "train.ema_beta=0"]
    full = ganforge.train("digits", steps=6, out=str(tmp_path / "full"), overrides=ov)
    part = ganforge.train("digits", steps=3, out=str(tmp_path / "part"), overrides=ov)
    _, meta3 = ckpt.load(part.run_dir)
    assert 0 < meta3["recipe_state"]["ada"]["p"] <= 1
    ganforge.resume(part.run_dir, steps=6)
    (a, ma), (b, mb) = ckpt.load(full.run_dir), ckpt.load(part.run_dir)
    assert ma["recipe_state"] == mb["recipe_state"]
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("net."))


def test_grad_norms_are_the_phases_own(tmp_path, tiny):
    cfg = resolve_config("ring8", steps=1, overrides=tiny + ["data.n_points=2000", "optim.n_critic=2", "reg.r1=0"])
    t = Trainer(cfg, str(tmp_path / "r"), load_dataset(cfg.data, seed=0))
    acc = {}
    t.run_phase(t.phases[0], t.batches.get(0), acc)     # D only: G has no gradient yet
    t.recipe.after_step(0, acc)
    want = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in t.recipe.nets["D"].parameters()]))
    assert torch.allclose(acc["grad_norm_D"], want) and "grad_norm_G" not in acc


@pytest.mark.parametrize("share", [False, True])
def test_share_fakes_one_g_forward_and_the_same_g_gradient(tmp_path, tiny, share):
    cfg = resolve_config("digits", steps=4, overrides=tiny + ["optim.n_critic=2", f"optim.share_fakes={share}"])
    t = Trainer(cfg, str(tmp_path / "r"), load_dataset(cfg.data, seed=0))
    G, D = t.recipe.nets["G"], t.recipe.nets["D"]
    calls = []
    G.register_forward_hook(lambda m, inp, out: calls.append(inp[0].detach().clone()))
    d_phase, g_phase = [p for p in t.phases if p.name == "D"][0], [p for p in t.phases if p.name == "G"][0]
    for step in range(4):
        t.step = step
        before = [None if p.grad is None else p.grad.clone() for p in G.parameters()]
        t.run_phase(d_phase, t.batches.get(step), {})
        # D's loss never reaches G: G's gradients are the ones its own last phase left
        assert all((a is None and p.grad is None) or torch.equal(a, p.grad) for a, p in zip(before, G.parameters()))
        if g_phase.due(step) and step < 3:
            t.run_phase(g_phase, t.batches.get(step), {})
    # the last G phase by hand, without the optimizer step, to compare its gradient
    G.requires_grad_(True)
    D.requires_grad_(False)
    G.zero_grad(set_to_none=True)
    g_phase.loss(t.batches.get(3), 3)[0].backward()
    # D runs every step, G every 2nd: shared fakes save the G step's own forward
    assert len(calls) == (4 if share else 6)
    # the G phase's gradient is the one a fresh forward of the same latents gives
    got = [p.grad.clone() for p in G.parameters()]
    G.zero_grad(set_to_none=True)
    D.eval()  # spectral norm: reuse the power iteration the phase's own D call just made
    ganforge.losses.g_loss(cfg.loss.kind, D(t.recipe.options.d_input(G(calls[-1]), 3, None))).backward()
    assert all(torch.allclose(a, p.grad, atol=1e-6) for a, p in zip(got, G.parameters()))


def test_topk_share_anneals_per_epoch_down_to_its_floor(tiny):
    r, ds = recipe_for("ring8", tiny, ["optim.topk=0.5", "optim.topk_gamma=0.5", "train.batch=100"])
    epoch = len(ds.x) // 100                                        # 2,000 points, batch 100: 20 steps
    shares = [r.options.topk_share(s) for s in (0, epoch, 2 * epoch, 10 * epoch)]
    assert shares == [1.0, 0.5, 0.5, 0.5] and r.options.topk_share(epoch // 2) == pytest.approx(0.5 ** 0.5)
    off, _ = recipe_for("ring8", tiny)
    assert off.options.topk_share(10 ** 6) == 1.0


@pytest.mark.parametrize("topk", [1.0, 0.25])
def test_topk_g_gradient_comes_from_the_best_scored_samples_only(tiny, topk):
    r, ds = recipe_for("ring8", tiny, [f"optim.topk={topk}", "optim.topk_gamma=0.01", "train.batch=16"])
    G, D = r.nets["G"], r.nets["D"]
    fakes = []
    def keep(m, inp, out):
        out.retain_grad()
        fakes.append(out)
    G.register_forward_hook(keep)
    late = 10 ** 6                                                   # the share has reached its floor
    loss, _ = r.g_step(Batch(x=ds.x[:16]), late)
    loss.backward()
    fake = fakes[-1]
    touched = fake.grad.abs().sum(1) > 0                            # (16,) samples that moved G
    with torch.no_grad():
        scores = D(r.options.d_input(fake, late, None))              # (16,)
    assert int(touched.sum()) == round(16 * topk)
    # every kept sample is scored at least as real as every dropped one
    if topk < 1:
        assert scores[touched].min() >= scores[~touched].max()


@pytest.mark.parametrize("kind, reads_real", [("ns", False), ("rpgan", True), ("ragan", True)])
def test_relativistic_g_loss_compares_with_the_real_batch(tiny, kind, reads_real):
    r, ds = recipe_for("ring8", tiny, [f"loss.kind={kind}", "train.batch=16"])
    losses = []
    for lo in (0, 16):                                   # the same latents, two different real batches
        r.gen.manual_seed(1)
        losses.append(r.g_step(Batch(x=ds.x[lo:lo + 16]), 0)[0].item())
    assert (losses[0] != losses[1]) == reads_real


def test_rpgan_topk_keeps_the_pairs_most_real_relative_to_their_partner(tiny):
    r, ds = recipe_for("ring8", tiny, ["loss.kind=rpgan", "optim.topk=0.25", "optim.topk_gamma=0.01",
                                       "train.batch=16"])
    fake, real = torch.randn(16), torch.randn(16)
    late = 10 ** 6                                       # the share has reached its floor
    f, rr = r.options.g_scores(fake, late, real)
    assert f.shape == rr.shape == (4,)
    rel = fake - real
    kept = sorted((f - rr).tolist())
    assert kept == pytest.approx(sorted(rel.topk(4).values.tolist()))
    # each kept generated score travels with its own real partner
    assert all(any(abs(a - x) < 1e-7 and abs(b - y) < 1e-7 for x, y in zip(fake.tolist(), real.tolist()))
               for a, b in zip(f.tolist(), rr.tolist()))
