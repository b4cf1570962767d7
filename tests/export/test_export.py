"""ONNX and Hugging Face style export of G_ema."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganforge import api
from ganforge.core.errors import CheckpointError, ConfigError
from ganforge.export import export_hf, export_onnx


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    base = ["model.z_dim=8", "model.g_width=8", "model.d_width=8", "train.batch=16", "train.progress=false",
            "train.sample_every=0", "train.ema_warmup=1", "model.arch=dcgan"]
    plain = api.train("digits", out=str(root / "plain"), steps=3, overrides=base)
    cond = api.train("digits", out=str(root / "cond"), steps=3,
                     overrides=base + ["model.conditional=true", "model.cond_g=cbn"])
    return root, plain.run_dir, cond.run_dir


@pytest.mark.parametrize("which", ["plain", "cond"])
def test_onnx_matches_pytorch_at_any_batch(runs, which):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    root, plain, cond = runs
    run = plain if which == "plain" else cond
    path = export_onnx(run, str(root / f"{which}.onnx"))
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    g = api.load(run)
    names = [i.name for i in sess.get_inputs()]
    assert names == (["z", "y"] if which == "cond" else ["z"])
    for n in (1, 5, 33):  # the batch axis is dynamic
        inputs = g.recipe.sample_inputs(n, seed=n)
        ref = g.recipe.generate(inputs).numpy()                       # (n, 1, 8, 8) in [-1, 1]
        out = sess.run(None, {k: inputs[k].numpy() for k in names})[0]
        assert out.shape == ref.shape == (n, 1, 8, 8)
        assert np.abs(out - ref).max() < 1e-4
    # the export is G_ema, not G: a different network after training steps with EMA
    inputs = g.recipe.sample_inputs(4, seed=0)
    live = g.recipe.generate(inputs, net="G").numpy()
    assert np.abs(sess.run(None, {k: inputs[k].numpy() for k in names})[0] - live).max() > 1e-4


def test_hf_folder_round_trip(runs):
    root, plain, cond = runs
    for run, name in ((plain, "hf-plain"), (cond, "hf-cond")):
        out = export_hf(run, str(root / name))
        doc = json.loads((root / name / "model_index.json").read_text())
        assert doc["library_name"] == "ganforge" and doc["recipe"] == "gan"
        assert doc["components"]["generator"]["net"] == "G_ema"
        assert doc["components"]["generator"]["inputs"]["z"] == [None, 8]
        assert doc["config"]["model"]["z_dim"] == 8 and doc["data"]["shape"] == [1, 8, 8]
        g, h = api.load(run), api.load(out)
        assert h.num_classes == g.num_classes and h.step == g.step
        a = g.sample(6, seed=2, labels=3 if g.num_classes else None)
        b = h.sample(6, seed=2, labels=3 if g.num_classes else None)
        assert torch.equal(a, b)


def test_folders_of_the_earlier_one_generator_layout_still_load(runs, tmp_path):
    from safetensors.torch import save_file
    _, plain, _ = runs
    g = api.load(plain)
    old = tmp_path / "old"
    old.mkdir()
    save_file({k: v.contiguous() for k, v in g.recipe.nets["G_ema"].state_dict().items()},
              str(old / "model.safetensors"))
    (old / "config.json").write_text(json.dumps({"library_name": "ganforge", "model_type": "ganforge-generator",
                                                 "net": "G_ema", "step": g.step, "config": g.config.to_dict(),
                                                 "data": g.data_info}))
    assert torch.equal(api.load(str(old)).sample(5, seed=4), g.sample(5, seed=4))


def test_hf_export_over_a_killed_one_leaves_only_its_files(runs):
    root, plain, _ = runs
    out = root / "hf-again"
    (out / "generator").mkdir(parents=True)
    # what a kill in the middle of an earlier export leaves: ours and the safetensors writer's temp files
    (out / "generator" / "model.safetensors.tmp-4242").write_bytes(b"half")
    (out / ".tmpAb12Cd").write_bytes(b"half")
    export_hf(plain, str(out))
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == [
        "MODEL_CARD.md", "generator", "generator/model.safetensors", "model_index.json"]
    assert torch.equal(api.load(str(out)).sample(3, seed=1), api.load(plain).sample(3, seed=1))


def test_export_errors_are_one_line(runs, tmp_path):
    root, plain, _ = runs
    with pytest.raises(ConfigError):
        export_onnx(plain, str(tmp_path / "g.bin"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{}")
    (bad / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError):
        api.load(str(bad))


def test_cli_export(runs, tmp_path):
    pytest.importorskip("onnx")
    from ganforge.cli import main
    _, plain, _ = runs
    assert main(["export", plain, "--format", "onnx", "--out", str(tmp_path / "g.onnx")]) == 0
    assert (tmp_path / "g.onnx").stat().st_size > 1000
    assert main(["export", plain, "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    assert (tmp_path / "hf" / "generator" / "model.safetensors").exists()
