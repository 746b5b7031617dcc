"""NPZ / NPY importer. Never unpickles: object arrays are refused."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..files import check_regular
from .core import DatasetError, Imported, class_labels

NUMERIC_KINDS = "biuf"


def read_npz(path: Path, x: str = "x", y: str = "y", task: str | None = None) -> Imported:
    """Arrays `x` and `y`; when the archive also holds `<x>_test` and `<y>_test`, they are the test split."""
    f = _load(path)
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise DatasetError(f"{path}: holds a single array, not an .npz archive; use format \"npy\"")
    with f:
        xs, ys = _member(f, path, x), _member(f, path, y)
        test = None
        if f"{x}_test" in f.files and f"{y}_test" in f.files:
            test = (_member(f, path, f"{x}_test"), _member(f, path, f"{y}_test"))
    return from_arrays(path, xs, ys, test, task, names=(x, y))


def read_npy(path: Path, labels: Path | None = None, label: int = -1, task: str | None = None) -> Imported:
    """Features from one .npy and labels from another, or one 2-D array with a label column."""
    a = _load(path)
    if labels is not None:
        return from_arrays(path, a, _load(labels), None, task, names=(str(path), str(labels)))
    if a.ndim != 2 or a.shape[1] < 2:
        raise DatasetError(f"{path}: without a \"labels\" file the array must be 2-D with a label column, "
                           f"got shape {a.shape}")
    j = label + a.shape[1] if label < 0 else label
    if not 0 <= j < a.shape[1]:
        raise DatasetError(f"{path}: label column index {label} is out of range: the array has {a.shape[1]} columns")
    _check_plain(a, path, "the array")
    y = a[:, j]
    if task is None and y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        task = "classification"  # a whole-number column in a float table is a class column
    return from_arrays(path, np.delete(a, j, axis=1), y, None, task, names=("features", f"column {j}"))


def from_arrays(path: Path, x: np.ndarray, y: np.ndarray, test, task: str | None, names: tuple[str, str]) -> Imported:
    """Check shapes and dtypes and decide the task (integer labels -> classification)."""
    pairs = [(x, y)] + ([test] if test is not None else [])
    suffixes = [""] + (["_test"] if test is not None else [])
    for (xa, ya), sfx in zip(pairs, suffixes):
        nx, ny = f"{names[0]}{sfx}", f"{names[1]}{sfx}"
        _check_plain(xa, path, f"array {nx!r}")
        _check_plain(ya, path, f"array {ny!r}")
        if xa.ndim == 0 or ya.ndim == 0 or len(xa) != len(ya):
            raise DatasetError(f"{path}: {nx!r} has shape {xa.shape} and {ny!r} has shape {ya.shape}; "
                               f"they need the same number of samples (first dimension)")
        bad = np.argwhere(np.isinf(xa))
        if bad.size:
            raise DatasetError(f"{path}: array {nx!r} holds an infinite value at index {tuple(int(i) for i in bad[0])}")
    if pairs[-1][0].shape[1:] != x.shape[1:]:
        raise DatasetError(f"{path}: training samples have shape {x.shape[1:]} but test samples {pairs[-1][0].shape[1:]}")
    if task is None:
        task = "classification" if y.dtype.kind in "biu" else "regression"
    xs = [np.asarray(xa, np.float32).reshape(len(xa), -1) if xa.ndim == 1 else np.asarray(xa, np.float32)
          for xa, _ in pairs]
    if task == "classification":
        ys, k = class_labels([ya for _, ya in pairs], [f"{path}: {names[1]}{s}" for s in suffixes])
        class_names = [str(i) for i in range(k)]
    else:
        ys = [_regression_targets(path, ya, f"{names[1]}{s}") for (_, ya), s in zip(pairs, suffixes)]
        k, class_names = None, None
    shape = xs[0].shape[1:]
    return Imported(x=xs[0], y=ys[0], task=task, num_classes=k, feature_names=array_feature_names(shape),
                    class_names=class_names, source=str(path),
                    test=(xs[1], ys[1]) if test is not None else None)


def array_feature_names(shape: tuple[int, ...]) -> list[str]:
    if len(shape) == 1:
        return [f"x{i}" for i in range(shape[0])]
    return ["x[" + ",".join(map(str, idx)) + "]" for idx in np.ndindex(*shape)]


def _regression_targets(path: Path, y: np.ndarray, name: str) -> np.ndarray:
    if y.ndim > 2:
        raise DatasetError(f"{path}: regression targets {name!r} must have shape (n,) or (n, k), got {y.shape}")
    y = np.asarray(y, np.float32)
    bad = np.argwhere(~np.isfinite(y))
    if bad.size:
        raise DatasetError(f"{path}: target {name!r} is not finite at index {tuple(int(i) for i in bad[0])}")
    return y.reshape(len(y), -1)


def _load(path: Path):
    try:
        check_regular(path)                # np.load on a FIFO would wait forever
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except ValueError as e:
        if "allow_pickle" not in str(e):
            raise DatasetError(f"{path}: not a readable NumPy file: {e}") from None
        # numpy tries pickle on whatever is neither .npy nor .npz: say which it is
        with open(path, "rb") as f:
            head = f.read(512)
        if head.startswith(b"\x93NUMPY"):
            raise DatasetError(_object_message(path, "the array")) from None
        looks = "text (a CSV file? set the format to csv, or leave it out)" if _is_text(head) else "something else"
        raise DatasetError(f"{path}: not a NumPy .npy or .npz file: it starts like {looks}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise DatasetError(f"{path}: not a readable NumPy file: {getattr(e, 'strerror', None) or e}") from None


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def _member(f, path: Path, key: str) -> np.ndarray:
    if key not in f.files:
        raise DatasetError(f"{path}: no array named {key!r}; the file holds: {', '.join(f.files) or 'nothing'}")
    try:
        return f[key]
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise DatasetError(_object_message(path, f"array {key!r}")) from None
        raise DatasetError(f"{path}: array {key!r} cannot be read: {e}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise DatasetError(f"{path}: array {key!r} cannot be read: {e}") from None


def _object_message(path: Path, what: str) -> str:
    return (f"{path}: {what} holds Python objects (dtype object); loading it would run pickle, "
            f"which Wiregrad never does. Save plain numeric arrays instead")


def _check_plain(a: np.ndarray, path: Path, what: str) -> None:
    if a.dtype.kind not in NUMERIC_KINDS:
        raise DatasetError(f"{path}: {what} has dtype {a.dtype}; expected numbers (bool, int or float)")
