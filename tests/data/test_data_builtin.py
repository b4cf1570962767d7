"""digits, mnist, stacked-mnist and the GANFORGE_DATA search path."""
import gzip
import os
import struct

import numpy as np
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.core.errors import DataError
from ganforge.data import STACKED_MNIST_CAP, find_data, load_dataset, to_uint8


def write_idx(path, arr, gz=True):
    arr = np.asarray(arr, dtype=np.uint8)
    data = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)


def fake_mnist(root, n=40, split="t10k", gz=True, labels=True):
    """Image i is constant with value i, label i % 10, so every pixel tells which image it is."""
    ext = ".gz" if gz else ""
    imgs = np.repeat(np.arange(n, dtype=np.uint8), 4 * 4).reshape(n, 4, 4)
    write_idx(root / "mnist" / f"{split}-images-idx3-ubyte{ext}", imgs, gz)
    if labels:
        write_idx(root / "mnist" / f"{split}-labels-idx1-ubyte{ext}", np.arange(n) % 10, gz)
    return root


def real_data_root():
    for root in os.environ.get("GANFORGE_DATA", "").split(os.pathsep):
        if root and os.path.isfile(os.path.join(root, "mnist", "t10k-images-idx3-ubyte.gz")):
            return root
    pytest.skip("MNIST not found under GANFORGE_DATA")


# ---------------------------------------------------------------------------------------------- digits

def test_digits():
    ds = load_dataset(DataConfig(source="digits"))
    assert ds.name == "digits" and ds.kind == "image" and ds.x.shape == (1797, 1, 8, 8)
    assert ds.value_range == (0.0, 16.0)
    assert ds.x.min().item() == -1.0 and ds.x.max().item() == 1.0  # pixel values 0 and 16
    assert ds.y.dtype == torch.int64 and sorted(set(ds.y.tolist())) == list(range(10))
    assert ds.class_names == [str(k) for k in range(10)]
    from sklearn.datasets import load_digits
    raw = load_digits()
    assert torch.allclose(ds.x[5, 0], torch.tensor(raw.images[5] / 8.0 - 1.0, dtype=torch.float32))
    assert ds.y[5] == raw.target[5]


def test_digits_limit_labels_channels_size():
    cfg = DataConfig(source="digits", limit=100, labels=False, channels=3, size=16, resize="resize")
    ds = load_dataset(cfg, seed=2)
    assert ds.x.shape == (100, 3, 16, 16) and ds.y is None and ds.num_classes == 0
    assert torch.equal(ds.x, load_dataset(cfg, seed=2).x)
    assert not torch.equal(ds.x, load_dataset(cfg, seed=3).x)


# ---------------------------------------------------------------------------------------------- search

def test_find_data_search_order(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "mnist").mkdir(parents=True)
    (b / "mnist").mkdir(parents=True)
    (b / "mnist" / "f.bin").write_bytes(b"b")
    monkeypatch.setenv("GANFORGE_DATA", os.pathsep.join([str(a), str(b)]))
    assert find_data("mnist/f.bin") == str(b / "mnist" / "f.bin")
    (a / "mnist" / "f.bin").write_bytes(b"a")
    assert find_data("mnist/f.bin") == str(a / "mnist" / "f.bin")
    # explicit first: the folder holding the file, its parent, or the file itself
    assert find_data("mnist/f.bin", str(b / "mnist")) == str(b / "mnist" / "f.bin")
    assert find_data("mnist/f.bin", str(b)) == str(b / "mnist" / "f.bin")
    assert find_data("mnist/f.bin", str(b / "mnist" / "f.bin")) == str(b / "mnist" / "f.bin")


def test_find_data_errors_list_where_they_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "x") + os.pathsep + str(tmp_path / "y"))
    with pytest.raises(DataError) as e:
        find_data("mnist/none.gz", str(tmp_path))
    msg = str(e.value)
    assert "\n" not in msg and "mnist/none.gz" in msg
    assert all(str(p) in msg for p in (tmp_path, tmp_path / "x", tmp_path / "y"))
    monkeypatch.delenv("GANFORGE_DATA")
    with pytest.raises(DataError, match="GANFORGE_DATA is not set"):
        find_data("mnist/none.gz")
    with pytest.raises(DataError, match="does not exist"):
        find_data("mnist/none.gz", str(tmp_path / "missing"))


