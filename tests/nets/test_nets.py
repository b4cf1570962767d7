import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganforge.config import ModelConfig
from ganforge.core.errors import ConfigError
from ganforge.nets import CondBatchNorm, MinibatchStdDev, build_discriminator, build_generator, param_count, valid_sizes
from ganforge.nets.dcgan import DCGANGenerator, plan
from ganforge.nets.mlp import MLPDiscriminator, MLPGenerator

SIZES = [8, 12, 16, 24, 28, 32, 48, 56, 64, 96, 112, 128]


def tiny(**kw) -> ModelConfig:
    base = dict(z_dim=8, g_width=4, d_width=4, mlp_layers=2)
    base.update(kw)
    return ModelConfig(**base)


def with_extra(cfg: ModelConfig, **extra) -> ModelConfig:
    """ModelConfig does not carry mbstd / pack yet; the builders read them with getattr."""
    for k, v in extra.items():
        object.__setattr__(cfg, k, v)
    return cfg


# ---------------------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes_every_size(size, channels):
    torch.manual_seed(0)
    shape = (channels, size, size)
    G, D = build_generator(tiny(), shape), build_discriminator(tiny(), shape)
    x = G(torch.randn(2, 8))
    assert x.shape == (2, *shape)
    assert x.abs().max() <= 1.0  # tanh output, data lives in [-1, 1]
    out = D(x)
    assert out.shape == (2,) and torch.isfinite(out).all()


@pytest.mark.parametrize("convs", [1, 2])
def test_g_convs_deepen_g_without_changing_its_shape(convs):
    shape = (3, 28, 28)                               # base grid 7, one up-sampling: two hidden blocks
    torch.manual_seed(0)
    plain = build_generator(tiny(), shape)
    torch.manual_seed(0)
    deep = build_generator(tiny(g_convs=convs), shape)
    extra = [m for m in deep.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.kernel_size, c.stride) for c in extra] == \
        [(8, (3, 3), (1, 1))] * convs + [(4, (3, 3), (1, 1))] * convs
    bns = [m for m in deep.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 2 + 2 * convs                  # each extra convolution has its norm
    assert param_count(deep) == param_count(plain) + convs * (8 * 8 * 9 + 2 * 8 + 4 * 4 * 9 + 2 * 4)
    z = torch.randn(5, 8)
    x = deep(z)
    assert x.shape == (5, *shape) and x.abs().max() <= 1.0
    x.sum().backward()
    assert all(c.weight.grad is not None and c.weight.grad.abs().sum() > 0 for c in extra)
    # the plain G's weights load into the deep one's shared layers: the extras are the only new keys
    new = set(deep.state_dict()) - set(plain.state_dict())
    assert new and all(k.startswith("extra") for k in new) and set(plain.state_dict()) <= set(deep.state_dict())


@pytest.mark.parametrize("norm", ["spectral", "batch", "none"])
def test_d_convs_deepen_d_with_its_norm(norm):
    shape = (1, 28, 28)                               # two down-samplings: 28 -> 14 -> 7
    plain = build_discriminator(tiny(d_norm=norm), shape)
    deep = build_discriminator(tiny(d_norm=norm, d_convs=2), shape)
    extra = [m for m in deep.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert [(c.in_channels, c.out_channels, c.stride) for c in extra] == [(4, 4, (1, 1))] * 2 + [(8, 8, (1, 1))] * 2
    assert all(parametrize.is_parametrized(c) == (norm == "spectral") for c in extra)
    bns = lambda net: sum(isinstance(m, nn.BatchNorm2d) for m in net.modules())  # noqa: E731
    assert bns(deep) - bns(plain) == (4 if norm == "batch" else 0)
    x = torch.randn(6, *shape, requires_grad=True)
    out = deep(x)
    assert out.shape == (6,) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for c in extra for p in c.parameters())
    assert x.grad.abs().sum() > 0


@pytest.mark.parametrize("key", ["model.g_convs", "model.d_convs"])
def test_negative_convs_are_a_config_error(key):
    from ganforge.config import resolve
    with pytest.raises(ConfigError, match=key):
        resolve("mnist", overrides={key: -1})


def test_base_grid_plan():
    assert plan(8) == (4, 1)
    assert plan(28) == (7, 2)
    assert plan(12) == (6, 1)
    assert plan(64) == (4, 4)
    assert plan(96) == (6, 4)
    assert set(SIZES) <= set(valid_sizes(128))
    assert 25 not in valid_sizes() and 6 not in valid_sizes()


def test_widths_double_toward_base_and_cap():
    G = build_generator(tiny(g_width=4), (3, 128, 128))
    convs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [c.in_channels for c in convs] == [32, 32, 16, 8, 4]  # cap at 8 * g_width
    assert convs[-1].out_channels == 3
    D = build_discriminator(tiny(d_width=4, d_norm="none"), (3, 128, 128))
    assert [c.out_channels for c in D.modules() if isinstance(c, nn.Conv2d)] == [4, 8, 16, 32, 32]


@pytest.mark.parametrize("shape", [(3, 25, 25), (1, 130, 130), (1, 6, 6), (3, 4, 4), (3, 32, 64)])
def test_unsupported_sizes_raise_config_error(shape):
    for build in (build_generator, build_discriminator):
        with pytest.raises(ConfigError) as e:
            build(tiny(), shape)
        msg = str(e.value)
        assert "\n" not in msg and "data.size" in msg and "data.resize" in msg
    if shape == (3, 25, 25):
        assert "24" in msg and "28" in msg


def test_bad_shape_or_arch_raise_config_error():
    with pytest.raises(ConfigError):
        build_generator(tiny(arch="dcgan"), (2,))
    with pytest.raises(ConfigError):
        build_generator(tiny(), (3, 8))
    with pytest.raises(ConfigError):
        build_discriminator(tiny(d_norm="layer"), (3, 8, 8))
    with pytest.raises(ConfigError):
        build_generator(tiny(arch="resnet"), (3, 8, 8))


def test_mlp_vectors_are_linear_output():
    torch.manual_seed(0)
    G, D = build_generator(tiny(), (2,)), build_discriminator(tiny(), (2,))
    assert isinstance(G, MLPGenerator) and isinstance(D, MLPDiscriminator)
    assert sum(isinstance(m, nn.Linear) for m in G.modules()) == 3  # mlp_layers hidden + output
    with torch.no_grad():
        G.out.weight.mul_(100.0)
    x = G(torch.randn(16, 8))
    assert x.shape == (16, 2) and x.abs().max() > 1.0  # no tanh for vectors
    assert D(x).shape == (16,)


def test_mlp_on_images_flattens_and_squashes():
    G = build_generator(tiny(arch="mlp"), (1, 8, 8))
    D = build_discriminator(tiny(arch="mlp"), (1, 8, 8))
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 1, 8, 8) and x.abs().max() <= 1.0
    assert D(x).shape == (3,)


