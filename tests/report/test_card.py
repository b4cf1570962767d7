"""Model cards: written beside exported weights and beside the report, from the run's own records (the newest
evaluation with its floors, the memorisation check when run), naming the checkpoint by its sha256."""
from __future__ import annotations

import json
import os

import ganforge
from ganforge.cli import main
from ganforge.core.provenance import sha256_of


def test_cards_from_export_and_report_carry_the_run_records(tmp_path, tiny, capsys):
    run = ganforge.train("digits", steps=4, out=str(tmp_path / "run"), overrides=tiny).run_dir
    assert main(["report", run]) == 0
    card = open(os.path.join(run, "MODEL_CARD.md")).read()
    assert "No evaluation recorded" in card and "## Memorisation\n\nNot measured" in card
    assert "MODEL_CARD.md</a>" in open(os.path.join(run, "report.html")).read()
    assert main(["eval", run, "--n", "200", "--metrics", "fd,pr"]) == 0
    evaluation = json.load(open(os.path.join(run, "eval", os.listdir(os.path.join(run, "eval"))[0])))
    m = evaluation["metrics"]
    assert main(["export", run, "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    card = open(tmp_path / "hf" / "MODEL_CARD.md").read()
    ckpt = ganforge.load(run).checkpoint
    assert sha256_of(ckpt) in card and "step 4 of 4 planned" in card and "generates images" in card
    assert f"| fd | {m['fd']:.4g} | {m['fd_floor']:.4g} |" in card
    assert f"is {m['fd'] / m['fd_floor']:.1f}x its real-vs-real floor" in card
    assert "- n: 1797" in card and "## Out of scope" in card and "ganforge provenance FILE" in card
    assert main(["export", run, "--out", str(tmp_path / "g.onnx")]) == 0
    assert "model card: " in capsys.readouterr().out
    onnx_card = open(tmp_path / "g.MODEL_CARD.md").read()
    assert "exported weights: `g.onnx`" in onnx_card
    assert onnx_card[onnx_card.index("## Model"):] == card[card.index("## Model"):]
