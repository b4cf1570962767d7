"""Voice conversion between two FSDD speakers: CycleGAN on spectrograms (the ``fsdd-speakers`` preset).

    OMP_NUM_THREADS=1 python benchmarks/voice_fsdd.py [--seeds 100 101 102] [--steps N] [--run RUN]

Each seed trains the ``fsdd-speakers`` preset (george -> lucas and back, 64 bins x 96 frames, docs/translation.md)
for --steps steps (default: the preset's), or measures an existing run of that preset (--run, one seed: the run's
own), and scores it with `ganforge eval RUN` (evaluation/voice.py) on the held-out recordings (index 0-4: 50 per
speaker): the share of converted clips the shipped two-speaker classifier assigns to the target speaker, beside
the unconverted source clips and real target-speaker clips; the shipped FSDD digit classifier's accuracy on
converted clips, beside the source clips, the source clips through features and inversion alone (resynthesis),
and real target clips; the median pitch of converted clips beside sources and real targets; with Griffin-Lim
phases (the preset's) and with the input's own phase. Both directions are averaged. Goals: target-speaker share
at least 80% and digit accuracy at least 85% on converted clips.
Speed: the real-time factor of conversion (wall time of features, G and inversion over the audio's duration; one
thread, all 50 clips in one batch; below 1 is faster than real time) and training steps per second (wall clock
between the first and last logged steps).
Results: benchmarks/results/voice_fsdd.json; docs/benchmarks.md section `voice-fsdd`.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import footer, load_rows, mean_sd, provenance, section_target, store_rows, write_section  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "voice_fsdd.json")
PRESET = "fsdd-speakers"
COLS = [("speaker share GL", "speaker_acc_gl"), ("speaker share input phase", "speaker_acc_srcphase"),
        ("of sources", "speaker_source"), ("of real targets", "speaker_real"), ("digit acc GL", "digit_acc_gl"),
        ("digit acc input phase", "digit_acc_srcphase"), ("of sources", "digit_source"),
        ("resynthesised", "digit_resynth"), ("of real targets", "digit_real"), ("RTF GL", "rtf_gl"),
        ("RTF input phase", "rtf_srcphase")]
PITCH = [("GL", "gl"), ("input phase", "srcphase"), ("source", "source"), ("real target", "real")]


def averaged(m: dict) -> dict:
    """Both directions' reference figures averaged under one name (``speaker_source`` from speaker_atob_source ...)."""
    out = dict(m)
    for k in ("speaker", "digit"):
        for suffix in ("source", "real", "resynth"):
            if f"{k}_atob_{suffix}" in m:
                out[f"{k}_{suffix}"] = (m[f"{k}_atob_{suffix}"] + m[f"{k}_btoa_{suffix}"]) / 2
    return out


def one(seed: int, steps: int | None, run: str | None, extra: list[str], note: str) -> dict:
    import torch
    torch.set_num_threads(1)
    import ganforge
    from ganforge import evaluation
    sets = ["train.threads=1", "train.progress=false"] + extra
    with tempfile.TemporaryDirectory() as tmp:
        wall = None
        if run is None:
            t0 = time.perf_counter()
            res = ganforge.train(PRESET, seed=seed, steps=steps, out=os.path.join(tmp, "run"), overrides=sets)
            wall, run = time.perf_counter() - t0, res.run_dir
        ev = evaluation.evaluate_run(run, json_path=os.path.join(tmp, "e.json"))
        g = ganforge.load(run)
        run_dir = os.path.dirname(os.path.dirname(run)) if os.path.isfile(run) else run   # a checkpoint's run
        logged = [s for s in _stats(run_dir) if s.get("time") and s["step"] <= g.step]    # wall clock, step to step
        speed = ([(logged[-1]["step"] - logged[0]["step"]) / (logged[-1]["time"] - logged[0]["time"])]
                 if len(logged) > 1 else [])
    return {"seed": seed, "steps": ev["protocol"]["step"], "planned_steps": g.config.train.steps,
            "settings": [f"preset={PRESET}"] + sets, "train_wall_s": None if wall is None else round(wall, 1),
            "train_steps_per_s": round(sum(speed) / len(speed), 3) if speed else None, "note": note,
            "metrics": averaged(ev["metrics"]), "protocol": {k: v for k, v in ev["protocol"].items()
                                                               if k != "checkpoint"}}


def _stats(run: str) -> list[dict]:
    import json
    path = os.path.join(run, "stats.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def render(path: str = RESULTS) -> None:
    rows = load_rows(path)
    if not rows:
        return
    head = ["seeds", "steps"] + [c for c, _ in COLS] + ["train steps/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for steps in sorted({r["steps"] for r in rows}):
        mine = [r for r in rows if r["steps"] == steps]
        cells = [str(len(mine)), str(steps)] + [mean_sd([r["metrics"].get(k) for r in mine]) for _, k in COLS]
        lines.append("| " + " | ".join(cells + [mean_sd([r.get("train_steps_per_s") for r in mine])]) + " |")
    pitch = ["| steps | direction | speaker share GL | digit acc GL | " + " | ".join(f"F0 {c} Hz" for c, _ in PITCH)
             + " |", "|" + "---|" * 8]
    for steps in sorted({r["steps"] for r in rows}):
        mine = [r for r in rows if r["steps"] == steps]
        for d, name in (("atob", "A to B"), ("btoa", "B to A")):
            cells = [mean_sd([r["metrics"].get(f"{k}_{d}_gl") for r in mine]) for k in ("speaker", "digit")]
            cells += [mean_sd([r["metrics"].get(f"f0_{d}_{k}") for r in mine], ".0f") for _, k in PITCH]
            pitch.append(f"| {steps} | {name} | " + " | ".join(cells) + " |")
    notes = sorted({r["note"] for r in rows if r.get("note")})
    body = (__doc__.split("\n\n", 2)[2].split("Results:")[0].strip() + "\n\nMean ± sample std over seeds; "
            "GL: Griffin-Lim phases (the preset's voice.phase), input phase: the source recording's STFT phase. "
            + " ".join(notes) + "\n\n" + "\n".join(lines) + "\n\nEach direction, with the median pitch of "
            "the voiced frames (A: george, B: lucas):\n\n" + "\n".join(pitch) + "\n\n" + footer(rows))
    write_section("voice-fsdd", "Voice conversion: CycleGAN between two FSDD speakers", body,
                  **section_target(path, RESULTS))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    ap.add_argument("--steps", type=int, default=None, help="default: the preset's")
    ap.add_argument("--run", default=None, help="measure this run of the preset instead of training (one seed)")
    ap.add_argument("--note", default="", help="a sentence on the conditions, shown under the table")
    ap.add_argument("--set", dest="extra", action="append", default=[])
    ap.add_argument("--results", default=RESULTS)
    ap.add_argument("--render", action="store_true")
    a = ap.parse_args()
    if not a.render:
        prov = provenance(vars(a))
        for seed in a.seeds[:1] if a.run else a.seeds:
            row = one(seed, a.steps, a.run, a.extra, a.note)
            row["provenance"] = prov
            store_rows(a.results, [row], ("seed", "steps"))
            m = row["metrics"]
            print(seed, row["steps"], f"speaker {m['speaker_acc']:.3f} digit {m['digit_acc']:.3f} rtf {m['rtf']:.4f}",
                  flush=True)
    render(a.results)


if __name__ == "__main__":
    main()