def test_wrong_inputs_raise_value_error():
    G, D = build_generator(tiny(), (1, 8, 8)), build_discriminator(tiny(), (1, 8, 8))
    with pytest.raises(ValueError):
        G(torch.randn(2, 7))
    with pytest.raises(ValueError):
        D(torch.randn(2, 3, 8, 8))


# ----------------------------------------------------------------------------------- conditional

@pytest.mark.parametrize("shape", [(1, 16, 16), (2,)])
@pytest.mark.parametrize("cond", ["embed", "cbn"])
def test_conditional_generator_uses_labels(shape, cond):
    torch.manual_seed(0)
    G = build_generator(tiny(conditional=True, cond_g=cond), shape, num_classes=5)
    assert G.num_classes == 5
    z = torch.randn(2, 8)
    a, b = G(z, torch.tensor([0, 1])), G(z, torch.tensor([3, 4]))
    assert a.shape == (2, *shape) and not torch.allclose(a, b)
    with pytest.raises(ValueError, match="labels"):
        G(z)
    n_cbn = sum(isinstance(m, CondBatchNorm) for m in G.modules())
    plain_bn = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine]
    if cond == "cbn":
        assert n_cbn > 0 and not plain_bn  # every norm layer is conditional
    else:
        assert n_cbn == 0 and plain_bn


def test_cbn_needs_batch_norm():
    with pytest.raises(ConfigError):
        build_generator(tiny(conditional=True, cond_g="cbn", g_norm="none"), (1, 8, 8), num_classes=3)


@pytest.mark.parametrize("shape", [(3, 16, 16), (2,)])
@pytest.mark.parametrize("norm", ["batch", "spectral", "none"])
def test_projection_discriminator_uses_labels(shape, norm):
    torch.manual_seed(0)
    D = build_discriminator(tiny(conditional=True, d_norm=norm), shape, num_classes=4).eval()
    x = torch.randn(3, *shape)
    a, b = D(x, torch.tensor([0, 1, 2])), D(x, torch.tensor([3, 3, 3]))
    assert a.shape == (3,) and not torch.allclose(a, b)
    with pytest.raises(ValueError, match="labels"):
        D(x)


def test_unconditional_when_no_classes_or_flag_off():
    G = build_generator(tiny(conditional=True), (1, 8, 8), num_classes=0)
    assert G.num_classes == 0 and G(torch.randn(2, 8)).shape == (2, 1, 8, 8)
    D = build_discriminator(tiny(conditional=False), (1, 8, 8), num_classes=10)
    assert D.num_classes == 0 and D(torch.randn(2, 1, 8, 8)).shape == (2,)


# ---------------------------------------------------------------------------------------- norms

def _weighted(D):
    return [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]


def test_d_norm_spectral_wraps_every_layer_and_bounds_sigma():
    torch.manual_seed(0)
    D = build_discriminator(tiny(d_norm="spectral", conditional=True), (1, 16, 16), num_classes=3)
    layers = _weighted(D)
    assert len(layers) == 4 and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    for _ in range(20):  # power iteration runs once per training-mode forward
        D(torch.randn(2, 1, 16, 16), torch.tensor([0, 1]))
    w = D.features[0].weight.flatten(1)
    assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, abs=0.02)


