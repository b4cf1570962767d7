"""Music: reading MIDI / MusicXML scores into phrases (key, grid, refusals, by-score hold-out, cache), the symbolic
statistics on hand-built rolls with known answers, MIDI and sound writers, both music recipes end to end with exact
resume, and a chorale from music21's corpus."""
from __future__ import annotations

import json
import math
import os
import sys
import wave

import numpy as np
import pytest
import torch

mido = pytest.importorskip("mido", reason="the music modality needs mido: pip install 'ganforge[music]'")

import ganforge  # noqa: E402
from ganforge.cli import main  # noqa: E402
from ganforge.config import Config  # noqa: E402
from ganforge.core import checkpoint as ckpt  # noqa: E402
from ganforge.core.errors import ConfigError, DataError, GanforgeError  # noqa: E402
from ganforge.core.midi import midi_bytes, notes_of  # noqa: E402
from ganforge.data import load_dataset  # noqa: E402
from ganforge.data.music import load_part  # noqa: E402
from ganforge.data.music_read import find_key, key_shift, need, read_midi  # noqa: E402
from ganforge.metrics.music import memorisation, music_checks, tonal_distance, track_stats, voice_crossing  # noqa: E402

PROGRESSION = [(60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)]   # I IV V I in C major
SMALL = ["model.g_width=4", "model.d_width=4", "music.latent=4", "music.mle_hidden=16", "train.batch=8",
         "train.log_every=2", "train.n_grid=4", "train.sample_every=0", "train.ckpt_every=0", "train.progress=false",
         "music.holdout=0"]


