"""load_dataset: spec -> checked options -> an importer or generator -> prepare."""
from __future__ import annotations

from pathlib import Path

from .arrays import read_npy, read_npz
from .builtin import BUILTINS
from .core import Dataset, DatasetError, Imported
from .csv_import import read_csv
from .idx import read_idx
from .prepare import prepare
from .spec import resolve_spec_paths, validate_spec, with_defaults


def load_dataset(spec: dict, base_dir: Path | None = None) -> Dataset:
    """Same spec and seed -> identical arrays. Relative paths resolve against base_dir (default: cwd)."""
    problems = validate_spec(spec)
    if problems:
        raise DatasetError("\n".join(problems))
    kind, opts = with_defaults(spec)
    opts = resolve_spec_paths(opts, base_dir if base_dir is not None else Path.cwd())
    imported = BUILTINS[kind].make(opts) if kind in BUILTINS else _import_file(kind, opts)
    return prepare(imported, val_ratio=opts["val_ratio"], test_ratio=opts["test_ratio"], seed=opts["seed"],
                   scale=opts["scale"], missing=opts.get("missing", "error"))


def _path(value: str | None) -> Path | None:
    return Path(value) if value is not None else None


def _import_file(fmt: str, o: dict) -> Imported:
    path = Path(o["path"])
    if fmt == "csv":
        return read_csv(path, label=o["label"], delimiter=o["delimiter"], header=o["header"],
                        missing=o["missing"], task=o["task"])
    if fmt == "npz":
        return read_npz(path, x=o["x"], y=o["y"], task=o["task"])
    if fmt == "npy":
        return read_npy(path, labels=_path(o["labels"]), label=o["label"], task=o["task"])
    if fmt == "idx":
        imp = read_idx(path, Path(o["labels"]), _path(o["test_path"]), _path(o["test_labels"]))
    else:
        try:
            from app.image_folder import load_image_folder  # needs Qt, which app.model must not import
        except ImportError as e:
            raise DatasetError(f"{path}: reading an image folder needs PySide6 ({e})") from None
        imp = load_image_folder(path, size=tuple(o["size"]), color=o["color"])
    return _flattened(imp) if o["flatten"] else imp


def _flattened(imp: Imported) -> Imported:
    """(n, C, H, W) images -> (n, C*H*W) rows, feature names in the same order."""
    imp.x = imp.x.reshape(len(imp.x), -1)
    if imp.test is not None:
        imp.test = (imp.test[0].reshape(len(imp.test[0]), -1), imp.test[1])
    return imp
