"""Voice conversion: the fsdd-speakers source (shape, split, refusals), `ganforge sample` from WAV to WAV with names
and provenance kept, and the conversion figures on synthetic inputs."""
from __future__ import annotations

import math
import wave

import numpy as np
import pytest
import soundfile as sf
import torch

import ganforge
from ganforge.api import resolve_config
from ganforge.cli import main
from ganforge.core import provenance
from ganforge.core.errors import ConfigError, DataError
from ganforge.data import load_dataset
from ganforge.metrics.audio import DigitNet
from ganforge.metrics.voice import SpeakerClassifier, centre, digit_accuracy, speaker_share

SMALL = ["audio.samples=1024", "voice.speaker_a=hi", "voice.speaker_b=lo", "model.g_width=4", "model.d_width=4",
         "translate.res_blocks=1", "translate.pool=2", "train.batch=2", "train.log_every=1", "train.sample_every=0",
         "train.ckpt_every=0", "train.ema_warmup=1", "train.progress=false"]


def tone(freq: float, n: int) -> np.ndarray:
    return (0.5 * np.sin(2 * math.pi * freq * np.arange(n) / 8000)).astype(np.float32)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """FSDD-style names: speakers hi (400 Hz) and lo (150 Hz), digits 0-1, index 0-6 (0-4 held out)."""
    root = tmp_path_factory.mktemp("fsdd")
    for who, f in (("hi", 400.0), ("lo", 150.0)):
        for digit in (0, 1):
            for i in range(7):
                sf.write(root / f"{digit}_{who}_{i}.wav", tone(f * (1 + 0.1 * digit), 700 + 40 * i), 8000)
    (root / "notes.txt").write_text("not sound")
    return root


def cfg_for(folder, *extra):
    return resolve_config("fsdd-speakers", data=str(folder), overrides=SMALL + list(extra))


def test_source_shape_and_split(folder):
    ds = load_dataset(cfg_for(folder), seed=0)
    assert ds.kind == "spectrogram-unpaired" and tuple(ds.x.shape[1:]) == (1, 64, 16)
    assert ds.meta["n_a"] == ds.meta["n_b"] == 4                     # index 5 and 6 of two digits
    assert ds.x.shape == ds.extra["b"].shape and ds.x.min() >= -1 and ds.x.max() <= 1
    assert ds.meta["speakers"] == ["hi", "lo"] and len(ds.meta["spec_mean"]) == 64


def test_source_refusals(folder):
    with pytest.raises(DataError, match="speaker 'nobody'.*speakers found: hi, lo"):
        load_dataset(cfg_for(folder, "voice.speaker_a=nobody"), seed=0)
    with pytest.raises(DataError, match="divisible by 4"):
        load_dataset(cfg_for(folder, "audio.samples=1088"), seed=0)
    with pytest.raises(ConfigError, match="two different speakers"):
        load_dataset(cfg_for(folder, "voice.speaker_b=hi"), seed=0)


def test_sample_wav_round_trip(folder, tmp_path, capsys):
    res = ganforge.train("fsdd-speakers", data=str(folder), steps=2, out=str(tmp_path / "run"), overrides=SMALL)
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    sf.write(inputs / "a.wav", tone(400.0, 800), 8000)
    sf.write(inputs / "sub" / "b.flac", tone(420.0, 16000), 16000)  # another rate, longer than the clip
    assert main(["sample", res.run_dir, "--input", str(inputs), "--out", str(tmp_path / "out")]) == 0
    with wave.open(str(tmp_path / "out" / "a.wav")) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnframes()) == (8000, 2, 800)   # the input's own span
    with wave.open(str(tmp_path / "out" / "sub" / "b.wav")) as w:
        assert w.getnframes() == 1024
    rec = provenance.read(str(tmp_path / "out" / "a.wav"))
    assert rec and rec["recipe"] == "voice-cyclegan"
    out = tmp_path / "one.wav"
    assert main(["sample", res.run_dir, "--input", str(inputs / "a.wav"), "--out", str(out),
                 "--direction", "BtoA"]) == 0
    assert provenance.read(str(out))["recipe"] == "voice-cyclegan"
    capsys.readouterr()
    assert main(["sample", res.run_dir, "--input", str(folder / "notes.txt"), "--out", str(tmp_path / "x.wav")]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not a sound file" in err and len(err.splitlines()) == 1


def test_speaker_share_and_digit_accuracy():
    net = DigitNet(2).eval()
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.copy_(torch.tensor([0.0, 1.0]))       # every clip is speaker 1
    clf = SpeakerClassifier(net, {"speakers": ["hi", "lo"]}, "0" * 64)
    x = torch.randn(5, 1, 1024) * 0.1
    assert speaker_share(x, "lo", clf) == 1.0 and speaker_share(x, "hi", clf) == 0.0
    with pytest.raises(DataError, match="knows hi, lo"):
        speaker_share(x, "other", clf)

    class Digits:
        card = {"samples": 8192}

        def classify_channels(self, clips):
            assert clips.shape[-1] == 8192
            return torch.tensor([1, 2, 3, 0])
    assert digit_accuracy(torch.zeros(4, 1, 1024), torch.tensor([1, 2, 3, 4]), Digits()) == 0.75
    y = centre(torch.ones(1, 1, 10), 16)
    assert y.shape[-1] == 16 and y[..., 3:13].sum() == 10 and centre(torch.arange(20.).view(1, 1, 20), 10)[0, 0, 0] == 5
