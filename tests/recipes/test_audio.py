"""Audio: reading folders of sound (policies and refusals), WaveGAN networks, both recipes end to end with exact
resume, WAV and spectrogram outputs, Griffin-Lim on a known tone, and the log-mel feature spaces."""
from __future__ import annotations

import json
import math
import wave

import numpy as np
import pytest
import soundfile as sf
import torch

import ganforge
from ganforge.cli import main
from ganforge.config import Config
from ganforge.core import checkpoint as ckpt
from ganforge.core.errors import ConfigError, DataError
from ganforge.data import load_dataset
from ganforge.data.audio import fit_clip
from ganforge.metrics.audio import MelStats, clip_stats, mel_filterbank, signal_checks
from ganforge.nets.wave import PhaseShuffle, WaveDiscriminator, WaveGenerator, wave_plan

RATE, SAMPLES = 4000, 4096
SMALL = [f"audio.rate={RATE}", f"audio.samples={SAMPLES}", "model.z_dim=8", "model.g_width=4", "model.d_width=4",
         "train.batch=8", "train.log_every=2", "train.sample_every=0", "train.ckpt_every=0", "train.progress=false"]


def tone(freq: float, seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * math.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two classes of tones, 12 files each; one stereo file and one at another rate among them."""
    root = tmp_path_factory.mktemp("sound")
    for cls, base in (("low", 300.0), ("high", 900.0)):
        (root / cls).mkdir()
        for i in range(12):
            x = tone(base * (1 + 0.02 * i), 0.6 + 0.05 * i)
            if cls == "low" and i == 0:
                sf.write(root / cls / f"{i:02d}.wav", np.stack([x, x], 1), RATE)            # stereo
            elif cls == "high" and i == 0:
                sf.write(root / cls / f"{i:02d}.flac", tone(base, 0.7, 8000), 8000)          # another rate
            else:
                sf.write(root / cls / f"{i:02d}.wav", x, RATE)
    return root


def audio_cfg(path, **audio) -> Config:
    cfg = Config()
    cfg.data.source, cfg.data.path = "audio", str(path)
    a = cfg.section("audio")
    a.rate, a.samples = RATE, SAMPLES
    for k, v in audio.items():
        setattr(a, k, v)
    return cfg


# ------------------------------------------------------------------------------------------------ data

def test_a_folder_becomes_fixed_mono_clips_with_labels_and_counts(folder):
    ds = load_dataset(audio_cfg(folder), seed=0)
    info = ds.info()
    assert ds.x.shape == (24, 1, SAMPLES) and info["kind"] == "audio" and info["class_names"] == ["low", "high"]
    assert info["stereo_mixed"] == 1 and info["resampled"] == 1 and ds.x.abs().amax() == pytest.approx(0.95, abs=1e-6)
    assert len(info["spec_mean"]) == 128 and ds.y.bincount().tolist() == [12, 12]


def test_crop_policies_on_known_values():
    x = np.arange(1, 7, dtype=np.float32)
    assert fit_clip(x, 4, "center").tolist() == [2, 3, 4, 5] and fit_clip(x, 4, "start").tolist() == [1, 2, 3, 4]
    assert fit_clip(x[:2], 4, "center").tolist() == [0, 1, 2, 0]
    assert fit_clip(x[:2], 4, "start").tolist() == [1, 2, 0, 0]


def test_bad_sound_folders_are_one_clear_error(folder, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="no sound files"):
        load_dataset(audio_cfg(tmp_path / "empty"), seed=0)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(DataError, match="cannot read sound file .*a.wav"):
        load_dataset(audio_cfg(tmp_path / "bad"), seed=0)
    with pytest.raises(DataError, match="does not match"):
        load_dataset(audio_cfg(folder, label_pattern=r"^(\d)_"), seed=0)
    with pytest.raises(DataError, match="shorter than audio.min_samples=100000"):
        load_dataset(audio_cfg(folder, min_samples=100_000), seed=0)
    held = load_dataset(audio_cfg(folder, holdout_pattern=r"^0[0-2]\."), seed=0)
    assert len(held) == 18 and held.info()["held_out"] == 6


# ------------------------------------------------------------------------------------------------ networks

def test_wavegan_shapes_and_phase_shuffle():
    assert wave_plan(8192) == (32, 4) and wave_plan(16384) == (16, 5)
    with pytest.raises(ConfigError, match="L0 \\* 4\\^k"):
        wave_plan(5000)
    G, D = WaveGenerator((1, 4096), 8, 4, 3), WaveDiscriminator((1, 4096), 4, "spectral", 3)
    x = G(torch.randn(5, 8), torch.arange(5) % 3)
    assert x.shape == (5, 1, 4096) and x.abs().max() <= 1 and D(x, torch.arange(5) % 3).shape == (5,)
    ps = PhaseShuffle(2)
    h = torch.arange(10.0).view(1, 1, 10).repeat(50, 1, 1)
    out = ps(h)
    shifts = (out[:, 0, 5] - h[:, 0, 5]).tolist()                  # interior samples move by the shift itself
    assert set(shifts) <= {-2.0, -1.0, 0.0, 1.0, 2.0} and len(set(shifts)) > 1
    assert torch.equal(ps.eval()(h), h)                            # off outside training


# ------------------------------------------------------------------------------------------------ recipes

@pytest.mark.parametrize("recipe", ["wavegan", "specgan"])
def test_training_resumes_exactly_and_writes_sound(folder, tmp_path, recipe):
    sets = SMALL + [f"model.recipe={recipe}"] + (["audio.n_fft=128", "audio.hop=64", "model.arch=dcgan"]
                                                  if recipe == "specgan" else [])
    straight = ganforge.train("audio", data=str(folder), steps=8, out=str(tmp_path / "a"), overrides=sets)
    part = ganforge.train("audio", data=str(folder), steps=4, out=str(tmp_path / "b"), overrides=sets)
    ganforge.resume(part.run_dir, steps=8)
    a, b = ckpt.load(straight.run_dir)[0], ckpt.load(part.run_dir)[0]
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith(("net.", "opt.")))
    grids = sorted(p.name for p in (tmp_path / "a" / "samples").iterdir())
    assert grids == ["grid-00000008.png", "grid-00000008.wav"]
    assert main(["report", straight.run_dir]) == 0               # the picture and a player for the sound
    page = open(f"{straight.run_dir}/report.html", encoding="utf-8").read()
    assert page.count("<audio controls") == 1 and "data:audio/wav;base64," in page and "1 of 1 grids" in page
    assert main(["sample", straight.run_dir, "--n", "3", "--out", str(tmp_path / "clips")]) == 0
    files = sorted((tmp_path / "clips").iterdir())
    assert len(files) == 3
    with wave.open(str(files[0])) as w:
        assert (w.getframerate(), w.getnframes(), w.getsampwidth(), w.getnchannels()) == (RATE, SAMPLES, 2, 1)
    assert main(["sample", straight.run_dir, "--n", "2", "--out", str(tmp_path / "g.png")]) == 0
    assert main(["sample", straight.run_dir, "--label", "1", "--out", str(tmp_path / "x")]) == 2   # unconditional


def test_griffin_lim_restores_a_tone(folder):
    """SpecGAN's inverse on the normalised spectrogram of a real tone gives back that tone's spectrum.

    A pure tone's peak bin lies some 22 std above the mean of this folder, so the default clip at 3 std (SpecGAN's)
    would flatten it; the clip is widened here so the test measures Griffin-Lim, not the clipping."""
    from ganforge.data.audio import spectrogram
    from ganforge.recipes import build_recipe
    cfg = audio_cfg(folder, n_fft=128, hop=64, spec_clip=30.0)
    cfg.model.recipe, cfg.model.z_dim, cfg.model.g_width, cfg.model.d_width = "specgan", 8, 4, 4
    ds = load_dataset(cfg, seed=0)
    recipe = build_recipe(cfg, ds.info(), torch.device("cpu"))
    x = torch.from_numpy(fit_clip(tone(500.0, 1.2), SAMPLES, "center")).view(1, 1, -1)
    back = recipe.waves(recipe.to_spec(x))
    a, b = spectrogram(x, 128, 64), spectrogram(back, 128, 64)
    convergence = float((a - b).norm() / a.norm())
    assert back.shape == x.shape and convergence < 0.3
    assert int(a[0].mean(1).argmax()) == int(b[0].mean(1).argmax())      # the same strongest frequency bin


def test_a_small_spec_eps_keeps_a_generator_error_out_of_the_silence(folder):
    """The same small error in the normalised spectrogram (what an imprecise G draws) becomes a noise floor over
    the silent half of a clip; with the log scale starting at spec_eps=0.01 that floor is far quieter than with
    log(1 + |STFT|) (spec_eps=1), whose near-linear bottom turns the error into audible hiss."""
    from ganforge.recipes import build_recipe
    x = torch.from_numpy(fit_clip(tone(500.0, 0.5), SAMPLES, "start")).view(1, 1, -1)   # tone, then silence
    quiet = {}
    for eps in (1.0, 0.01):
        cfg = audio_cfg(folder, n_fft=128, hop=64, spec_eps=eps)
        cfg.model.recipe, cfg.model.z_dim, cfg.model.g_width, cfg.model.d_width = "specgan", 8, 4, 4
        recipe = build_recipe(cfg, load_dataset(cfg, seed=0).info(), torch.device("cpu"))
        back = recipe.waves(recipe.to_spec(x) + 0.05)
        quiet[eps] = float(back[0, 0, int(0.6 * RATE):].pow(2).mean().sqrt())
    assert quiet[0.01] < quiet[1.0] / 5, quiet
    old = {k: v for k, v in load_dataset(cfg, seed=0).info().items() if k != "spec_eps"}   # a run from before
    assert build_recipe(cfg, old, torch.device("cpu")).settings().spec_eps == 1.0
    cfg.section("audio").spec_eps = 0.1
    with pytest.raises(ConfigError, match="n_fft / hop / spec_eps = 128 / 64 / 1.0, not 128 / 64 / 0.1"):
        build_recipe(cfg, load_dataset(audio_cfg(folder, n_fft=128, hop=64), seed=0).info(), torch.device("cpu"))


# ------------------------------------------------------------------------------------------------ features

def test_mel_filters_and_mel_stats_tell_tones_apart():
    fb = mel_filterbank(256, 8000, 40)
    assert fb.shape == (40, 129) and fb.min() >= 0 and (fb.max(1).values > 0.5).all()
    centres = fb.argmax(1)
    assert (centres[1:] >= centres[:-1]).all()                       # filters rise in frequency
    ext = MelStats(RATE)
    clips = torch.from_numpy(np.stack([fit_clip(tone(f, 1.0), SAMPLES, "center") for f in (300, 300, 1200)]))
    f = ext.features(clips[:, None])
    assert f.shape == (3, 120) and torch.allclose(f[0], f[1]) and not torch.allclose(f[0], f[2], atol=0.1)


def test_eval_of_an_audio_run_uses_the_log_mel_space(folder, tmp_path, capsys):
    run = ganforge.train("audio", data=str(folder), steps=4, out=str(tmp_path / "r"), overrides=SMALL).run_dir
    assert main(["eval", run, "--n", "10", "--metrics", "fd"]) == 0
    path = [line.split("written: ")[1] for line in capsys.readouterr().out.splitlines() if "written: " in line][0]
    res = json.loads(open(path).read())
    assert res["protocol"]["extractor"] == "mel-stats" and res["metrics"]["fd"] > 0
    m = res["metrics"]                                       # the signal checks come with every audio evaluation
    assert {"silence", "silence_real", "clipping", "clipping_real", "centroid_hz", "centroid_w1_floor"} <= set(m)
    assert 300 < m["centroid_hz_real"] < 1300                 # the folder's tones lie between 300 and 1,100 Hz


def test_signal_checks_on_known_clips():
    rate, n = 8000, 2048
    half = np.concatenate([tone(1000, n / 2 / rate, rate), np.zeros(n // 2, np.float32)])   # half silent
    square = np.sign(tone(500, n / rate, rate)).astype(np.float32)                          # all clipped
    s = clip_stats(torch.from_numpy(np.stack([half, square]))[:, None], rate)
    assert s["silence"].tolist() == [0.5, 0.0] and s["clipping"][0] == 0 and s["clipping"][1] > 0.99
    assert abs(float(s["centroid_hz"][0]) - 1000) < 60      # a pure tone's centroid is its frequency
    low = torch.from_numpy(np.stack([tone(f, n / rate, rate) for f in np.linspace(400, 600, 40)]))[:, None]
    high = torch.from_numpy(np.stack([tone(f, n / rate, rate) for f in np.linspace(1400, 1600, 20)]))[:, None]
    same, moved = signal_checks(low, low[::2], rate), signal_checks(low, high, rate)
    assert same["centroid_w1"] < 3 * same["centroid_w1_floor"] + 10   # the floor: two real halves
    assert 900 < moved["centroid_w1"] < 1100 and moved["centroid_w1_floor"] < 50
    assert moved["centroid_hz"] > 1400 and moved["centroid_hz_real"] < 600 and moved["silence"] == 0
