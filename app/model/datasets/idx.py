"""IDX importer (the MNIST / Fashion-MNIST file format), gzipped or raw."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .core import DatasetError, Imported, class_labels, pixel_names
from .fileio import read_bytes

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions: (count, rows, columns)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension: (count,)


def read_idx_array(path: Path, magic: int, what: str) -> np.ndarray:
    data = read_bytes(path)
    if len(data) < 4:
        raise DatasetError(f"{path}: only {len(data)} bytes; an IDX file starts with a 4-byte magic number")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DatasetError(f"{path}: magic number 0x{found:08x}, expected 0x{magic:08x} "
                           f"(an IDX file of {what}); is this the right file?")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated header: expected {header} bytes, found {len(data)}")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected, found_len = math.prod(dims), len(data) - header
    if found_len != expected:
        size = " x ".join(map(str, dims))
        problem = "truncated" if found_len < expected else "has extra bytes"
        raise DatasetError(f"{path}: {problem}: dimensions {size} need {expected} data bytes after the "
                           f"{header}-byte header, found {found_len}")
    return np.frombuffer(data, np.uint8, count=expected, offset=header).reshape(dims)


def read_idx_pair(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    """float32 images (n, 1, H, W) in [0, 1] and their labels."""
    x = read_idx_array(images, IMAGES_MAGIC, "images: unsigned bytes, 3 dimensions")
    y = read_idx_array(labels, LABELS_MAGIC, "labels: unsigned bytes, 1 dimension")
    if len(x) != len(y):
        raise DatasetError(f"{images} holds {len(x)} images but {labels} holds {len(y)} labels; "
                           f"they must be a matching pair")
    return (x.astype(np.float32) / 255.0)[:, None], y


def read_idx(path: Path, labels: Path, test_path: Path | None = None, test_labels: Path | None = None) -> Imported:
    x, y = read_idx_pair(path, labels)
    test = read_idx_pair(test_path, test_labels) if test_path is not None else None
    if test is not None and test[0].shape[1:] != x.shape[1:]:
        raise DatasetError(f"{test_path}: images are {test[0].shape[2:]} but {path} has {x.shape[2:]}")
    ys, k = class_labels([y] + ([test[1]] if test else []), [str(labels)] + ([str(test_labels)] if test else []))
    return Imported(x=x, y=ys[0], task="classification", num_classes=k,
                    feature_names=pixel_names(x.shape[1:]), class_names=[str(i) for i in range(k)],
                    source=str(path), test=(test[0], ys[1]) if test else None)

