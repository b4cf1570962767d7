"""Dataset container, to_uint8, limit and the shared image conforming."""
import json

import numpy as np
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.core.errors import DataError
from ganforge.data import Dataset, load_dataset, to_uint8
from ganforge.data.dataset import apply_limit, check_labels, conform_images, images_to_float


def _images(n=10, c=1, h=4, w=4, labels=True):
    x = torch.linspace(-1, 1, n * c * h * w).reshape(n, c, h, w)
    y = torch.arange(n) % 3 if labels else None
    return Dataset(x=x, y=y, kind="image", name="tiny", value_range=(0.0, 255.0),
                   class_names=["a", "b", "c"] if labels else None)


def test_to_uint8_round_trip_every_byte():
    u = np.arange(256, dtype=np.uint8).reshape(1, 1, 16, 16)
    x = images_to_float(u, 0.0, 255.0)
    assert x.dtype == torch.float32 and x.min() == -1.0 and x.max() == 1.0
    back = to_uint8(x)
    assert back.dtype == np.uint8 and back.shape == u.shape
    np.testing.assert_array_equal(back, u)


def test_to_uint8_rounds_and_clamps():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 5.0, float("nan")])
    assert to_uint8(x).tolist() == [0, 0, 128, 255, 255, 128]  # NaN -> 0 -> mid grey


def test_properties_and_info_are_json_able():
    ds = _images()
    assert len(ds) == 10 and ds.shape == (1, 4, 4) and ds.num_classes == 3
    info = json.loads(json.dumps(ds.info()))
    assert info == {"name": "tiny", "kind": "image", "n": 10, "shape": [1, 4, 4],
                    "value_range": [0.0, 255.0], "num_classes": 3, "class_names": ["a", "b", "c"]}
    assert _images(labels=False).num_classes == 0


def test_split_is_disjoint_seeded_and_complete():
    ds = _images(n=20)
    a, b = ds.split(0.75, seed=3)
    assert len(a) == 15 and len(b) == 5
    rows = lambda d: {tuple(r.flatten().tolist()) for r in d.x}
    assert not rows(a) & rows(b)
    assert rows(a) | rows(b) == rows(ds)
    a2, _ = ds.split(0.75, seed=3)
    a3, _ = ds.split(0.75, seed=4)
    assert torch.equal(a.x, a2.x) and not torch.equal(a.x, a3.x)
    # labels travel with their examples
    idx = [int(torch.nonzero((ds.x == a.x[i]).all(dim=(1, 2, 3)))[0]) for i in range(len(a))]
    assert torch.equal(a.y, ds.y[idx])


@pytest.mark.parametrize("frac", [0.0, 1.0, 0.01])
def test_split_refuses_an_empty_part(frac):
    with pytest.raises(DataError):
        _images(n=10).split(frac, 0)


def test_limit_is_seeded_and_keeps_pairs():
    ds = _images(n=50)
    a = apply_limit(ds, 7, seed=1)
    b = apply_limit(ds, 7, seed=1)
    c = apply_limit(ds, 7, seed=2)
    assert len(a) == 7 and torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    assert apply_limit(ds, 0, 1) is ds and apply_limit(ds, 500, 1) is ds
    for i in range(7):
        j = int(torch.nonzero((ds.x == a.x[i]).all(dim=(1, 2, 3)))[0])
        assert a.y[i] == ds.y[j]


def test_check_labels_rejects_bad_labels():
    assert check_labels(np.array([0, 2, 1]), 3, "f").dtype == torch.int64
    for y, n in [(np.array([0, 1]), 3), (np.array([0, -1, 1]), 3), (np.array([0.5, 1, 2]), 3),
                 (np.zeros((3, 2)), 3)]:
        with pytest.raises(DataError) as e:
            check_labels(y, n, "f.npz")
        assert "\n" not in str(e.value) and "f.npz" in str(e.value)
    with pytest.raises(DataError, match="out of range"):
        check_labels(np.array([0, 10]), 2, "f", num_classes=10)


def test_conform_channels():
    x = _images(n=2, c=3).x
    grey = conform_images(x, 1, 0, "error", "t")
    assert grey.shape == (2, 1, 4, 4)
    w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    assert torch.allclose(grey, (x * w).sum(1, keepdim=True))
    rgb = conform_images(grey, 3, 0, "error", "t")
    assert rgb.shape == (2, 3, 4, 4) and torch.equal(rgb[:, 0], rgb[:, 2])


def test_conform_size_policies():
    x = torch.rand(3, 1, 6, 8) * 2 - 1
    with pytest.raises(DataError, match="not square"):
        conform_images(x, 0, 0, "error", "t")
    with pytest.raises(DataError, match="data.resize=resize"):
        conform_images(x, 0, 4, "error", "t")
    with pytest.raises(DataError, match="smaller"):
        conform_images(x, 0, 7, "crop", "t")
    crop = conform_images(x, 0, 4, "crop", "t")
    assert torch.equal(crop, x[:, :, 1:5, 2:6])
    big = conform_images(x, 0, 12, "resize", "t")
    assert big.shape == (3, 1, 12, 12) and big.min() >= -1 and big.max() <= 1
    const = torch.full((1, 1, 6, 6), 0.25)
    assert torch.allclose(conform_images(const, 0, 3, "resize", "t"), torch.full((1, 1, 3, 3), 0.25))


def test_load_dataset_rejects_unknown_source():
    with pytest.raises(DataError, match="unknown data source 'cifar'") as e:
        load_dataset(DataConfig(source="cifar"))
    assert "\n" not in str(e.value)
