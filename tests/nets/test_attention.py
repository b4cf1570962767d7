"""The SAGAN self-attention block: the identity when fresh, equivariant to permuting positions, placed by
model.attention in the DCGAN and text-to-image networks, refused at a side a network does not have."""
from __future__ import annotations

import pytest
import torch

from ganforge.config import ModelConfig
from ganforge.core.errors import ConfigError
from ganforge.nets import build_discriminator, build_generator
from ganforge.nets.attention import SelfAttention
from ganforge.nets.text2image import Text2ImageD, Text2ImageG


def test_fresh_block_is_identity_and_attention_is_equivariant_to_positions():
    torch.manual_seed(0)
    block = SelfAttention(16)
    x = torch.randn(2, 16, 4, 4)
    assert torch.equal(block(x), x)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    y = block(x)
    assert y.shape == x.shape and not torch.allclose(y, x)
    perm = torch.randperm(16)
    xp = x.flatten(2)[:, :, perm].view_as(x)
    assert torch.allclose(block(xp).flatten(2), y.flatten(2)[:, :, perm], atol=1e-5)


def test_model_attention_places_one_block_in_g_and_d():
    m = ModelConfig(z_dim=8, g_width=4, d_width=4, attention=16)
    G, D = build_generator(m, (3, 32, 32)), build_discriminator(m, (3, 32, 32))
    assert sum(isinstance(mod, SelfAttention) for mod in G.modules()) == 1
    assert sum(isinstance(mod, SelfAttention) for mod in D.modules()) == 1
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 3, 32, 32) and D(x).shape == (3,)
    plain = ModelConfig(z_dim=8, g_width=4, d_width=4)
    assert not any(isinstance(mod, SelfAttention) for mod in build_generator(plain, (3, 32, 32)).modules())
    with pytest.raises(ConfigError, match=r"model.attention=5: G's feature maps are 4, 8, 16"):
        build_generator(ModelConfig(attention=5), (3, 32, 32))
    g, d = Text2ImageG(8, 6, 4, 4, 32, attention=16), Text2ImageD(6, 4, 32, attention=8)
    assert g(torch.randn(2, 8), torch.randn(2, 4)).shape == (2, 3, 32, 32) and d.score(
        d.features(torch.randn(2, 3, 32, 32)), torch.randn(2, 6)).shape == (2,)
    with pytest.raises(ConfigError, match="D's feature maps are 16, 8, 4"):
        Text2ImageD(6, 4, 32, attention=32)
