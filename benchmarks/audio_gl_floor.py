"""What Griffin-Lim alone costs SpecGAN, and how a generator's small errors sound: held-out real FSDD clips
through the `fsdd-spec` preset's normalised spectrogram and back to sound, scored by the `fsdd-mel` classifier.

    python benchmarks/audio_gl_floor.py [--iterations 32 128] [--eps 1 0.01] [--noise 0.05]

A SpecGAN-class generator can at best draw the spectrograms of real clips; this measures the clips it would
then give (the preset's audio.spec_clip, n_fft and hop; Griffin-Lim from random phases with a fixed seed) for
each log scale audio.spec_eps, so the audio-fsdd table can say how much of specgan's gap to real is the
vocoder's. The --noise rows add Gaussian noise of that std (fixed seed) to the normalised spectrograms first:
a stand-in for an imprecise G, which shows how each log scale turns small errors into sound. Results:
benchmarks/results/audio_gl_floor.json (read by audio_fsdd.py's section).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import provenance, store_rows  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "audio_gl_floor.json")


def scores(clf, clips, labels) -> dict:
    """Class accuracy and the Inception-score analogue exp(E KL(p(y|x) || p(y))) of clips."""
    import torch
    with torch.no_grad():
        p = torch.softmax(clf.logits(clips), 1)
    py = p.mean(0, keepdim=True)
    kl = (p * (p.clamp_min(1e-12).log() - py.log())).sum(1).mean()
    return {"accuracy": round(float((p.argmax(1) == labels).float().mean()), 4), "is": round(float(kl.exp()), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--eps", type=float, nargs="+", default=[1.0, 0.01], help="audio.spec_eps values")
    ap.add_argument("--noise", type=float, nargs="+", default=[0.05], help="noise std in the normalised image")
    a = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    import ganforge
    from ganforge.data.audio import load_part
    from ganforge.metrics.audio import load_digit_classifier
    clf, rows = load_digit_classifier(), []
    for eps in a.eps:
        with tempfile.TemporaryDirectory() as tmp:    # a one-step run gives the preset's recipe and data statistics
            res = ganforge.train("fsdd-spec", steps=1, out=os.path.join(tmp, "run"),
                                 overrides=["train.threads=1", "train.progress=false", "train.sample_every=0",
                                            f"audio.spec_eps={eps}"])
            g = ganforge.load(res.run_dir)
        test = load_part(g.config, 0, "test")
        x, y = test.x.float(), test.y
        if not rows:
            rows.append({"clips": "held-out real", "spec_eps": None, "iterations": 0, "noise": 0.0, "n": len(x),
                         **scores(clf, x, y)})
        spec = g.recipe.to_spec(x)
        for noise in [0.0] + a.noise:
            gen = torch.Generator().manual_seed(1)
            image = (spec + noise * torch.randn(spec.shape, generator=gen)).clamp(-1, 1)
            for it in (a.iterations if noise == 0 else a.iterations[:1]):
                g.recipe.cfg.section("audio").griffin_lim = it
                with torch.no_grad():
                    back = g.recipe.waves(image)
                rows.append({"clips": "held-out real through Griffin-Lim", "spec_eps": eps, "iterations": it,
                             "noise": noise, "n": len(x), **scores(clf, back, y)})
                print(rows[-1], flush=True)
    prov = provenance(vars(a))
    store_rows(RESULTS, [dict(r, provenance=prov) for r in rows], ("clips", "spec_eps", "iterations", "noise"))


if __name__ == "__main__":
    main()