def test_d_norm_batch_skips_first_conv():
    D = build_discriminator(tiny(d_norm="batch"), (3, 32, 32))
    mods = list(D.features)
    assert isinstance(mods[0], nn.Conv2d) and not isinstance(mods[1], nn.BatchNorm2d)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in mods) == 2  # 3 convs, first without BN
    assert not any(parametrize.is_parametrized(m) for m in _weighted(D))


def test_d_norm_none_has_no_norm():
    D = build_discriminator(tiny(d_norm="none"), (3, 32, 32))
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())
    assert not any(parametrize.is_parametrized(m) for m in _weighted(D))
    # spectral norm adds buffers, not parameters
    assert param_count(D) == param_count(build_discriminator(tiny(d_norm="spectral"), (3, 32, 32)))
    assert param_count(D) == sum(p.numel() for p in D.parameters()) > 0


@pytest.mark.parametrize("norm", ["batch", "spectral", "none"])
def test_gradients_and_double_backward(norm):
    torch.manual_seed(0)
    G, D = build_generator(tiny(), (1, 16, 16)), build_discriminator(tiny(d_norm=norm), (1, 16, 16))
    D(G(torch.randn(4, 8))).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in G.parameters())
    x = torch.randn(4, 1, 16, 16, requires_grad=True)  # R1-style gradient penalty must work
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    g.square().sum().backward()
    assert all(p.grad is not None for p in D.parameters())


# --------------------------------------------------------------------------------- mbstd / pack

def test_minibatch_stddev_values():
    x = torch.arange(4.0).square().view(4, 1, 1, 1).expand(4, 2, 3, 3)  # sample i is i^2 everywhere
    out = MinibatchStdDev(2)(x)  # groups {0, 2} and {1, 3}: stds 2 and 4
    assert out.shape == (4, 3, 3, 3) and torch.equal(out[:, :2], x)
    assert torch.allclose(out[:, 2, 0, 0], torch.tensor([2.0, 4.0, 2.0, 4.0]))
    out = MinibatchStdDev(4)(x)  # one group: population std of 0, 1, 4, 9
    assert torch.allclose(out[:, 2], torch.full((4, 3, 3), math.sqrt(12.25)))
    assert MinibatchStdDev(4)(torch.randn(3, 5)).shape == (3, 6)     # vectors; odd batch
    assert MinibatchStdDev(4)(torch.randn(1, 5))[0, 5] < 1e-3          # lone sample: no spread


@pytest.mark.parametrize("shape", [(1, 16, 16), (2,)])
def test_mbstd_couples_samples_in_d(shape):
    torch.manual_seed(0)
    x = torch.randn(4, *shape)
    y = x.clone()
    y[1] += 3.0
    D0 = build_discriminator(tiny(d_norm="none"), shape).eval()
    D1 = build_discriminator(with_extra(tiny(d_norm="none"), mbstd=4), shape).eval()
    assert any(isinstance(m, MinibatchStdDev) for m in D1.modules())
    assert param_count(D1) > param_count(D0)  # the head sees one more feature (map)
    assert torch.allclose(D0(x)[0], D0(y)[0])  # without mbstd, sample 0 ignores sample 1
    assert not torch.allclose(D1(x)[0], D1(y)[0])


@pytest.mark.parametrize("shape", [(3, 8, 8), (2,)])
def test_pack_multiplies_input_channels(shape):
    D = build_discriminator(with_extra(tiny(), pack=2), shape)
    assert D.pack == 2 and D.in_shape == (shape[0] * 2, *shape[1:])
    x = torch.randn(8, *shape)
    packed = x.view(4, shape[0] * 2, *shape[1:])  # the caller packs consecutive samples
    assert D(packed).shape == (4,)
    with pytest.raises(ValueError, match="pack"):
        D(x)
    with pytest.raises(ConfigError):
        build_discriminator(with_extra(tiny(), pack=0), shape)


# ---------------------------------------------------------------------------------------- init

def test_init_is_deterministic_under_seed():
    def build(seed):
        torch.manual_seed(seed)
        cfg = tiny(conditional=True, g_width=8, d_width=8)
        return build_generator(cfg, (3, 32, 32), 3), build_discriminator(cfg, (3, 32, 32), 3)

    (g1, d1), (g2, d2), (g3, _) = build(1), build(1), build(2)
    for a, b in ((g1, g2), (d1, d2)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(g1.fc.weight, g3.fc.weight)


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    G = build_generator(tiny(g_width=16), (3, 32, 32))
    assert isinstance(G, DCGANGenerator)
    w = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert w.mean().abs() < 0.002 and w.std().item() == pytest.approx(0.02, rel=0.05)
    gains = torch.cat([m.weight for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert gains.mean().item() == pytest.approx(1.0, abs=0.01) and 0.01 < gains.std() < 0.03
