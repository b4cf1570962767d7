"""Train the two-speaker classifier behind the voice conversion figures and ship its weights.

    GANFORGE_DATA=../shared/datasets python benchmarks/train_speaker_classifier.py [--seed 0] [--steps 600]

Data: the recordings of the ``fsdd-speakers`` preset's two speakers (voice.speaker_a, voice.speaker_b) as that
preset reads them (8 kHz, the middle 6,144 samples, peak 0.95); training on the recordings with index 5-49, testing
on those with index 0-4 (FSDD's convention; the clips voice conversion is measured on). Model: metrics/voice.py
(the FSDD digit CNN with two outputs, on per-clip standardised log-magnitude spectrograms). Training: Adam 1e-3,
batch 32, each batch shifted in time by up to 1,000 samples (circularly); then the batch-norm statistics are
estimated again in one pass over the unshifted training clips. Writes src/ganforge/weights/fsdd-speakers.safetensors
and its card fsdd-speakers.json (test accuracy, sha256, settings).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _clipnet import fit_shifted  # noqa: E402
from _doc import provenance  # noqa: E402

from ganforge.api import resolve_config  # noqa: E402
from ganforge.data import source_of  # noqa: E402
from ganforge.data.voice import speakers  # noqa: E402
from ganforge.metrics.audio import DigitNet  # noqa: E402
from ganforge.metrics.voice import HOP, N_FFT, speaker_features  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "ganforge", "weights")


def split(cfg, part: str) -> tuple[torch.Tensor, torch.Tensor]:
    p = speakers(cfg, source_of(cfg)[2], part)
    return torch.cat([p["a"], p["b"]]), torch.cat([torch.zeros(len(p["a"])), torch.ones(len(p["b"]))]).long()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=600)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    cfg = resolve_config("fsdd-speakers")
    v = cfg.section("voice")
    (x, y), (xt, yt) = split(cfg, "train"), split(cfg, "test")
    net = DigitNet(2)
    fit_shifted(net, x, y, speaker_features, a.steps, 32, torch.Generator().manual_seed(a.seed), 100)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        for i in range(0, len(x), 64):
            net.body(speaker_features(x[i:i + 64]))
        net.eval()
        acc = float((net(speaker_features(xt)).argmax(1) == yt).float().mean())
        train_acc = float((net(speaker_features(x)).argmax(1) == y).float().mean())
    from safetensors.torch import save_file
    path = os.path.join(OUT, "fsdd-speakers.safetensors")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
    from ganforge.core.frozen import file_sha256
    a_cfg = cfg.section("audio")
    card = {"name": "fsdd-speakers", "speakers": [v.speaker_a, v.speaker_b],
            "data": f"FSDD speakers {v.speaker_a} and {v.speaker_b}, 8 kHz, {a_cfg.samples} samples; train index 5-49 "
                    f"({len(x)}), test index 0-4 ({len(xt)})",
            "rate": a_cfg.rate, "samples": a_cfg.samples, "n_fft": N_FFT, "hop": HOP,
            "test_accuracy": round(acc, 4), "train_accuracy": round(train_acc, 4), "steps": a.steps, "seed": a.seed,
            "sha256": file_sha256(path), "trained_by": "python benchmarks/train_speaker_classifier.py",
            "provenance": provenance(vars(a))}
    with open(os.path.join(OUT, "fsdd-speakers.json"), "w") as f:
        json.dump(card, f, indent=2)
    print("test accuracy", acc, "train accuracy", train_acc)


if __name__ == "__main__":
    main()
