"""The ``voice`` evaluator: `ganforge eval RUN` for voice conversion runs (recipes/voice.py; metrics/voice.py says
what each figure is).

Both directions convert the held-out recordings (index 0-4) of their source speaker; for AtoB (``_atob``) and BtoA
(``_btoa``):
- ``speaker_*``: the share of converted clips the speaker classifier assigns to the target speaker, beside the same
  share for the unconverted source clips (``_source``, what conversion has to move) and for real clips of the target
  speaker (``_real``, the classifier's own ceiling);
- ``digit_*``: the FSDD digit classifier's accuracy on the converted clips against the digits spoken, beside the
  source clips, the source clips taken to spectrograms and back without conversion (``_resynth``: what the features
  and inversion alone lose) and real target-speaker clips.
- ``f0_*``: the median pitch (Hz) of the voiced frames of converted clips, beside sources and real target clips.
Figures without a suffix use the run's voice.phase; ``_gl`` the same with Griffin-Lim phases, ``_srcphase`` with the
input's phase. ``speaker_acc`` and ``digit_acc`` average the two directions (voice.phase). ``rtf`` (``_gl``,
``_srcphase``): conversion wall time (features, G, inversion) over the duration of the converted audio, one batch of
all clips.
"""
from __future__ import annotations

import time
from typing import Any

import torch

from ..core.errors import ConfigError
from ..metrics.audio import load_digit_classifier
from ..metrics.voice import digit_accuracy, load_speaker_classifier, median_f0, speaker_share
from .base import Evaluator, refuse, register_evaluator


def convert(recipe, clips: torch.Tensor, direction: str, phase: str | None = None) -> torch.Tensor:
    """Clips (N, 1, S) -> converted clips (N, 1, S), with voice.phase or ``phase``."""
    inputs = recipe.sample_inputs(conditions={"input": clips, "direction": direction})
    return recipe.waves(recipe.generate(inputs), inputs["stft"], phase)


def evaluate_run(g, *, n: int | None = None, seed: int = 0, **other: Any) -> dict[str, Any]:
    if other.get("extractor") == "auto":      # the command line's default: no feature space is chosen here
        other.pop("extractor")
    refuse("voice", other, ("n", "seed"), f"a {g.recipe.name} run")
    n = n or 1000
    if n < 4:
        raise ConfigError(f"--n {n} is too small; use at least 4")
    t0, r = time.perf_counter(), g.recipe
    rate = r.spec["rate"]
    sets = r.eval_sets(None, n)
    spk, dig = load_speaker_classifier(), load_digit_classifier()
    names = dict(zip("ab", g.data_info["speakers"]))
    m: dict[str, float] = {}
    for direction, src, tgt in (("atob", "a", "b"), ("btoa", "b", "a")):
        d = "AtoB" if direction == "atob" else "BtoA"
        clips, digits = sets[f"{src}_clips"], sets[f"{src}_digits"]
        seconds, phased = clips.shape[0] * clips.shape[-1] / rate, {}
        for k, phase in (("gl", "griffin-lim"), ("srcphase", "source")):
            start = time.perf_counter()
            phased[k] = convert(r, clips, d, phase)
            m[f"rtf_{direction}_{k}"] = (time.perf_counter() - start) / seconds
        own = "gl" if g.config.section("voice").phase == "griffin-lim" else "srcphase"
        out, m[f"rtf_{direction}"] = phased[own], m[f"rtf_{direction}_{own}"]
        inputs = r.sample_inputs(conditions={"input": clips, "direction": d})
        resynth = r.waves(inputs["source"], inputs["stft"])
        real = sets[f"{tgt}_clips"]
        m[f"speaker_{direction}"] = speaker_share(out, names[tgt], spk)
        m[f"digit_{direction}"] = digit_accuracy(out, digits, dig)
        m[f"f0_{direction}"] = median_f0(out, rate)[0]
        for k, x in phased.items():
            m[f"speaker_{direction}_{k}"] = speaker_share(x, names[tgt], spk)
            m[f"digit_{direction}_{k}"] = digit_accuracy(x, digits, dig)
            m[f"f0_{direction}_{k}"] = median_f0(x, rate)[0]
        m[f"speaker_{direction}_source"] = speaker_share(clips, names[tgt], spk)
        m[f"speaker_{direction}_real"] = speaker_share(real, names[tgt], spk)
        m[f"digit_{direction}_source"] = digit_accuracy(clips, digits, dig)
        m[f"digit_{direction}_resynth"] = digit_accuracy(resynth, digits, dig)
        m[f"digit_{direction}_real"] = digit_accuracy(real, sets[f"{tgt}_digits"], dig)
        m[f"f0_{direction}_source"], m[f"f0_{direction}_real"] = median_f0(clips, rate)[0], median_f0(real, rate)[0]
    for k in ("speaker", "digit", "rtf"):
        for suffix in ("", "_gl", "_srcphase"):
            name = (f"{k}_acc" if k != "rtf" else k) + suffix
            m[name] = (m[f"{k}_atob{suffix}"] + m[f"{k}_btoa{suffix}"]) / 2
    proto = {"recipe": r.name, "n_a": len(sets["a"]), "n_b": len(sets["b"]), "speakers": list(names.values()),
             "phase": g.config.section("voice").phase, "speaker_classifier": spk.sha256[:16],
             "speaker_classifier_test_accuracy": spk.card.get("test_accuracy"), "digit_classifier": dig.sha256[:16],
             "seed": seed, "checkpoint": g.checkpoint, "step": g.step, "elapsed_s": round(time.perf_counter() - t0, 3)}
    return {"metrics": {k: round(float(v), 5) for k, v in m.items()}, "protocol": proto}


def evaluate_files(real: str, fake: str, **options: Any) -> dict[str, Any]:
    raise ConfigError("voice conversion is measured on a run (`ganforge eval RUN`), not on two files")


def format_result(res: dict[str, Any]) -> str:
    rows = [f"{'metric':<24}{'value':>10}"] + [f"{k:<24}{v:>10.4g}" for k, v in res["metrics"].items()]
    p = res["protocol"]
    rows.append("protocol: " + " ".join(f"{k}={p[k]}" for k in ("recipe", "n_a", "n_b", "speakers", "phase", "step",
                                                                "elapsed_s")))
    return "\n".join(rows)


register_evaluator("voice", Evaluator(run=evaluate_run, files=evaluate_files, format=format_result, stem="voice-"))

__all__ = ["evaluate_run", "convert", "format_result"]
