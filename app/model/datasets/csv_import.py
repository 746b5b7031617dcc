"""CSV importer: numeric feature columns and one label column (or several regression targets)."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from .core import DatasetError, Imported
from .fileio import read_text

# Cells that mean "no value" (compared lower-case, stripped).
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "?"})
SNIFF_DELIMITERS = ",;\t"
TOO_MANY_CLASSES = 50  # above this, integer labels are probably a regression target


def normalize_delimiter(d: str | None) -> str | None:
    """Accept the spellings a person types for a tab."""
    return "\t" if d in ("tab", "\\t") else d


def read_csv(path: Path, label: int | str | list = -1, delimiter: str | None = None,
             header: bool | None = None, missing: str = "error", task: str | None = None) -> Imported:
    text = read_text(path)
    if not text.strip():
        raise DatasetError(f"{path}: the file is empty")
    delimiter = normalize_delimiter(delimiter) or _sniff_delimiter(text)
    parsed = None
    if '"' not in text:
        parsed = _parse_plain(path, text, delimiter, label, header)
    if parsed is None:
        parsed = _parse_careful(path, text, delimiter, label, header, missing)
    table, targets, features, x, label_cells, notes = parsed
    y, task, class_names = _labels(table, targets, label_cells, task, notes)
    return Imported(
        x=x, y=y, task=task, num_classes=len(class_names) if class_names is not None else None,
        feature_names=[table.names[j] for j in features], class_names=class_names,
        source=str(path), notes=notes)


def _layout(path: Path, first_rows: list, header: bool | None, label):
    """(header, column names, label columns, feature columns) from the first records."""
    width = len(first_rows[0][1])
    if header is None:
        header = _looks_like_header(first_rows)
    names = [c.strip() or f"col{j}" for j, c in enumerate(first_rows[0][1])] if header else \
        [f"col{j}" for j in range(width)]
    targets = _label_columns(path, label, names, header)
    features = [j for j in range(width) if j not in targets]
    if not features:
        hint = "; one column in all: is the delimiter right? (set it, e.g. ';', '|' or tab)" if width == 1 else ""
        raise DatasetError(f"{path}: no feature columns left besides the label column{hint}")
    return header, names, targets, features


def _parse_plain(path: Path, text: str, delimiter: str, label, header: bool | None):
    """The common clean file (no quotes, nothing missing) at C speed, without a cell per string.

    Returns None at anything unusual, so the careful parser gives the exact message.
    """
    lines = [(i, s) for i, s in enumerate((s.rstrip("\r") for s in text.split("\n")), 1) if s.strip()]
    header, names, targets, features = _layout(path, [(i, s.split(delimiter)) for i, s in lines[:1 + HEADER_LOOKAHEAD]],
                                               header, label)
    body = lines[1:] if header else lines
    if not body or any(s.count(delimiter) != len(names) - 1 for _, s in body):
        return None
    try:
        x = np.loadtxt([s for _, s in body], delimiter=delimiter, usecols=features, dtype=np.float32,
                       comments=None, ndmin=2)
    except ValueError:
        return None
    if not np.isfinite(x).all():
        return None
    if targets == [len(names) - 1]:  # the usual places, without splitting whole rows
        label_cells = [[s.rsplit(delimiter, 1)[1].strip()] for _, s in body]
    elif targets == [0]:
        label_cells = [[s.split(delimiter, 1)[0].strip()] for _, s in body]
    else:
        label_cells = [[cells[j].strip() for j in targets] for cells in (s.split(delimiter) for _, s in body)]
    if any(c.lower() in MISSING_MARKERS for row in label_cells for c in row):
        return None
    return _Table(path, body, names), targets, features, x, label_cells, []


def _parse_careful(path: Path, text: str, delimiter: str, label, header: bool | None, missing: str):
    """The csv module, cell by cell: quotes, missing values, and messages that name the place."""
    rows = _read_rows(path, text, delimiter)
    width = len(rows[0][1])
    for line, cells in rows:
        if len(cells) != width:
            raise DatasetError(f"{path}: line {line}: expected {width} fields (as in line {rows[0][0]}), "
                               f"found {len(cells)}")
    header, names, targets, features = _layout(path, rows[:1 + HEADER_LOOKAHEAD], header, label)
    body = rows[1:] if header else rows
    if not body:
        raise DatasetError(f"{path}: has a header row but no data rows")

    table = _Table(path, body, names)
    x = table.numbers(features, what="a number")
    label_cells = [[cells[j].strip() for j in targets] for _, cells in body]
    label_missing = np.zeros(len(body), bool)
    for r, ((line, _), row) in enumerate(zip(body, label_cells)):
        for j, c in zip(targets, row):
            if c.lower() in MISSING_MARKERS:
                label_missing[r] = True
                table.note_missing(line, j, c)
    if table.missing_count and missing == "error":
        line, j, value = table.first_missing
        raise DatasetError(
            f"{path}: line {line}, {_column(names, j)}: missing value {value!r} "
            f"({table.missing_count} missing cell(s) in all); set \"missing\" to \"drop\", "
            f"\"fill_mean\" or \"fill_zero\" to handle them")

    notes = []
    if label_missing.any():  # a label can't be filled in, so those rows go whatever the mode
        keep = ~label_missing
        notes.append(f"dropped {int(label_missing.sum())} row(s) with a missing label")
        x, body = x[keep], [r for r, k in zip(body, keep) if k]
        label_cells = [r for r, k in zip(label_cells, keep) if k]
    if not body:
        raise DatasetError(f"{path}: no rows left with a label")
    return _Table(path, body, names), targets, features, x, label_cells, notes


def _sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    if "\n" in sample[:-1]:
        sample = sample[: sample.rindex("\n", 0, len(sample) - 1)]  # whole lines only: a cut line misleads it
    try:
        return csv.Sniffer().sniff(sample, delimiters=SNIFF_DELIMITERS).delimiter
    except csv.Error:
        # One column, or no pattern the sniffer trusts: take the commonest candidate on line 1.
        first = sample.splitlines()[0]
        best = max(SNIFF_DELIMITERS, key=first.count)
        return best if first.count(best) else ","


def _read_rows(path: Path, text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(1-based line where the record starts, cells) for every non-blank record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True, strict=True)
    rows, prev_end = [], 0
    try:
        for cells in reader:
            if len(cells) > 1 or (cells and cells[0].strip()):
                rows.append((prev_end + 1, cells))
            prev_end = reader.line_num
    except csv.Error as e:
        raise DatasetError(f"{path}: line {reader.line_num}: {e}") from None
    if not rows:
        raise DatasetError(f"{path}: the file is empty")
    return rows


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


HEADER_LOOKAHEAD = 20     # records looked at below the first to decide whether it is a header


def _looks_like_header(rows) -> bool:
    """A header has a non-number where its column's first present value below is a number
    (present: not a missing marker, so a first data row of blanks doesn't hide the header)."""
    first = rows[0][1]
    if len(rows) == 1:
        return not any(_is_number(c) for c in first)

    def below(j):
        return next((cells[j] for _, cells in rows[1:] if j < len(cells)
                     and cells[j].strip().lower() not in MISSING_MARKERS), "")
    return any(not _is_number(a) and a.strip().lower() not in MISSING_MARKERS and _is_number(below(j))
               for j, a in enumerate(first))


def _column(names: list[str], j: int) -> str:
    return f"column '{names[j]}' (index {j})"


def _label_columns(path: Path, label, names: list[str], header: bool) -> list[int]:
    width, out = len(names), []
    for item in label if isinstance(label, list) else [label]:
        if isinstance(item, int):
            j = item + width if item < 0 else item
            if not 0 <= j < width:
                raise DatasetError(f"{path}: label column index {item} is out of range: the file has {width} columns")
        elif not header:
            raise DatasetError(f"{path}: label column {item!r} is given by name, but the file has no header row; "
                               f"give its index instead (0..{width - 1}, or -1 for the last)")
        else:
            found = [j for j, n in enumerate(names) if n == item]
            if not found:
                raise DatasetError(f"{path}: no column named {item!r}; the columns are: {', '.join(names)}")
            if len(found) > 1:
                raise DatasetError(f"{path}: {len(found)} columns are named {item!r}; give the label by index")
            j = found[0]
        if j in out:
            raise DatasetError(f"{path}: label column {item!r} is given twice")
        out.append(j)
    return out


class _Table:
    """The data rows, and where each value came from, for messages that name the place."""

    def __init__(self, path: Path, body, names: list[str]):
        self.path, self.body, self.names = path, body, names
        self.missing_count, self.first_missing = 0, None

    def note_missing(self, line: int, j: int, cell: str) -> None:
        self.missing_count += 1
        place = (line, j, cell)
        self.first_missing = min(self.first_missing, place) if self.first_missing else place

    def number(self, line: int, j: int, cell: str, what: str) -> float:
        try:
            v = float(cell)
        except ValueError:
            v = None
        if v is None or not math.isfinite(v):
            raise DatasetError(f"{self.path}: line {line}, {_column(self.names, j)}: expected {what}, got {cell!r}")
        return v

    def numbers(self, columns: list[int], what: str) -> np.ndarray:
        """float32 (rows, columns); missing cells become NaN and are counted."""
        x = np.empty((len(self.body), len(columns)), np.float32)
        for r, (line, cells) in enumerate(self.body):
            try:  # fast path: a clean row
                row = [float(cells[j]) for j in columns]
                if all(map(math.isfinite, row)):
                    x[r] = row
                    continue
            except ValueError:
                pass
            for c, j in enumerate(columns):
                if cells[j].strip().lower() in MISSING_MARKERS:
                    x[r, c] = np.nan
                    self.note_missing(line, j, cells[j])
                else:
                    x[r, c] = self.number(line, j, cells[j].strip(), what)
        return x


def _labels(table: _Table, targets: list[int], cells: list[list[str]], task: str | None, notes: list[str]):
    """-> (y, task, class_names). Integer-looking labels are classes; other numbers are regression."""
    flat = [c for row in cells for c in row]
    if task is None:
        if len(targets) > 1:
            task = "regression"
        elif all(_is_int(c) for c in flat):
            task = "classification"
        else:
            task = "regression" if all(_is_number(c) for c in flat) else "classification"
    if task == "regression":
        y = np.array([[table.number(line, j, c, "a number as regression target") for j, c in zip(targets, row)]
                      for (line, _), row in zip(table.body, cells)], dtype=np.float32)
        return y, task, None
    if len(targets) > 1:
        raise DatasetError(f"{table.path}: classification takes one label column, got {len(targets)}")
    values = [row[0] for row in cells]
    if all(_is_int(v) for v in values):
        keys = sorted({int(v) for v in values})
        index = {k: i for i, k in enumerate(keys)}
        y = np.array([index[int(v)] for v in values], dtype=np.int64)
        names = [str(k) for k in keys]
        if len(keys) > TOO_MANY_CLASSES:
            notes.append(f"{len(keys)} distinct integer labels taken as classes; set \"task\" to \"regression\" "
                         f"if they are quantities")
    else:
        names = sorted(set(values))
        index = {k: i for i, k in enumerate(names)}
        y = np.array([index[v] for v in values], dtype=np.int64)
    return y, "classification", names


def _is_int(s: str) -> bool:
    try:
        int(s)
        return True
    except ValueError:
        return False
