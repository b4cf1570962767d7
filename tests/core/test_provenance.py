"""Provenance: the record goes into each format ganforge writes and comes back out; the files stay readable by
the usual libraries; damaged or foreign files have none; sampled files name the checkpoint by its sha256."""
from __future__ import annotations

import io
import json
import os
import wave

import numpy as np
import pytest
from PIL import Image

import ganforge
from ganforge.cli import main
from ganforge.core import provenance
from ganforge.core.video import gif_bytes
from ganforge.core.writers import wav_bytes, write_bytes

REC = provenance.record({"checkpoint": "ckpt-00000010.safetensors", "checkpoint_sha256": "ab" * 32}, seed=7)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 100, dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def _gif() -> bytes:
    frames = [Image.fromarray(np.full((8, 8), v, dtype=np.uint8)) for v in (0, 128, 255)]
    return gif_bytes(frames, 8.0)


def _midi() -> bytes:
    mido = pytest.importorskip("mido")
    mid = mido.MidiFile(type=1)
    track = mido.MidiTrack([mido.Message("note_on", note=60, velocity=64, time=0),
                            mido.Message("note_off", note=60, velocity=0, time=480)])
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


MAKERS = {".png": _png, ".jpg": _jpeg, ".gif": _gif, ".wav": lambda: wav_bytes(np.zeros(800, np.float32), 8000),
          ".mid": _midi}


@pytest.mark.parametrize("ext", list(MAKERS))
def test_each_format_carries_the_record_and_stays_readable(tmp_path, ext):
    data = MAKERS[ext]()
    path = str(tmp_path / f"x{ext}")
    write_bytes(path, data, REC)
    assert provenance.read(path) == REC
    assert not os.path.exists(path + provenance.SIDECAR)                 # inside the file, no sidecar
    if ext in (".png", ".jpg", ".gif"):
        with Image.open(path) as im:
            im.load()
            assert im.size == (8, 8)
            if ext == ".gif":
                assert im.n_frames == 3
            if ext == ".png":
                assert json.loads(im.text[provenance.KEY]) == REC        # PIL sees the chunk
                assert provenance.AI_SOURCE in im.text["XML:com.adobe.xmp"]
    if ext == ".wav":
        with wave.open(path) as w:
            assert (w.getnframes(), w.getframerate()) == (800, 8000)
    if ext == ".mid":
        import mido
        mid = mido.MidiFile(path)
        notes = [m for m in mid.tracks[0] if m.type == "note_on"]
        texts = [m.text for m in mid.tracks[0] if m.type == "text"]
        assert len(notes) == 1 and texts and json.loads(texts[0].split(" ", 1)[1]) == REC
    plain = str(tmp_path / f"plain{ext}")
    write_bytes(plain, data)
    assert provenance.read(plain) is None                               # the same format without a record


def test_sidecar_for_formats_without_metadata_and_csv_stays_plain(tmp_path):
    path = str(tmp_path / "rows.csv")
    write_bytes(path, b"a,b\n1,2\n", REC)
    assert open(path).read() == "a,b\n1,2\n"
    assert json.load(open(path + provenance.SIDECAR)) == REC and provenance.read(path) == REC


def test_damaged_and_foreign_files_have_no_record(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(provenance.embed("x.png", _png(), REC)[:60])        # cut inside the record's chunk
    assert provenance.read(str(bad)) is None
    other = tmp_path / "other.wav"
    other.write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    assert provenance.read(str(other)) is None
    foreign = tmp_path / "foreign.png"                                   # a record without the GAN flag
    foreign.write_bytes(provenance.embed("x.png", _png(), {"generator": "someone"}))
    assert provenance.read(str(foreign)) is None


def test_mp4_carries_the_record(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    from ganforge.core.video import write_mp4_file
    frames = [Image.fromarray(np.full((16, 16, 3), v, dtype=np.uint8)) for v in (0, 255)]
    path = str(tmp_path / "c.mp4")
    write_mp4_file(path, frames, 4.0, REC)
    assert provenance.read(path) == REC


def test_sampled_files_name_their_checkpoint_and_the_cli_reads_them(tmp_path, capsys, tiny):
    res = ganforge.train("digits", steps=4, out=str(tmp_path / "run"), overrides=tiny + ["train.sample_every=4"])
    g = ganforge.load(res.run_dir)
    out = g.save(str(tmp_path / "s.png"), n=4, seed=3)
    rec = provenance.read(out)
    assert rec["checkpoint_sha256"] == provenance.sha256_of(g.checkpoint) and rec["seed"] == 3
    assert rec["generated_by_gan"] is True and rec["run"] == "run" and rec["step"] == 4
    grid = os.path.join(res.run_dir, "samples", "grid-00000004.png")
    assert provenance.read(grid)["step"] == 4
    from ganforge.explore.interpolate import interpolate
    figures = interpolate(res.run_dir, seeds=[0, 1], frames=3, out=str(tmp_path / "walk")).paths
    pictures = [f for f in figures if f.endswith((".png", ".gif"))]
    assert len(pictures) == 2 and all(provenance.read(f)["checkpoint_sha256"] == rec["checkpoint_sha256"]
                                      for f in pictures)
    capsys.readouterr()
    assert main(["provenance", out, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["provenance"] == rec
    plain = tmp_path / "plain.png"
    plain.write_bytes(_png())
    assert main(["provenance", str(plain), out]) == 1                  # one file without: status 1
    assert "no ganforge provenance" in capsys.readouterr().out
    assert main(["provenance", str(tmp_path / "missing.png")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_every_file_of_a_folder_is_stamped_before_the_folder_appears(tmp_path):
    from ganforge.core.writers import write_wav_folder
    out = {"x": np.zeros((3, 1, 400), np.float32), "rate": 8000, "y": np.array([0, 1, 1]), "provenance": REC}
    write_wav_folder(str(tmp_path / "clips"), out)
    names = sorted(os.listdir(tmp_path / "clips"))
    assert names == ["0000-0.wav", "0001-1.wav", "0002-1.wav"]                # no sidecars for WAV
    assert all(provenance.read(str(tmp_path / "clips" / n)) == REC for n in names)
    assert [p for p in os.listdir(tmp_path) if p != "clips"] == []            # no temporary folder left
