"""Explore tools on tiny runs trained here (a few steps): outputs, shapes and the maths behind them."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge import api, explore
from ganforge.cli import main
from ganforge.core.errors import CheckpointError, ConfigError, DataError, GanforgeError
from ganforge.explore.directions import activations
from ganforge.explore.truncation import truncate_resample

TINY = ["model.z_dim=8", "model.g_width=8", "model.d_width=8", "train.batch=16", "train.log_every=5",
        "train.sample_every=0", "train.ema_warmup=5", "train.progress=false", "train.threads=1"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks run fastest on one thread, and the test machine's cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _train(root, preset: str, steps: int, extra: list[str] = ()) -> str:
    out = os.path.join(root, preset)
    api.train(preset, out=out, steps=steps, overrides=TINY + list(extra), progress=False)
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("explore"), "digits", 12)


@pytest.fixture(scope="module")
def gen(run):
    return api.load(run)


def _close(a, b) -> bool:
    return np.allclose(np.asarray(a), np.asarray(b), atol=1e-5)


# -- interpolation ---------------------------------------------------------------------------------

def test_slerp_maths():
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    mid = explore.slerp(z0, z1, torch.tensor([0.0, 0.5, 1.0]))
    assert torch.equal(mid[0], z0) and torch.equal(mid[2], z1)
    # between unit vectors the arc stays on the unit circle; the chord dips to norm 1/sqrt(2)
    assert torch.allclose(mid[1], torch.tensor([1.0, 1.0]) / 2 ** 0.5, atol=1e-6)
    lin = explore.lerp(z0, z1, torch.tensor([0.5]))
    assert torch.allclose(lin[0].norm(), torch.tensor(2 ** -0.5), atol=1e-6)


def test_interpolate_slerp_endpoints_are_the_seeds_samples(gen, run):
    res = explore.run(gen, "interpolate", seeds=[0, 1, 2, 3], frames=5)
    x = res.arrays["samples"]
    assert x.shape == (3, 5, 1, 8, 8)
    own = gen.sample(seeds=[0, 1, 2, 3]).numpy()
    assert _close(x[0, 0], own[0]) and _close(x[0, -1], own[1]) and _close(x[1, -1], own[2])
    assert _close(x[2, -1], own[3])
    names = sorted(os.path.basename(p) for p in res.paths)
    assert names == ["interpolate-slerp.gif", "interpolate-slerp.json", "interpolate-slerp.png"]
    assert all(os.path.dirname(p) == os.path.join(run, "explore") for p in res.paths)
    with Image.open(res.paths[1]) as gif:
        assert gif.n_frames > 5
    with Image.open(res.paths[0]) as png:
        assert png.width > png.height > 0


def test_linear_differs_from_slerp(gen, tmp_path):
    s = explore.interpolate(gen, seeds=[4, 5], frames=5, out=str(tmp_path))
    li = explore.interpolate(gen, seeds=[4, 5], frames=5, linear=True, out=str(tmp_path))
    assert _close(s.arrays["latents"][0, [0, -1]], li.arrays["latents"][0, [0, -1]])
    mid_s, mid_l = s.arrays["latents"][0, 2], li.arrays["latents"][0, 2]
    assert np.linalg.norm(mid_s) > np.linalg.norm(mid_l) + 1e-3
    assert not np.allclose(s.arrays["samples"][0, 2], li.arrays["samples"][0, 2])
    assert os.path.exists(tmp_path / "interpolate-linear.png")


# -- truncation ------------------------------------------------------------------------------------

def test_truncation_psi_rows_and_diversity(gen, tmp_path):
    res = explore.truncation(gen, levels=[1.0, 0.5, 0.0], n=6, out=str(tmp_path))
    assert res.arrays["samples"].shape[:2] == (3, 256)
    assert _close(res.arrays["samples"][0, :6], gen.recipe.generate(
        {"z": torch.randn(256, 8, generator=torch.Generator().manual_seed(0))})[:6])
    div = [lv["diversity"] for lv in res.summary["levels"]]
    assert div[0] > div[1] > div[2] and div[2] < 1e-6  # psi = 0: every latent is the mean latent
    saved = json.loads((tmp_path / "truncation-psi.json").read_text())
    assert saved["method"] == "psi" and len(saved["levels"]) == 3


def test_truncation_resample_keeps_latents_inside():
    z = torch.randn(500, 16, generator=torch.Generator().manual_seed(1))
    out = truncate_resample(z, 0.5, torch.Generator().manual_seed(2))
    assert out.abs().max() <= 0.5
    inside = z.abs() <= 0.5
    assert torch.equal(out[inside], z[inside])


# -- GANSpace directions ---------------------------------------------------------------------------

def test_directions_orthonormal_and_variance(gen, tmp_path):
    res = explore.directions(gen, k=4, n=400, steps=5, out=str(tmp_path))
    comps, ev = res.arrays["components"], res.arrays["explained"]
    assert np.allclose(comps @ comps.T, np.eye(4), atol=1e-8)
    assert np.all(np.diff(ev) <= 1e-12) and ev.min() > 0 and ev.sum() <= 1 + 1e-9
    edits = res.arrays["edits"]
    assert edits.shape == (4, 5, 1, 8, 8)
    # the middle column (0 sigma) is the base sample itself in every row
    z = torch.randn(1, 8, generator=torch.Generator().manual_seed(0))
    base = gen.recipe.to_numpy(gen.recipe.generate({"z": z}))
    assert all(np.array_equal(edits[i, 2], base[0]) for i in range(4))
    assert (tmp_path / "directions.png").exists() and (tmp_path / "directions.json").exists()


def test_direction_edit_moves_its_own_pca_coordinate(gen, tmp_path):
    """The regression maps component i back to z so that a +1 sigma edit moves coordinate i by sigma_i
    and (the first layer being affine in z here) leaves the other coordinates where they were."""
    res = explore.directions(gen, k=3, n=400, out=str(tmp_path))
    G = gen.recipe.nets["G_ema"]
    base = torch.randn(1, 8, generator=torch.Generator().manual_seed(0)).double()
    comps, sigma, dirs = (torch.from_numpy(res.arrays[k]) for k in ("components", "sigma", "latent_dirs"))
    z = torch.cat([base, base + sigma[:, None] * dirs]).float()              # (1 + k, z_dim)
    acts = activations(G, res.summary["layer"], {"z": z})
    moved = (acts[1:] - acts[:1]) @ comps.T                                  # (k, k) change of coordinates
    assert torch.allclose(moved, torch.diag(sigma), atol=2e-3 * float(sigma.max()))


def test_directions_per_class_for_conditional(tmp_path):
    cond = api.load(_train(tmp_path, "digits-cond", 3))
    res = explore.directions(cond, k=2, n=100, steps=3, label=[1, 7])
    assert set(res.summary["classes"]) == {"1", "7"}
    assert os.path.exists(os.path.join(os.path.dirname(res.paths[0]), "directions-class7.png"))
    assert res.arrays["edits-class1"].shape == (2, 3, 1, 8, 8)


# -- saliency, memorisation, projection ------------------------------------------------------------

def test_saliency_maps(gen, tmp_path):
    res = explore.saliency(gen, n=4, out=str(tmp_path))
    for key in ("maps_real", "maps_fake"):
        maps = res.arrays[key]
        assert maps.shape == (4, 8, 8)
        assert np.all(maps.reshape(4, -1).max(1) > 0)
    assert (tmp_path / "saliency.png").exists()


def test_memorise_finds_training_image_itself(gen, tmp_path):
    res = explore.memorise(gen, index=[3, 100], k=3, out=str(tmp_path))
    assert res.arrays["indices"][:, 0].tolist() == [3, 100]
    assert np.all(res.arrays["distances"][:, 0] == 0) and np.all(res.arrays["distances"][:, 1] > 0)
    gen_res = explore.memorise(gen, n=3, k=2, out=str(tmp_path))
    d = gen_res.arrays["distances"]
    assert d.shape == (3, 2) and np.all(np.diff(d, axis=1) >= 0)
    assert gen_res.summary["extractor"] in ("digits", "raw")


def test_project_recovers_a_generated_sample(gen, tmp_path):
    target = gen.recipe.to_numpy(gen.sample(seeds=[42]))[0, 0]  # (8, 8) uint8
    png = tmp_path / "target.png"
    Image.fromarray(target).save(png)
    res = explore.project(gen, image=str(png), steps=150, out=str(tmp_path))
    s = res.summary
    assert s["mse"] < 0.1 * s["random_sample_mse"] and s["mse"] < 5e-3
    assert res.arrays["reconstruction"].shape == (1, 1, 8, 8)
    assert (tmp_path / "project-target.png").exists()


def test_project_needs_one_target(gen):
    with pytest.raises(ConfigError, match="exactly one target"):
        explore.project(gen)
    with pytest.raises(DataError, match="not found"):
        explore.project(gen, image="/nonexistent/x.png")


# -- vector data and bad input ---------------------------------------------------------------------

def test_toy_2d_run_plots_and_refuses_image_tools(tmp_path):
    toy = _train(tmp_path, "ring8", 3, ["data.n_points=512", "model.g_width=8", "model.d_width=8"])
    res = explore.interpolate(toy, seeds=[0, 1], frames=4)
    assert res.arrays["samples"].shape == (1, 4, 2) and res.paths[0].endswith(".png")
    assert explore.truncation(toy, n=4, n_stats=16).arrays["samples"].shape == (4, 16, 2)
    with pytest.raises(GanforgeError, match="image models only"):
        explore.saliency(toy)


def test_unknown_tool_suggests_nearest(run, capsys):
    with pytest.raises(ConfigError, match="did you mean 'saliency'"):
        explore.run(run, "salency")
    assert main(["explore", run, "interpolat"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "did you mean 'interpolate'" in err


def test_option_of_another_tool_is_refused(run):
    with pytest.raises(ConfigError, match="no option 'frames'"):
        explore.run(run, "truncation", frames=3)


def test_folder_without_checkpoint(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        explore.run(str(tmp_path), "interpolate")
    assert main(["explore", str(tmp_path), "saliency"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_saliency_without_training_data(tmp_path):
    npz = tmp_path / "faces.npz"
    x = np.random.default_rng(0).integers(0, 256, (64, 8, 8), dtype=np.uint8)
    np.savez(npz, x=x)
    out = _train(tmp_path, "digits", 2, [f"data.path={npz}", "data.source=npz"])
    os.remove(npz)
    with pytest.raises(DataError, match="needs the run's training data"):
        explore.saliency(out)


def test_cli_explore_writes_files(run, tmp_path, capsys):
    assert main(["explore", run, "memorise", "--index", "0-1", "--k", "2", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    assert [os.path.basename(p) for p in printed] == ["memorise-train.png", "memorise-train.json"]
    assert json.loads((tmp_path / "memorise-train.json").read_text())["queries"][1]["neighbours"][0] == 1
