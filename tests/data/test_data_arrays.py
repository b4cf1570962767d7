"""IDX and NPZ/NPY readers."""
import gzip
import struct

import numpy as np
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.core.errors import DataError
from ganforge.data import load_dataset, read_idx, to_uint8


def write_idx(path, arr, code=0x08, gz=False):
    arr = np.asarray(arr)
    big = arr.astype(arr.dtype.newbyteorder(">"))
    data = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + big.tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _imgs(n=6, h=5, w=5):
    return (np.arange(n * h * w) % 256).astype(np.uint8).reshape(n, h, w)


def _load(path, **kw):
    return load_dataset(DataConfig(path=str(path), **kw), seed=0)


def _one_line(match, path, **kw):
    with pytest.raises(DataError, match=match) as e:
        _load(path, **kw)
    assert "\n" not in str(e.value)
    return str(e.value)


# ---------------------------------------------------------------------------------------------- IDX

@pytest.mark.parametrize("gz", [False, True])
def test_idx_images_with_labels_beside(tmp_path, gz):
    ext = ".gz" if gz else ""
    imgs = _imgs()
    p = write_idx(tmp_path / f"my-images-idx3-ubyte{ext}", imgs, gz=gz)
    write_idx(tmp_path / f"my-labels-idx1-ubyte{ext}", np.array([3, 1, 4, 1, 5, 9], np.uint8), gz=gz)
    ds = _load(p, source="idx")
    assert ds.x.shape == (6, 1, 5, 5) and ds.value_range == (0.0, 255.0)
    np.testing.assert_array_equal(to_uint8(ds.x)[:, 0], imgs)
    assert ds.y.tolist() == [3, 1, 4, 1, 5, 9] and ds.num_classes == 10
    auto = _load(p, source="auto")
    assert torch.equal(auto.x, ds.x)


def test_idx_without_labels_and_wider_dtypes(tmp_path):
    p = write_idx(tmp_path / "x-images-idx3-float", _imgs().astype(">f4") / 2, code=0x0D)
    ds = _load(p, source="idx")
    assert ds.y is None and ds.value_range == (0.0, 74.5)  # values 0..149, halved
    assert ds.x.min() == -1 and ds.x.max() == 1
    a = np.array([[[-300, 7000]]], dtype=np.int16)
    np.testing.assert_array_equal(read_idx(str(write_idx(tmp_path / "s", a, code=0x0B))), a)


def test_idx_truncated_is_named(tmp_path):
    p = write_idx(tmp_path / "cut-images-idx3-ubyte", _imgs())
    p.write_bytes(p.read_bytes()[:-7])
    msg = _one_line("truncated", p, source="idx")
    assert str(p) in msg


def test_idx_truncated_gzip_is_named(tmp_path):
    p = write_idx(tmp_path / "cut-images-idx3-ubyte.gz", _imgs(n=50), gz=True)
    p.write_bytes(p.read_bytes()[:40])
    assert str(p) in _one_line("corrupt or truncated", p, source="idx")


def test_idx_bad_magic_and_type_code(tmp_path):
    p = tmp_path / "junk-images-idx3-ubyte"
    p.write_bytes(b"\x01\x02\x08\x03" + b"\x00" * 40)
    assert str(p) in _one_line("bad magic", p, source="idx")
    write_idx(p, _imgs(), code=0x07)
    _one_line("type code 0x07", p, source="idx")


def test_idx_label_count_mismatch(tmp_path):
    p = write_idx(tmp_path / "a-images-idx3-ubyte", _imgs())
    write_idx(tmp_path / "a-labels-idx1-ubyte", np.zeros(5, np.uint8))
    _one_line("5 labels for 6 examples", p, source="idx")
    assert _load(p, source="idx", labels=False).y is None


def test_idx_labels_file_given_as_images(tmp_path):
    p = write_idx(tmp_path / "a-labels-idx1-ubyte", np.zeros(5, np.uint8))
    _one_line("holds labels", p, source="idx")


# ---------------------------------------------------------------------------------------------- NPZ

@pytest.mark.parametrize("layout", ["nhw", "nchw", "nhwc"])
def test_npz_uint8_layouts(tmp_path, layout):
    rgb = np.random.default_rng(0).integers(0, 256, (4, 3, 6, 6), dtype=np.uint8)  # (N, C, H, W)
    arr = {"nhw": rgb[:, 0], "nchw": rgb, "nhwc": rgb.transpose(0, 2, 3, 1)}[layout]
    p = tmp_path / "d.npz"
    np.savez(p, x=arr, y=np.array([0, 2, 1, 2]))
    ds = _load(p, source="npz")
    want = rgb[:, :1] if layout == "nhw" else rgb
    np.testing.assert_array_equal(to_uint8(ds.x), want)
    assert ds.value_range == (0.0, 255.0) and ds.y.tolist() == [0, 2, 1, 2] and ds.num_classes == 3


def test_npz_float_images_use_their_range(tmp_path):
    x = np.linspace(-3.0, 5.0, 2 * 16).reshape(2, 1, 4, 4)
    np.save(tmp_path / "f.npy", x)
    ds = _load(tmp_path / "f.npy", source="auto")
    assert ds.value_range == (-3.0, 5.0) and ds.x.min() == -1 and ds.x.max() == 1 and ds.y is None


def test_npz_vectors(tmp_path):
    x = np.array([[1.5, -2.0, 10.0], [0.0, 0.0, 0.0]])
    np.savez(tmp_path / "v.npz", x=x)
    ds = _load(tmp_path / "v.npz", source="npz")
    assert ds.kind == "vector" and ds.value_range is None and ds.shape == (3,)
    assert torch.equal(ds.x, torch.tensor(x, dtype=torch.float32))


def test_npz_without_x(tmp_path):
    np.savez(tmp_path / "w.npz", images=np.zeros((2, 4, 4), np.uint8))
    assert "images" in _one_line("no array 'x'", tmp_path / "w.npz", source="npz")


@pytest.mark.parametrize("y, match", [(np.array([0, 1]), "2 labels for 3 examples"),
                                      (np.array([0, -1, 1]), "found -1"),
                                      (np.array([0.0, 1.5, 1.0]), "whole numbers")])
def test_npz_bad_labels(tmp_path, y, match):
    np.savez(tmp_path / "b.npz", x=np.zeros((3, 4, 4), np.uint8), y=y)
    _one_line(match, tmp_path / "b.npz", source="npz")


def test_npz_corrupt_and_bad_shapes(tmp_path):
    (tmp_path / "c.npz").write_bytes(b"PK\x03\x04 broken zip")
    assert "c.npz" in _one_line("cannot read", tmp_path / "c.npz", source="npz")
    np.save(tmp_path / "s.npy", np.zeros((2, 4, 4, 5), np.uint8))
    _one_line("1 or 3 channels", tmp_path / "s.npy", source="npz")
    np.save(tmp_path / "k.npy", np.ones((2, 4, 4), np.float32))
    _one_line("every pixel", tmp_path / "k.npy", source="npz")


def test_auto_cannot_guess(tmp_path):
    (tmp_path / "data.bin").write_bytes(b"123")
    _one_line("cannot tell the format", tmp_path / "data.bin", source="auto")


def test_npz_object_arrays_are_never_unpickled(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    _one_line("Python objects", tmp_path / "o.npy", source="npz")
    (tmp_path / "t.npz").write_bytes(b"plain text")
    _one_line("not a NumPy", tmp_path / "t.npz", source="npz")
