"""data.stream: a folder read per batch trains exactly as the same folder read into memory, and resumes
mid-epoch exactly."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.config import DataConfig
from ganforge.core import checkpoint as ckpt
from ganforge.core.errors import ConfigError
from ganforge.data import load_dataset

SETS = ["model.arch=mlp", "model.z_dim=8", "model.g_width=16", "model.d_width=16", "train.batch=8",
        "train.log_every=2", "train.sample_every=0", "train.ckpt_every=0", "train.progress=false", "data.size=8"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    for k, cls in enumerate(("a", "b")):
        (root / cls).mkdir()
        for i in range(20):
            arr = (rng.random((10, 12, 3)) * 120 + 100 * k).astype(np.uint8)   # resized to 8x8 on reading
            Image.fromarray(arr).save(root / cls / f"{i:02d}.png")
    return root


def _weights(run) -> dict[str, torch.Tensor]:
    tensors, _ = ckpt.load(str(run))
    return {k: v for k, v in tensors.items() if k.startswith(("net.", "opt."))}


def test_streamed_examples_are_the_in_memory_ones(folder):
    cfg = DataConfig(source="folder", path=str(folder), size=8, resize="resize")
    mem = load_dataset(cfg)
    stream = load_dataset(DataConfig(**{**cfg.__dict__, "stream": True}))
    assert stream.streaming and len(stream) == len(mem) == 40
    assert {k: v for k, v in stream.info().items() if k != "streaming"} == mem.info()
    got = stream.examples(torch.tensor([3, 0, 39]))
    assert torch.equal(got["x"], mem.x[[3, 0, 39]]) and torch.equal(got["y"], mem.y[[3, 0, 39]])
    assert torch.equal(stream.take(10, seed=4).x, mem.take(10, seed=4).x)


@pytest.mark.parametrize("workers", [0, 2])
def test_streaming_trains_exactly_as_in_memory(folder, tmp_path, workers):
    common = dict(data=str(folder), steps=12, overrides=SETS)
    mem = ganforge.train("folder", out=str(tmp_path / "mem"), **common)
    streamed = ganforge.train("folder", out=str(tmp_path / "st"), **{
        **common, "overrides": SETS + ["data.stream=true", f"data.workers={workers}"]})
    a, b = _weights(mem.run_dir), _weights(streamed.run_dir)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_streaming_resumes_mid_epoch_exactly(folder, tmp_path):
    sets = SETS + ["data.stream=true"]                      # 40 images, batch 8: an epoch is 5 steps
    straight = ganforge.train("folder", data=str(folder), out=str(tmp_path / "a"), steps=13, overrides=sets)
    part = ganforge.train("folder", data=str(folder), out=str(tmp_path / "b"), steps=7, overrides=sets)
    ganforge.resume(part.run_dir, steps=13)
    a, b = _weights(straight.run_dir), _weights(part.run_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_stream_needs_a_source_that_streams():
    with pytest.raises(ConfigError, match="data.stream=true needs a source that reads per batch"):
        load_dataset(DataConfig(source="digits", stream=True))
