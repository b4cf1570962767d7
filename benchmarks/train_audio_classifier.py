"""Train the spoken-digit classifier behind the ``fsdd-mel`` feature space and ship its weights.

    GANFORGE_DATA=../shared/datasets python benchmarks/train_audio_classifier.py [--seed 0] [--steps 3000]

Data: the Free Spoken Digit Dataset as the `fsdd` preset reads it (8 kHz, 8,192 samples, centred, peak
normalised); training on the 2,700 recordings with index 5-49, testing on the 300 with index 0-4 (the
data set's own convention, the same split the audio metrics use as real reference). Model:
metrics/audio.py DigitNet on per-clip standardised log-mel images (40 bands, n_fft 256, hop 64). Training:
Adam 1e-3, batch 64, each clip shifted in time by up to 1,000 samples (circularly) per batch; then the
batch-norm statistics are estimated again in one pass over the unshifted training clips (the running
averages taken during training, on shifted clips, cost 6 points of held-out accuracy). Writes
src/ganforge/weights/fsdd-mel.safetensors and its card fsdd-mel.json (test accuracy, sha256, settings).
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
from ganforge.data import load_dataset  # noqa: E402
from ganforge.data.audio import load_part  # noqa: E402
from ganforge.metrics.audio import HOP, N_FFT, N_MELS, DigitNet, log_mel, standardise  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "ganforge", "weights")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=3000)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    cfg = resolve_config("fsdd")
    train, test = load_dataset(cfg, seed=0), load_part(cfg, 0, "test")
    rate = cfg.section("audio").rate
    mel = lambda x: standardise(log_mel(x, rate)).unsqueeze(1)  # noqa: E731
    net = DigitNet(10)
    g = torch.Generator().manual_seed(a.seed)
    fit_shifted(net, train.x, train.y, mel, a.steps, 64, g, 500)
    with torch.no_grad():   # batch-norm statistics again, from the unshifted training clips (shifted ones skew them)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None                                   # a plain average over the pass
        order = torch.randperm(len(train), generator=g)
        for i in range(0, len(train), 64):
            net.body(mel(train.x[order[i:i + 64]]))
    net.eval()
    with torch.no_grad():
        acc = float((net(mel(test.x)).argmax(1) == test.y).float().mean())
        train_acc = float((net(mel(train.x)).argmax(1) == train.y).float().mean())
    from safetensors.torch import save_file
    path = os.path.join(OUT, "fsdd-mel.safetensors")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
    from ganforge.core.frozen import file_sha256
    card = {"name": "fsdd-mel", "data": "FSDD, 8 kHz, 8,192 samples; train index 5-49 (2,700), test index 0-4 (300)",
            "classes": 10, "rate": rate, "samples": cfg.section("audio").samples, "n_fft": N_FFT, "hop": HOP,
            "n_mels": N_MELS, "test_accuracy": round(acc, 4), "train_accuracy": round(train_acc, 4),
            "steps": a.steps, "seed": a.seed, "sha256": file_sha256(path),
            "trained_by": "python benchmarks/train_audio_classifier.py", "provenance": provenance(vars(a))}
    with open(os.path.join(OUT, "fsdd-mel.json"), "w") as f:
        json.dump(card, f, indent=2)
    print("test accuracy", acc, "train accuracy", train_acc)


if __name__ == "__main__":
    main()
