"""Detecting generated digits: ganforge's real-vs-generated detectors on MNIST, tested on generators they never saw.

    OMP_NUM_THREADS=1 python benchmarks/detect_mnist.py [--kinds cnn,spectrum] [--seeds 0 1 2] [--gan-steps N]

Four generators are trained once on the MNIST test split (the `mnist` preset, seed 100, --gan-steps steps,
default 3,000, at the DCGAN rates 2e-4 / beta1 0.5 without R1 these rows were
measured with): `mnist` (DCGAN networks, non-saturating loss) is the one every detector trains
on; `hinge` (the same with the hinge loss), `mlp` (MLP networks) and `mnist-1k` (DCGAN trained on 1,000 of
the images: another training set) are only ever tested on. Real images: MNIST test images 0-4999 train the
detectors, images 5000-9999 are the held-out real side of every test. A detector (`ganforge detect train`:
the small CNN or the radial power spectrum + logistic regression, blur and JPEG augmentation with
probability 0.5, 1,500 steps of 64) trains on 5,000 real images against 5,000 samples of `mnist` drawn with
sampling seed 0, and is tested on 2,000 held-out real images against 2,000 samples of each generator drawn
with sampling seed 1 (unseen latents), and on the `mnist` samples after post-processing applied to both
sides alike (JPEG quality 75; resizing to half size and back, bilinear). Real and generated images are both
8-bit arrays, never files in different formats. Measured as the detection literature does (Wang et al.
2020): average precision (generated = positive) and accuracy at probability 0.5, each generator alone;
mean ± sample std over detector training seeds. Goals: AP >= 0.99 on unseen seeds of the training
generator, >= 0.90 on unseen architectures. Results: benchmarks/results/detect_mnist.json; docs/benchmarks.md
section `detect-mnist`.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import DCGAN_RATES, footer, load_rows, provenance, store_rows, write_section  # noqa: E402
from _doc import mean_sd as _ms  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "detect_mnist.json")
GANS = {"mnist": [], "hinge": ["loss.kind=hinge"], "mlp": ["model.arch=mlp"], "mnist-1k": ["data.limit=1000"]}
TESTS = ["mnist", "hinge", "mlp", "mnist-1k", "mnist jpeg75", "mnist resize0.5"]


def post(x, how: str):
    """uint8 (N, 1, H, W) -> the same after JPEG 75 or a half-size round trip."""
    import numpy as np
    from PIL import Image
    out = x.copy()
    for i in range(len(x)):
        im = Image.fromarray(x[i, 0])
        if how == "jpeg75":
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=75)
            im = Image.open(io.BytesIO(buf.getvalue())).convert("L")
        else:
            w, h = im.size
            im = im.resize((w // 2, h // 2), Image.BILINEAR).resize((w, h), Image.BILINEAR)
        out[i, 0] = np.asarray(im)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default="cnn,spectrum")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--gan-steps", type=int, default=3000)
    ap.add_argument("--n-train", type=int, default=5000)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=1500, help="detector training steps")
    ap.add_argument("--results", default=RESULTS, help="results file (a probe writes elsewhere)")
    ap.add_argument("--keep", help="keep the four runs in this folder (default: a temporary one)")
    ap.add_argument("--render", action="store_true")
    a = ap.parse_args()
    if a.render:
        return render(a.results)
    import torch
    torch.set_num_threads(1)
    import ganforge
    from ganforge import detect
    from ganforge.data import load_dataset, to_uint8
    prov = provenance(vars(a))
    with tempfile.TemporaryDirectory() as scratch:
        tmp = a.keep or scratch
        samples, gan_s = {}, {}
        for name, sets in GANS.items():
            t0 = time.perf_counter()
            res = ganforge.train("mnist", seed=100, steps=a.gan_steps, out=os.path.join(tmp, name),
                                 overrides=DCGAN_RATES + sets + ["train.threads=1", "train.progress=false",
                                                                 "train.sample_every=0"])
            gan_s[name] = round(time.perf_counter() - t0, 1)
            g = ganforge.load(res.run_dir)
            if name == "mnist":
                real = to_uint8(load_dataset(g.config, seed=100).x)   # the preset's own preprocessing
                samples["train"] = g.sample(a.n_train, seed=0, numpy=True)["x"]
            samples[name] = g.sample(a.n_test, seed=1, numpy=True)["x"]
            print(f"{name}: trained in {gan_s[name]} s", flush=True)
    real_train, real_test = real[:5000][:a.n_train], real[5000:][:a.n_test]
    tests = {t: (real_test, samples[t]) for t in GANS}
    tests["mnist jpeg75"] = (post(real_test, "jpeg75"), post(samples["mnist"], "jpeg75"))
    tests["mnist resize0.5"] = (post(real_test, "resize"), post(samples["mnist"], "resize"))
    rows = []
    for kind in a.kinds.split(","):
        for seed in a.seeds:
            t0 = time.perf_counter()
            det = detect.fit(real_train, samples["train"], kind, steps=a.steps, seed=seed)
            fit_s = round(time.perf_counter() - t0, 1)
            for test, (r, f) in tests.items():
                m = detect.measure(det, r, f)
                rows.append({"kind": kind, "seed": seed, "test": test, "ap": round(m["ap"], 5),
                             "acc": round(m["acc"], 5), "acc_real": round(m["acc_real"], 5),
                             "acc_fake": round(m["acc_fake"], 5), "n_real": m["n_real"], "n_fake": m["n_fake"],
                             "fit_s": fit_s, "gan_steps": a.gan_steps, "gan_train_s": gan_s,
                             "provenance": prov})
                print(rows[-1]["kind"], seed, test, rows[-1]["ap"], rows[-1]["acc"], flush=True)
    store_rows(a.results, rows, ("kind", "seed", "test"))
    render(a.results)


def render(path: str = RESULTS) -> None:
    rows = load_rows(path)
    if not rows:
        return
    kinds = sorted({r["kind"] for r in rows})
    head = "| test generator | " + " | ".join(f"{k} AP | {k} accuracy" for k in kinds) + " |"
    lines = [head, "|---|" + "---|---|" * len(kinds)]
    for test in TESTS:
        cells = [test]
        for k in kinds:
            mine = [r for r in rows if r["kind"] == k and r["test"] == test]
            cells += [_ms([r["ap"] for r in mine], ".4f"), _ms([r["acc"] for r in mine], ".3f")]
        lines.append("| " + " | ".join(cells) + " |")
    seeds = sorted({r["seed"] for r in rows})
    fit = {k: _ms([r["fit_s"] for r in rows if r["kind"] == k and r["test"] == "mnist"], ".0f") for k in kinds}
    first = rows[0]
    body = (__doc__.split("\n\n", 2)[2].split("Results:")[0].strip()
            + f"\n\nDetector seeds {', '.join(map(str, seeds))}; generators trained {first['gan_steps']} steps "
            f"(seconds: {', '.join(f'{k} {v}' for k, v in first['gan_train_s'].items())}); detector training "
            f"seconds: {', '.join(f'{k} {v}' for k, v in fit.items())}.\n\n" + "\n".join(lines) + "\n\n"
            + footer(rows))
    write_section("detect-mnist", "Detection: telling generated digits from real ones", body,
                  **({} if path == RESULTS else {"path": os.path.splitext(path)[0] + ".md"}))


if __name__ == "__main__":
    main()
