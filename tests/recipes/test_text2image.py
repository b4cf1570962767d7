"""Text to image: the captions folder and its refusals, the recipe end to end on a tiny folder (frozen encoder kept
by reference, exact resume, captioned grids, `sample --text/--texts`, unknown words), the built captioned-MNIST set
(deterministic, held-out combinations never in training) and the attribute reader on known images."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.cli import main
from ganforge.config import resolve
from ganforge.core.errors import CheckpointError, DataError
from ganforge.data import load_dataset

TINY = ["model.z_dim=8", "model.g_width=4", "model.d_width=4", "train.batch=4", "train.log_every=2",
        "train.n_grid=4", "train.sample_every=0", "train.ckpt_every=0", "train.progress=false", "train.threads=1",
        "text2image.size=8", "text2image.pretrain_steps=3", "text2image.pretrain_batch=4", "text2image.embed=4",
        "text2image.hidden=4", "text2image.text_dim=8", "text2image.c_dim=4", "text2image.hard=0.5"]
COLOURS = {"red": (230, 20, 20), "green": (20, 230, 20), "blue": (20, 20, 230)}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))


def folder(root, fmt="csv", rows=None, extra_image=False):
    """Six 8x8 squares in three colours, two captions each, and a captions file."""
    os.makedirs(root / "img", exist_ok=True)
    caps = []
    for i, (name, rgb) in enumerate(list(COLOURS.items()) * 2):
        a = np.zeros((8, 8, 3), np.uint8)
        a[1 + i % 2 * 3:5 + i % 2 * 3, 2:6] = rgb
        Image.fromarray(a).save(root / "img" / f"{i}.png")
        where = "top" if i % 2 == 0 else "bottom"
        caps += [(f"img/{i}.png", f"a {name} square at the {where}"), (f"img/{i}.png", f"{where}: {name}, square")]
    if extra_image:
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "img" / "lonely.png")
    caps = rows if rows is not None else caps
    if fmt == "csv":
        with open(root / "captions.csv", "w") as f:
            f.write("file,caption\n" + "".join(f'{a},"{b}"\n' for a, b in caps))
    else:
        with open(root / "captions.jsonl", "w") as f:
            f.write("".join(json.dumps({"file": a, "caption": b}) + "\n" for a, b in caps))
    return root


def load(root):
    return load_dataset(resolve("text2image", {"data.path": str(root), "text2image.size": 8}))


def test_captions_folder_reads_csv_and_jsonl_and_refuses_bad_files(tmp_path):
    ds = load(folder(tmp_path / "a"))
    assert ds.x.shape == (6, 3, 8, 8) and ds.kind == "image-text"
    assert ds.extra["tokens"].shape[:2] == (6, 2) and ds.extra["n_captions"].tolist() == [2] * 6
    vocab = ds.meta["vocab"]
    assert vocab[0] == "<pad>" and {"red", "square", "bottom"} <= set(vocab) and ":" not in vocab
    j = load(folder(tmp_path / "b", fmt="jsonl"))
    assert torch.equal(j.extra["tokens"], ds.extra["tokens"]) and torch.equal(j.x, ds.x)
    with pytest.raises(DataError, match=r"captions.csv line 2 names 'img/9.png', which is not an image"):
        load(folder(tmp_path / "c", rows=[("img/9.png", "a red square")]))
    with pytest.raises(DataError, match=r"lonely.png under .* has no caption in captions.csv"):
        load(folder(tmp_path / "d", extra_image=True))
    rows = [(f"img/{i}.png", "a square") for i in range(6)]
    rows[3] = ("img/3.png", " ,. ")
    with pytest.raises(DataError, match=r"captions.jsonl line 4: the caption of 'img/3.png' is empty"):
        load(folder(tmp_path / "e", fmt="jsonl", rows=rows))


def test_train_refuses_bad_folder_with_one_line(tmp_path, capsys):
    root = folder(tmp_path / "c", rows=[("img/9.png", "a red square")])
    assert main(["train", "text2image", "--data", str(root), "--out", str(tmp_path / "run"), "--steps", "1",
                 "--set", "text2image.size=8"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "img/9.png" in err and not (tmp_path / "run").exists()


def test_text2image_trains_resumes_exactly_and_samples_captions(tmp_path, capsys):
    root = folder(tmp_path / "data")
    full = ganforge.train("text2image", data=str(root), out=str(tmp_path / "full"), steps=4, overrides=TINY)
    half = ganforge.train("text2image", data=str(root), out=str(tmp_path / "half"), steps=2,
                          overrides=TINY + ["train.ckpt_every=2"])
    ganforge.resume(half.run_dir, steps=4)
    a, b = ganforge.load(full.run_dir), ganforge.load(half.run_dir)
    for name in ("G", "D", "G_ema"):
        for (k, v), w in zip(a.recipe.nets[name].state_dict().items(), b.recipe.nets[name].state_dict().values()):
            assert torch.equal(v, w), (name, k)
    # the encoder was pretrained once (the second run reused the cached file) and is referenced, not copied
    cfg = json.load(open(os.path.join(full.run_dir, "config.json")))
    enc = cfg["text2image"]["encoder"]
    assert enc.startswith(str(tmp_path / "cache")) and os.path.isfile(enc)
    assert a.meta["frozen"]["text_encoder"]["file"] == enc
    from safetensors import safe_open
    ckpt = [f for f in os.listdir(os.path.join(full.run_dir, "checkpoints")) if f.endswith(".safetensors")][0]
    with safe_open(os.path.join(full.run_dir, "checkpoints", ckpt), "pt") as f:
        assert not any("encoder" in k for k in f.keys()) and any(k.startswith("net.G_ema") for k in f.keys())
    stats = [json.loads(line) for line in open(os.path.join(full.run_dir, "stats.jsonl"))]
    assert {"loss_D", "loss_G_adv", "kl", "D_mismatch"} <= set(stats[-1])
    assert os.path.isfile(os.path.join(full.run_dir, "samples", "grid-00000004.png"))
    # sampling: --n images of each caption, the same noise in each row
    assert main(["sample", full.run_dir, "--text", "a red square at the top", "--text", "bottom: blue",
                 "--n", "3", "--out", str(tmp_path / "s.npz")]) == 0
    s = np.load(tmp_path / "s.npz")
    assert s["x"].shape == (6, 3, 8, 8) and list(s["captions"][2:4]) == ["a red square at the top", "bottom: blue"]
    assert not np.array_equal(s["x"][0], s["x"][3])
    (tmp_path / "caps.txt").write_text("a green square\n\ntop: red\n")
    assert main(["sample", full.run_dir, "--texts", str(tmp_path / "caps.txt"), "--n", "2",
                 "--out", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size[0] >= 2 * 64
    assert main(["sample", full.run_dir, "--text", "a purple sqare", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'purple'" in err and not (tmp_path / "x.png").exists()
    assert main(["sample", full.run_dir, "--text", "a red sqare", "--out", str(tmp_path / "x.png")]) == 2
    assert "nearest known words: square" in capsys.readouterr().err
    # explore: from caption to caption, one row per seed; the row's ends are the captions' own samples
    from ganforge import explore
    walk = explore.run(full.run_dir, "interpolate", text=["a red square", "bottom: blue"], seeds=[0, 1], frames=3,
                       out=str(tmp_path / "walk")).arrays["samples"]
    assert walk.shape[:2] == (2, 3) and os.path.isfile(tmp_path / "walk" / "interpolate-text-slerp.png")
    for j, caption in ((0, "a red square"), (2, "bottom: blue")):
        own = a.recipe.generate(a.recipe.sample_inputs(seeds=[0, 1], conditions={"text": [caption]}))
        assert np.allclose(walk[:, j], own.numpy(), atol=1e-5)
    assert not np.allclose(walk[:, 0], walk[:, 2])
    assert main(["explore", full.run_dir, "interpolate", "--text", "a red square"]) == 2
    assert "at least two captions" in capsys.readouterr().err
    # an exported model folder carries the encoder (checked by hash) and draws the same images
    assert main(["export", full.run_dir, "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    index = json.load(open(tmp_path / "hf" / "model_index.json"))
    assert list(index["components"]) == ["generator"] and "text_encoder" in index["frozen"]
    mine = ganforge.load(str(tmp_path / "hf")).recipe
    inp = mine.sample_inputs(2, seed=3, conditions={"text": ["a red square"]})
    assert torch.allclose(mine.generate(inp), a.recipe.generate(inp), atol=1e-6)
    # an encoder file changed since (other weights of the same shapes) is refused by its hash
    from safetensors.torch import load_file, save_file
    weights = load_file(enc)
    save_file({k: v + 1 for k, v in weights.items()}, enc)
    with pytest.raises(CheckpointError, match="sha256"):
        ganforge.load(full.run_dir)


def test_hard_mismatches_are_the_nearest_caption_that_is_not_a_paraphrase():
    from types import SimpleNamespace

    from ganforge.recipes.text2image import Text2ImageConfig, Text2ImageRecipe
    e = torch.tensor([[1.0, 0.0, 0.0], [0.99, 0.05, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0]])  # a, a paraphrase, near
    fake = SimpleNamespace(settings=lambda: Text2ImageConfig(hard=0.5))
    out = Text2ImageRecipe.mismatched(fake, e)
    assert torch.equal(out[0], e[2]) and torch.equal(out[1], e[2])        # not itself, not its paraphrase
    assert torch.equal(out[2:], e.roll(1, 0)[2:])                         # the rest: rolled by one
    assert torch.equal(Text2ImageRecipe.mismatched(SimpleNamespace(settings=Text2ImageConfig), e), e.roll(1, 0))


# -- captioned MNIST ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(datasets_dir):
    from ganforge.data.captioned_mnist import build
    return build(), build(part="test")


def test_captioned_mnist_is_deterministic_and_holds_combinations_out(built):
    from ganforge.data.captioned_mnist import build, held_out, vocabulary
    from ganforge.data.captions import encode
    train, test = built
    assert train["x"].shape == (8000, 3, 32, 32) and test["x"].shape == (2000, 3, 32, 32)
    held = held_out()
    assert len(held) == 45 and (8, 2, 0, 4) in held and (2, 4, 1, 0) in held       # green eights, large blue twos
    assert not any(tuple(a) in held for a in train["attrs"].tolist())
    assert all((tuple(a) in held) == h for a, h in zip(test["attrs"].tolist(), test["held"].tolist()))
    assert int(test["held"].sum()) == 1000
    assert all(len(set(c)) >= 1 and len(c) == 3 for c in train["captions"])
    encode([c for g in test["captions"] for c in g], vocabulary())              # every caption in the vocabulary
    again = build(part="test")
    assert torch.equal(again["x"], test["x"]) and again["captions"] == test["captions"]


def test_attribute_reader_scores_real_images_high_and_wrong_ones_low(built):
    from ganforge.data.captioned_mnist import render
    from ganforge.metrics.text2image import attribute_accuracy, attribute_report, read_attributes
    _, test = built
    x, attrs = test["x"][::4], test["attrs"][::4]                                # 500 images, both parts
    rep = attribute_report(x, attrs, test["held"][::4])
    for part in ("seen", "held"):
        assert rep[f"attr_digit_{part}"] >= 0.93 and rep[f"attr_all_{part}"] >= 0.93
        for f in ("colour", "size", "position"):
            assert rep[f"attr_{f}_{part}"] == 1.0
    # captions that name another colour, size and position (or digit) than the image shows: those fields read 0
    wrong = attrs.clone()
    wrong[:, 1:] = (attrs[:, 1:] + 1) % torch.tensor([6, 2, 5])
    acc = attribute_accuracy(read_attributes(x), wrong)
    assert acc["colour"] == acc["size"] == acc["position"] == acc["all"] == 0.0 and acc["digit"] > 0.9
    acc = attribute_accuracy(read_attributes(x), torch.cat([(attrs[:, :1] + 3) % 10, attrs[:, 1:]], 1))
    assert acc["digit"] < 0.05 and acc["colour"] == 1.0
    # blank images read -1 everywhere; a re-render of known digits reads back its attributes
    assert (read_attributes(-torch.ones(2, 3, 32, 32)) == -1).all()
    from ganforge.data.builtin import _mnist_arrays
    _, arr, y = _mnist_arrays("", True)
    digits = torch.from_numpy(arr[9000:9060, 0].copy()).float() / 255
    a = torch.stack([y[9000:9060], torch.arange(60) % 6, torch.arange(60) % 2, torch.arange(60) % 5], 1)
    assert attribute_accuracy(read_attributes(render(digits, a)), a)["all"] >= 0.9


def test_captioned_mnist_run_is_evaluated_against_its_captions(datasets_dir, tmp_path, monkeypatch):
    from ganforge import evaluation
    from ganforge.evaluation import rprecision
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(rprecision, "STEPS", 100)          # a short dual encoder: real pairs still rank well
    sets = [s for s in TINY if not s.startswith("text2image.size")] + ["data.limit=64", "train.sample_every=2"]
    run = ganforge.train("captioned-mnist", out=str(tmp_path / "run"), steps=2, overrides=sets)
    from ganforge.report import build_report
    page = open(build_report(run.run_dir)).read()                   # the report lists the grid's captions
    assert "<li>a small red seven in the top left</li>" in page and "<li>a large blue two at the top right</li>" in page
    res = evaluation.evaluate_run(run.run_dir, n=10, json_path=str(tmp_path / "e.json"))
    m = res["metrics"]
    assert res["protocol"]["n"] == 20 and m["attr_all_seen_real"] >= 0.9 and m["attr_colour_held_real"] == 1.0
    assert 0 <= m["attr_all_held"] <= m["attr_colour_held"] <= 1 and m["fd"] > m["fd_floor"] >= 0
    assert json.load(open(tmp_path / "e.json"))["metrics"]["attr_digit_seen"] == m["attr_digit_seen"]
    assert m["diversity"] >= 0 and m["diversity_real"] > 0          # real images of one caption still differ
    assert m["rprec_seen_real"] > 0.5 and 0 <= m["rprec_seen"] <= 1 and "rprec_held" in m
    assert len(list((tmp_path / "cache" / "text2image").glob("rprec-*.safetensors"))) == 1
    from ganforge.metrics.text2image import mean_pairwise
    assert mean_pairwise(torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])) == pytest.approx(10 / 3)


def test_r_precision_counts_own_caption_first_and_skips_same_meaning():
    from ganforge.evaluation.rprecision import r_precision
    g = torch.Generator().manual_seed(0)
    e = torch.randn(300, 16, generator=g)
    assert r_precision(e, e) == 1.0                                     # each image closest to its own caption
    shuffled = r_precision(e, e[torch.randperm(300, generator=g)])
    assert shuffled < 0.1                                               # chance: 1 in 100
    dup = e[:100].clone()                                               # 100 rows: all 99 others are drawn
    dup[1::2] = dup[0::2]                                               # pairs of images with the same caption
    assert r_precision(dup, dup) == 0.0                                 # ties with the twin are not wins ...
    assert r_precision(dup, dup, groups=[i // 2 for i in range(100)]) == 1.0   # ... unless it says the same thing
