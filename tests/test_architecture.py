"""The layout keeps its promises: no import cycles, and the training loop names no model, loss or data format."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def import_graph() -> dict[str, set[str]]:
    """module -> the ganforge modules it imports (anywhere in the file, lazy imports included)."""
    mods = {}
    for path in (SRC / "ganforge").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        pkg = m if path.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                parts = pkg.split(".")
                base = (".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
                        if node.level else node.module or "")
                for alias in node.names:
                    target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in mods else base
                    if target in mods and target != m:
                        edges[m].add(target)
            elif isinstance(node, ast.Import):
                edges[m].update(a.name for a in node.names if a.name in mods and a.name != m)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = stack[stack.index(v):]
            del stack[stack.index(v):]
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_loop_names_no_network_loss_or_data_format():
    edges = import_graph()
    for module in ("ganforge.engine.loop", "ganforge.engine.batches", "ganforge.engine.ema"):
        banned = {m for m in edges[module] if m.startswith(("ganforge.nets", "ganforge.losses", "ganforge.data.",
                                                             "ganforge.recipes.gan", "ganforge.recipes.tabular"))}
        assert banned == set(), (module, banned)


def test_lower_floors_do_not_import_upper_ones():
    upper = ("ganforge.api", "ganforge.cli", "ganforge.engine", "ganforge.evaluation", "ganforge.export",
             "ganforge.explore", "ganforge.report", "ganforge.apps")
    for module, targets in import_graph().items():
        if module.startswith(("ganforge.core", "ganforge.nets", "ganforge.losses", "ganforge.data",
                              "ganforge.recipes", "ganforge.diffaug", "ganforge.config", "ganforge.metrics")):
            assert not {t for t in targets if t.startswith(upper)}, module
