"""Dataset.summary(): what a person needs to see to trust an import."""
from __future__ import annotations

import numpy as np

HEAD, TAIL = 8, 2  # features shown before and after "..." when there are many


def describe(ds) -> str:
    splits = {"train": (ds.x_train, ds.y_train), "val": (ds.x_val, ds.y_val), "test": (ds.x_test, ds.y_test)}
    n = sum(len(x) for x, _ in splits.values())
    lines = [f"source: {ds.source}"]
    if ds.task == "classification":
        lines.append(f"task: classification, {ds.num_classes} class{'es' if ds.num_classes != 1 else ''}"
                     + (" (a classifier needs two or more: is the label column the right one?)"
                        if ds.num_classes == 1 else ""))
    else:
        lines.append(f"task: regression, targets of shape {ds.target_shape}")
    lines.append(f"features: {int(np.prod(ds.feature_shape))}, shape {ds.feature_shape}")
    lines.append(f"samples: {n} (" + ", ".join(f"{k} {len(x)}" for k, (x, _) in splits.items()) + ")")
    lines += _classes(ds, splits) if ds.task == "classification" else _targets(splits)
    lines += _feature_ranges(ds, splits)
    scale = ds.scaling["method"]
    lines.append("scaling: " + ("none" if scale == "none" else f"{scale}, fitted on the training split"))
    lines += ds.notes
    return "\n".join(lines)


def _classes(ds, splits) -> list[str]:
    k = ds.num_classes or 0
    counts = {s: np.bincount(y, minlength=k) for s, (_, y) in splits.items()}
    names = ds.class_names or [str(i) for i in range(k)]
    width = max((len(c) for c in names), default=0)
    rows = [f"  {i:>3} {names[i]:<{width}}  {sum(c[i] for c in counts.values()):>6}  "
            f"(train {counts['train'][i]}, val {counts['val'][i]}, test {counts['test'][i]})" for i in range(k)]
    return ["classes (index, name, count):"] + _abbreviate(rows, k, head=30, tail=3)


def _targets(splits) -> list[str]:
    y = np.concatenate([y for _, y in splits.values()])
    rows = [f"  target {j}: {_fmt(y[:, j].min())} .. {_fmt(y[:, j].max())}, mean {_fmt(y[:, j].mean())}"
            for j in range(y.shape[1])]
    return ["target ranges:"] + _abbreviate(rows, len(rows))


def _feature_ranges(ds, splits) -> list[str]:
    x = np.concatenate([x.reshape(len(x), len(ds.feature_names)) for x, _ in splits.values()])
    lo, hi = x.min(axis=0), x.max(axis=0)
    width = max(len(s) for s in ds.feature_names)
    rows = [f"  {name:<{width}}  {_fmt(a)} .. {_fmt(b)}" for name, a, b in zip(ds.feature_names, lo, hi)]
    head = "feature ranges (min .. max, all splits):"
    if len(rows) > HEAD + TAIL + 1:
        head = f"feature ranges (min .. max, all splits; overall {_fmt(lo.min())} .. {_fmt(hi.max())}):"
    return [head] + _abbreviate(rows, len(rows))


def _abbreviate(rows: list[str], n: int, head: int = HEAD, tail: int = TAIL) -> list[str]:
    if n <= head + tail + 1:
        return rows
    return rows[:head] + [f"  ... {n - head - tail} more"] + rows[-tail:]


def _fmt(v) -> str:
    return f"{float(v):.4g}"
