"""Image translation: paired and unpaired folders and their refusals, the built digit sets, the metrics on known
values (SSIM against torchmetrics), and pix2pix and CycleGAN end to end on tiny synthetic folders (train, exact
resume, grids of fixed sources, `sample --input/--direction` keeping names, export of both generators, eval)."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.cli import main
from ganforge.config import Config
from ganforge.core.errors import ConfigError, DataError
from ganforge.data import load_dataset
from ganforge.metrics.translate import (
    fd_with_floor,
    gaussian_window,
    l1_per_image,
    label_accuracy,
    psnr_per_image,
    ssim_per_image,
)

TINY = ["model.g_width=4", "model.d_width=4", "train.batch=4", "train.log_every=2", "train.n_grid=3",
        "train.sample_every=0", "train.ckpt_every=0", "train.progress=false", "train.threads=1",
        "translate.size=16", "translate.pool=3", "translate.res_blocks=1"]


def blob(rng, size=16):
    """A bright rectangle on a dark ground, uint8 (size, size)."""
    a = np.zeros((size, size), np.uint8)
    r, c = rng.integers(1, size // 2, 2)
    a[r:r + rng.integers(3, size // 2), c:c + rng.integers(3, size // 2)] = 230
    return a


def paired_folder(root, n=8, size=16, names=None, colour_b=False):
    rng = np.random.default_rng(0)
    for side in ("A", "B"):
        os.makedirs(root / side, exist_ok=True)
    for i in range(n):
        a = blob(rng, size)
        name = (names or [f"{i:03d}" for i in range(n)])[i]
        Image.fromarray(a).save(root / "A" / f"{name}.png")
        b = 255 - a
        Image.fromarray(np.repeat(b[..., None], 3, 2) if colour_b else b).save(root / "B" / f"{name}.png")
    return root


def unpaired_folder(root, na=6, nb=9, size=16):
    rng = np.random.default_rng(1)
    for side, n in (("trainA", na), ("trainB", nb)):
        os.makedirs(root / side)
        for i in range(n):
            a = blob(rng, size)
            Image.fromarray(a if side == "trainA" else 255 - a).save(root / side / f"{side}-{i}.png")
    return root


def cfg_for(source, path, **translate) -> Config:
    cfg = Config()
    cfg.data.source, cfg.data.path = source, str(path)
    s = cfg.section("translate")
    s.size = 16
    for k, v in translate.items():
        setattr(s, k, v)
    return cfg


# ------------------------------------------------------------------------------------------------ data

def test_paired_folders_pair_by_name_and_side_by_side_images(tmp_path):
    root = paired_folder(tmp_path / "p")
    ds = load_dataset(cfg_for("paired-images", root))
    assert ds.kind == "image-pair" and ds.x.shape == (8, 1, 16, 16) and ds.extra["target"].shape == (8, 1, 16, 16)
    assert torch.allclose(ds.extra["target"], -ds.x, atol=1e-6)                 # B is A inverted, pair by pair
    os.makedirs(tmp_path / "ab")
    for i in range(3):                                                          # A left, B right
        a = blob(np.random.default_rng(i))
        Image.fromarray(np.concatenate([a, 255 - a], 1)).save(tmp_path / "ab" / f"{i}.png")
    sbs = load_dataset(cfg_for("paired-images", tmp_path / "ab"))
    assert sbs.x.shape == (3, 1, 16, 16) and torch.allclose(sbs.extra["target"], -sbs.x, atol=1e-6)
    back = load_dataset(cfg_for("paired-images", tmp_path / "ab", direction="BtoA"))
    assert torch.equal(back.x, sbs.extra["target"])


def test_paired_folder_refusals_are_one_clear_line(tmp_path):
    root = paired_folder(tmp_path / "p", n=3)
    os.rename(root / "B" / "002.png", root / "B" / "zzz.png")
    with pytest.raises(DataError, match=r"no partner of the same name .*A/002.png, B/zzz.png"):
        load_dataset(cfg_for("paired-images", root))
    assert load_dataset(cfg_for("paired-images", root, pair_by="order")).x.shape[0] == 3
    os.remove(root / "B" / "zzz.png")
    with pytest.raises(DataError, match=r"A holds 3 images and .*B 2: pairing by order"):
        load_dataset(cfg_for("paired-images", root, pair_by="order"))
    empty = tmp_path / "e"
    os.makedirs(empty / "A")
    os.makedirs(empty / "B")
    Image.fromarray(blob(np.random.default_rng(0))).save(empty / "A" / "x.png")
    with pytest.raises(DataError, match=r"e/B holds no images .* but .*e/A holds 1"):
        load_dataset(cfg_for("paired-images", empty))
    mixed = paired_folder(tmp_path / "m", n=2)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(mixed / "B" / "001.png")
    with pytest.raises(DataError, match=r"side B mixes greyscale .* and colour .*translate.channels_b"):
        load_dataset(cfg_for("paired-images", mixed))
    assert load_dataset(cfg_for("paired-images", mixed, channels_b=3)).extra["target"].shape[1] == 3
    wide = tmp_path / "w"
    os.makedirs(wide)
    Image.fromarray(np.zeros((16, 20), np.uint8)).save(wide / "x.png")
    with pytest.raises(DataError, match="twice as wide as high"):
        load_dataset(cfg_for("paired-images", wide))


def test_unpaired_folders_fill_the_shorter_side_and_refuse_a_missing_one(tmp_path):
    root = unpaired_folder(tmp_path / "u")
    ds = load_dataset(cfg_for("unpaired-images", root))
    assert ds.kind == "image-unpaired" and ds.x.shape == (9, 1, 16, 16) and ds.extra["b"].shape == (9, 1, 16, 16)
    assert ds.meta["n_a"] == 6 and len({tuple(v.flatten().tolist()) for v in ds.x}) == 6
    os.rename(root / "trainB", root / "other")
    with pytest.raises(DataError, match=r"trainB holds no images"):
        load_dataset(cfg_for("unpaired-images", root))


def test_sobel_edges_outline_a_square_and_the_built_sets(datasets_dir):
    from ganforge.data.translate_digits import digits2mnist, digits_split, edges2digits, sobel_edges
    from ganforge.metrics.extractors import classifier_split
    x = torch.zeros(1, 1, 10, 10)
    x[0, 0, 3:7, 3:7] = 1
    e = sobel_edges(x)[0, 0]
    assert e[2:8, 2:8].sum() == e.sum() and e[4:6, 4:6].sum() == 0 and e[2, 2] == 1 and e[3, 3] == 1
    edges, digits, labels = edges2digits(part="test")
    assert edges.shape == digits.shape == (2000, 1, 32, 32) and set(edges.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(edges, sobel_edges((digits + 1) / 2) * 2 - 1) and labels.shape == (2000,)
    assert (digits[:, :, :2] == -1).all() and (digits[:, :, -2:] == -1).all()       # padded, not resized
    train, test = digits_split(1797)
    assert torch.equal(test, classifier_split("digits", 1797, 0)[1])                # the 8x8 classifier's test split
    p = digits2mnist(part="test")
    assert p["a"].shape == (359, 1, 32, 32) and p["b"].shape == (2000, 1, 32, 32) and len(train) == 1438
    from ganforge.api import resolve_config
    ds = load_dataset(resolve_config("digits2mnist"))
    assert ds.y is None and set(ds.extra) == {"b"} and ds.x.shape[0] == 8000        # no labels in training


# ------------------------------------------------------------------------------------------------ metrics

def test_l1_psnr_ssim_on_known_values():
    rng = torch.Generator().manual_seed(0)
    a = torch.rand(3, 2, 16, 16, generator=rng) * 1.6 - 0.8
    b = a + 0.2                                                   # 0.1 on [0, 1]: L1 0.1, MSE 0.01, PSNR 20 dB
    assert torch.allclose(l1_per_image(b, a), torch.full((3,), 0.1), atol=1e-5)
    assert torch.allclose(psnr_per_image(b, a), torch.full((3,), 20.0), atol=1e-3)
    assert torch.allclose(ssim_per_image(a, a), torch.ones(3), atol=1e-6)
    assert psnr_per_image(a, a).min() >= 99.9
    w = gaussian_window()
    assert w.shape == (11, 11) and abs(float(w.sum()) - 1) < 1e-12 and w[5, 5] == w.max()
    flat = torch.zeros(1, 1, 16, 16)
    assert abs(float(ssim_per_image(flat, flat + 0.5)) - (2 * 0.5 * 0.75 + 1e-4) / (0.25 + 0.5625 + 1e-4)) < 1e-5


def test_ssim_and_psnr_agree_with_torchmetrics():
    tm = pytest.importorskip("torchmetrics.functional.image", reason="torchmetrics is in the test extra")
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 3, 24, 24, generator=g) * 2 - 1
    y = (x + 0.3 * torch.randn(4, 3, 24, 24, generator=g)).clamp(-1, 1)
    whole, full = tm.structural_similarity_index_measure((y + 1) / 2, (x + 1) / 2, data_range=1.0, reduction="none",
                                                         return_full_image=True)
    # torchmetrics pads by reflection and averages the whole map; Wang et al.'s reference (and ours) averages the
    # positions whose window lies inside the image: the same map, cropped by the window's half-width
    assert torch.allclose(ssim_per_image(y, x), full[..., 5:-5, 5:-5].mean((1, 2, 3)).float(), atol=1e-5)
    assert (ssim_per_image(y, x) - whole.float()).abs().max() < 0.02
    ref_p = tm.peak_signal_noise_ratio((y + 1) / 2, (x + 1) / 2, data_range=1.0, reduction="none", dim=(1, 2, 3))
    assert torch.allclose(psnr_per_image(y, x), ref_p.float(), atol=1e-4)


def test_fd_floor_and_label_accuracy_on_known_inputs():
    g = torch.Generator().manual_seed(2)
    real = torch.randn(400, 4, generator=g)
    same = fd_with_floor(real, torch.randn(200, 4, generator=g))
    shifted = fd_with_floor(real, torch.randn(200, 4, generator=g) + 3)
    assert same["n_fd"] == 200 and same["fd"] < 0.5 and same["fd_floor"] < 0.5
    assert abs(shifted["fd"] - 4 * 9) < 3                                    # |mu shift|^2 = 4 * 3^2

    class Oracle:                                                            # reads the label off the first pixel
        def logits(self, x):
            return torch.nn.functional.one_hot(x[:, 0, 0, 0].long(), 10).float()
    imgs = torch.tensor([0, 1, 2, 3]).float().view(4, 1, 1, 1)
    assert label_accuracy(Oracle(), imgs, torch.tensor([0, 1, 9, 3])) == 0.75


# ------------------------------------------------------------------------------------------------ recipes

def test_jitter_and_flip_move_a_pair_together(tmp_path):
    root = paired_folder(tmp_path / "p", n=4)
    run = ganforge.train("pix2pix", data=str(root), out=str(tmp_path / "r"), steps=1, overrides=TINY)
    r = ganforge.load(run.run_dir).recipe
    r.gen = torch.Generator().manual_seed(0)
    r.cfg.section("translate").jitter, r.cfg.section("translate").flip = 3, True
    x = torch.arange(4 * 16 * 16).float().view(4, 1, 16, 16)
    a, b = r.jitter_flip(x, x.clone())
    assert torch.equal(a, b) and not torch.equal(a, x) and a.shape == x.shape


def same_weights(a, b):
    for name, net in a.recipe.nets.items():
        other = b.recipe.nets[name].state_dict()
        for k, v in net.state_dict().items():
            assert torch.equal(v, other[k]), f"{name}.{k}"


def test_pix2pix_trains_resumes_exactly_samples_user_files_and_exports(tmp_path, capsys):
    root = paired_folder(tmp_path / "p")
    full = ganforge.train("pix2pix", data=str(root), out=str(tmp_path / "full"), steps=4,
                          overrides=TINY + ["translate.jitter=1", "translate.flip=true"])
    half = ganforge.train("pix2pix", data=str(root), out=str(tmp_path / "half"), steps=2,
                          overrides=TINY + ["translate.jitter=1", "translate.flip=true", "train.ckpt_every=2"])
    ganforge.resume(half.run_dir, steps=4)
    a, b = ganforge.load(full.run_dir), ganforge.load(half.run_dir)
    same_weights(a, b)
    grid = Image.open(os.path.join(full.run_dir, "samples", "grid-00000004.png"))
    assert grid.size[0] == grid.size[1] > 3 * 16                           # rows input | output | target, 3 columns
    stats = [json.loads(line) for line in open(os.path.join(full.run_dir, "stats.jsonl"))]
    assert {"l1", "loss_G_adv", "loss_D"} <= set(stats[-1])
    # the user's files, keeping their names (and sub-folders)
    mine = tmp_path / "mine"
    os.makedirs(mine / "sub")
    Image.fromarray(blob(np.random.default_rng(5), 20)).save(mine / "one.png")
    Image.fromarray(blob(np.random.default_rng(6))).save(mine / "sub" / "two.png")
    assert main(["sample", full.run_dir, "--input", str(mine), "--out", str(tmp_path / "out")]) == 0
    assert sorted(os.listdir(tmp_path / "out")) == ["one.png", "sub"] and os.listdir(tmp_path / "out" / "sub") == \
        ["two.png"]
    assert Image.open(tmp_path / "out" / "one.png").size == (16, 16)
    assert main(["sample", full.run_dir, "--input", str(mine / "one.png"), "--out", str(tmp_path / "g.png")]) == 0
    assert main(["sample", full.run_dir, "--input", str(mine), "--out", str(tmp_path / "x"),
                 "--direction", "BtoA"]) == 2
    assert "translates AtoB only" in capsys.readouterr().err and not (tmp_path / "x").exists()
    assert main(["sample", full.run_dir, "--out", str(tmp_path / "y")]) == 2
    assert "give --input FILE|DIR" in capsys.readouterr().err
    assert main(["sample", full.run_dir, "--input", str(mine), "--out", str(tmp_path / "out")]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    # the ablation switches: L1 alone has no D phase, cGAN alone no L1 in G's loss
    l1 = ganforge.train("pix2pix", data=str(root), out=str(tmp_path / "l1"), steps=2,
                        overrides=TINY + ["translate.adversarial=false"])
    assert [p.name for p in ganforge.load(l1.run_dir).recipe.phases()] == ["G"]
    cgan = ganforge.train("pix2pix", data=str(root), out=str(tmp_path / "cgan"), steps=2,
                          overrides=TINY + ["translate.l1_weight=0"])
    last = json.loads(open(os.path.join(cgan.run_dir, "stats.jsonl")).readlines()[-1])
    assert abs(last["loss_G"] - last["loss_G_adv"]) < 1e-4
    periodic = ganforge.train("pix2pix", data=str(root), out=str(tmp_path / "ev"), steps=2,
                              overrides=TINY + ["eval.every=2", "eval.n=8", "eval.metrics=fd"])
    rows = [json.loads(line) for line in open(os.path.join(periodic.run_dir, "stats.jsonl"))]
    assert any("eval/fd" in r for r in rows)
    assert main(["export", full.run_dir, "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    index = json.load(open(tmp_path / "hf" / "model_index.json"))
    assert list(index["components"]) == ["G_AB"]
    from ganforge import evaluation
    res = evaluation.evaluate_run(full.run_dir, n=8, json_path=str(tmp_path / "e.json"))
    assert {"l1", "psnr", "ssim", "fd", "fd_floor"} <= set(res["metrics"]) and "pairs=the first" in res["text"]


def test_cyclegan_trains_resumes_exactly_with_its_pools_and_exports_both_generators(tmp_path, capsys):
    root = unpaired_folder(tmp_path / "u")
    for gen in ("unet", "resnet"):
        sets = TINY + [f"translate.generator={gen}", "train.seed=2"]
        full = ganforge.train("cyclegan", data=str(root), out=str(tmp_path / f"full-{gen}"), steps=4, overrides=sets)
        half = ganforge.train("cyclegan", data=str(root), out=str(tmp_path / f"half-{gen}"), steps=2,
                              overrides=sets + ["train.ckpt_every=2"])
        ganforge.resume(half.run_dir, steps=4)
        a, b = ganforge.load(full.run_dir), ganforge.load(half.run_dir)
        same_weights(a, b)
        assert int(a.recipe.nets["pool_A"].count) == 3                     # the pool filled, and was kept
    run = full.run_dir
    grid = Image.open(os.path.join(run, "samples", "grid-00000004.png"))
    assert grid.size[1] > grid.size[0]                                      # rows A, G_AB(A), B, G_BA(B); 3 columns
    mine = tmp_path / "mine"
    os.makedirs(mine)
    Image.fromarray(blob(np.random.default_rng(3))).save(mine / "b1.png")
    assert main(["sample", run, "--input", str(mine), "--out", str(tmp_path / "ba"), "--direction", "BtoA"]) == 0
    assert os.listdir(tmp_path / "ba") == ["b1.png"]
    g = ganforge.load(run)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    assert not torch.equal(g.sample(input=x), g.sample(input=x, direction="BtoA"))
    assert main(["export", run, "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    index = json.load(open(tmp_path / "hf" / "model_index.json"))
    assert sorted(index["components"]) == ["G_AB", "G_BA"]
    folder = ganforge.load(str(tmp_path / "hf"))
    assert torch.allclose(folder.sample(input=x, direction="BtoA"), g.sample(input=x, direction="BtoA"), atol=1e-6)
    assert main(["export", run, "--out", str(tmp_path / "m.onnx")]) == 0
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".onnx")) == ["m-G_AB.onnx", "m-G_BA.onnx"]
    from ganforge import evaluation
    res = evaluation.evaluate_run(run, n=6, json_path=str(tmp_path / "e.json"))
    assert {"fd_atob", "fd_btoa", "fd_atob_source", "fd_floor_atob"} <= set(res["metrics"])


def test_recipe_refusals(tmp_path, capsys):
    root = paired_folder(tmp_path / "p", n=4)
    os.remove(root / "B" / "003.png")
    assert main(["train", "pix2pix", "--data", str(root), "--out", str(tmp_path / "bad"), "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "A/003.png" in err and not (tmp_path / "bad").exists()
    paired_folder(root, n=4)
    with pytest.raises(ConfigError, match="power of two"):
        ganforge.train("pix2pix", data=str(root), out=str(tmp_path / "r"), steps=1,
                       overrides=TINY + ["translate.size=24"])
    assert not (tmp_path / "r").exists()
    with pytest.raises(ConfigError, match="leave G no loss"):
        ganforge.train("pix2pix", data=str(root), out=str(tmp_path / "r2"), steps=1,
                       overrides=TINY + ["translate.adversarial=false", "translate.l1_weight=0"])
    with pytest.raises(ConfigError, match="translate.direction"):
        ganforge.train("pix2pix", data=str(root), steps=1, overrides=TINY + ["translate.direction=up"])


def test_edges2digits_trains_and_is_measured_on_held_out_digits(datasets_dir, tmp_path):
    run = ganforge.train("edges2digits", out=str(tmp_path / "e"), steps=2, overrides=TINY[:-3] + ["data.limit=32"])
    from ganforge import evaluation
    m = evaluation.evaluate_run(run.run_dir, n=100, json_path=str(tmp_path / "e.json"))["metrics"]
    assert m["label_acc_target"] > 0.9 and 0 <= m["label_acc"] <= 1 and m["fd_floor"] < m["fd"]
    run = ganforge.train("digits2mnist", out=str(tmp_path / "d"), steps=2, overrides=TINY[:-3] + ["data.limit=32"])
    m = evaluation.evaluate_run(run.run_dir, n=100, json_path=str(tmp_path / "d.json"))["metrics"]
    assert m["acc_mnist"] > 0.9 and m["acc_digits_source"] > 0.9 and 0 <= m["acc_translated"] <= 1