# ---------------------------------------------------------------------------------------------- mnist

def test_mnist_from_search_path(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(fake_mnist(tmp_path)))
    ds = load_dataset(DataConfig(source="mnist"))
    assert ds.name == "mnist" and ds.x.shape == (40, 1, 4, 4) and ds.value_range == (0.0, 255.0)
    assert to_uint8(ds.x)[:, 0, 0, 0].tolist() == list(range(40))
    assert ds.y.tolist() == [i % 10 for i in range(40)] and ds.num_classes == 10


@pytest.mark.parametrize("where", ["parent", "folder", "file"])
def test_mnist_from_data_path_raw_train_files(tmp_path, monkeypatch, where):
    monkeypatch.delenv("GANFORGE_DATA", raising=False)
    fake_mnist(tmp_path, n=12, split="train", gz=False)
    path = {"parent": tmp_path, "folder": tmp_path / "mnist",
            "file": tmp_path / "mnist" / "train-images-idx3-ubyte"}[where]
    ds = load_dataset(DataConfig(source="mnist", path=str(path)))
    assert len(ds) == 12 and ds.y.tolist() == [i % 10 for i in range(12)]


def test_mnist_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path))
    with pytest.raises(DataError, match="cannot find MNIST") as e:
        load_dataset(DataConfig(source="mnist"))
    assert str(tmp_path) in str(e.value) and "\n" not in str(e.value)


# ---------------------------------------------------------------------------------------------- stacked

def test_stacked_mnist_construction(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(fake_mnist(tmp_path, n=40)))
    ds = load_dataset(DataConfig(source="stacked-mnist", n_points=500), seed=1)
    assert ds.x.shape == (500, 3, 4, 4) and ds.num_classes == 1000 and ds.class_names[42] == "042"
    which = to_uint8(ds.x)[:, :, 0, 0].astype(np.int64)  # (500, 3): the MNIST index in each channel
    digit = which % 10
    assert ds.y.tolist() == (100 * digit[:, 0] + 10 * digit[:, 1] + digit[:, 2]).tolist()
    assert len(np.unique(which)) == 40  # uniform draws reach every source image
    again = load_dataset(DataConfig(source="stacked-mnist", n_points=500), seed=1)
    other = load_dataset(DataConfig(source="stacked-mnist", n_points=500), seed=2)
    assert torch.equal(ds.x, again.x) and not torch.equal(ds.x, other.x)


def test_stacked_mnist_cap_and_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(fake_mnist(tmp_path, n=20)))
    big = load_dataset(DataConfig(source="stacked-mnist", n_points=STACKED_MNIST_CAP + 1000))
    assert len(big) == STACKED_MNIST_CAP == 50_000
    small = load_dataset(DataConfig(source="stacked-mnist", limit=30))
    assert len(small) == 30


def test_stacked_mnist_needs_labels(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(fake_mnist(tmp_path, labels=False)))
    with pytest.raises(DataError, match="data.labels=false"):
        load_dataset(DataConfig(source="stacked-mnist", n_points=10))
    ds = load_dataset(DataConfig(source="stacked-mnist", n_points=10, labels=False))
    assert ds.y is None and ds.x.shape == (10, 3, 4, 4)


# ---------------------------------------------------------------------------------------------- real files

def test_real_mnist(monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", real_data_root())
    ds = load_dataset(DataConfig(source="mnist"))
    assert ds.x.shape == (10000, 1, 28, 28) and ds.x.dtype == torch.float32
    assert ds.x.min().item() == -1.0 and ds.x.max().item() == 1.0
    assert ds.y[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first test labels
    assert torch.bincount(ds.y).tolist()[:2] == [980, 1135]


def test_real_stacked_mnist(monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", real_data_root())
    ds = load_dataset(DataConfig(source="stacked-mnist", n_points=200), seed=0)
    assert ds.x.shape == (200, 3, 28, 28) and 0 <= ds.y.min() and ds.y.max() < 1000
    assert len(set(ds.y.tolist())) > 150  # 200 draws over 1,000 equally likely modes
