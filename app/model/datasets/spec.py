"""The dataset spec (a graph file's training.dataset): options, defaults, checks and paths."""
from __future__ import annotations

import os
import re
from pathlib import Path

from .builtin import BUILTINS
from .options import COMMON, FORMAT_OPTIONS, REQUIRED, Option, is_number, text

PREFIX = "training.dataset"
PATH_KEYS = ("path", "labels", "test_path", "test_labels")

FORMAT_SCALE = {"csv": "standard"}  # default scaling of the other formats: "none"
EXTENSIONS = {"csv": "csv", "tsv": "csv", "txt": "csv", "npz": "npz", "npy": "npy"}


def infer_format(path: str) -> str | None:
    """csv/tsv/txt, npz, npy, MNIST-style names (…-ubyte, .idx3) -> idx, no extension -> an image folder."""
    name = re.split(r"[/\\]", path.rstrip("/\\"))[-1].lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith("ubyte") or re.search(r"\.idx\d?$", name):
        return "idx"
    if path.endswith(("/", "\\")) or "." not in name:
        return "images"
    return EXTENSIONS.get(name.rsplit(".", 1)[1])


def source_kind(spec: dict) -> str:
    """The builtin name, or the (given or inferred) file format. Assumes a valid spec."""
    return spec["name"] if "name" in spec else spec.get("format") or infer_format(spec["path"])


def options_for(kind: str) -> dict[str, Option]:
    own = FORMAT_OPTIONS[kind] if kind in FORMAT_OPTIONS else BUILTINS[kind].options
    return {**COMMON, **own}


def validate_spec(spec: dict) -> list[str]:
    """Every problem with a spec, each naming its key, e.g.
    "training.dataset.noise: expected a number in [0, 1], got 'x'". Empty when the spec is fine."""
    if not isinstance(spec, dict):
        return [f"{PREFIX}: expected an object with \"name\" or \"path\", got {spec!r}"]
    if ("name" in spec) == ("path" in spec):
        return [f"{PREFIX}: give either \"name\" (a built-in set) or \"path\" (a file), not "
                + ("both" if "name" in spec else "neither")]
    problems = []
    if "name" in spec:
        if not isinstance(spec["name"], str) or spec["name"] not in BUILTINS:
            return [f"{PREFIX}.name: unknown built-in dataset {spec['name']!r}; "
                    f"expected one of {', '.join(BUILTINS)}"]
    else:
        if text(spec["path"]):
            return [f"{PREFIX}.path: {text(spec['path'])}, got {spec['path']!r}"]
        fmt = spec.get("format")
        if fmt is None:
            if infer_format(spec["path"]) is None:
                return [f"{PREFIX}.format: cannot tell the format of {spec['path']!r} from its name; "
                        f"set \"format\" to one of {', '.join(FORMAT_OPTIONS)}"]
        elif not isinstance(fmt, str) or fmt not in FORMAT_OPTIONS:
            return [f"{PREFIX}.format: expected one of {', '.join(FORMAT_OPTIONS)}, got {fmt!r}"]
    kind = source_kind(spec)
    options = options_for(kind)
    for key, value in spec.items():
        if key in ("name", "path", "format"):
            continue
        if key not in options:
            problems.append(f"{PREFIX}.{key}: not an option of {kind}; its options are: {', '.join(options)}")
        elif (expected := options[key].check(value)) is not None:
            problems.append(f"{PREFIX}.{key}: {expected}, got {value!r}")
    problems += [f"{PREFIX}.{k}: required for format {kind}" for k, o in options.items()
                 if o.default is REQUIRED and k not in spec]
    if kind == "idx" and (spec.get("test_path") is None) != (spec.get("test_labels") is None):
        problems.append(f"{PREFIX}: \"test_path\" and \"test_labels\" go together; give both or neither")
    ratios = [spec.get(k, COMMON[k].default) for k in ("val_ratio", "test_ratio")]
    ratio_ok = not any(p.startswith((f"{PREFIX}.val_ratio:", f"{PREFIX}.test_ratio:")) for p in problems)
    if ratio_ok and all(is_number(r) for r in ratios) and sum(ratios) >= 1:   # each alone said already
        problems.append(f"{PREFIX}: val_ratio + test_ratio must be below 1, got {ratios[0]} + {ratios[1]}")
    return problems


def with_defaults(spec: dict) -> tuple[str, dict]:
    """(kind, every option of that kind filled in). Assumes validate_spec found no problem."""
    kind = source_kind(spec)
    opts = {k: o.default for k, o in options_for(kind).items() if o.default is not REQUIRED}
    opts.update(spec)
    if opts["scale"] is None:
        opts["scale"] = BUILTINS[kind].scale if kind in BUILTINS else FORMAT_SCALE.get(kind, "none")
    return kind, opts


def make_spec_relative(spec: dict, graph_dir: Path | str) -> dict:
    """A copy whose absolute file paths are relative to graph_dir (as a graph file stores them)."""
    out = dict(spec)
    for key in PATH_KEYS:
        value = out.get(key)
        if isinstance(value, str) and Path(value).is_absolute():
            try:
                out[key] = Path(os.path.relpath(value, graph_dir)).as_posix()
            except ValueError:  # another drive on Windows: only an absolute path can say where
                pass
    return out


def resolve_spec_paths(spec: dict, base_dir: Path | str) -> dict:
    """A copy whose relative file paths are made absolute against base_dir (the graph's folder)."""
    out = dict(spec)
    for key in PATH_KEYS:
        value = out.get(key)
        if isinstance(value, str):
            out[key] = str(Path(base_dir, Path(value).expanduser()))
    return out
