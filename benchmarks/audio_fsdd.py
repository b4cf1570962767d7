"""Spoken digits: WaveGAN-class against SpecGAN-class on FSDD, class-conditional and not.

    GANFORGE_DATA=../shared/datasets python benchmarks/audio_fsdd.py [--arms wavegan,specgan,...] \
        [--seeds 100 101 102] [--steps N] [--jobs 1]

Each (arm, seed) trains a preset for --steps steps (default: the preset's) on the 2,700 training recordings:
- wavegan / wavegan-uncond: the `fsdd` preset (raw waveforms, phase shuffle in D), with labels / without;
- specgan / specgan-uncond: the `fsdd-spec` preset (normalised log-magnitude spectrograms, DCGAN networks,
  Griffin-Lim back to sound, log(1 + |STFT|)), with labels / without; specgan-eps0.01: the same on
  log(1 + |STFT| / 0.01) (audio.spec_eps), which keeps silence on the log scale.
Then `ganforge eval RUN` on 1,350 generated clips against the 300 held-out recordings (index 0-4 of every
speaker and digit, never trained on), in the feature space of the shipped `fsdd-mel` digit classifier:
the Inception-score analogue of the generated clips beside that of the held-out clips, FD in the
classifier's penultimate features beside its real-vs-real floor (two halves of the held-out clips, 150
each, the same n on both sides), precision / recall / density / coverage, the classifier's accuracy on
conditional samples against the label they were drawn for (gan_test), and the signal checks (silent
frames, clipped samples, spectral centroid). Speed: training clips per second, sampling clips per second
(G_ema, 512 clips in one batch; for specgan including Griffin-Lim, whose cost is the rest after G's
share) as a multiple of real time, and the run's peak resident memory. Seeds default to 100-102, not the
ones the presets were set with. Results:
benchmarks/results/audio_fsdd.json; docs/benchmarks.md section `audio-fsdd`.
"""
from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import arm_args, footer, load_rows, provenance, store_rows, write_section  # noqa: E402
from _doc import mean_sd as _ms  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "audio_fsdd.json")
ARMS = {"wavegan": ("fsdd", []), "wavegan-uncond": ("fsdd", ["model.conditional=false"]),
        "specgan": ("fsdd-spec", []), "specgan-uncond": ("fsdd-spec", ["model.conditional=false"]),
        "specgan-eps0.01": ("fsdd-spec", ["audio.spec_eps=0.01"])}
GOALS = "Inception-score analogue >= 0.7x held-out real, conditional class accuracy >= 80%, FD <= 3x floor"
PUBLISHED = ("SC09 at 16 kHz (Donahue et al. 2019): real 9.18, WaveGAN 4.7, SpecGAN 6.0 Inception score, "
             "0.51x and 0.65x of real")


