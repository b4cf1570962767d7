"""The StyleGAN2-class image family, model.arch=style (nets/style.py, nets/style_layers.py)."""
import pytest
import torch

from ganforge import api
from ganforge.config import ModelConfig
from ganforge.core import checkpoint as ckpt
from ganforge.core.errors import ConfigError
from ganforge.nets import build_discriminator, build_generator, resolve_arch
from ganforge.nets.style import StyleGenerator
from ganforge.nets.style_layers import ModConv, StyleLayer


def tiny(**kw) -> ModelConfig:
    base = dict(arch="style", z_dim=8, g_width=4, d_width=4, map_layers=2, mbstd=2)
    base.update(kw)
    return ModelConfig(**base)


def const_noise(G):
    for m in G.modules():
        if isinstance(m, StyleLayer):
            m.noise_mode = "const"


# ---------------------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("size", [8, 16, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_every_size(size, channels):
    torch.manual_seed(0)
    shape = (channels, size, size)
    G, D = build_generator(tiny(), shape), build_discriminator(tiny(), shape)
    x = G(torch.randn(3, 8))
    assert x.shape == (3, *shape) and torch.isfinite(x).all()
    assert G.synthesis(G.mapping(torch.randn(3, 8))).shape == (3, *shape)
    out = D(x)
    assert out.shape == (3,) and torch.isfinite(out).all()
    assert (G.z_dim, G.w_dim, G.num_classes, G.latent_space) == (8, 8, 0, "w")


def test_pack_and_mbstd_in_d():
    D = build_discriminator(tiny(pack=2, mbstd=4), (3, 16, 16))
    assert D.in_shape == (6, 16, 16)
    assert D(torch.randn(4, 6, 16, 16)).shape == (4,)
    with pytest.raises(ValueError, match="pack samples"):
        D(torch.randn(4, 3, 16, 16))


def test_auto_still_picks_dcgan():
    assert resolve_arch(ModelConfig(), (1, 28, 28)) == "dcgan"
    assert resolve_arch(ModelConfig(arch="style"), (1, 28, 28)) == "style"


# ---------------------------------------------------------------------------------------- conditional

def test_conditional_g_and_d():
    torch.manual_seed(0)
    G, D = build_generator(tiny(conditional=True), (1, 16, 16), 10), build_discriminator(tiny(conditional=True),
                                                                                         (1, 16, 16), 10)
    G.eval()
    z = torch.randn(4, 8).repeat(2, 1)
    y = torch.tensor([0, 1, 2, 3, 5, 6, 7, 8])
    x = G(z, y)
    assert x.shape == (8, 1, 16, 16)
    assert (x[:4] - x[4:]).abs().amax(dim=(1, 2, 3)).min() > 1e-4     # the label changes the image
    with pytest.raises(ValueError, match="class-conditional"):
        G(z)
    s = D(x, y)
    assert s.shape == (8,) and not torch.allclose(s, D(x, (y + 1) % 10))


# ---------------------------------------------------------------------------------------- layers

def test_demodulation_keeps_unit_std_whatever_the_style():
    torch.manual_seed(0)
    x = torch.randn(6, 32, 12, 12)                                       # unit-variance input
    w = torch.randn(6, 8) * torch.tensor([0.1, 0.5, 1.0, 3.0, 10.0, 30.0])[:, None]   # styles of every scale
    for demod, ok in ((True, True), (False, False)):
        conv = ModConv(32, 16, 3, 8, demod=demod)
        with torch.no_grad():
            conv.affine.bias.normal_()                                  # styles far from 1
            std = conv(x, w).std(dim=(1, 2, 3))                          # (6,)
        near_one = bool(((std > 0.8) & (std < 1.25)).all())
        assert near_one == ok, (demod, std)


