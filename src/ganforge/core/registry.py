"""Registries: the parts of every modality, found by name.

A modality is a bundle of named parts: a recipe (with its own config section and presets), data
sources, networks, losses, metrics, feature extractors, sample writers and evaluators. Each part
registers itself in the registry of its kind when its module is imported, so the CLI, the API,
checkpoints, evaluation, reports and export find it without any list being edited:

- built-in parts are found by importing every module of the packages a registry scans
  (``ganforge.recipes``, ``ganforge.data``, ...): a new built-in modality is new files only;
- other packages add parts through the entry point group ``ganforge.recipes``. Each entry point
  names a module (``toy = mypkg.ganforge_plugin``); importing it registers whatever it defines,
  as pytest plug-ins do.

Registries live here, at the bottom of the package, so that ``config`` can derive its allowed
values from them without importing the packages above it.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

from .errors import ConfigError

ENTRY_POINT_GROUP = "ganforge.recipes"
_plugins_loaded = False


def load_plugins() -> list[str]:
    """Import every module named in the ``ganforge.recipes`` entry point group (once); returns their names.

    A plug-in that fails to import is a one-line error naming it, not a traceback deep in a command."""
    global _plugins_loaded
    if _plugins_loaded:
        return []
    _plugins_loaded = True
    from importlib.metadata import entry_points
    names = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as e:  # a broken plug-in must not look like a ganforge bug
            raise ConfigError(f"cannot load the ganforge plug-in '{ep.name}' ({ep.value}): "
                              f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
        names.append(ep.name)
    return names


class Registry:
    """Name -> part, for one kind of part. ``scan`` lists packages (or modules) whose modules are
    imported on first use so that their parts register themselves."""

    def __init__(self, kind: str, scan: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.scan = scan
        self._items: dict[str, Any] = {}
        self._loaded = False

    # -- registering --------------------------------------------------------------------------
    def register(self, name: str, obj: Any = None, *, replace: bool = False) -> Any:
        """``REG.register("name", obj)``, or as a decorator ``@REG.register("name")``."""
        if obj is None:
            return lambda o: self.register(name, o, replace=replace)
        name = str(name)
        old = self._items.get(name)
        if old is not None and old is not obj and not replace and not _same_definition(old, obj):
            raise ConfigError(f"{self.kind} '{name}' is registered twice ({_where(old)} and {_where(obj)}); "
                              "give one of them another name")
        self._items[name] = obj
        return obj

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    # -- finding ------------------------------------------------------------------------------
    def load(self) -> Registry:
        """Import the scanned built-in modules and the plug-ins (once)."""
        if not self._loaded:
            self._loaded = True
            for target in self.scan:
                import_all(target)
            load_plugins()
        return self

    def get(self, name: str, what: str = "") -> Any:
        """The part called ``name``; a one-line ConfigError with the nearest name otherwise."""
        self.load()
        if name in self._items:
            return self._items[name]
        raise ConfigError(f"unknown {what or self.kind} '{name}'" + suggest(str(name), self.names()))

    def names(self) -> list[str]:
        return sorted(self.load()._items)

    def items(self) -> list[tuple[str, Any]]:
        return sorted(self.load()._items.items())

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.load()._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.load()._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._items)})"


def suggest(name: str, valid: list[str], cutoff: float = 0.5) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=cutoff)
    return f" (did you mean '{close[0]}'?)" if close else f" (valid: {', '.join(valid)})"


def import_all(target: str) -> None:
    """Import a module, or every module of a package (sub-packages too), skipping ``_private`` ones."""
    mod = importlib.import_module(target)
    path = getattr(mod, "__path__", None)
    if path is None:
        return
    for info in pkgutil.walk_packages(path, prefix=target + "."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            importlib.import_module(info.name)


def _where(obj: Any) -> str:
    mod = getattr(obj, "__module__", None) or type(obj).__module__
    return f"{mod}.{getattr(obj, '__qualname__', type(obj).__name__)}"


def _same_definition(old: Any, new: Any) -> bool:
    """A module imported twice (``python -m`` and by name, or reloaded) registers equal parts again."""
    return _where(old) == _where(new) and not isinstance(old, (dict, list))


# ------------------------------------------------------------------------------------------------
# The registries. What each part is: see the module that defines the part's type.

RECIPES = Registry("recipe", scan=("ganforge.recipes",))            # name -> Recipe subclass
SECTIONS = Registry("config section", scan=("ganforge.recipes", "ganforge.data"))  # name -> dataclass
PRESETS = Registry("preset", scan=("ganforge.recipes",))            # name -> {section: {key: value}}
SOURCES = Registry("data source", scan=("ganforge.data",))          # name -> data.sources.Source
ARCHS = Registry("network architecture", scan=("ganforge.nets",))   # name -> nets.Arch
LOSSES = Registry("loss", scan=("ganforge.losses",))                # name -> losses.LossSpec
METRICS = Registry("metric", scan=("ganforge.metrics",))            # name -> metrics.registry.MetricSpec
EXTRACTORS = Registry("feature extractor", scan=("ganforge.metrics",))  # name -> metrics.extractors.ExtractorSpec
WRITERS = Registry("sample writer", scan=("ganforge.core",))      # name -> core.writers.Writer
EVALUATORS = Registry("evaluator", scan=("ganforge.evaluation",))   # name -> evaluation.Evaluator

ALL = {"recipes": RECIPES, "sections": SECTIONS, "presets": PRESETS, "sources": SOURCES, "archs": ARCHS,
       "losses": LOSSES, "metrics": METRICS, "extractors": EXTRACTORS, "writers": WRITERS, "evaluators": EVALUATORS}


__all__ = ["Registry", "RECIPES", "SECTIONS", "PRESETS", "SOURCES", "ARCHS", "LOSSES", "METRICS", "EXTRACTORS",
           "WRITERS", "EVALUATORS", "ALL", "ENTRY_POINT_GROUP", "load_plugins", "import_all", "suggest"]
