"""The PacGAN 2-D Gaussian mixtures."""
import math

import torch

from ganforge.config import DataConfig
from ganforge.data import load_dataset
from ganforge.data.toy2d import grid_modes, ring_modes


def test_ring_modes_on_unit_circle():
    m = ring_modes()
    assert m.shape == (8, 2)
    assert torch.allclose(m.norm(dim=1), torch.ones(8), atol=1e-6)
    assert torch.allclose(m[2], torch.tensor([0.0, 1.0]), atol=1e-6)  # angle 2*pi*2/8 = pi/2
    angles = torch.atan2(m[:, 1], m[:, 0]).remainder(2 * math.pi)
    assert torch.allclose(angles, torch.arange(8) * (2 * math.pi / 8), atol=1e-5)


def test_grid_modes_cover_the_grid():
    m = grid_modes()
    assert m.shape == (25, 2)
    pts = {(round(a), round(b)) for a, b in m.tolist()}
    assert pts == {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}


def test_ring8_dataset_matches_the_protocol():
    ds = load_dataset(DataConfig(source="ring8", n_points=20000), seed=0)
    assert ds.kind == "vector" and ds.x.shape == (20000, 2) and ds.x.dtype == torch.float32
    assert ds.sigma == 0.01 and ds.modes.shape == (8, 2) and ds.value_range is None
    assert ds.y.dtype == torch.int64 and ds.num_classes == 8
    resid = ds.x - ds.modes[ds.y]
    assert abs(resid.std().item() - 0.01) < 0.001
    counts = torch.bincount(ds.y, minlength=8).float()
    assert (counts / 20000 - 1 / 8).abs().max() < 0.02


def test_grid25_dataset_matches_the_protocol():
    ds = load_dataset(DataConfig(source="grid25", n_points=20000), seed=1)
    assert ds.x.shape == (20000, 2) and ds.sigma == 0.05 and ds.num_classes == 25
    resid = ds.x - ds.modes[ds.y]
    assert abs(resid.std().item() - 0.05) < 0.003
    assert torch.bincount(ds.y, minlength=25).min() > 600  # every mode present, roughly equally


def test_toy_data_is_seeded():
    a = load_dataset(DataConfig(source="ring8", n_points=500), seed=5)
    b = load_dataset(DataConfig(source="ring8", n_points=500), seed=5)
    c = load_dataset(DataConfig(source="ring8", n_points=500), seed=6)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)


def test_toy_labels_off_and_limit():
    ds = load_dataset(DataConfig(source="grid25", n_points=1000, labels=False, limit=100), seed=0)
    assert ds.y is None and ds.class_names is None and ds.num_classes == 0
    assert len(ds) == 100 and ds.modes is not None
    again = load_dataset(DataConfig(source="grid25", n_points=1000, labels=False, limit=100), seed=0)
    assert torch.equal(ds.x, again.x)
