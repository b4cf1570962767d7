"""The loop's speed choices change speed only: channels_last, one D call on cat(real, fake), --device."""
from __future__ import annotations

import json

import pytest
import torch

from ganforge.config import resolve
from ganforge.engine.speed import use_channels_last
from ganforge.nets import MinibatchStdDev, build_discriminator, build_generator
from ganforge.recipes.dscore import mixes_batch, score_real_fake


class _Batches:
    def __init__(self, x):
        self.x = x

    def channels_last(self):
        self.x = self.x.contiguous(memory_format=torch.channels_last)


def _dcgan(**kw):
    cfg = resolve("mnist", {"model.z_dim": 8, "model.g_width": 8, "model.d_width": 8, **kw})
    torch.manual_seed(0)
    return build_generator(cfg.model, (1, 28, 28)), build_discriminator(cfg.model, (1, 28, 28))


def test_channels_last_on_cpu_convs_keeps_outputs():
    G, D = _dcgan()
    z = torch.randn(4, 8)
    before = D(G(z))
    batches = _Batches(torch.randn(6, 1, 28, 28))
    assert use_channels_last({"G": G, "D": D}, batches, torch.device("cpu"))
    assert G.ups[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert batches.x.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(D(G(z)), before, atol=1e-5)


def test_channels_last_left_off_where_not_measured():
    G, D = _dcgan()
    assert not use_channels_last({"G": G}, None, torch.device("cpu"), mode="off")
    assert not use_channels_last({"G": G}, None, torch.device("cuda"))  # auto: CPU only (nothing runs on it)
    mlp = build_generator(resolve("ring8").model, (2,))
    assert not use_channels_last({"G": mlp}, _Batches(torch.randn(3, 2)), torch.device("cpu"))


def test_one_d_call_equals_two_when_d_mixes_no_examples():
    _, D = _dcgan(**{"model.d_norm": "spectral"})
    real, fake = torch.randn(5, 1, 28, 28), torch.randn(3, 1, 28, 28)
    assert not mixes_batch(D)
    D.eval()  # the spectral-norm power iteration would move between the calls in train mode
    r, f = score_real_fake(D, real, fake, None, None)
    assert r.shape == (5,) and f.shape == (3,)
    assert torch.allclose(r, D(real), atol=1e-5) and torch.allclose(f, D(fake), atol=1e-5)


def test_d_with_batch_norm_is_called_twice():
    _, D = _dcgan(**{"model.d_norm": "batch"})
    assert mixes_batch(D)
    calls = []
    D.register_forward_hook(lambda m, a, out: calls.append(a[0].shape[0]))
    score_real_fake(D, torch.randn(4, 1, 28, 28), torch.randn(4, 1, 28, 28), None, None)
    assert calls == [4, 4]  # real and fake never share batch statistics


@pytest.mark.parametrize("preset,shape", [("mnist", (1, 28, 28)), ("grid25", (2,))])
def test_minibatch_stddev_keeps_real_and_fake_apart_in_one_call(preset, shape):
    torch.manual_seed(0)
    D = build_discriminator(resolve(preset, {"model.mbstd": "4", "model.d_norm": "none"}).model, shape, 0)
    assert not mixes_batch(D)
    calls = []
    D.register_forward_hook(lambda m, a, out: calls.append(a[0].shape[0]))
    real, fake = torch.randn(8, *shape), 3 + 5 * torch.randn(6, *shape)  # very different spreads
    r, f = score_real_fake(D, real, fake, None, None)
    assert calls == [14]
    assert torch.allclose(r, D(real), atol=1e-5) and torch.allclose(f, D(fake), atol=1e-5)
    joined = D(torch.cat([real, fake]))  # what a call without the segments would give: different
    assert not torch.allclose(joined[:8], r, atol=1e-5, rtol=0)
    assert all(m.segments is None for m in D.modules() if isinstance(m, MinibatchStdDev))


def test_conditional_labels_follow_their_examples():
    cfg = resolve("digits", {"model.arch": "dcgan", "model.conditional": "true", "model.d_width": 8})
    torch.manual_seed(0)
    D = build_discriminator(cfg.model, (1, 8, 8), 10).eval()
    real, fake = torch.randn(3, 1, 8, 8), torch.randn(2, 1, 8, 8)
    yr, yf = torch.tensor([1, 2, 3]), torch.tensor([7, 9])
    r, f = score_real_fake(D, real, fake, yr, yf)
    assert torch.allclose(r, D(real, yr), atol=1e-5) and torch.allclose(f, D(fake, yf), atol=1e-5)


def test_train_device_shortcut(capsys):
    from ganforge.cli import main
    assert main(["train", "digits", "--device", "cpu", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["train"]["device"] == "cpu"


def test_only_2d_convolutions_go_channels_last():
    """A network with 3-D convolutions (piano-rolls, video) beside a 2-D one: the 2-D weights turn NHWC, the
    3-D ones are left as they are (converting a rank-5 weight to channels_last raises)."""
    from torch import nn

    from ganforge.engine.speed import use_channels_last
    nets = {"G": nn.Sequential(nn.Conv2d(2, 4, 3), nn.Linear(4, 4)), "D": nn.Sequential(nn.Conv3d(2, 4, 3))}
    assert use_channels_last(nets, None, torch.device("cpu"))
    assert nets["G"][0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not nets["G"][0].weight.is_contiguous()
    assert nets["D"][0].weight.is_contiguous()
    nets["D"](torch.randn(2, 2, 5, 5, 5))          # and D still runs
