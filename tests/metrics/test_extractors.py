import json
import os
import shutil

import pytest
import torch

from ganforge.config import DataConfig
from ganforge.core.errors import CheckpointError, ConfigError, DataError
from ganforge.data import load_dataset
from ganforge.metrics.extractors import EXTRACTORS, WEIGHTS_DIR, classifier_split, extract, file_sha256, get_extractor
from ganforge.metrics.inception import FIDInceptionV3


def images(n: int, c: int, s: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, s, s, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def held_out(name: str, source: str) -> tuple[torch.Tensor, torch.Tensor, dict]:
    card = json.loads((WEIGHTS_DIR / f"{name}.json").read_text())
    ds = load_dataset(DataConfig(source=source), card["seed"])
    _, te = classifier_split(name, len(ds.x), card["seed"])
    assert len(te) == card["n_test"]
    return ds.x[te], ds.y[te], card


def accuracy(ex, x, y) -> float:
    pred = torch.cat([ex.logits(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    return float((pred == y).float().mean())


# ---------------------------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("name,dim,shape", [("raw", 3 * 16 * 16, (3, 16, 16)), ("digits", 128, (1, 8, 8)),
                                            ("lenet-mnist", 128, (1, 28, 28)), ("random-conv", 256, (1, 28, 28)),
                                            ("random-conv", 256, (3, 64, 64))])
def test_shape_and_determinism(name, dim, shape):
    ex = get_extractor(name)
    x = images(7, *shape[:1], shape[1])
    a, b = extract(ex, x), extract(ex, x, batch=3)
    assert a.shape == (7, dim) and a.dtype == torch.float32 and ex.dim == dim
    assert torch.allclose(a, b, atol=1e-5)             # batching does not change features
    assert torch.equal(a, extract(get_extractor(name), x))  # a fresh build gives the same numbers
    assert not torch.equal(a[0], a[1])
    json.dumps(ex.describe())


def test_classifiers_resize_and_convert_channels():
    ex = get_extractor("digits")
    gray = images(4, 1, 28)
    assert ex.features(gray).shape == (4, 128)  # 28x28 shrunk to 8x8
    rgb = gray.repeat(1, 3, 1, 1)
    assert torch.allclose(ex.features(rgb), ex.features(gray), atol=1e-5)  # luminance of gray == gray
    split = extract(ex, torch.cat([gray, -gray, gray], 1), channels="split")
    assert split.shape == (4, 3 * 128)
    assert torch.allclose(split[:, :128], extract(ex, gray), atol=1e-5)
    assert ex.logits(gray).shape == (4, 10)
    assert get_extractor("random-conv").logits(gray) is None
    with pytest.raises(DataError, match="channels"):
        ex.features(images(2, 2, 8))
    with pytest.raises(DataError, match=r"\(N, C, H, W\)"):
        extract(ex, torch.zeros(3, 64))


def test_raw_fixes_its_shape():
    ex = get_extractor("raw")
    assert extract(ex, images(2, 1, 4)).shape == (2, 16) and ex.dim == 16
    with pytest.raises(DataError, match="raw"):
        extract(ex, images(2, 1, 5))


# ---------------------------------------------------------------------------------------------- classifiers

def test_digits_reaches_recorded_accuracy():
    x, y, card = held_out("digits", "digits")
    ex = get_extractor("digits")
    assert card["test_accuracy"] >= 0.97
    assert abs(accuracy(ex, x, y) - card["test_accuracy"]) <= 0.005
    assert ex.describe()["test_accuracy"] == card["test_accuracy"] and ex.sha256 == card["sha256"]


def test_lenet_reaches_recorded_accuracy(datasets_dir):
    x, y, card = held_out("lenet-mnist", "mnist")
    assert card["n_train"] == 8000 and card["test_accuracy"] >= 0.98
    assert abs(accuracy(get_extractor("lenet-mnist"), x, y) - card["test_accuracy"]) <= 0.005


def test_classify_channels_combines_digits():
    ds = load_dataset(DataConfig(source="digits"), 0)
    ex = get_extractor("digits")
    _, te = classifier_split("digits", len(ds.x), 0)
    a, b, c = te[:100], te[100:200], te[200:300]
    stacked = torch.cat([ds.x[a], ds.x[b], ds.x[c]], 1)  # (100, 3, 8, 8): one digit per channel
    codes = ex.classify_channels(stacked, batch=32)
    truth = 100 * ds.y[a] + 10 * ds.y[b] + ds.y[c]
    assert codes.dtype == torch.int64 and codes.shape == (100,)
    assert (codes == truth).float().mean() >= 0.95
    assert torch.equal(ex.classify_channels(ds.x[a]), ex.logits(ds.x[a]).argmax(1))


@pytest.mark.parametrize("name", ["digits", "chorale-phrases", "fsdd-mel", "clip3d-mnist"])
def test_damaged_weights_are_refused(tmp_path, name):
    for suffix in (".safetensors", ".json"):
        shutil.copy(WEIGHTS_DIR / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    path = tmp_path / f"{name}.safetensors"
    assert get_extractor(name, path=path).dim > 0
    with open(path, "r+b") as f:
        f.seek(-4, os.SEEK_END)
        f.write(b"\0\0\0\0")
    with pytest.raises(CheckpointError, match="damaged or stale"):
        get_extractor(name, path=path)
    with pytest.raises(CheckpointError, match="not found.*to rebuild it"):
        get_extractor(name, path=tmp_path / "nope.safetensors")
    other = "lenet-mnist" if name == "digits" else "digits"             # whole, but another network's weights
    shutil.copy(WEIGHTS_DIR / f"{other}.safetensors", path)
    card = json.loads((tmp_path / f"{name}.json").read_text())
    card["sha256"] = file_sha256(path)
    (tmp_path / f"{name}.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="does not hold the weights its card describes"):
        get_extractor(name, path=path)
    (tmp_path / f"{name}.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="cannot read the weight card"):
        get_extractor(name, path=path)


# ---------------------------------------------------------------------------------------------- random-conv

def test_random_conv_is_fixed_by_its_seed():
    x = images(5, 3, 32)
    a, b, c = (get_extractor("random-conv", seed=s) for s in (0, 0, 1))
    assert a.sha256 == b.sha256 and len(a.sha256) == 64
    assert torch.equal(a.features(x), b.features(x))
    assert a.sha256 != c.sha256 and not torch.allclose(a.features(x), c.features(x))
    assert a.describe()["seed"] == 0


# ---------------------------------------------------------------------------------------------- inception

@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """A randomly initialised FID Inception saved like the published weights file."""
    path = tmp_path_factory.mktemp("inception") / "standin.pth"
    torch.manual_seed(0)
    torch.save(FIDInceptionV3().state_dict(), path)
    return path, file_sha256(path)


def test_inception_loads_a_standin(standin):
    path, sha = standin
    ex = get_extractor("inception", path=path, sha256=sha)
    assert ex.sha256 == sha and ex.dim == 2048
    x = images(2, 1, 28)  # gray and small: repeated to 3 channels, resized to 299
    feats = extract(ex, x)
    assert feats.shape == (2, 2048) and torch.isfinite(feats).all()
    assert ex.logits(x[:1]).shape == (1, 1008)
    assert ex.describe()["checksum"] == "matches given sha256"


def test_inception_checksums(standin, tmp_path, monkeypatch):
    path, sha = standin
    with pytest.raises(ConfigError, match="damaged or not the FID weights"):
        get_extractor("inception", path=path, sha256="0" * 64)
    wrong = tmp_path / "pt_inception-2015-12-05-6726825d.pth"  # the published name: its prefix is checked
    os.symlink(path, wrong)
    with pytest.raises(ConfigError, match="hash prefix in the file name"):
        get_extractor("inception", path=wrong)
    right = tmp_path / f"standin-{sha[:8]}.pth"
    os.symlink(path, right)
    monkeypatch.setenv("GANFORGE_INCEPTION", str(right))
    assert get_extractor("inception").sha256 == sha


def test_inception_missing_or_foreign_file(tmp_path, monkeypatch):
    monkeypatch.delenv("GANFORGE_INCEPTION", raising=False)
    with pytest.raises(ConfigError, match="GANFORGE_INCEPTION") as e:
        get_extractor("inception")
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="not found.*pt_inception-2015-12-05-6726825d.pth"):
        get_extractor("inception", path=tmp_path / "missing.pth")
    small = tmp_path / "small.pth"
    torch.save({"fc.weight": torch.zeros(1008, 2048)}, small)
    with pytest.raises(ConfigError, match="not an FID Inception-v3 state dict"):
        get_extractor("inception", path=small)
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(ConfigError, match="cannot read"):
        get_extractor("inception", path=tmp_path / "junk.pth")


# ---------------------------------------------------------------------------------------------- registry

def test_unknown_names_suggest_the_nearest():
    assert "lenet-mnist" in EXTRACTORS
    with pytest.raises(ConfigError, match="did you mean 'lenet-mnist'"):
        get_extractor("lenet_mnist")
    with pytest.raises(ConfigError, match="did you mean 'random-conv'"):
        get_extractor("randomconv")
    with pytest.raises(ConfigError, match="no option 'sed'"):
        get_extractor("random-conv", sed=1)
    with pytest.raises(ConfigError, match="channels"):
        extract(get_extractor("raw"), images(1, 1, 4), channels="rgb")


def test_spoken_digit_classifier_reaches_recorded_accuracy(datasets_dir, monkeypatch):
    from ganforge.api import resolve_config
    from ganforge.data.audio import load_part
    monkeypatch.setenv("GANFORGE_DATA", datasets_dir)
    test = load_part(resolve_config("fsdd"), 0, "test")                 # index 0-4 of every speaker and digit
    ex = get_extractor("fsdd-mel")
    card = ex.describe()
    assert len(test.x) == 300 and card["test_accuracy"] >= 0.9 and ex.sha256 == card["sha256"]
    assert abs(accuracy(ex, test.x, test.y) - card["test_accuracy"]) <= 0.005
