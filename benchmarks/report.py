"""docs/benchmarks.md from the results files, for every benchmark that renders its section from them alone.

    python benchmarks/report.py            # rewrite those sections (and their pictures) from benchmarks/results/
    python benchmarks/report.py --check    # exit 1 naming each section whose committed text the results do not give

The benchmarks in RENDERED keep every figure of their section in benchmarks/results/<name>.json (with the
provenance of each run) and write the section from it; `--check` renders them into a copy of the document
and compares, so a hand-edited figure or a stale section fails the test suite. The other sections are
still written by their benchmark runs directly.
"""
from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _doc  # noqa: E402

RENDERED = ["ab_engine", "faults", "toy2d", "tabular_vs_ctgan", "text_oracle", "text_shakespeare", "audio_fsdd",
            "music_chorales", "translate_digits", "detect_mnist", "watermark_mnist", "text2image_mnist",
            "privacy_tabular", "image_fidelity", "voice_fsdd"]


def render_all() -> None:
    for name in RENDERED:
        importlib.import_module(name).render()


def check() -> list[str]:
    """Names of the sections whose rendering differs from the committed document (or is missing from it)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "benchmarks.md")
        shutil.copyfile(_doc.DOC, copy)
        before = _doc.TARGET, _doc.PLOTS
        _doc.TARGET, _doc.PLOTS = copy, False
        try:
            render_all()
        finally:
            _doc.TARGET, _doc.PLOTS = before
        with open(copy) as f:
            rendered = _doc.sections(f.read())
    with open(_doc.DOC) as f:
        committed = _doc.sections(f.read())
    return sorted(k for k, v in rendered.items() if committed.get(k) != v)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    if not a.check:
        render_all()
        return 0
    stale = check()
    if stale:
        print(f"docs/benchmarks.md differs from benchmarks/results/ in: {', '.join(stale)}; "
              "run `python benchmarks/report.py` and commit the result", file=sys.stderr)
        return 1
    print(f"docs/benchmarks.md matches the results files ({len(RENDERED)} benchmarks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
