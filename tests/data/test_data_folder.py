"""Folder of PNG/JPEG images: classes, channels, sizes and broken files."""
import os

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.config import DataConfig
from ganforge.core.errors import DataError
from ganforge.data import load_dataset, to_uint8


def _png(path, arr, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(arr, dtype=np.uint8), mode).save(path)


def _grey(v, size=(4, 4)):
    return np.full(size, v, dtype=np.uint8)


def _load(path, **kw):
    return load_dataset(DataConfig(source="folder", path=str(path), **kw), seed=0)


def _one_line_error(match, **kw):
    with pytest.raises(DataError, match=match) as e:
        _load(**kw)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_flat_grey_folder(tmp_path):
    _png(tmp_path / "a.png", _grey(0))
    _png(tmp_path / "b.PNG", _grey(255))
    (tmp_path / "notes.txt").write_text("not an image")
    ds = _load(tmp_path)
    assert ds.kind == "image" and ds.x.shape == (2, 1, 4, 4) and ds.value_range == (0.0, 255.0)
    assert ds.y is None and ds.num_classes == 0 and ds.name == str(tmp_path)
    assert ds.x[0].eq(-1).all() and ds.x[1].eq(1).all()


def test_subfolders_are_sorted_classes(tmp_path):
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 200
    _png(tmp_path / "zebra" / "z1.png", rgb)
    _png(tmp_path / "apple" / "deep" / "a1.png", rgb)
    _png(tmp_path / "apple" / "a2.png", rgb)
    (tmp_path / "empty").mkdir()
    ds = _load(tmp_path)
    assert ds.class_names == ["apple", "zebra"] and ds.num_classes == 2
    assert ds.y.tolist() == [0, 0, 1]  # sorted paths: apple/a2, apple/deep/a1, zebra/z1
    assert ds.x.shape == (3, 3, 4, 4)
    assert to_uint8(ds.x)[0, :, 0, 0].tolist() == [200, 0, 0]
    assert _load(tmp_path, labels=False).y is None


def test_rgba_palette_and_jpeg_become_rgb(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 1] = 100
    rgba[..., 3] = 255
    _png(tmp_path / "a.png", rgba, None)
    Image.fromarray(rgba[..., :3]).convert("P").save(tmp_path / "b.png")
    Image.fromarray(np.full((4, 4, 3), 90, np.uint8)).save(tmp_path / "c.JPG", quality=95)
    ds = _load(tmp_path)
    assert ds.x.shape == (3, 3, 4, 4)
    u = to_uint8(ds.x)
    assert u[0, :, 1, 1].tolist() == [0, 100, 0]
    assert abs(int(u[2, 0, 1, 1]) - 90) <= 2


def test_mixed_channels_need_a_setting(tmp_path):
    _png(tmp_path / "grey.png", _grey(10))
    _png(tmp_path / "colour.png", np.zeros((4, 4, 3), np.uint8))
    msg = _one_line_error("data.channels=1 or data.channels=3", path=tmp_path)
    assert "grey.png" in msg and "colour.png" in msg
    assert _load(tmp_path, channels=1).x.shape == (2, 1, 4, 4)
    assert _load(tmp_path, channels=3).x.shape == (2, 3, 4, 4)


def test_sizes_need_a_policy(tmp_path):
    _png(tmp_path / "small.png", _grey(50, (4, 4)))
    _png(tmp_path / "wide.png", _grey(50, (6, 8)))  # 8 wide, 6 high
    msg = _one_line_error("data.size=N data.resize=resize", path=tmp_path)
    assert "small.png" in msg and "wide.png" in msg
    _one_line_error("not data.size=4", path=tmp_path, size=4)
    ds = _load(tmp_path, size=4, resize="resize")
    assert ds.x.shape == (2, 1, 4, 4)
    assert to_uint8(ds.x).min() >= 49 and to_uint8(ds.x).max() <= 51
    assert _load(tmp_path, size=4, resize="crop").x.shape == (2, 1, 4, 4)
    _one_line_error("smaller than data.size=5", path=tmp_path, size=5, resize="crop")


def test_crop_is_centred_and_non_square_needs_size(tmp_path):
    a = np.zeros((6, 8), np.uint8)
    a[1:5, 2:6] = 255  # the centre 4x4
    _png(tmp_path / "a.png", a)
    _one_line_error("not square", path=tmp_path)
    ds = _load(tmp_path, size=4, resize="crop")
    assert ds.x.eq(1).all()


def test_limit_is_applied_before_decoding(tmp_path):
    for i in range(12):
        _png(tmp_path / f"{i:02d}.png", _grey(i * 20))
    a = _load(tmp_path, limit=5)
    b = _load(tmp_path, limit=5)
    assert len(a) == 5 and torch.equal(a.x, b.x)
    assert len({int(v) for v in to_uint8(a.x)[:, 0, 0, 0]}) == 5


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "readme.md").write_text("x")
    _one_line_error("no images", path=tmp_path)
    _one_line_error("does not exist", path=tmp_path / "nope")
    with pytest.raises(DataError, match="needs a data.path"):
        load_dataset(DataConfig(source="folder", path=""))


def test_corrupt_image_is_named(tmp_path):
    _png(tmp_path / "good.png", _grey(1))
    (tmp_path / "bad.png").write_bytes(b"this is not a png at all")
    msg = _one_line_error("bad.png", path=tmp_path)
    assert "good.png" not in msg


def test_truncated_image_is_named(tmp_path):
    rng = np.random.default_rng(0)
    _png(tmp_path / "good.png", rng.integers(0, 255, (32, 32), dtype=np.uint8))
    _png(tmp_path / "cut.png", rng.integers(0, 255, (32, 32), dtype=np.uint8))
    data = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    _one_line_error("cut.png", path=tmp_path)


def test_auto_source_picks_folder(tmp_path):
    _png(tmp_path / "a.png", _grey(0))
    ds = load_dataset(DataConfig(source="auto", path=str(tmp_path)))
    assert ds.x.shape == (1, 1, 4, 4)


def test_sixteen_bit_and_bitmap_greys(tmp_path):
    Image.fromarray(np.arange(16, dtype=np.uint16).reshape(4, 4) * 4369).save(tmp_path / "a16.png")
    _png(tmp_path / "b.bmp", _grey(77))
    Image.fromarray(_grey(255)).convert("1").save(tmp_path / "c.png")
    ds = _load(tmp_path)
    u = to_uint8(ds.x)
    assert ds.x.shape == (3, 1, 4, 4)
    assert u[0, 0].ravel().tolist() == [17 * k for k in range(16)]  # 16-bit scaled to 8-bit
    assert u[1:, 0, 0, 0].tolist() == [77, 255]