@pytest.mark.parametrize("demod", [True, False])
def test_grouped_and_shared_weight_forms_agree(demod):
    torch.manual_seed(1)
    conv = ModConv(5, 7, 3, 8, demod=demod)
    x, w = torch.randn(4, 5, 9, 9), torch.randn(4, 8)
    shared = conv(x, w)
    conv.grouped = True
    torch.testing.assert_close(conv(x, w), shared, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------- latents

def test_psi_zero_gives_one_image_per_class():
    torch.manual_seed(0)
    G = build_generator(tiny(conditional=True), (1, 16, 16), 3)
    G.train()
    for _ in range(5):
        G(torch.randn(8, 8), torch.randint(0, 3, (8,)))                 # w_avg away from its zero start
    G.eval()
    z = torch.randn(6, 8)
    y = torch.full((6,), 2)
    x0 = G(z, y, psi=0.0)
    assert (x0 - x0[:1]).abs().max() < 1e-6                              # every z: the same image
    x1 = G(z, y)
    assert (x1 - x1[:1]).abs().amax(dim=(1, 2, 3))[1:].min() > 1e-4
    torch.testing.assert_close(G(z, y), x1)                              # eval mode: fixed noise, repeatable
    x_half = G(z, y, psi=0.5)
    torch.testing.assert_close(x_half, G.synthesis(G.mapping(z, y, psi=0.5)))


def test_noise_is_random_in_train_mode_only():
    torch.manual_seed(0)
    G = StyleGenerator((1, 8, 8), 8, 4, style_mix=0.0)
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, StyleLayer):
                m.noise_strength.fill_(1.0)
    z = torch.randn(2, 8)
    G.train()
    assert not torch.allclose(G(z), G(z))
    G.eval()
    torch.testing.assert_close(G(z), G(z))


def test_w_avg_moves_in_train_mode_not_in_eval_mode():
    torch.manual_seed(0)
    G = build_generator(tiny(), (1, 8, 8))
    G.eval()
    G(torch.randn(16, 8))
    assert torch.count_nonzero(G.w_avg) == 0
    G.train()
    G(torch.randn(16, 8))
    first = G.w_avg.clone()
    assert first.abs().max() > 0
    G(torch.randn(16, 8))
    assert not torch.equal(first, G.w_avg)
    assert "w_avg" in G.state_dict()                                    # saved and resumed with the weights


def test_style_mixing_only_in_train_mode():
    torch.manual_seed(0)
    G = build_generator(tiny(style_mix=1.0), (1, 16, 16))
    const_noise(G)                                                       # only the mixing can differ
    z = torch.randn(4, 8)
    G.eval()
    torch.testing.assert_close(G(z), G.synthesis(G.mapping(z)))
    G.train()
    assert not torch.allclose(G(z), G.synthesis(G.mapping(z)))
    G.style_mix = 0.0
    torch.testing.assert_close(G(z), G.synthesis(G.mapping(z)))


def test_synthesis_takes_one_w_per_layer():
    G = build_generator(tiny(), (1, 16, 16)).eval()
    w = G.mapping(torch.randn(2, 8))
    ws = w.unsqueeze(1).repeat(1, G.num_ws, 1)
    torch.testing.assert_close(G.synthesis(ws), G.synthesis(w))
    ws[:, -1] = 0.0                                                       # the last ToRGB's style
    assert not torch.allclose(G.synthesis(ws), G.synthesis(w))
    with pytest.raises(ValueError, match="synthesis expects w"):
        G.synthesis(torch.randn(2, G.num_ws + 1, 8))


# ---------------------------------------------------------------------------------------- config

@pytest.mark.parametrize("sets, match", [
    (["model.d_norm=batch"], "model.d_norm"),
    (["model.style_mix=1.5"], "model.style_mix"),
    (["model.map_layers=0"], "model.map_layers"),
    (["model.g_sn=true"], "model.g_sn"),
    (["model.attention=8"], "model.attention"),
    (["model.conditional=true", "model.cond_g=cbn"], "cond_g=embed"),
])
def test_bad_values_are_one_line_config_errors(tmp_path, sets, match):
    with pytest.raises(ConfigError, match=match) as e:
        api.train("digits", out=str(tmp_path / "r"), steps=1, progress=False,
                  overrides=["model.arch=style", "model.z_dim=8", "model.g_width=4", "model.d_width=4", *sets])
    assert "\n" not in str(e.value)


# ---------------------------------------------------------------------------------------- training

SETS = ["model.arch=style", "model.z_dim=8", "model.g_width=4", "model.d_width=4", "model.map_layers=2",
        "model.mbstd=4", "model.d_norm=none", "train.batch=16", "train.sample_every=0", "train.ckpt_every=0",
        "train.log_every=25", "train.ema_warmup=10"]