def write_midi(path, bars=6, meter=(4, 4), parts=4, transpose=0, notes=True, voicing=0, start=0):
    """Four voices of whole-bar chords (soprano an octave up on the root, bass two down), one track and channel each;
    ``voicing`` rotates the chord tones of the lower three voices, ``start`` the bar the progression starts on."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("time_signature", numerator=meter[0], denominator=meter[1])]))
    offsets = (12, 0, -12, -24)
    for k in range(parts):
        track, now = mido.MidiTrack(), 0
        for b in range(bars if notes else 0):
            pitch = PROGRESSION[(b + start) % 4][(k + voicing) % 3 if k else 0] + offsets[k] + transpose
            track += [mido.Message("note_on", channel=k, note=pitch, velocity=80, time=b * 1920 - now),
                      mido.Message("note_off", channel=k, note=pitch, velocity=0, time=1920)]
            now = (b + 1) * 1920
        mid.tracks.append(track)
    mid.save(str(path))


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "scores"
    root.mkdir()
    for i in range(4):        # C, G, D and F major; s3 is s0 from its second bar, so they share two phrases
        write_midi(root / f"s{i}.mid", transpose=(0, -5, 2, 5)[i], voicing=(0, 1, 2, 0)[i], start=(0, 0, 0, 1)[i])
    return root


def music_cfg(path, **music) -> Config:
    cfg = Config()
    cfg.data.source, cfg.data.path, cfg.model.recipe = "music", str(path), "music"
    s = cfg.section("music")
    for k, v in music.items():
        setattr(s, k, v)
    return cfg


# ------------------------------------------------------------------------------------------------ data

def test_key_finding_and_the_shift_to_c_or_a():
    scale = np.array([[0, p, i, i + 1] for i, p in enumerate([67, 69, 71, 72, 74, 76, 78, 79, 67, 74])], float)
    assert find_key(scale) == (7, "major") and key_shift(7, "major") == 5 and key_shift(2, "major") == -2
    assert key_shift(9, "minor") == 0 and key_shift(4, "minor") == 5 and key_shift(0, "major") == 0


def test_scores_become_phrases_in_c_on_the_grid(folder):
    ds = load_dataset(music_cfg(folder, holdout=0.0), seed=0)
    info = ds.info()
    assert ds.x.shape == (12, 4, 64, 48) and info["kind"] == "pianoroll"     # 4 scores x 3 phrases (6 bars, hop 1)
    assert info["scores"] == 4 and info["phrases"] == 12 and info["notes_out_of_range"] == 0
    first = ds.x[0]                                                          # s0, bars 1-4
    pcs = (ds.x.sum((0, 1, 2)).nonzero()[:, 0] + 36) % 12
    assert set(pcs.tolist()) <= {0, 2, 4, 5, 7, 9, 11}                        # all moved to C: no F#, C# or A#
    assert torch.equal(ds.x[1], ds.x[9]) and torch.equal(ds.x[2], ds.x[10])  # s3 repeats s0 (in F, then moved)
    assert first[0, :16].nonzero()[:, 1].unique().tolist() == [72 - 36]     # soprano C5 through the first bar
    assert first[3, 16:32].nonzero()[:, 1].unique().tolist() == [41 - 36]   # bass F2 in the second
    assert first.sum().item() == 4 * 64                                      # one note per voice per step
    assert os.listdir(os.environ["GANFORGE_CACHE"])                          # parsed once, cached


def test_hold_out_is_by_score_and_seeded(folder):
    from ganforge.data.music import score_groups
    x = torch.zeros(4, 1, 2, 2)
    x[1, 0, 0, 0] = x[3, 0, 0, 0] = 1
    assert score_groups(x, torch.tensor([0, 1, 2, 3]), 5).tolist() == [0, 1, 0, 1, 4]   # equal phrases join
    sides = []
    for split_seed in range(6):
        cfg = music_cfg(folder, holdout=0.34, split_seed=split_seed)
        train, test = load_dataset(cfg, seed=0), load_part(cfg, 0, "test")
        tr, te = set(train.extra["owner"].tolist()), set(test.extra["owner"].tolist())
        assert tr.isdisjoint(te) and len(tr | te) == 4 and len(train) + len(test) == 12
        assert {0, 3} <= tr or {0, 3} <= te                                   # s0 and s3 share phrases: one side
        assert not any(torch.equal(a, b) for a in test.x for b in train.x)
        sides.append(te)
        again = load_part(cfg, 5, "test")                                     # the run seed does not move it
        assert torch.equal(again.extra["owner"], test.extra["owner"])
    assert len({tuple(sorted(s)) for s in sides}) > 1                         # music.split_seed does


def test_bad_scores_are_one_clear_line_or_counted(folder, tmp_path):
    (folder / "bad.mid").write_bytes(b"MThd garbage")
    with pytest.raises(DataError, match="cannot read MIDI file .*bad.mid"):
        load_dataset(music_cfg(folder), seed=0)
    os.remove(folder / "bad.mid")
    write_midi(folder / "waltz.mid", meter=(3, 4))
    with pytest.raises(DataError, match="waltz.mid is in 3/4 time; music.meters allows 4/4"):
        load_dataset(music_cfg(folder), seed=0)
    write_midi(folder / "empty.mid", notes=False)
    write_midi(folder / "trio.mid", parts=3)
    ds = load_dataset(music_cfg(folder, on_bad="skip", holdout=0.0), seed=0)
    info = ds.info()
    assert (info["skipped_meter"], info["skipped_empty"], info["skipped_parts"], info["scores"]) == (1, 1, 1, 4)
    os.remove(folder / "waltz.mid")
    os.remove(folder / "trio.mid")
    with pytest.raises(DataError, match="empty.mid has no notes"):
        load_dataset(music_cfg(folder), seed=0)
    (tmp_path / "none").mkdir()
    with pytest.raises(DataError, match="no MIDI or MusicXML files"):
        load_dataset(music_cfg(tmp_path / "none"), seed=0)
    with pytest.raises(ConfigError, match="music.meters"):
        music_cfg(folder, meters="4/4,3/4").section("music").validate()


def test_without_the_optional_packages_one_line_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mido", None)
    with pytest.raises(ConfigError, match=r"pip install 'ganforge\[music\]'"):
        need("mido")
    with pytest.raises(ConfigError, match=r"needs? the mido package: pip install 'ganforge\[music\]'"):
        midi_bytes(np.zeros((1, 1, 4, 12), np.uint8), {"steps_per_beat": 4, "pitch_low": 60, "tempo": 100.0})


# ------------------------------------------------------------------------------------------------ metrics

def roll(tracks=4, steps=32, pitches=24):
    return torch.zeros(1, tracks, steps, pitches)


def test_per_track_statistics_on_known_rolls():
    x = roll()
    x[0, 0, 0:8, 0] = 1                  # C held 8 steps, then E and G together for 4: bar 0 only
    x[0, 0, 8:12, 4] = x[0, 0, 8:12, 7] = 1
    x[0, 1, :, 6] = 1                    # F# throughout, one note of 32 steps
    s = track_stats(x, bar_steps=16, pitch_low=36)
    assert s["empty_bars"].tolist() == [0.5, 0.0, 1.0, 1.0]
    assert s["pitch_classes"][:2].tolist() == [3.0, 1.0]
    assert s["polyphony"][0].item() == pytest.approx(16 / 12) and s["polyphony"][1].item() == 1.0
    p = np.array([8, 4, 4]) / 16
    assert s["pc_entropy"][0].item() == pytest.approx(float(-(p * np.log2(p)).sum()), abs=1e-5)
    assert s["pc_entropy"][1].item() == 0.0 and s["scale_consistency"][0].item() == 1.0
    assert s["qualified_notes"][0].item() == 1.0                                # every 16th-grid note qualifies
    fine = track_stats(x, bar_steps=16, steps_per_beat=16)                       # a 32nd note is 2 steps there
    x2 = x.clone()
    x2[0, 2, 0, 0] = 1                                                           # a one-step note
    assert track_stats(x2, 16, steps_per_beat=16)["qualified_notes"][2].item() == 0.0
    assert fine["qualified_notes"][0].item() == 1.0


def test_tonal_distance_and_voice_crossing_on_known_rolls():
    x = roll(tracks=2, steps=16)
    x[0, 0, :, 0] = x[0, 1, :, 12] = 1                                            # C and C an octave up
    assert tonal_distance(x, 16) == pytest.approx(0.0, abs=1e-6)
    x[0, 1] = 0
    x[0, 1, :, 7] = 1                                                            # C against G: a fifth
    circles = [(7 * math.pi / 6, 1.0), (3 * math.pi / 2, 1.0), (2 * math.pi / 3, 0.5)]
    want = math.sqrt(sum(2 * r * r * (1 - math.cos(7 * a)) for a, r in circles))
    assert tonal_distance(x, 16) == pytest.approx(want, abs=1e-5)
    v = roll(tracks=2, steps=4)
    v[0, 0, :, 10] = 1                                                           # upper voice
    v[0, 1, :2, 5] = 1                                                           # lower voice below for 2 steps
    v[0, 1, 2:, 12] = 1                                                          # then above it for 2
    assert voice_crossing(v) == 0.5
    checks = music_checks(x, x, ["a", "b"], 16)
    assert checks["stats_within_10pct"] == 1.0 and checks["empty_bars/a_real"] == 0.0


def test_memorisation_share_of_onsets():
    train = torch.zeros(3, 1, 8, 12)
    train[0, 0, [0, 2, 4, 6], [0, 2, 4, 5]] = 1
    fake = train[:1].clone()
    half = torch.zeros(1, 1, 8, 12)
    half[0, 0, [0, 2], [0, 2]] = 1                 # two onsets shared ...
    half[0, 0, [1, 3], [9, 9]] = 1                 # ... two not
    m = memorisation(torch.cat([fake, half]), train)
    assert m["memorisation_max"] == 1.0 and m["memorisation_mean"] == 0.75 and m["memorisation_over_half"] == 0.5


# ------------------------------------------------------------------------------------------------ writers

def test_midi_round_trip_and_the_builtin_synthesiser(tmp_path, monkeypatch):
    x = np.zeros((1, 2, 16, 24), np.uint8)
    x[0, 0, 0:4, 9] = x[0, 0, 4:8, 9] = 1          # one note of 8 steps (touching notes merge)
    x[0, 1, 8:16, 0] = 1
    assert notes_of(x[0]) == [(0, 9, 0, 8), (1, 0, 8, 16)]
    out = {"steps_per_beat": 4, "pitch_low": 60, "tempo": 120.0, "programs": [0, 19], "names": ["a", "b"],
           "rate": 8000, "synth": "builtin"}
    (tmp_path / "x.mid").write_bytes(midi_bytes(x, out))
    back = read_midi(str(tmp_path / "x.mid"))
    assert back.rows.tolist() == [[0, 69, 0.0, 2.0], [1, 60, 2.0, 4.0]] and back.meters == {"4/4"}
    from ganforge.core.synth import builtin_render, which_synth
    wave_ = builtin_render(x[:, :1], {**out, "pitch_low": 60})
    spec = np.abs(np.fft.rfft(wave_[:8000]))
    assert abs(np.argmax(spec) * 8000 / 8000 - 440) < 2                        # A4 = pitch 69, at 440 Hz
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(GanforgeError, match="apt-get install fluidsynth fluid-soundfont-gm"):
        which_synth("fluidsynth")
    assert which_synth("auto") == "builtin"


def test_fluidsynth_renders_when_installed(tmp_path, monkeypatch):
    """A stand-in fluidsynth on PATH: it checks it was given the soundfont and a MIDI file, and writes a WAV where -F
    points."""
    import ganforge.core.synth as synth
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "fluidsynth"
    fake.write_text(f"#!{sys.executable}\nimport sys, wave\na = sys.argv[1:]\n"
                    "assert a[-2].endswith('gm.sf2') and open(a[-1], 'rb').read(4) == b'MThd'\n"
                    "w = wave.open(a[a.index('-F') + 1], 'wb')\n"
                    "w.setnchannels(2); w.setsampwidth(2); w.setframerate(int(a[a.index('-r') + 1]))\n"
                    "w.writeframes(bytes(400)); w.close()\n")
    fake.chmod(0o755)
    (tmp_path / "gm.sf2").write_bytes(b"sf2")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(synth, "SOUNDFONT", str(tmp_path / "gm.sf2"))
    x = np.zeros((1, 1, 16, 12), np.uint8)
    x[0, 0, :8, 0] = 1
    out = {"steps_per_beat": 4, "pitch_low": 60, "tempo": 100.0, "programs": [19], "rate": 22050, "synth": "auto"}
    data = synth.render_wav(x, out)
    assert data[:4] == b"RIFF" and synth.which_synth("auto") == "fluidsynth"
    with wave.open(__import__("io").BytesIO(data)) as w:
        assert (w.getframerate(), w.getnchannels()) == (22050, 2)


# ------------------------------------------------------------------------------------------------ networks

def test_musegan_shapes_and_straight_through_binarisation():
    from ganforge.nets.musegan import FrameLSTM, MuseDiscriminator, MuseGenerator
    G, D = MuseGenerator(4, 4, 16, 48, 8, 4, "hard"), MuseDiscriminator(4, 4, 16, 48, 4, pack=2)
    x = G(torch.randn(6, G.z_dim))
    assert G.z_dim == 80 and x.shape == (6, 4, 64, 48) and set(x.unique().tolist()) <= {0.0, 1.0}
    x.sum().backward()                                                   # the gradient passes the threshold
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.bar[0].parameters())
    assert D(x.detach().reshape(3, 8, 64, 48)).shape == (3,)             # two packed phrases per score
    G.binarize = "bernoulli"
    z = torch.randn(2, G.z_dim)
    draw = lambda: (setattr(G, "generator", torch.Generator().manual_seed(1)), G(z))[1]  # noqa: E731
    assert torch.equal(draw(), draw())                                   # the draws follow the given generator
    p = G.eval()(z)
    assert 0 < p.min() and p.max() < 1                                   # probabilities outside training
    lstm = FrameLSTM(4, 48, 16)
    assert lstm(x.detach()).shape == (6, 64, 4 * 48)


@pytest.mark.parametrize("binarize", ["hard", "bernoulli"])
def test_mono_voicing_sounds_at_most_one_pitch_per_track_and_step(binarize):
    from ganforge.nets.musegan import FrameLSTM, MuseGenerator, choose
    torch.manual_seed(0)
    G = MuseGenerator(4, 4, 16, 48, 8, 4, binarize, voicing="mono")
    x = G(torch.randn(8, G.z_dim))
    assert x.shape == (8, 4, 64, 48) and set(x.unique().tolist()) <= {0.0, 1.0} and x.sum(-1).max() <= 1
    if binarize == "bernoulli":                                          # draws give notes and rests alike
        assert 0 < x.sum(-1).mean() < 1
    x.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.bar[0].rest.parameters())
    p = G.eval()(torch.randn(8, G.z_dim))                                # pitch probabilities: a rest takes the rest
    assert p.shape == (8, 4, 64, 48) and p.min() > 0 and (p.sum(-1) < 1).all()
    rows = torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    assert choose(rows).argmax(-1).tolist() == [1, 0]
    assert choose(rows, torch.tensor([0.05, 0.75])).argmax(-1).tolist() == [0, 2]
    assert choose(rows, torch.tensor([0.69, 1.0])).argmax(-1).tolist() == [1, 2]   # u = 1 stays in range
    assert FrameLSTM(4, 48, 16, "mono")(x.detach()).shape == (8, 64, 4 * 49)


# ------------------------------------------------------------------------------------------------ recipes

@pytest.mark.slow
@pytest.mark.parametrize("arm", ["gan", "mle", "gan-mono", "mle-mono"])
def test_training_resumes_exactly_and_writes_music(folder, tmp_path, arm):
    sets = SMALL + (["music.binarize=bernoulli"] if arm.startswith("gan") else ["music.adversarial=false"])
    sets += ["music.voicing=mono"] if arm.endswith("mono") else []
    straight = ganforge.train("music", data=str(folder), steps=6, out=str(tmp_path / "a"), overrides=sets)
    part = ganforge.train("music", data=str(folder), steps=3, out=str(tmp_path / "b"), overrides=sets)
    ganforge.resume(part.run_dir, steps=6)
    a, b = ckpt.load(straight.run_dir)[0], ckpt.load(part.run_dir)[0]
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith(("net.", "opt.")))
    assert sorted(p.name for p in (tmp_path / "a" / "samples").iterdir()) == ["grid-00000006.png", "grid-00000006.wav"]
    assert main(["sample", straight.run_dir, "--n", "3", "--out", str(tmp_path / "midi")]) == 0
    files = sorted((tmp_path / "midi").iterdir())
    assert [f.name for f in files] == ["0000.mid", "0001.mid", "0002.mid"]
    m = mido.MidiFile(str(files[0]))
    assert len(m.tracks) == 5 and any(msg.type == "set_tempo" for msg in m.tracks[0])
    for out in ("x.png", "x.wav", "x.mid"):
        assert main(["sample", straight.run_dir, "--n", "2", "--out", str(tmp_path / out)]) == 0
    with wave.open(str(tmp_path / "x.wav")) as w:
        assert w.getframerate() == 16000 and w.getnframes() > 16000 * 2 * 9.6
    if arm.endswith("mono"):                                             # one pitch or a rest per voice and step
        assert ganforge.load(straight.run_dir).sample(4, seed=3).sum(-1).max() <= 1
    assert main(["sample", straight.run_dir, "--label", "1", "--out", str(tmp_path / "y")]) == 2
    if arm == "gan":
        assert main(["report", straight.run_dir]) == 0
        page = open(f"{straight.run_dir}/report.html", encoding="utf-8").read()
        assert page.count("<audio controls") == 1 and "1 of 1 grids" in page


@pytest.mark.slow
def test_eval_of_a_music_run_reports_statistics_beside_real(folder, tmp_path, capsys):
    run = ganforge.train("music", data=str(folder), steps=2, out=str(tmp_path / "r"),
                         overrides=SMALL + ["music.pitches=36", "music.holdout=0.1"]).run_dir   # 0.1 of 4: none
    assert main(["eval", run, "--n", "10", "--metrics", "fd"]) == 0
    path = [line.split("written: ")[1] for line in capsys.readouterr().out.splitlines() if "written: " in line][0]
    res = json.loads(open(path).read())
    m = res["metrics"]
    assert res["protocol"]["extractor"] == "pianoroll-stats" and m["fd"] >= 0
    assert {"empty_bars/soprano", "empty_bars/soprano_real", "tonal_distance_real", "memorisation_max",
            "memorisation_max_real", "stats_within_10pct"} <= set(m)
    assert m["memorisation_max_real"] == 1.0 and m["voice_crossing_real"] == 0.0   # real = training phrases here


# ------------------------------------------------------------------------------------------------ music21

def test_a_chorale_from_the_music21_corpus(tmp_path):
    pytest.importorskip("music21", reason="the chorales need music21: pip install 'ganforge[music]'")
    from music21 import corpus

    from ganforge.data.music import phrases_of
    from ganforge.data.music_read import from_music21
    notes = from_music21(corpus.parse("bach/bwv66.6"))
    assert len(notes.parts) == 4 and notes.meters == {"4/4"} and notes.pickup == 1.0
    s = music_cfg("").section("music")
    counts = {"notes_out_of_range": 0}
    x, mode = phrases_of(notes, s, "bwv66.6", counts)
    assert x.shape[1:] == (4, 64, 48) and len(x) >= 5 and mode == 1 and counts["notes_out_of_range"] == 0
    assert x[:, 0].sum((1, 2)).min() > 0                                      # the soprano sings in every phrase
    (tmp_path / "xml").mkdir()
    corpus.parse("bach/bwv66.6").write("musicxml", fp=str(tmp_path / "xml" / "bwv66.6.musicxml"))
    ds = load_dataset(music_cfg(tmp_path / "xml", holdout=0.0), seed=0)      # the same score from a MusicXML file
    assert torch.equal(ds.x, torch.from_numpy(x).float()) and ds.y.unique().tolist() == [1]


# ------------------------------------------------------------------------------------------------ feature spaces

def test_phrase_corruptions_and_the_shipped_feature_network(tmp_path):
    from ganforge.core.errors import CheckpointError
    from ganforge.metrics.extractors import default_extractor
    from ganforge.metrics.music_features import WEIGHTS_DIR, corrupt, load_phrase_net
    assert default_extractor({"kind": "pianoroll", "shape": [4, 64, 48]}) == "chorale-phrases"
    assert default_extractor({"kind": "pianoroll", "shape": [2, 32, 24]}) == "pianoroll-stats"
    x = torch.zeros(64, 4, 64, 48)
    for i in range(64):
        for k in range(4):
            x[i, k, torch.arange(64), (torch.arange(64) // 16 * 3 + 10 * k + i) % 48] = 1   # a new pitch each bar
    xc, y = corrupt(x, 16, torch.Generator().manual_seed(0))
    assert set(y.tolist()) == {0, 1, 2, 3}
    same = [bool(torch.equal(xc[i], x[i])) for i in range(64)]
    assert all(same[i] for i in range(64) if y[i] == 0) and not any(same[i] for i in range(64) if y[i] == 2)
    for i in (i for i in range(64) if y[i] == 2):                       # the same bars in another order
        bars = lambda r: sorted(r.view(4, 4, 16, 48).transpose(0, 1).reshape(4, -1).tolist())  # noqa: E731
        assert bars(xc[i]) == bars(x[i])
    changed = [(xc[i] != x[i]).any(-1).any(-1).sum().item() for i in range(64) if y[i] in (1, 3)]
    assert changed and max(changed) == 1                                # exactly one track altered
    ext = load_phrase_net()
    assert ext.features(x[:4]).shape == (4, 128) and ext.describe()["test_accuracy"] > 0.25
    (tmp_path / "w.safetensors").write_bytes((WEIGHTS_DIR / "chorale-phrases.safetensors").read_bytes())
    (tmp_path / "w.json").write_text(json.dumps({**ext.card, "sha256": "0" * 64}))
    with pytest.raises(CheckpointError, match="sha256"):
        load_phrase_net(str(tmp_path / "w.safetensors"))
