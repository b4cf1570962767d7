"""The benchmark harness: figures come from the real engine and add up."""
from __future__ import annotations

import json

import pytest
import torch

from ganforge.perf import measure as M
from ganforge.perf.bench import format_table, measure_preset, run_bench

TINY_TOML = """
base = "digits"
[model]
arch = "dcgan"
z_dim = 8
g_width = 8
d_width = 8
[train]
batch = 16
"""


@pytest.fixture
def tiny_preset(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    return str(path)


def test_step_flops_scale_with_the_batch(tiny_preset):
    torch.set_num_threads(1)
    cfg16 = M.bench_config(tiny_preset, 2, 1)
    cfg32 = M.bench_config(tiny_preset, 2, 1, {"train.batch": 32})
    data, synthetic = M.bench_data(cfg16)
    assert not synthetic and data.name == "digits"
    f16, f32 = M.step_flops(cfg16, data), M.step_flops(cfg32, data)
    assert f16 > 1e5
    assert f32 == pytest.approx(2 * f16, rel=0.02)  # every FLOP of a step is per example


def test_step_flops_count_both_phases(tiny_preset):
    """With n_critic=2 the G phase runs every other step: fewer FLOPs per step on average."""
    cfg1 = M.bench_config(tiny_preset, 2, 1)
    cfg2 = M.bench_config(tiny_preset, 2, 1, {"optim.n_critic": 2})
    data, _ = M.bench_data(cfg1)
    assert M.step_flops(cfg2, data) < 0.9 * M.step_flops(cfg1, data)


def test_missing_data_falls_back_to_synthetic_of_the_right_shape(monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", "")
    cfg = M.bench_config("folder", 2, 1)
    data, synthetic = M.bench_data(cfg)
    assert synthetic and data.shape == (3, 32, 32)


def test_measure_preset_and_table(tiny_preset):
    r = measure_preset(tiny_preset, steps=4, threads=1, log_every=2)
    assert r["shape"] == [1, 8, 8] and r["batch"] == 16 and r["threads"] == 1
    assert r["train_samples_per_s"] == pytest.approx(16 * r["train_steps_per_s"], rel=1e-3)
    assert r["achieved_gflops"] == pytest.approx(r["flops_per_step"] * r["train_steps_per_s"] / 1e9, rel=0.01)
    assert r["sample_images_per_s"] > 0 and r["peak_rss_mb"] > 50
    res = {"machine": {"cpu": "x", "logical_cores": 2, "torch": "t", "torch_threads": 1, "omp_wait_policy": "",
                       "loadavg_start": None}, "matmul_peak_gflops": 10.0, "matmul_peak_all_gflops": [10.0],
           "presets": {"tiny": dict(r, mfu=0.5), "broken": {"error": "DataError: no data"}}}
    table = format_table(res)
    assert "| tiny | digits 1x8x8 | 16 |" in table and "50.0%" in table and "broken | error" in table


@pytest.mark.slow
def test_cli_bench_writes_json(tiny_preset, tmp_path, monkeypatch):
    from ganforge.cli import main
    out = tmp_path / "bench.json"
    assert main(["bench", tiny_preset, "--steps", "4", "--threads", "1", "--matmul-size", "256",
                 "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    r = res["presets"][tiny_preset]
    assert res["matmul_peak_gflops"] > 0 and res["matmul_size"] == 256 and r["mfu"] > 0
    assert res["peak_gflops"] >= max(res["matmul_peak_gflops"], res["conv_peak_gflops"]) > 0
    assert r["mfu"] <= r["mfu_matmul"]
    assert set(r) >= {"train_samples_per_s", "flops_per_step", "mfu", "sample_images_per_s", "peak_rss_mb"}


def test_unknown_preset_is_a_user_error():
    from ganforge.core.errors import ConfigError
    with pytest.raises(ConfigError):
        run_bench(["no-such-preset"])


def test_nominal_peak_from_cpuinfo(tmp_path, monkeypatch):
    from ganforge.perf.bench import nominal_peak
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    info = tmp_path / "cpuinfo"
    info.write_text("model name\t: X\ncpu MHz\t\t: 2000.000\nflags\t\t: sse avx avx2 fma\n" * 4)
    assert nominal_peak(str(info))["nominal_peak_gflops"] == 4 * 2.0 * 32          # AVX2: 2 FMA x 8 lanes x 2
    info.write_text("cpu MHz\t\t: 1500.0\nflags\t\t: sse avx avx2 fma avx512f\n")
    assert nominal_peak(str(info))["nominal_peak_gflops"] == 4 * 1.5 * 64
    assert nominal_peak(str(tmp_path / "missing"))["nominal_peak_gflops"] is None
