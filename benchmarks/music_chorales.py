"""Bach chorales: the MuseGAN-class GAN against the maximum-likelihood baseline at the same budget.

    OMP_NUM_THREADS=1 python benchmarks/music_chorales.py [--arms gan,mle] [--seeds 100 101 102] [--steps N] [--jobs 1]

Each (arm, seed) trains a preset for --steps steps (default: the preset's, 4,000 of batch 32) on the phrases of
the training chorales (music21's Bach chorales in 4/4 with four voices, transposed to C major / A minor, 16th-note
grid, 4 bars, a phrase every bar):
- gan: the `chorales` preset (MuseGAN-class G with shared / private and time-independent / time-dependent latents,
  one pitch or a rest per voice and step, 3-D convolutional D, straight-through hard binarisation, hinge loss,
  spectral norm, no weight average);
- mle: the `chorales-mle` preset (an LSTM over the frames, each voice's pitch or rest a softmax given the past);
- gan-poly, mle-poly: the same with music.voicing=poly (MuseGAN's any set of pitches per track and step: every
  (voice, pitch) cell on or off by itself).
Then `ganforge eval RUN` on 1,000 generated phrases against the phrases of the held-out chorales (10% of the
chorales, never trained on): FD and precision / recall in the `chorale-phrases` features (a CNN trained on the
training chorales to tell real phrases from corrupted ones) beside the real-vs-real floor (two halves of the
held-out phrases, the same n on both sides); the per-voice statistics (empty bars, pitch classes per bar,
polyphony, pitch-class entropy, scale consistency) beside the held-out phrases' own, tonal distance and voice
crossings; memorisation (per sample, the largest share of its note onsets found at the same place in one training
phrase). Speed: training phrases per second and sampling phrases per second (the sampler network, 0 / 1 rolls). Seeds
default to 100-102, not the ones the presets were set with. Results: benchmarks/results/music_chorales.json;
docs/benchmarks.md section `music-chorales`.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import arm_args, footer, load_rows, provenance, store_rows, write_section  # noqa: E402
from _doc import mean_sd as _ms  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "music_chorales.json")
ARMS = {"gan": ("chorales", []), "mle": ("chorales-mle", []),    # arm: (preset, more overrides)
        "gan-poly": ("chorales", ["music.voicing=poly"]), "mle-poly": ("chorales-mle", ["music.voicing=poly"])}
GOALS = ("every per-voice statistic within 10% of the held-out phrases' (stats within 10% = 1), FD <= 3x floor, "
         "no sample sharing more than half of its notes with one training phrase (memorisation max <= 0.5; the "
         "held-out chorale phrases themselves do not meet this one: see the \"held-out max\" column and docs/music.md)")
STATS = ("empty_bars", "pitch_classes", "polyphony", "pc_entropy", "scale_consistency")
VOICES = ("soprano", "alto", "tenor", "bass")


def one(arm: str, seed: int, steps: int | None, threads: int, n_eval: int, extra: list[str]) -> dict:
    import torch
    torch.set_num_threads(threads)
    import ganforge
    from ganforge import evaluation
    preset, own = ARMS[arm]
    sets = own + [f"train.threads={threads}", "train.progress=false", "train.sample_every=0"] + extra
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = ganforge.train(preset, seed=seed, steps=steps, out=os.path.join(tmp, "run"), overrides=sets)
        wall = time.perf_counter() - t0
        g = ganforge.load(res.run_dir)
        g.sample(16, seed=1)                                              # warm-up
        t1 = time.perf_counter()
        g.sample(512, seed=2)
        sample_s = time.perf_counter() - t1
        ev = evaluation.evaluate_run(res.run_dir, n=n_eval, json_path=os.path.join(tmp, "e.json"))
    return {"arm": arm, "seed": seed, "steps": res.step, "settings": [f"preset={preset}"] + sets,
            "train_wall_s": round(wall, 1), "train_phrases_per_s": round(res.step * g.config.train.batch / wall, 1),
            "sample_phrases_per_s": round(512 / sample_s, 1), "metrics": ev["metrics"],
            "protocol": {k: v for k, v in ev["protocol"].items() if k != "checkpoint"}}


def render() -> None:
    rows = load_rows(RESULTS)
    if not rows:
        return
    cols = [("FD", lambda m: m["fd"]), ("FD floor", lambda m: m["fd_floor"]),
            ("FD / floor", lambda m: m["fd"] / m["fd_floor"]), ("precision", lambda m: m.get("precision")),
            ("recall", lambda m: m.get("recall")), ("stats within 10%", lambda m: m["stats_within_10pct"]),
            ("worst gap", lambda m: m["worst_gap"]), ("tonal dist (real)", lambda m: m["tonal_distance"]),
            ("", lambda m: m["tonal_distance_real"]), ("crossings (real)", lambda m: m["voice_crossing"]),
            (" ", lambda m: m["voice_crossing_real"]), ("memorisation max", lambda m: m["memorisation_max"]),
            ("held-out max", lambda m: m["memorisation_max_real"])]
    head = ["arm", "seeds", "steps", "train min"] + [c for c, _ in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    stat_head = ["arm"] + [f"{s} {v[0].upper()}" for s in STATS for v in VOICES]
    per = ["| " + " | ".join(stat_head) + " |", "|" + "---|" * len(stat_head)]
    speed = ["| arm | train phrases/s | sample phrases/s |", "|---|---|---|"]
    arms = [a for a in ARMS if any(r["arm"] == a for r in rows)]
    for arm in arms:
        mine = [r for r in rows if r["arm"] == arm]
        cells = [arm, str(len(mine)), str(mine[0]["steps"]), _ms([r["train_wall_s"] / 60 for r in mine], ".1f")]
        lines.append("| " + " | ".join(cells + [_ms([f(r["metrics"]) for r in mine]) for _, f in cols]) + " |")
        per.append("| " + " | ".join([arm] + [_ms([r["metrics"][f"{s}/{v}"] for r in mine], ".2f")
                                              for s in STATS for v in VOICES]) + " |")
        speed.append(f"| {arm} | {_ms([r['train_phrases_per_s'] for r in mine], '.0f')} | "
                     f"{_ms([r['sample_phrases_per_s'] for r in mine], '.0f')} |")
    m0 = rows[0]["metrics"]
    per.append("| held-out real | " + " | ".join(f"{m0[f'{s}/{v}_real']:.2f}" for s in STATS for v in VOICES) + " |")
    body = (__doc__.split("\n\n", 2)[2].split("Results:")[0].strip()
            + f"\n\nGoals: {GOALS}. Mean ± sample std over seeds; in the columns marked (real), the second figure is "
            "the held-out phrases' own.\n\n" + "\n".join(lines)
            + "\n\nPer voice (S, A, T, B), generated beside held-out real:\n\n" + "\n".join(per) + "\n\n"
            + "\n".join(speed) + "\n\n"
            + footer(rows))
    write_section("music-chorales", "Music: MuseGAN-class GAN against an LSTM baseline on Bach chorales", body)


def main() -> None:
    a = arm_args(__doc__, ARMS, None, n_help="generated phrases per evaluation")
    if not a.render:
        prov = provenance(vars(a))
        threads = a.threads or max(1, 2 // a.jobs)
        with ProcessPoolExecutor(a.jobs, max_tasks_per_child=1) as pool:
            futures = [pool.submit(one, arm, s, a.steps, threads, a.n, a.extra)
                       for s in a.seeds for arm in a.arms.split(",")]
            for f in futures:
                row = f.result()
                row["provenance"] = prov
                store_rows(RESULTS, [row], ("arm", "seed"))
                m = row["metrics"]
                print(row["arm"], row["seed"], f"FD {m['fd']:.3g}/{m['fd_floor']:.3g}",
                      f"within10% {m['stats_within_10pct']:.2f} mem {m['memorisation_max']:.2f}",
                      f"{row['train_wall_s']:.0f}s", flush=True)
    render()


if __name__ == "__main__":
    main()
