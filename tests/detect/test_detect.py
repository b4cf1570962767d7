"""Real-vs-generated detectors: the radial spectrum on known patterns, both detectors learning a known
up-sampling artefact and keeping it through save/load, and the detect commands end to end."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

import ganforge
from ganforge import detect
from ganforge.cli import main
from ganforge.core.errors import CheckpointError, DataError
from ganforge.detect.nets import radial_spectrum


def test_radial_spectrum_puts_a_checkerboard_at_the_highest_frequency():
    yy, xx = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
    board = ((yy + xx) % 2).float().view(1, 1, 16, 16)
    stripes = (torch.sin(2 * torch.pi * 2 * xx / 16) * 0.5 + 0.5).float().view(1, 1, 16, 16)   # 2 cycles
    s_board, s_stripes = radial_spectrum(board)[0], radial_spectrum(stripes)[0]
    assert s_board.shape == (12,) and int(s_board.argmax()) == 11           # the corner: radius 8 * sqrt(2)
    assert int(s_stripes.argmax()) == 2


def _pair(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random images (real) and the same kind with a faint checkerboard, as nearest-neighbour up-sampling
    layers leave (generated)."""
    g = torch.Generator().manual_seed(seed)
    def smooth():
        low = torch.rand(n, 1, 4, 4, generator=g)
        return torch.nn.functional.interpolate(low, size=16, mode="bilinear", align_corners=False)
    yy, xx = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
    board = ((yy + xx) % 2).float() * 0.06
    real = (smooth() * 0.9 * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    fake = ((smooth() * 0.9 + board) * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    return real, fake


@pytest.mark.parametrize("kind", ["spectrum", "cnn"])
def test_both_detectors_learn_an_upsampling_artefact_and_survive_save_load(tmp_path, kind):
    real, fake = _pair(300, 0)
    det = detect.fit(real, fake, kind, steps=100, batch=64, lr=3e-3 if kind == "cnn" else 3e-2, p_aug=0.0, width=8)
    test_real, test_fake = _pair(200, 1)
    m = detect.measure(det, test_real, test_fake)
    assert m["ap"] > 0.95 and m["acc"] > 0.85, m
    again = detect.load(det.save(str(tmp_path / "det")))
    assert np.allclose(again.prob(test_real), det.prob(test_real), atol=1e-6)
    chance = detect.measure(det, test_real, _pair(200, 2)[0])            # real against real: no signal
    assert chance["ap"] < 0.75, chance


def test_detector_refusals(tmp_path):
    (tmp_path / "det").mkdir()
    (tmp_path / "det" / "detector.json").write_text('{"format": "something else"}')
    (tmp_path / "det" / "detector.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(CheckpointError, match="cannot load the detector"):
        detect.load(str(tmp_path / "det"))
    with pytest.raises(DataError, match="one image shape"):
        detect.fit(np.zeros((4, 1, 8, 8), np.uint8), np.zeros((4, 1, 16, 16), np.uint8))


def test_detect_commands_end_to_end(tmp_path, tiny, capsys):
    run = ganforge.train("digits", steps=4, out=str(tmp_path / "run"), overrides=tiny).run_dir
    det = str(tmp_path / "det")
    assert main(["detect", "train", "--real", "digits", "--fake", run, "--out", det, "--n", "200",
                 "--steps", "30"]) == 0
    meta = json.load(open(tmp_path / "det" / "detector.json"))
    assert meta["n_real"] == 200 and meta["sources"]["fake"] == [run] and 0 <= meta["train_fit"]["ap"] <= 1
    assert main(["detect", "eval", det, "--real", "digits", "--fake", run, "--n", "100"]) == 0
    assert "AP " in capsys.readouterr().out
    sample = ganforge.load(run).save(str(tmp_path / "s.png"), n=4)
    assert main(["detect", det, sample, str(tmp_path / "run" / "samples"), "--out", str(tmp_path / "s.csv")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "s.csv")))
    assert rows[0]["file"] == sample and rows[0]["provenance"] == "1" and rows[0]["resized"] == "1"
    assert 0.0 <= float(rows[0]["p_generated"]) <= 1.0
    assert main(["detect", det, str(tmp_path / "nothing.png")]) == 2
    assert "no such file" in capsys.readouterr().err
