"""The Dataset type, its error type, and what an importer hands to preparation."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TASKS = ("classification", "regression")


class DatasetError(ValueError):
    """Any problem with a dataset spec or file. The message names the file and the place."""


@dataclass
class Dataset:
    x_train: np.ndarray  # float32 (n, *feature_shape)
    y_train: np.ndarray  # int64 (n,) labels, or float32 (n, k) regression targets
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    num_classes: int | None
    feature_shape: tuple[int, ...]
    target_shape: tuple[int, ...]
    feature_names: list[str]
    class_names: list[str] | None
    source: str
    # What preparation did, in words (missing values, dropped rows...), for summary().
    notes: list[str] = field(default_factory=list)
    # Scaling fitted on x_train: x_scaled = (x - offset) / scale, so new inputs can be mapped.
    scaling: dict = field(default_factory=lambda: {"method": "none"})

    def summary(self) -> str:
        from .summary import describe

        return describe(self)


@dataclass
class Imported:
    """What an importer or generator found, before splitting and scaling.

    x may hold NaN where a value was missing; preparation drops or fills those by the
    spec's "missing" option. `test` is set when the source comes already split.
    """

    x: np.ndarray
    y: np.ndarray
    task: str
    num_classes: int | None
    feature_names: list[str]
    class_names: list[str] | None
    source: str
    test: tuple[np.ndarray, np.ndarray] | None = None
    notes: list[str] = field(default_factory=list)


def pixel_names(shape: tuple[int, int, int]) -> list[str]:
    """Names of the flattened (C, H, W) features: pixel_r_c, or red_r_c... for colour."""
    c, h, w = shape
    channels = ["pixel"] if c == 1 else ["red", "green", "blue", "alpha"][:c] if c <= 4 else [f"ch{i}" for i in range(c)]
    return [f"{ch}_{r}_{col}" for ch in channels for r in range(h) for col in range(w)]


def one_hot(y: np.ndarray, k: int) -> np.ndarray:
    """Integer labels (n,) -> float32 (n, k) rows with a single 1."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"one_hot: expected labels of shape (n,), got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"one_hot: labels must lie in [0, {k}), got {y.min()}..{y.max()}")
    out = np.zeros((y.shape[0], k), dtype=np.float32)
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def class_labels(arrays: list[np.ndarray], where: list[str]) -> tuple[list[np.ndarray], int]:
    """Check integer class labels from files (npz, idx) and count the classes.

    The labels are kept as they are (so a train and a test file agree); the number of
    classes is max + 1 over all of them.
    """
    out = []
    for y, place in zip(arrays, where):
        if y.ndim != 1:
            raise DatasetError(f"{place}: class labels must be one per sample, shape (n,), got {y.shape}")
        if y.dtype.kind == "f":
            bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
            if bad.size:
                raise DatasetError(f"{place}: class label at index {bad[0]} is {y[bad[0]]!r}, not an integer")
        elif y.dtype.kind not in "iub":
            raise DatasetError(f"{place}: class labels must be integers, got dtype {y.dtype}")
        y = y.astype(np.int64)
        if y.size and y.min() < 0:
            i = int(np.argmin(y))
            raise DatasetError(f"{place}: class label at index {i} is {y[i]}, labels must be >= 0")
        out.append(y)
    k = max((int(y.max()) + 1 for y in out if y.size), default=0)
    return out, k