def test_train_save_resume_exactly_and_sample(tmp_path):
    straight = api.train("digits", out=str(tmp_path / "a"), steps=24, overrides=SETS, progress=False)
    part = api.train("digits", out=str(tmp_path / "b"), steps=14, overrides=SETS, progress=False)
    api.resume(part.run_dir, steps=24, progress=False)
    a, meta = ckpt.load(straight.run_dir)
    b, _ = ckpt.load(part.run_dir)
    assert meta["step"] == 24
    assert "net.G.w_avg" in a and "net.G_ema.w_avg" in a and a["net.G.w_avg"].abs().max() > 0
    torch.testing.assert_close(a["net.G_ema.w_avg"], a["net.G.w_avg"])     # EMA copies the buffer
    assert [k for k in a if k.startswith(("net.", "opt.")) and not torch.equal(a[k], b[k])] == []
    g = api.load(straight.run_dir)
    x = g.sample(5, seed=3)
    assert x.shape == (5, 1, 8, 8) and torch.isfinite(x).all()
    torch.testing.assert_close(g.sample(5, seed=3), x)                      # reproducible from the seed
    torch.testing.assert_close(g.sample(seeds=[7])[0], g.sample(seeds=[1, 7])[1])
    out = g.save(str(tmp_path / "grid.png"), n=8, seed=0)
    assert out.endswith(".png")


def test_conditional_run_with_augmentation_exports_to_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from ganforge.export import export_onnx
    run = api.train("digits", out=str(tmp_path / "c"), steps=6, progress=False,
                    overrides=SETS + ["model.conditional=true", "augment.policy=color,translation",
                                      "augment.ada=true", "reg.r1=1"])
    path = export_onnx(run.run_dir, str(tmp_path / "g.onnx"))
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    g = api.load(run.run_dir)
    inputs = g.recipe.sample_inputs(5, seed=1)
    ref = g.recipe.generate(inputs).numpy()
    out = sess.run(None, {k: inputs[k].numpy() for k in ("z", "y")})[0]
    assert out.shape == ref.shape == (5, 1, 8, 8)
    assert abs(out - ref).max() < 1e-4


# ---------------------------------------------------------------------------------------- path length

def test_path_length_penalty_scales_with_the_jacobian():
    from ganforge.losses.regularizers import path_length_penalty
    torch.manual_seed(0)
    m = torch.randn(2, 6, 64, requires_grad=True)                         # w (N, 2, 6) -> 8x8 image, linear
    w = torch.randn(5, 2, 6, requires_grad=True)
    scales = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])[:, None, None, None]  # sample i's Jacobian times i + 1
    out = {}
    for k in (1.0, 3.0):
        x = k * scales * torch.einsum("nld,ldp->np", w, m).view(5, 1, 8, 8)
        pen, mean = path_length_penalty(x, w, torch.zeros([]), decay=1.0, generator=torch.Generator().manual_seed(1))
        out[k] = (pen, mean)
    assert out[1.0][0] > 0                                                # unequal lengths are penalised
    torch.testing.assert_close(out[3.0][1], 3 * out[1.0][1])              # lengths scale with the Jacobian
    torch.testing.assert_close(out[3.0][0], 9 * out[1.0][0])
    (g,) = torch.autograd.grad(out[1.0][0], m)                            # the penalty trains the map
    assert g.abs().max() > 0


def test_path_length_regularisation_trains_and_resumes_exactly(tmp_path):
    sets = SETS + ["reg.pl=2", "reg.interval=2"]
    straight = api.train("digits", out=str(tmp_path / "a"), steps=8, overrides=sets, progress=False)
    part = api.train("digits", out=str(tmp_path / "b"), steps=5, overrides=sets, progress=False)
    api.resume(part.run_dir, steps=8, progress=False)
    (a, meta), (b, meta_b) = ckpt.load(straight.run_dir), ckpt.load(part.run_dir)
    assert [k for k in a if k.startswith(("net.", "opt.")) and not torch.equal(a[k], b[k])] == []
    assert meta["recipe_state"]["pl_mean"] > 0 and meta["recipe_state"] == meta_b["recipe_state"]


def test_path_length_needs_a_w_space(tmp_path):
    with pytest.raises(ConfigError, match="reg.pl"):
        api.train("digits", out=str(tmp_path / "r"), steps=1, progress=False,
                  overrides=["model.arch=dcgan", "model.z_dim=8", "model.g_width=4", "model.d_width=4", "reg.pl=2"])
