"""docs/benchmarks.md says what the results files say: the sections rendered from benchmarks/results/ are
re-rendered and compared (benchmarks/report.py --check)."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_rendered_sections_match_their_results():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "report.py"), "--check"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_a_hand_edited_figure_is_caught(tmp_path, monkeypatch):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        import _doc
        import report
    finally:
        sys.path.pop(0)
    doc = tmp_path / "benchmarks.md"
    text = open(_doc.DOC).read()
    block = _doc.sections(text)["faults"]
    edited = block.replace("| 20 |", "| 21 |", 1)
    assert edited != block
    doc.write_text(text.replace(block, edited))
    monkeypatch.setattr(_doc, "DOC", str(doc))
    assert report.check() == ["faults"]
