"""The HTML run report: contents, self-containment, a real browser rendering it, and bad input."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess

import pytest
import torch

from ganforge import api, explore
from ganforge.cli import main
from ganforge.core.errors import CheckpointError, ConfigError
from ganforge.report import build_report

TINY = ["model.z_dim=8", "model.g_width=8", "model.d_width=8", "train.batch=16", "train.log_every=3",
        "train.sample_every=4", "train.ckpt_every=6", "train.ema_warmup=5", "train.progress=false",
        "train.threads=1"]
# 5 stats panels (losses, D outputs, augmentation, gradient norms, other) + 2 eval panels (stats keys,
# files by step) + 3 sample grids + 3 explore pictures (interpolation PNG and GIF, truncation PNG)
N_IMAGES = 13
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny finished run with sample grids, explore pictures, and (written here, as the evaluation
    code would) eval stats keys, augmentation/gradient-norm stats and an eval JSON file."""
    out = str(tmp_path_factory.mktemp("report") / "run")
    api.train("digits", out=out, steps=12, overrides=TINY, progress=False)
    explore.interpolate(out, seeds=[0, 1], frames=4)
    explore.truncation(out, n=4, n_stats=16)
    with open(os.path.join(out, "stats.jsonl"), "a") as f:
        for step, fd in ((12, 40.0), (12, 35.5)):
            f.write(json.dumps({"step": step, "time": 0, "eval/fd": fd, "eval/fd_floor": 2.0,
                                "aug_p": 0.1, "grad_norm_D": 1.5}) + "\n")
    os.makedirs(os.path.join(out, "eval"))
    for name, step, fd in (("a.json", 6, 48.25), ("b.json", 12, 35.5)):
        with open(os.path.join(out, "eval", name), "w") as f:
            json.dump({"metrics": {"fd": fd, "fd_floor": 2.0, "kid": 0.01},
                       "protocol": {"extractor": "digits", "n": 512, "seed": 0, "step": step}}, f)
    return out


@pytest.fixture(scope="module")
def report(run):
    return build_report(run)


def _attrs(page: str, name: str) -> list[str]:
    return re.findall(rf'\b{name}\s*=\s*["\']([^"\']*)["\']', page, flags=re.I)


def test_report_contents(run, report):
    assert report == os.path.join(run, "report.html")
    page = open(report, encoding="utf-8").read()
    for text in ("What was trained", "digits: 1797 images", "parameters G", "losses", "D outputs",
                 "augmentation", "gradient norms", "Evaluation", "<h3>b.json</h3>", "<summary>a.json</summary>",
                 "floor (real vs real)", "<td>metrics.fd</td><td>35.5</td><td>2</td>", "&quot;extractor&quot;",
                 "Samples (fixed latents)", "step 12", "interpolate-slerp.gif",
                 "truncation-psi.png", "cpu_count", "torch (report)", "training time"):
        assert text in page, text
    srcs = _attrs(page, "src")
    assert len(srcs) == N_IMAGES
    assert all(s.startswith(("data:image/png;base64,", "data:image/gif;base64,")) for s in srcs)


def test_report_is_self_contained(report):
    page = open(report, encoding="utf-8").read()
    links = _attrs(page, "src") + _attrs(page, "href")
    assert not [u for u in links if re.match(r"\s*(https?:)?//", u, re.I)]
    assert "<script" not in page.lower() and "<link" not in page.lower() and "@import" not in page
    assert "url(" not in page  # no CSS fetches either


def test_run_still_training(run, tmp_path):
    part = str(tmp_path / "part")
    shutil.copytree(run, part)
    os.remove(os.path.join(part, "checkpoints", "ckpt-00000012.safetensors"))
    os.remove(os.path.join(part, "samples", "grid-00000012.png"))
    with open(os.path.join(part, "stats.jsonl")) as f:
        rows = [r for r in f if json.loads(r)["step"] <= 6]
    with open(os.path.join(part, "stats.jsonl"), "w") as f:
        f.writelines(rows)
    page = open(build_report(part), encoding="utf-8").read()
    assert "still training or stopped: 6 of 12 steps done" in page and "step 8" in page
    shutil.rmtree(os.path.join(part, "checkpoints"))
    page = open(build_report(part), encoding="utf-8").read()
    assert "no checkpoint yet: 6 steps logged of 12 planned" in page and "parameters G" in page


def test_bad_input(tmp_path, capsys):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        build_report(str(tmp_path))
    with pytest.raises(CheckpointError, match="no such run folder"):
        build_report(str(tmp_path / "missing"))
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganforge: error:") and "\n" not in err


def test_out_must_be_html(run, tmp_path):
    with pytest.raises(ConfigError, match=r"\.html"):
        build_report(run, out=str(tmp_path / "r.pdf"))


def test_cli_report(run, tmp_path, capsys):
    out = str(tmp_path / "sub" / "r.html")
    assert main(["report", run, "--out", out]) == 0
    assert capsys.readouterr().out.strip() == out and os.path.getsize(out) > 10_000


# -- a real browser ------------------------------------------------------------------------------

def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


# Injected into a copy of the page, first in <head>: records script errors, failed resource loads and
# console.error calls, then after load writes every image's naturalWidth into the DOM for --dump-dom.
HARNESS = """<script>
window.__gf = [];
window.addEventListener('error', function (e) {
  window.__gf.push(e.message || ('failed to load ' + ((e.target && (e.target.src || '').slice(0, 40)) || '?')));
}, true);
console.error = function () { window.__gf.push('console.error: ' + Array.from(arguments).join(' ')); };
window.addEventListener('load', function () {
  var pre = document.createElement('pre');
  pre.id = 'gf-check';
  pre.textContent = JSON.stringify({widths: Array.from(document.images).map(function (i) { return i.naturalWidth; }),
                                    errors: window.__gf});
  document.body.appendChild(pre);
});
</script>"""


def _chromium(exe: str, profile: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [exe, *BROWSER_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_report_renders_in_chromium(report, tmp_path):
    exe = _browser()
    if exe is None:
        pytest.skip("chromium is not installed")
    page = open(report, encoding="utf-8").read()
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("<head>", "<head>" + HARNESS, 1), encoding="utf-8")
    res = _chromium(exe, str(tmp_path / "profile1"), "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="gf-check">(.*?)</pre>', res.stdout, re.S)
    assert found, f"no check output from chromium (exit {res.returncode}): {res.stderr[-500:]}"
    check = json.loads(html.unescape(found.group(1)))
    assert len(check["widths"]) == N_IMAGES and all(w > 0 for w in check["widths"]), check["widths"]
    assert check["errors"] == []
    shot = tmp_path / "report.png"
    _chromium(exe, str(tmp_path / "profile2"), f"--screenshot={shot}", "--window-size=1280,2400",
              "--hide-scrollbars", f"file://{os.path.abspath(report)}")
    assert shot.exists() and shot.stat().st_size > 20_000
