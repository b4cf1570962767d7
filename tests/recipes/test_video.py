"""Video: Moving MNIST's construction (bounces, trajectories, disjoint digit pools), clips from folders of GIFs /
MP4s / frames with their refusals, the motion and content metrics on hand-built clips and on real clips against
the shuffled and frozen baselines, and both generators end to end (train, resume, sample longer clips, GIF / MP4 /
PNG files, eval, report)."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge import explore
from ganforge.cli import main
from ganforge.config import Config
from ganforge.core.errors import ConfigError, DataError
from ganforge.data import load_dataset
from ganforge.data.builtin import _mnist_arrays
from ganforge.data.moving_mnist import bounce_path, digit_patches, load_moving_mnist
from ganforge.metrics.video import (
    LenetVideo,
    centres,
    consistent,
    frame_labels,
    frozen,
    shows_digit,
    shuffled,
    smooth_motion,
    video_checks,
)

SMALL = ["video.mm_clips=48", "video.mm_heldout=40", "video.content=8", "video.motion=4", "video.noise=4",
         "model.g_width=4", "model.d_width=4", "model.z_dim=8", "train.batch=8", "train.log_every=2",
         "train.n_grid=4", "train.sample_every=0", "train.ckpt_every=0", "train.progress=false", "train.threads=1",
         "video.frames=8", "video.size=16", "video.digit_size=8"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))


def mm_cfg(**video) -> Config:
    cfg = Config()
    cfg.data.source = "moving-mnist"
    for k, v in video.items():
        setattr(cfg.section("video"), k, v)
    return cfg


def square_clip(path, T=16, size=32, side=6, v=(1, 1), start=(3, 4), jump_at=None):
    """(1, 1, T, size, size) in [-1, 1]: a white square moving at constant velocity (no walls reached)."""
    x = -torch.ones(1, 1, T, size, size)
    for t in range(T):
        r, c = start[0] + v[0] * t, start[1] + v[1] * t
        if jump_at is not None and t >= jump_at:
            r, c = r + 6, c - 6
        x[0, 0, t, r:r + side, c:c + side] = 1
    return x


# ------------------------------------------------------------------------------------------------ data

def test_bounce_path_mirrors_at_both_walls():
    assert bounce_path(np.array([14, 1]), np.array([2, -2]), 5, 16).tolist() == \
        [[14, 1], [16, 1], [14, 3], [12, 5], [10, 7]]
    p = bounce_path(np.array([15, 0]), np.array([2, 1]), 40, 16)
    assert p.min() >= 0 and p.max() <= 16 and p[:3, 0].tolist() == [15, 15, 13]


def test_moving_mnist_is_deterministic_with_trajectories_and_disjoint_pools(datasets_dir):
    cfg = mm_cfg(mm_clips=20, mm_heldout=10)
    a, b = load_moving_mnist(cfg, 0), load_moving_mnist(cfg, 0)
    assert a.x.shape == (20, 1, 16, 32, 32) and torch.equal(a.x, b.x) and a.kind == "video"
    assert torch.equal(a.y, a.extra["digits"][:, 0]) and a.extra["traj"].shape == (20, 1, 16, 2)
    # the digit's pixels sit where its trajectory says, and the centre moves by whole pixels of constant speed
    _, arr, y = _mnist_arrays("", True)
    held = load_moving_mnist(cfg, 0, part="test")
    pools = {"train": digit_patches(arr[:8000], 16), "test": digit_patches(arr[8000:], 16)}
    for part, ds in (("train", a), ("test", held)):
        r, c = (ds.extra["traj"][0, 0, 0] - 8).long().tolist()
        window = ((ds.x[0, 0, 0, r:r + 16, c:c + 16] + 1) * 127.5).round().numpy()
        gap = {k: np.abs(np.rint(pool) - window).reshape(len(pool), -1).max(1).min() for k, pool in pools.items()}
        assert gap[part] == 0, part                              # from its own pool of MNIST images ...
        assert gap["test" if part == "train" else "train"] > 0, part   # ... not from the other
    steps = (a.extra["traj"][:, 0, 1:] - a.extra["traj"][:, 0, :-1]).abs()
    assert steps.min() >= 0 and steps.max() <= 2 and set(np.unique(steps.numpy())) <= {0.0, 1.0, 2.0}


def write_gif(path, frames):
    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], loop=0, duration=100)


def moving_frames(T, size=16, gray=True):
    out = np.zeros((T, size, size), np.uint8)
    for t in range(T):
        out[t, 2:6, t % (size - 4):t % (size - 4) + 4] = 255
    return out if gray else np.repeat(out[..., None], 3, -1)


def video_cfg(path, **video) -> Config:
    cfg = Config()
    cfg.data.source, cfg.data.path = "video", str(path)
    s = cfg.section("video")
    s.size = 0
    for k, v in video.items():
        setattr(s, k, v)
    return cfg


def test_video_folder_reads_gifs_and_frame_folders_and_refuses_clearly(tmp_path):
    root = tmp_path / "clips"
    (root / "walk").mkdir(parents=True)
    write_gif(root / "a.gif", moving_frames(20))
    for t, f in enumerate(moving_frames(9)):
        Image.fromarray(f).save(root / "walk" / f"{t:03d}.png")
    ds = load_dataset(video_cfg(root, frames=4, stride=2))        # a.gif: 10 kept -> 2 clips; walk: 5 kept -> 1
    assert ds.x.shape == (3, 1, 4, 16, 16) and ds.kind == "video" and ds.y is None   # a.gif lies in the top folder
    assert torch.equal(ds.x[0, 0, 1], torch.from_numpy(moving_frames(20)[2]).float() / 127.5 - 1)
    assert load_dataset(video_cfg(root, frames=4, hop=1)).x.shape[0] == (20 - 3) + (9 - 3)
    with pytest.raises(DataError, match="walk has 9 frames.*video.frames=10"):
        load_dataset(video_cfg(root, frames=10))
    write_gif(root / "b.gif", moving_frames(12, size=20))
    with pytest.raises(DataError, match=r"b.gif is 20x20 but .*a.gif is 16x16.*video.resize"):
        load_dataset(video_cfg(root, frames=4))
    assert load_dataset(video_cfg(root, frames=4, size=16, resize="resize")).x.shape[1:] == (1, 4, 16, 16)
    (root / "c.gif").write_bytes(b"not a gif")
    with pytest.raises(DataError, match=r"cannot read video .*c.gif"):
        load_dataset(video_cfg(root, frames=4, size=16, resize="resize"))


def test_video_folder_classes_are_its_sub_folders(tmp_path):
    root = tmp_path / "clips"
    for cls, name, n in (("run", "a.gif", 8), ("jump", "b.gif", 12), ("jump", "c.gif", 4)):
        (root / cls).mkdir(parents=True, exist_ok=True)
        frames = moving_frames(n)
        write_gif(root / cls / name, 255 - frames if cls == "jump" else frames)   # jump clips: light backgrounds
    (root / "run" / "frames").mkdir()                                    # a frame folder inside a class
    for t, f in enumerate(moving_frames(4)):
        Image.fromarray(f).save(root / "run" / "frames" / f"{t:03d}.png")
    ds = load_dataset(video_cfg(root, frames=4))                         # b: 3 clips, c: 1, a: 2, frames: 1
    assert ds.class_names == ["jump", "run"] and ds.y.tolist() == [0, 0, 0, 0, 1, 1, 1]
    cfg = video_cfg(root, frames=4)
    cfg.data.limit = 3
    few = load_dataset(cfg)                                              # a subset keeps each clip's own label
    assert len(few.y) == 3 and few.y.tolist() == (few.x.mean((1, 2, 3, 4)) < 0).long().tolist()


def test_mp4_written_and_read_back(tmp_path):
    pytest.importorskip("imageio_ffmpeg", reason="MP4 needs imageio-ffmpeg: pip install 'ganforge[video]'")
    from ganforge.core.video import write_clip_folder
    clip = np.repeat(moving_frames(8)[None, None], 2, 0)             # (2, 1, 8, 16, 16)
    write_clip_folder(str(tmp_path / "mp4"), {"x": clip, "fps": 8, "format": "mp4"})
    assert sorted(os.listdir(tmp_path / "mp4")) == ["0000.mp4", "0001.mp4"]
    ds = load_dataset(video_cfg(tmp_path / "mp4", frames=8, size=16, resize="crop"))
    assert ds.x.shape == (2, 1, 8, 16, 16)
    assert (ds.x[0, 0, 3] > 0).sum() > 8 and (ds.x[0, 0, 3] > 0).nonzero()[:, 1].float().mean() > 3.5   # it moved


# ------------------------------------------------------------------------------------------------ metrics

def test_motion_plausibility_on_known_clips():
    smooth = square_clip(None)
    assert torch.allclose(centres(smooth)[0, :3], torch.tensor([[6.0, 7.0], [7.0, 8.0], [8.0, 9.0]]))
    clips = torch.cat([smooth, square_clip(None, v=(0, 0)), square_clip(None, jump_at=5), frozen(smooth)])
    assert smooth_motion(centres(clips), 32, 6).tolist() == [True, False, False, False]
    # a bounce at the wall is allowed: down to the bottom and back
    rows = [2 * t if 2 * t <= 26 else 52 - 2 * t for t in range(16)]
    bounce = -torch.ones(1, 1, 16, 32, 32)
    for t, r in enumerate(rows):
        bounce[0, 0, t, r:r + 6, 10:16] = 1
    assert smooth_motion(centres(bounce), 32, 6).tolist() == [True]
    assert not smooth_motion(centres(shuffled(bounce, 0)), 32, 6).item()


def test_real_clips_beat_shuffled_and_frozen_ones_and_changing_digits_are_inconsistent(datasets_dir):
    held = load_moving_mnist(mm_cfg(mm_heldout=96), 0, part="test")
    x = held.x
    ext = LenetVideo()
    labels = frame_labels(x, 16, ext.lenet)
    assert (labels == held.y[:, None]).float().mean() > 0.9
    assert consistent(labels).float().mean() > 0.85
    swapped = torch.cat([x[:, :, :8], x.roll(1, 0)[:, :, 8:]], 2)  # another clip's digit from frame 8
    differ = held.y != held.y.roll(1)
    assert consistent(frame_labels(swapped[differ], 16, ext.lenet)).float().mean() < 0.2
    grey, blank = torch.zeros_like(x[:4]), -torch.ones_like(x[:4])       # the same label everywhere, but no digit
    for clip in (grey, blank):
        assert consistent(frame_labels(clip, 16, ext.lenet)).all() and not consistent(
            frame_labels(clip, 16, ext.lenet), shows_digit(clip)).any()
    assert shows_digit(x).all()
    m = video_checks(x, x, seed=0, digit_size=16, extractor=ext)
    assert m["motion_plausibility_real"] > 0.95 and m["motion_plausibility_shuffled"] < 0.05
    assert m["motion_plausibility_frozen"] == 0.0
    floor = m["video_fd_floor_check"]      # 48 clips against 48 in 256-D: a floor well above 0
    assert m["video_fd_shuffled"] > 3 * floor and m["video_fd_frozen"] > 3 * floor
    assert m["frame_fd"] < m["frame_fd_floor"] + 1e-6 and m["content_consistency"] == m["content_consistency_real"]


def test_clip3d_features_see_the_digit_and_the_motion(datasets_dir):
    from ganforge.metrics.extractors import default_extractor, extract
    from ganforge.metrics.fd import frechet_distance
    from ganforge.metrics.video3d import first_direction, load_clip3d
    held = load_moving_mnist(mm_cfg(mm_heldout=1000), 0, part="test")
    ext = load_clip3d()
    with torch.no_grad():
        digit, move = ext.net(held.x)
    assert (digit.argmax(1) == held.y).float().mean() > 0.85                 # the shipped weights, on held-out clips
    assert (move.argmax(1) == first_direction(held.extra["traj"])).float().mean() > 0.9
    a, b = torch.arange(0, 1000, 2), torch.arange(1, 1000, 2)          # 500 against 500 (measured: 3.2x, 26x)
    fa = extract(ext, held.x[a]).numpy()
    fd = {k: frechet_distance(fa, extract(ext, x).numpy()) for k, x in
          (("floor", held.x[b]), ("shuffled", shuffled(held.x[b], 1)), ("frozen", frozen(held.x[b])))}
    assert fd["shuffled"] > 2 * fd["floor"] and fd["frozen"] > 10 * fd["floor"], fd
    with pytest.raises(DataError, match="use --extractor lenet-video"):
        ext(torch.zeros(2, 1, 8, 16, 16))
    assert default_extractor({"kind": "video", "shape": [1, 16, 32, 32]}) == "clip3d-mnist"
    assert default_extractor({"kind": "video", "shape": [1, 8, 16, 16]}) == "lenet-video"


# ------------------------------------------------------------------------------------------------ recipe

def test_mocogan_trains_resumes_samples_longer_clips_and_writes_files(datasets_dir, tmp_path, capsys):
    full = ganforge.train("moving-mnist", out=str(tmp_path / "full"), steps=4, overrides=SMALL + ["train.seed=3"])
    half = ganforge.train("moving-mnist", out=str(tmp_path / "half"), steps=2,
                          overrides=SMALL + ["train.seed=3", "train.ckpt_every=2"])
    ganforge.resume(half.run_dir, steps=4)
    a, b = ganforge.load(full.run_dir), ganforge.load(half.run_dir)
    for k, v in a.recipe.nets["G"].state_dict().items():
        assert torch.equal(v, b.recipe.nets["G"].state_dict()[k]), k
    grids = sorted(os.listdir(os.path.join(full.run_dir, "samples")))
    assert grids == ["grid-00000004.gif", "grid-00000004.png"]
    x = a.sample(3, seed=5)
    assert x.shape == (3, 1, 8, 16, 16) and x.min() >= -1 and x.max() <= 1
    longer = a.sample(3, seed=5, frames=20)
    assert longer.shape == (3, 1, 20, 16, 16) and torch.allclose(longer[:, :, :8], x, atol=1e-6)
    assert torch.allclose(a.sample(seeds=[7], frames=12)[0], a.sample(seeds=[9, 7], frames=12)[1], atol=1e-5)
    run = full.run_dir
    assert main(["sample", run, "--n", "4", "--out", str(tmp_path / "clips.gif"), "--frames", "12"]) == 0
    with Image.open(tmp_path / "clips.gif") as im:
        assert im.n_frames == 12 and im.info.get("loop") == 0
    assert main(["sample", run, "--n", "3", "--out", str(tmp_path / "each"), "--format", "gif"]) == 0
    assert sorted(os.listdir(tmp_path / "each")) == ["0000.gif", "0001.gif", "0002.gif"]
    assert main(["sample", run, "--n", "2", "--out", str(tmp_path / "strip.png")]) == 0
    assert Image.open(tmp_path / "strip.png").size[0] > Image.open(tmp_path / "strip.png").size[1]
    assert main(["sample", run, "--n", "2", "--out", str(tmp_path / "x.gif"), "--format", "mp4"]) == 2
    assert "--format picks the files of a folder" in capsys.readouterr().err
    assert main(["sample", run, "--n", "2", "--out", str(tmp_path / "y.gif"), "--frames", "0"]) == 2
    assert "--frames must be positive" in capsys.readouterr().err and not (tmp_path / "y.gif").exists()
    # content and motion walked apart: only the named part moves, the other stays at the first seed's
    parts = {w: explore.run(run, "interpolate", seeds=[1, 2, 3], frames=4, what=w, out=str(tmp_path / "ex"))
             for w in ("content", "motion")}
    base = a.recipe.sample_inputs(seeds=[1, 2, 3])
    c = a.recipe.settings().content
    for what, res in parts.items():
        got = res.arrays["samples"]                                      # (pairs, frames, C, T, H, W)
        assert got.shape == (2, 4, 1, 8, 16, 16)
        assert np.allclose(got[0, 0], a.sample(seeds=[1])[0].numpy(), atol=1e-5)
        mixed = {k: v[:1].clone() for k, v in base.items()}             # seed 3's part, seed 1's rest
        if what == "content":
            mixed["z"][0, :c] = base["z"][2, :c]
        else:
            mixed["z"][0, c:], mixed["eps"][0] = base["z"][2, c:], base["eps"][2]
        assert np.allclose(got[1, -1], a.recipe.generate(mixed)[0].numpy(), atol=1e-5), what
    assert not np.allclose(parts["content"].arrays["samples"][1, -1], parts["motion"].arrays["samples"][1, -1])
    assert main(["explore", run, "interpolate", "--what", "motion", "--seeds", "0-2", "--frames", "3",
                 "--out", str(tmp_path / "ex2")]) == 0
    with Image.open(tmp_path / "ex2" / "interpolate-motion-slerp.gif") as im:
        assert im.n_frames == 8
    assert main(["explore", run, "interpolate", "--what", "colour"]) == 2
    assert "the parts of this run's inputs are all, content, motion" in capsys.readouterr().err


def test_3d_baseline_and_conditional_runs_and_eval_and_report(datasets_dir, tmp_path):
    base = ganforge.train("moving-mnist-3d", out=str(tmp_path / "3d"), steps=2, overrides=SMALL + ["model.mbstd=2"])
    g = ganforge.load(base.run_dir)
    assert type(g.recipe.nets["G"]).__name__ == "Conv3dGenerator" and g.sample(2).shape == (2, 1, 8, 16, 16)
    assert g.recipe.nets["D"].mbstd is not None and g.recipe.nets["D_img"].features[-1].group_size == 2
    with pytest.raises(ConfigError, match="exactly 8 frames"):
        g.sample(2, frames=16)
    with pytest.raises(ConfigError, match="parts of this run's inputs are all$"):
        explore.run(base.run_dir, "interpolate", what="motion")
    assert explore.run(base.run_dir, "interpolate", seeds=[0, 1], frames=3).arrays["samples"].shape[:2] == (1, 3)
    cond = ganforge.train("moving-mnist", out=str(tmp_path / "cond"), steps=2,
                          overrides=SMALL + ["model.conditional=true", "video.image_d=0"])
    c = ganforge.load(cond.run_dir)
    assert "D_img" not in c.recipe.nets and c.sample(4, labels=3).shape == (4, 1, 8, 16, 16)
    with pytest.raises(ConfigError, match="takes no --label"):
        g.sample(2, labels=1)
    ort = pytest.importorskip("onnxruntime")
    from ganforge.export import export_onnx
    for run, names in ((base.run_dir, ["z"]), (cond.run_dir, ["z", "eps", "y"])):
        sess = ort.InferenceSession(export_onnx(run, str(tmp_path / "clips.onnx")), providers=["CPUExecutionProvider"])
        assert [i.name for i in sess.get_inputs()] == names
        r = ganforge.load(run).recipe
        for n in (1, 5):                                                  # the batch axis is dynamic
            inputs = r.sample_inputs(n, seed=n)
            got = sess.run(None, {k: inputs[k].numpy() for k in names})[0]
            assert got.shape == (n, 1, 8, 16, 16) and np.allclose(got, r.generate(inputs).numpy(), atol=1e-4)
    from ganforge import evaluation
    res = evaluation.evaluate_run(base.run_dir, n=16, json_path=str(tmp_path / "e.json"))
    m = res["metrics"]
    assert res["protocol"]["extractor"] == "lenet-video" and m["fd"] >= 0 and m["fd_floor"] >= 0
    for key in ("content_consistency", "motion_plausibility_real", "video_fd_shuffled", "video_fd_frozen",
                "frame_fd"):
        assert key in m
    from ganforge.report import build_report
    page = open(build_report(base.run_dir)).read()
    assert "data:image/gif;base64" in page