def one(arm: str, seed: int, steps: int | None, threads: int, extra: list[str]) -> dict:
    """Train, time sampling and evaluate one run, in a process of its own (so peak memory is the run's)."""
    import torch
    torch.set_num_threads(threads)
    import ganforge
    from ganforge import evaluation
    preset, sets = ARMS[arm]
    sets = sets + [f"train.threads={threads}", "train.progress=false", "train.sample_every=0"] + extra
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = ganforge.train(preset, seed=seed, steps=steps, out=os.path.join(tmp, "run"), overrides=sets)
        wall = time.perf_counter() - t0
        g = ganforge.load(res.run_dir)
        a, batch = g.config.section("audio"), g.config.train.batch
        with torch.no_grad():
            g.recipe.waves(g.sample(32, seed=1))                  # warm-up
            t1 = time.perf_counter()
            out = g.sample(512, seed=2)
            net_s = time.perf_counter() - t1
            clips = g.recipe.waves(out)                          # Griffin-Lim for specgan; nothing for wavegan
            sample_s = time.perf_counter() - t1
        ev = evaluation.evaluate_run(res.run_dir, json_path=os.path.join(tmp, "e.json"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"arm": arm, "seed": seed, "steps": res.step, "settings": [f"preset={preset}"] + sets,
            "train_wall_s": round(wall, 1), "train_clips_per_s": round(res.step * batch / wall, 1),
            "sample_clips_per_s": round(len(clips) / sample_s, 1),
            "sample_x_realtime": round(len(clips) * a.samples / a.rate / sample_s, 1),
            "sample_net_share": round(net_s / sample_s, 3),
            "peak_rss_mb": round(peak_mb), "metrics": ev["metrics"],
            "protocol": {k: v for k, v in ev["protocol"].items() if k not in ("checkpoint",)}}


def render() -> None:
    rows = load_rows(RESULTS)
    if not rows:
        return
    cols = [("IS", lambda m: m["is"]), ("IS real", lambda m: m["is_real"]),
            ("IS / real", lambda m: m["is"] / m["is_real"]), ("class acc", lambda m: m.get("gan_test")),
            ("FD", lambda m: m["fd"]), ("FD floor", lambda m: m["fd_floor"]),
            ("FD / floor", lambda m: m["fd"] / m["fd_floor"]), ("precision", lambda m: m["precision"]),
            ("recall", lambda m: m["recall"]), ("coverage", lambda m: m["coverage"]),
            ("silence (real)", lambda m: m["silence"]), ("", lambda m: m["silence_real"]),
            ("centroid Hz (real)", lambda m: m["centroid_hz"]), (" ", lambda m: m["centroid_hz_real"])]
    head = ["arm", "seeds", "steps", "train min"] + [c for c, _ in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    speed = ["| arm | train clips/s | sample clips/s | sampling x real time | G's share of sampling | peak RSS MB |",
             "|---|---|---|---|---|---|"]
    for arm in [a for a in ARMS if any(r["arm"] == a for r in rows)]:
        mine = [r for r in rows if r["arm"] == arm]
        cells = [arm, str(len(mine)), str(mine[0]["steps"]), _ms([r["train_wall_s"] / 60 for r in mine], ".1f")]
        for _, f in cols:
            vals = [f(r["metrics"]) for r in mine]
            cells.append(_ms([v for v in vals if v is not None]))
        lines.append("| " + " | ".join(cells) + " |")
        speed.append(f"| {arm} | {_ms([r['train_clips_per_s'] for r in mine], '.0f')} | "
                     f"{_ms([r['sample_clips_per_s'] for r in mine], '.0f')} | "
                     f"{_ms([r['sample_x_realtime'] for r in mine], '.0f')} | "
                     f"{_ms([r['sample_net_share'] for r in mine], '.2f')} | "
                     f"{_ms([r['peak_rss_mb'] for r in mine], '.0f')} |")
    vocoder = _vocoder(load_rows(os.path.join(ROOT, "benchmarks", "results", "audio_gl_floor.json")))
    body = (__doc__.split("\n\n", 2)[2].split("Results:")[0].strip()
            + f"\n\nGoals: {GOALS}. Published anchors: {PUBLISHED}. Mean ± sample std over seeds; the "
            "columns after \"silence\" and \"centroid\" are the held-out real clips' values.\n\n" + "\n".join(lines)
            + "\n\n" + "\n".join(speed) + "\n\n" + vocoder
            + footer(rows))
    write_section("audio-fsdd", "Audio: WaveGAN- and SpecGAN-class on spoken digits (FSDD)", body)


def _vocoder(floor: list[dict]) -> str:
    """The audio_gl_floor.py rows as a table: what the spectrogram round trip alone costs, per log scale."""
    real = [r for r in floor if not r["iterations"]]
    gl = [r for r in floor if r["iterations"]]
    if not (gl and real):
        return ""
    base = real[0]
    lines = ["| audio.spec_eps | Griffin-Lim iterations | noise std | IS | IS / real | class acc |",
             "|---|---|---|---|---|---|",
             f"| (held-out real clips) | - | - | {base['is']:.2f} | 1.00 | {base['accuracy']:.3f} |"]
    for r in gl:
        lines.append(f"| {r['spec_eps']:g} | {r['iterations']} | {r['noise']:g} | {r['is']:.2f} | "
                     f"{r['is'] / base['is']:.2f} | {r['accuracy']:.3f} |")
    return ("What the spectrogram round trip alone costs specgan (`python benchmarks/audio_gl_floor.py`, commit "
            + gl[0]["provenance"]["commit"][:10] + "): the held-out real clips through the preset's normalised "
            "spectrogram and back by Griffin-Lim; the rows with noise add that much Gaussian noise to the "
            "normalised image first, a stand-in for a generator's small errors, for each log scale "
            "log(1 + |STFT| / spec_eps) (the preset's is 1: log(1 + |STFT|)).\n\n" + "\n".join(lines) + "\n\n")


def main() -> None:
    a = arm_args(__doc__, ARMS, None)
    if not a.render:
        prov = provenance(vars(a))
        threads = a.threads or max(1, 2 // a.jobs)
        with ProcessPoolExecutor(a.jobs, max_tasks_per_child=1) as pool:
            futures = [pool.submit(one, arm, s, a.steps, threads, a.extra)
                       for s in a.seeds for arm in a.arms.split(",")]
            for f in futures:
                row = f.result()
                row["provenance"] = prov
                store_rows(RESULTS, [row], ("arm", "seed"))
                m = row["metrics"]
                print(row["arm"], row["seed"], f"IS {m['is']:.2f}/{m['is_real']:.2f}",
                      f"FD {m['fd']:.2f}/{m['fd_floor']:.2f} acc {m.get('gan_test')}",
                      f"{row['train_wall_s']:.0f}s", flush=True)
    render()


if __name__ == "__main__":
    main()
