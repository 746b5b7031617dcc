"""From an Imported to a Dataset: missing values, the seeded split, scaling fitted on train only."""
from __future__ import annotations

import warnings

import numpy as np

from .core import Dataset, DatasetError, Imported

SPLIT_STREAM = 1  # seeds the split apart from a generator's stream, so the two don't interact


def prepare(imp: Imported, *, val_ratio: float = 0.0, test_ratio: float = 0.2, seed: int = 0,
            scale: str = "none", missing: str = "error") -> Dataset:
    notes = list(imp.notes)
    x, y, test = imp.x, imp.y, imp.test
    x, y, test = _check_missing(imp, x, y, test, missing, notes)

    rng = np.random.default_rng([seed, SPLIT_STREAM])
    stratify = imp.task == "classification"
    if test is None:
        tr, va, te = split_indices(y, stratify, val_ratio, test_ratio, rng)
        x_test, y_test = x[te], y[te]
    else:  # the files came split: keep their test set, carve val out of the training file
        tr, va, _ = split_indices(y, stratify, val_ratio, 0.0, rng)
        x_test, y_test = test
        if test_ratio:
            notes.append("test split taken from the test files; test_ratio not used")
    x_train, y_train, x_val, y_val = x[tr], y[tr], x[va], y[va]
    if len(x_train) == 0:
        raise DatasetError(f"{imp.source}: the training split is empty ({len(y)} samples, "
                           f"val_ratio {val_ratio}, test_ratio {test_ratio})")

    if missing in ("fill_mean", "fill_zero"):
        x_train, x_val, x_test = _fill(x_train, x_val, x_test, missing, notes)

    scaling = fit_scaling(x_train, scale)
    x_train, x_val, x_test = (apply_scaling(a, scaling) for a in (x_train, x_val, x_test))
    return Dataset(
        x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test,
        task=imp.task, num_classes=imp.num_classes, feature_shape=tuple(x.shape[1:]),
        target_shape=() if imp.task == "classification" else tuple(y.shape[1:]),
        feature_names=imp.feature_names, class_names=imp.class_names, source=imp.source,
        notes=notes, scaling=scaling)


def split_indices(y: np.ndarray, stratify: bool, val_ratio: float, test_ratio: float, rng):
    """Sorted index arrays (train, val, test). Stratified: each class split in the same proportions."""
    n = len(y)
    groups = [np.flatnonzero(y == k) for k in np.unique(y)] if stratify else [np.arange(n)]
    counts = np.array([len(g) for g in groups])
    n_test = _allocate(counts, _round(test_ratio * n))
    n_val = np.minimum(_allocate(counts, _round(val_ratio * n)), counts - n_test)
    parts = ([], [], [])
    for g, t, v in zip(groups, n_test, n_val):
        g = rng.permutation(g)
        parts[2].append(g[:t])
        parts[1].append(g[t:t + v])
        parts[0].append(g[t + v:])
    return tuple(np.sort(np.concatenate(p)) if p else np.zeros(0, np.int64) for p in parts)


def _round(v: float) -> int:
    return int(np.floor(v + 0.5))


def _allocate(counts: np.ndarray, total: int) -> np.ndarray:
    """Split `total` over groups in proportion to counts, by largest remainder, so the sum is exact."""
    if counts.sum() == 0:
        return np.zeros_like(counts)
    quota = counts * total / counts.sum()
    out = np.floor(quota).astype(np.int64)
    extra = total - out.sum()
    out[np.argsort(-(quota - out), kind="stable")[:extra]] += 1
    return out


def fit_scaling(x_train: np.ndarray, method: str) -> dict:
    """Per-feature offset and scale from the training split; constant features keep scale 1."""
    if method == "none":
        return {"method": "none"}
    a = x_train.astype(np.float64)
    if method == "standard":
        offset, scale = a.mean(axis=0), a.std(axis=0)
    elif method == "minmax":
        offset, scale = a.min(axis=0), a.max(axis=0) - a.min(axis=0)
    else:
        raise DatasetError(f"unknown scaling {method!r}; expected standard, minmax or none")
    scale[scale == 0] = 1.0
    return {"method": method, "offset": offset.astype(np.float32), "scale": scale.astype(np.float32)}


def apply_scaling(x: np.ndarray, scaling: dict) -> np.ndarray:
    if scaling["method"] == "none":
        return x
    return ((x - scaling["offset"]) / scaling["scale"]).astype(np.float32)


def _check_missing(imp: Imported, x, y, test, missing: str, notes: list[str]):
    """Count NaN feature values; refuse them or drop their rows (filling waits for the split)."""
    parts = [("", x)] + ([("test ", test[0])] if test is not None else [])
    counts = [int(np.isnan(a).sum()) for _, a in parts]
    if not sum(counts):
        notes.append("missing feature values: none")
        return x, y, test
    if missing == "error":
        which, a = next(p for p, c in zip(parts, counts) if c)
        i, *j = (int(v) for v in np.argwhere(np.isnan(a))[0])
        flat = int(np.ravel_multi_index(j, a.shape[1:])) if j else 0
        raise DatasetError(
            f"{imp.source}: {sum(counts)} missing (NaN) feature value(s); the first is in {which}sample {i}, "
            f"feature {imp.feature_names[flat]!r}; set \"missing\" to \"drop\", \"fill_mean\" or \"fill_zero\"")
    if missing == "drop":
        keep = ~np.isnan(x.reshape(len(x), -1)).any(axis=1)
        dropped = int((~keep).sum())
        x, y = x[keep], y[keep]
        if test is not None:
            tkeep = ~np.isnan(test[0].reshape(len(test[0]), -1)).any(axis=1)
            dropped += int((~tkeep).sum())
            test = (test[0][tkeep], test[1][tkeep])
        notes.append(f"missing feature values: {sum(counts)}; dropped {dropped} row(s) holding them")
    else:
        notes.append(f"missing feature values: {sum(counts)}")
    return x, y, test


def _fill(x_train, x_val, x_test, mode: str, notes: list[str]):
    if mode == "fill_zero":
        fill = np.zeros(x_train.shape[1:], np.float32)
        notes.append("missing values filled with 0")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # "Mean of empty slice": handled below
            fill = np.nanmean(x_train, axis=0)
        empty = np.isnan(fill)
        fill[empty] = 0.0
        notes.append("missing values filled with the training split's feature means"
                     + (f" ({int(empty.sum())} feature(s) with no value in it filled with 0)" if empty.any() else ""))
    return tuple(np.where(np.isnan(a), fill, a).astype(np.float32) for a in (x_train, x_val, x_test))

