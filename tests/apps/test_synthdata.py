"""`ganforge augment`: class-balanced synthetic images from a class-conditional GAN."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.apps.synthdata import class_names, pick_per_class
from ganforge.cli import main
from ganforge.config import DataConfig
from ganforge.data import load_dataset
from ganforge.data.images import read_folder

TINY = ["--set", "model.z_dim=8", "--set", "model.g_width=8", "--set", "model.d_width=8",
        "--set", "train.sample_every=0", "--no-progress"]


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(capsys, args, needle):
    code, _, err = run_cli(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("ganforge: error:"), err
    assert needle in lines[0], lines[0]


@pytest.mark.slow
def test_samples_are_balanced_and_carry_their_class(tmp_path):
    # a short training on all 1,797 digits; the shipped digits classifier must mostly agree with the
    # requested labels (chance is 10%; measured 62-74% over seeds 0-2)
    from ganforge.metrics.extractors import get_extractor
    res = ganforge.augment_data("digits", out=str(tmp_path / "syn.npz"), n_per_class=30, steps=1000,
                                run_out=str(tmp_path / "run"), progress=False,
                                overrides={"model.g_width": 64, "model.d_width": 64, "model.z_dim": 16,
                                           "train.sample_every": 0})
    d = np.load(tmp_path / "syn.npz")
    assert set(d.files) == {"x", "y"}
    assert d["x"].shape == (300, 1, 8, 8) and d["x"].dtype == np.uint8
    assert d["y"].dtype == np.int64 and np.array_equal(d["y"], np.repeat(np.arange(10), 30))
    assert res.trained and res.n_train == 1797 and res.class_names == [str(k) for k in range(10)]
    x = torch.from_numpy(d["x"]).float() / 127.5 - 1
    with torch.no_grad():
        agree = (get_extractor("digits").logits(x).argmax(1).numpy() == d["y"]).mean()
    assert agree > 0.55, agree


def test_per_class_pick_folder_output_and_resampling_the_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "augment", "digits", "--per-class", "3", "--seed", "1", "--steps", "4",
                             "--n-per-class", "5", "--out", "syn", "--run-out", "run", *TINY)
    assert code == 0, err
    assert "written: syn" in out and "50 images" in out
    # the run trained on exactly the seeded pick, kept in the run folder
    labelled = read_folder("run/labelled")
    assert len(labelled) == 30 and torch.equal(torch.bincount(labelled.y), torch.full((10,), 3))
    digits = load_dataset(DataConfig(source="digits"))
    picked = digits.subset(pick_per_class(digits.y, 3, 1))
    picked = picked.subset(torch.argsort(picked.y, stable=True))  # the folder lists class by class
    assert torch.equal(picked.y, labelled.y)
    assert (picked.x - labelled.x).abs().max() < 0.01  # 0..16 pixels stored as 8-bit PNGs
    # one sub-folder per class, read back with the same labels
    syn = read_folder("syn")
    assert syn.class_names == [str(k) for k in range(10)] and syn.shape == (1, 8, 8)
    assert torch.equal(torch.bincount(syn.y), torch.full((10,), 5))
    # the same run sampled again with the same seed gives the same images
    code, _, err = run_cli(capsys, "augment", "--run", "run", "--seed", "1", "--n-per-class", "5",
                           "--out", "again.npz")
    assert code == 0, err
    again = np.load("again.npz")
    assert np.array_equal(again["x"][again["y"] == 7], np.round((syn.x[syn.y == 7].numpy() + 1) * 127.5))
    # every generated file says so (the real training pick in run/labelled does not)
    from ganforge.core import provenance
    assert provenance.read("syn/7/00000.png")["seed"] == 1 and provenance.read("again.npz")["n_per_class"] == 5
    assert provenance.read("run/labelled/7/00000.png") is None


def test_npz_and_named_class_folders_as_input(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "small.npz", x=rng.integers(0, 255, (24, 1, 12, 12), dtype=np.uint8),
             y=np.repeat(np.arange(12), 2))
    code, _, err = run_cli(capsys, "augment", str(tmp_path / "small.npz"), "--steps", "2", "--n-per-class", "2",
                           "--out", str(tmp_path / "o"), "--run-out", str(tmp_path / "r1"), *TINY)
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / "o")) == [f"{k:02d}" for k in range(12)]  # sorts in label order
    for cls in ("cats", "dogs"):
        folder = tmp_path / "imgs" / cls
        folder.mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    code, _, err = run_cli(capsys, "augment", str(tmp_path / "imgs"), "--per-class", "2", "--steps", "2",
                           "--n-per-class", "3", "--out", str(tmp_path / "pets"), "--run-out", str(tmp_path / "r2"),
                           *TINY)
    assert code == 0, err
    pets = read_folder(str(tmp_path / "pets"))
    assert pets.class_names == ["cats", "dogs"] and pets.shape == (3, 16, 16) and len(pets) == 6


def test_class_names_keep_label_order():
    assert class_names({"num_classes": 3, "class_names": ["b", "a", "c"]}) == ["0", "1", "2"]
    assert class_names({"num_classes": 2, "class_names": ["cats", "dogs"]}) == ["cats", "dogs"]
    assert class_names({"num_classes": 11, "class_names": None})[:3] == ["00", "01", "02"]


@pytest.fixture(scope="module")
def uncond_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("uncond") / "run"
    ganforge.train("digits", steps=2, out=str(out), progress=False,
                   overrides=["model.z_dim=8", "model.g_width=8", "model.d_width=8", "train.sample_every=0"])
    return str(out)


def test_user_errors_are_one_line_and_leave_nothing(tmp_path, capsys, monkeypatch, uncond_run):
    monkeypatch.chdir(tmp_path)
    np.savez("unlabelled.npz", x=np.zeros((10, 8, 8), dtype=np.uint8) + np.arange(8, dtype=np.uint8))
    np.savez("vectors.npz", x=np.random.rand(10, 3), y=np.arange(10) % 2)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    cases = [
        (["augment", "no/such/dir", "--out", "o.npz"], "no such data: no/such/dir"),
        (["augment", "unlabelled.npz", "--out", "o.npz"], "has no class labels"),
        (["augment", "vectors.npz", "--out", "o.npz"], "not images"),
        (["augment", "--run", uncond_run, "--out", "o.npz"], "is unconditional"),
        (["augment", "--run", "no-such-run", "--out", "o.npz"], "no such run or checkpoint"),
        (["augment", "digits", "--per-class", "0", "--out", "o.npz"], "--per-class must be a positive"),
        (["augment", "digits", "--per-class", "1000", "--out", "o.npz"], "fewer than --per-class 1000"),
        (["augment", "digits", "--n-per-class", "0", "--out", "o.npz"], "--n-per-class must be a positive"),
        (["augment", "digits", "--out", "full"], "is not empty"),
        (["augment", "digits", "--out", "grid.png"], "must be a .npz file or a folder"),
        (["augment", "digits"], "give --out"),
        (["augment", "--out", "o.npz"], "give labelled DATA"),
        (["augment", "digits", "--run", uncond_run, "--out", "o.npz"], "not both"),
        (["augment", "--run", uncond_run, "--per-class", "5", "--out", "o.npz"], "apply only when training"),
        (["augment", "digits", "--set", "train.batch=5000", "--out", "o.npz"], "train.batch=5000 is larger"),
    ]
    for args, needle in cases:
        assert_one_line_error(capsys, args, needle)
    assert os.listdir(tmp_path / "runs") == []  # the one run folder made (batch too large) is gone
    assert sorted(os.listdir(tmp_path)) == ["full", "runs", "unlabelled.npz", "vectors.npz"]  # no output
    assert os.listdir(tmp_path / "full") == ["keep.txt"]


def test_entry_point_exit_status(tmp_path):
    r = subprocess.run([sys.executable, "-m", "ganforge", "augment", str(tmp_path / "missing.npz"), "--out",
                        str(tmp_path / "o.npz")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no such data" in r.stderr
    assert not os.path.exists(tmp_path / "o.npz")
