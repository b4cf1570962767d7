"""The invisible watermark: exact round trip at the sizes ganforge makes, small distortion, survives PNG and mild
JPEG, refuses images too small for 32 bits, and `sample --watermark` / `provenance --watermark` end to end."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.cli import main
from ganforge.core import watermark as W
from ganforge.core.errors import ConfigError


def smooth_images(n: int, c: int, size: int, seed: int = 0) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, c, size // 4, size // 4, generator=g)
    x = torch.nn.functional.interpolate(low, size=size, mode="bilinear", align_corners=False)
    return (x * 255).round().clamp(0, 255).to(torch.uint8).numpy()


@pytest.mark.parametrize("c,size", [(1, 16), (1, 28), (3, 32)])
def test_round_trip_is_exact_and_quiet(c, size):
    x = smooth_images(8, c, size)
    bits = W.payload_bits("c0ffee42" + "0" * 56)
    marked = np.stack([W.embed(img, bits) for img in x])
    assert all(np.array_equal(W.read_bits(img), bits) for img in marked)
    psnr = 10 * np.log10(255 ** 2 / np.mean((marked.astype(float) - x) ** 2))
    assert psnr > 30, psnr
    unmarked = np.mean([np.mean(W.read_bits(img) == bits) for img in x])
    assert 0.3 < unmarked < 0.7                                         # an unmarked image reads as chance


def test_survives_png_and_jpeg_90_and_refuses_tiny_images():
    x = smooth_images(20, 1, 28, seed=1)
    bits = W.payload_bits("0123abcd")
    accs = []
    for img in x:
        buf = io.BytesIO()
        Image.fromarray(W.embed(img, bits)[0]).save(buf, format="JPEG", quality=90)
        back = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))[None]
        accs.append(np.mean(W.read_bits(back) == bits))
    assert np.mean(accs) > 0.85, np.mean(accs)
    with pytest.raises(ConfigError, match="at least 16x16"):
        W.embed(np.zeros((1, 8, 8), np.uint8), bits)


def test_sample_and_provenance_watermark_end_to_end(tmp_path, tiny, capsys):
    data = tmp_path / "imgs.npz"
    np.savez(data, x=smooth_images(64, 1, 16, seed=2))
    run = ganforge.train("digits", data=str(data), steps=2, out=str(tmp_path / "run"),
                         overrides=tiny + ["model.arch=dcgan"]).run_dir
    out = str(tmp_path / "s.npz")
    assert main(["sample", run, "--n", "6", "--out", out, "--watermark"]) == 0
    capsys.readouterr()
    assert main(["provenance", out, "--watermark", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    sha = doc["provenance"]["checkpoint_sha256"]
    assert doc["provenance"]["watermark"]["payload"] == sha[:8] == doc["watermark"]["payload"]
    assert doc["watermark"]["matches_record"] and doc["watermark"]["all_bits_agree"] == 1.0
    plain = str(tmp_path / "plain.npz")
    assert main(["sample", run, "--n", "6", "--out", plain]) == 0
    capsys.readouterr()
    assert main(["provenance", plain, "--watermark", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "watermark" not in doc["provenance"] and doc["watermark"]["payload"] != sha[:8]
