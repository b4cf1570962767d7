"""The invisible watermark on generated digits: how much of it survives common edits, and what it costs.

    OMP_NUM_THREADS=1 python benchmarks/watermark_mnist.py [--strengths 24 40 64] [--run RUN] [--n 5000]

One `mnist` run (seed 100, 3,000 steps at the DCGAN rates 2e-4 / beta1 0.5 without R1, the preset as
these rows were measured; or --run) draws --n samples with sampling seed 1; each is
marked with a 32-bit payload (core/watermark.py: QIM on projections of mid-frequency DCT coefficients) at each
lattice step (strength). Cost: PSNR of marked against unmarked samples, and FD in `lenet-mnist` features of the
unmarked and of the marked samples against the MNIST test split, beside the real-vs-real floor (the same
protocol as `ganforge eval`, n = --n on both sides). Robustness, on the first 500 marked samples after each edit:
a PNG round trip (lossless), JPEG at quality 90 / 75 / 50, resizing to half size and back (bilinear), cropping
5% from every side (10% of width and height) and resizing back, Gaussian noise (std 5 on 0-255), then reading
the mark: the mean share of the 32 bits read right, and the share of images with all 32 right. Unmarked samples
read about half their bits "right" by chance: that is the floor. Results: benchmarks/results/watermark_mnist.json;
docs/benchmarks.md section `watermark-mnist`.
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "watermark_mnist.json")
EDITS = ["png", "jpeg90", "jpeg75", "jpeg50", "resize0.5", "crop10", "noise5"]
PAYLOAD = "5eed1e55"


def edit(img, how: str):
    """uint8 (1, H, W) -> the same after the edit ``how``."""
    import numpy as np
    from PIL import Image
    im = Image.fromarray(img[0])
    w, h = im.size
    if how == "noise5":
        noisy = img[0].astype(float) + np.random.default_rng(0).normal(0, 5, (h, w))
        return np.clip(np.round(noisy), 0, 255).astype(np.uint8)[None]
    if how in ("png",) or how.startswith("jpeg"):
        buf = io.BytesIO()
        im.save(buf, format="PNG") if how == "png" else im.save(buf, format="JPEG", quality=int(how[4:]))
        im = Image.open(io.BytesIO(buf.getvalue())).convert("L")
    elif how == "resize0.5":
        im = im.resize((w // 2, h // 2), Image.BILINEAR).resize((w, h), Image.BILINEAR)
    elif how == "crop10":
        c = round(0.05 * w)
        im = im.crop((c, c, w - c, h - c)).resize((w, h), Image.BILINEAR)
    return np.asarray(im)[None]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strengths", type=float, nargs="+", default=[24.0, 40.0, 64.0])
    ap.add_argument("--run", help="an mnist run to sample (default: train one)")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--render", action="store_true")
    a = ap.parse_args()
    if a.render:
        return render()
    import numpy as np
    import torch
    torch.set_num_threads(1)
    import ganforge
    from ganforge.core import watermark as W
    from ganforge.data import load_dataset
    from ganforge.metrics.protocol import evaluate_arrays
    prov = provenance(vars(a))
    with tempfile.TemporaryDirectory() as tmp:
        run = a.run or ganforge.train("mnist", seed=100, out=os.path.join(tmp, "run"), steps=3000,
            overrides=DCGAN_RATES + ["train.threads=1", "train.progress=false", "train.sample_every=0"]).run_dir
        g = ganforge.load(run)
        x = np.asarray(g.sample(a.n, seed=1, numpy=True)["x"])
        real = load_dataset(g.config, seed=100).x
    bits = W.payload_bits(PAYLOAD)

    def fd(images) -> dict:
        fake = torch.from_numpy(images).float() / 127.5 - 1
        m = evaluate_arrays(real, fake, metrics="fd", extractor="lenet-mnist", seed=0, info=g.data_info)["metrics"]
        return {"fd": round(m["fd"], 3), "fd_floor": round(m["fd_floor"], 3)}

    base = fd(x)
    rows = [{"strength": 0.0, "edit": "none", "bit_acc": round(float(np.mean(
        [np.mean(W.read_bits(i) == bits) for i in x[:500]])), 4), "all_bits": 0.0, "psnr": None, **base}]
    for s in a.strengths:
        t0 = time.perf_counter()
        marked = np.stack([W.embed(i, bits, s) for i in x])
        ms = (time.perf_counter() - t0) / len(x) * 1000
        psnr = float(10 * np.log10(255 ** 2 / np.mean((marked.astype(float) - x) ** 2)))
        cost = fd(marked)
        for how in EDITS:
            got = np.stack([W.read_bits(edit(i, how), s) for i in marked[:500]]) == bits
            rows.append({"strength": s, "edit": how, "bit_acc": round(float(got.mean()), 4),
                         "all_bits": round(float(got.all(1).mean()), 4), "psnr": round(psnr, 2),
                         "embed_ms": round(ms, 2), **cost})
            print(s, how, rows[-1]["bit_acc"], rows[-1]["all_bits"], rows[-1]["psnr"], cost, flush=True)
    store_rows(RESULTS, [dict(r, n=a.n, provenance=prov) for r in rows], ("strength", "edit"))
    render()


def render(path: str = RESULTS) -> None:
    rows = load_rows(path)
    if not rows:
        return
    base = next((r for r in rows if r["edit"] == "none"), None)
    strengths = sorted({r["strength"] for r in rows if r["edit"] != "none"})
    lines = ["| strength | PSNR dB | FD marked | embed ms/image | " + " | ".join(EDITS) + " |",
             "|---|---|---|---|" + "---|" * len(EDITS)]
    for s in strengths:
        mine = {r["edit"]: r for r in rows if r["strength"] == s}
        first = next(iter(mine.values()))
        lines.append(f"| {s:g} | {first['psnr']:.1f} | {first['fd']:.2f} | {first['embed_ms']:.1f} | " + " | ".join(
            f"{mine[e]['bit_acc']:.3f} ({mine[e]['all_bits']:.2f})" if e in mine else "-" for e in EDITS) + " |")
    note = (f"Unmarked samples: FD {base['fd']:.2f} (real-vs-real floor {base['fd_floor']:.2f}), bits read right by "
            f"chance {base['bit_acc']:.3f}. Cells: mean share of bits read right (share of images with all 32 right)."
            if base else "")
    body = (__doc__.split("\n\n", 2)[2].split("Results:")[0].strip() + "\n\n" + note + "\n\n" + "\n".join(lines)
            + "\n\n" + footer(rows))
    write_section("watermark-mnist", "Watermark: robustness and cost on generated digits", body)


if __name__ == "__main__":
    main()
