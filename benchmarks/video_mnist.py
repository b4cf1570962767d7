"""Moving MNIST: the MoCoGAN-class generator against the 3-D convolutional baseline at the same budget.

    OMP_NUM_THREADS=1 python benchmarks/video_mnist.py [--arms mocogan,conv3d] [--seeds 100 101 102] [--steps N]

Each (arm, seed) trains a preset for --steps steps (default: the preset's) on the training clips of Moving MNIST
(one MNIST test digit, images 0-7999, bouncing in 32x32 for 16 frames; docs/video.md):
- mocogan: the `moving-mnist` preset (content code, GRU motion codes, a DCGAN frame generator shared over time);
- conv3d: the `moving-mnist-3d` preset (3-D transposed convolutions), the same discriminators and optimiser.
Then `ganforge eval RUN` on --n generated clips against the held-out clips (digits from MNIST images 8000-9999):
FD in `clip3d-mnist` features (a 3-D CNN trained on other Moving MNIST clips to name the digit and the direction
of its first move: the FVD analogue) beside its real-vs-real floor, and the sanity baselines (real clips with
frames shuffled, frozen on the first frame); the same in `lenet-video` features (per-frame LeNet features, their
mean and mean change; the floor and baselines there from two halves of the held-out clips); content
consistency and motion plausibility beside real clips'; FD of single frames in `lenet-mnist` features. Long
clips: content consistency and motion plausibility of --n clips of twice the trained length (32 frames; MoCoGAN
only, the GRU running on). Speed: training clips per second, sampling clips per second (the sampler network),
peak resident memory of the run's process. Seeds default to 100-102, not the ones the presets were set with.
Results: benchmarks/results/video_mnist.json; docs/benchmarks.md section `video-mnist`.
"""
from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _doc import arm_args, footer, load_rows, provenance, section_target, store_rows, write_section  # noqa: E402
from _doc import mean_sd as _ms  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "video_mnist.json")
ARMS = {"mocogan": "moving-mnist", "conv3d": "moving-mnist-3d"}
GOALS = ("content consistency >= 0.90, motion plausibility >= 0.80, FD <= 3x floor and below both sanity "
         "baselines, clips of twice the trained length with content consistency > 0.85")


def one(arm: str, seed: int, steps: int | None, threads: int, n_eval: int, extra: list[str]) -> dict:
    import torch
    torch.set_num_threads(threads)
    import ganforge
    from ganforge import evaluation
    from ganforge.metrics.video import centres, consistent, frame_labels, shows_digit, smooth_motion
    sets = [f"train.threads={threads}", "train.progress=false", "train.sample_every=0"] + extra
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = ganforge.train(ARMS[arm], seed=seed, steps=steps, out=os.path.join(tmp, "run"), overrides=sets)
        wall = time.perf_counter() - t0
        g = ganforge.load(res.run_dir)
        g.sample(8, seed=1)                                               # warm-up
        t1 = time.perf_counter()
        g.sample(256, seed=2)
        sample_s = time.perf_counter() - t1
        ev = evaluation.evaluate_run(res.run_dir, n=n_eval, json_path=os.path.join(tmp, "e.json"))
        m = ev["metrics"]
        if g.recipe.recurrent:
            s = g.config.section("video")
            long = g.sample(n_eval, seed=3, frames=2 * s.frames)
            m["long_content_consistency"] = float(consistent(frame_labels(long, s.digit_size), shows_digit(long))
                                                  .float().mean())
            m["long_motion_plausibility"] = float(smooth_motion(centres(long), s.size, s.digit_size).float().mean())
    return {"arm": arm, "seed": seed, "steps": res.step, "settings": [f"preset={ARMS[arm]}"] + sets,
            "train_wall_s": round(wall, 1), "train_clips_per_s": round(res.step * g.config.train.batch / wall, 1),
            "sample_clips_per_s": round(256 / sample_s, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "metrics": m, "protocol": {k: v for k, v in ev["protocol"].items() if k != "checkpoint"}}


def render(path: str = RESULTS) -> None:
    rows = load_rows(path)
    if not rows:
        return
    cols = [("FD", "fd"), ("FD floor", "fd_floor"), ("FD shuffled", "clip3d_fd_shuffled"),
            ("FD frozen", "clip3d_fd_frozen"), ("lenet-video FD", "video_fd"), ("its floor", "video_fd_floor_check"),
            ("shuffled", "video_fd_shuffled"), ("frozen", "video_fd_frozen"), ("content", "content_consistency"),
            ("content real", "content_consistency_real"), ("motion", "motion_plausibility"),
            ("motion real", "motion_plausibility_real"), ("motion shuffled", "motion_plausibility_shuffled"),
            ("motion frozen", "motion_plausibility_frozen"), ("frame FD", "frame_fd"),
            ("frame FD floor", "frame_fd_floor"),
            ("2x content", "long_content_consistency"), ("2x motion", "long_motion_plausibility")]
    head = ["arm", "seeds", "steps", "train min"] + [c for c, _ in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    speed = ["| arm | train clips/s | sample clips/s | peak RSS MB |", "|---|---|---|---|"]
    for arm in [a for a in ARMS if any(r["arm"] == a for r in rows)]:
        mine = [r for r in rows if r["arm"] == arm]
        cells = [arm, str(len(mine)), str(mine[0]["steps"]), _ms([r["train_wall_s"] / 60 for r in mine], ".1f")]
        lines.append("| " + " | ".join(cells + [_ms([r["metrics"].get(k) for r in mine]) for _, k in cols]) + " |")
        speed.append(f"| {arm} | {_ms([r['train_clips_per_s'] for r in mine], '.0f')} | "
                     f"{_ms([r['sample_clips_per_s'] for r in mine], '.0f')} | "
                     f"{_ms([r['peak_rss_mb'] for r in mine], '.0f')} |")
    body = (__doc__.split("\n\n", 2)[2].split("Results:")[0].strip()
            + f"\n\nGoals: {GOALS}. Mean ± sample std over seeds.\n\n" + "\n".join(lines) + "\n\n"
            + "\n".join(speed) + "\n\n"
            + footer(rows))
    write_section("video-mnist", "Video: MoCoGAN-class against a 3-D convolutional generator on Moving MNIST", body,
                  **section_target(path, RESULTS))


def main() -> None:
    a = arm_args(__doc__, ARMS, RESULTS, n_help="generated clips per evaluation")
    if not a.render:
        prov = provenance(vars(a))
        threads = a.threads or max(1, 2 // a.jobs)
        with ProcessPoolExecutor(a.jobs, max_tasks_per_child=1) as pool:
            futures = [pool.submit(one, arm, s, a.steps, threads, a.n, a.extra)
                       for s in a.seeds for arm in a.arms.split(",")]
            for f in futures:
                row = f.result()
                row["provenance"] = prov
                store_rows(a.results, [row], ("arm", "seed"))
                m = row["metrics"]
                print(row["arm"], row["seed"], f"FD {m['fd']:.3g}/{m['fd_floor']:.3g}",
                      f"content {m['content_consistency']:.2f} motion {m['motion_plausibility']:.2f}",
                      f"{row['train_wall_s']:.0f}s", flush=True)
    render(a.results)


if __name__ == "__main__":
    main()
