"""Spec options: what each key accepts and its default. Checkers return None or what was expected."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .csv_import import normalize_delimiter

REQUIRED = object()  # default marker: the key must be given

Check = Callable[[Any], "str | None"]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    return (_is_int(v) or isinstance(v, float)) and v == v and abs(v) != float("inf")


def number(lo: float, hi: float, hi_open: bool = False) -> Check:
    bracket = ")" if hi_open else "]"
    ok = (lambda v: lo <= v < hi) if hi_open else (lambda v: lo <= v <= hi)
    return lambda v: None if is_number(v) and ok(v) else f"expected a number in [{lo}, {hi}{bracket}"


def integer(lo: int | None = None, hi: int | None = None) -> Check:
    words = "an integer" + (f" in [{lo}, {hi}]" if hi is not None else f" >= {lo}" if lo is not None else "")
    return lambda v: None if _is_int(v) and (lo is None or v >= lo) and (hi is None or v <= hi) else f"expected {words}"


def choice(*values, optional: bool = False) -> Check:
    words = " or ".join(repr(v) for v in values) + (" or null" if optional else "")
    return lambda v: None if v in values and not isinstance(v, bool) or (optional and v is None) else f"expected {words}"


def boolean(optional: bool = False) -> Check:
    words = "true or false" + (" or null (detect)" if optional else "")
    return lambda v: None if isinstance(v, bool) or (optional and v is None) else f"expected {words}"


def text(v) -> str | None:
    return None if isinstance(v, str) and v else "expected a non-empty string"


def optional_path(v) -> str | None:
    return None if v is None else text(v)


def label(v) -> str | None:
    def one(u):
        return _is_int(u) or (isinstance(u, str) and u != "")
    ok = one(v) or (isinstance(v, list) and v and all(one(u) for u in v))
    return None if ok else "expected a column name, a column index, or a list of them (regression targets)"


def delimiter(v) -> str | None:
    ok = v is None or (isinstance(v, str) and len(normalize_delimiter(v)) == 1 and v not in '"\r\n')
    return None if ok else "expected one character (or \"tab\"), or null to detect it"


def size(v) -> str | None:
    ok = isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_int(u) and 1 <= u <= 4096 for u in v)
    return None if ok else "expected [height, width], two integers in [1, 4096]"


MISSING = choice("error", "drop", "fill_mean", "fill_zero")
TASK = choice("classification", "regression", optional=True)


@dataclass(frozen=True)
class Option:
    check: Check
    default: Any


COMMON = {
    "scale": Option(choice("standard", "minmax", "none"), None),  # None: the source's default
    "val_ratio": Option(number(0, 1, hi_open=True), 0.0),
    "test_ratio": Option(number(0, 1, hi_open=True), 0.2),
    "seed": Option(integer(0, 2**63 - 1), 0),
}

PLAYGROUND = {"samples": Option(integer(4, 1_000_000), 500), "noise": Option(number(0, 1), 0.0)}

# Each file format's own options (besides COMMON).
FORMAT_OPTIONS = {
    "csv": {"label": Option(label, -1), "delimiter": Option(delimiter, None), "header": Option(boolean(True), None),
            "missing": Option(MISSING, "error"), "task": Option(TASK, None)},
    "npz": {"x": Option(text, "x"), "y": Option(text, "y"), "missing": Option(MISSING, "error"),
            "task": Option(TASK, None)},
    "npy": {"labels": Option(optional_path, None), "label": Option(integer(), -1), "missing": Option(MISSING, "error"),
            "task": Option(TASK, None)},
    "idx": {"labels": Option(text, REQUIRED), "test_path": Option(optional_path, None),
            "test_labels": Option(optional_path, None), "flatten": Option(boolean(), False)},
    "images": {"size": Option(size, [28, 28]), "color": Option(choice("gray", "rgb"), "gray"),
               "flatten": Option(boolean(), False)},
}
DIGITS = {"layout": Option(choice("flat", "image"), "flat")}
