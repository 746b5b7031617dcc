"""The layer catalog: every module in this package that defines KIND registers it."""
from __future__ import annotations

import importlib
import pkgutil

from .spec import LayerKind

_KINDS: dict[str, LayerKind] = {}


def _collect() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "spec":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        kind = getattr(module, "KIND", None)
        if isinstance(kind, LayerKind):
            if kind.name in _KINDS:
                raise RuntimeError(f"layer kind {kind.name!r} defined twice")
            _KINDS[kind.name] = kind


def all_kinds() -> dict[str, LayerKind]:
    if not _KINDS:
        _collect()
    return dict(_KINDS)


def get_kind(name: str) -> LayerKind | None:
    return all_kinds().get(name)


CATEGORIES = ("Data", "Core", "Activation", "Combine", "Loss")
