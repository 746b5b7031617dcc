"""Trained weights in .safetensors (no pickle), named "<node>.<weight>", checked by name
and shape against the graph when loaded."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .files import read_file
from .graphfile import atomic_write


class WeightsError(ValueError):
    pass


def save_weights(path: str | os.PathLike, weights: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save
    data = save({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()},
                metadata={"format": "wiregrad.weights"})
    atomic_write(path, data)


def load_weights(path: str | os.PathLike, expected: dict[str, tuple]) -> dict[str, np.ndarray]:
    """expected: tensor name -> shape. Every name must be present with that shape."""
    from safetensors import SafetensorError
    from safetensors.numpy import load
    path = Path(path)
    try:
        tensors = load(read_file(path))
    except OSError as e:
        raise WeightsError(f"{path}: {e.strerror or e}") from None
    except (SafetensorError, ValueError) as e:
        raise WeightsError(f"{path}: not a readable .safetensors file ({e})") from None
    problems = []
    for name, shape in expected.items():
        if name not in tensors:
            problems.append(f"{name}: missing from the file")
        elif tuple(tensors[name].shape) != tuple(shape):
            problems.append(f"{name}: the file has shape {tuple(tensors[name].shape)}, the graph needs {tuple(shape)}")
        elif tensors[name].dtype.kind != "f":     # e.g. quantised int8: a plain cast would be wrong
            problems.append(f"{name}: the file holds {tensors[name].dtype} numbers; weights must be floating "
                            "point (float16, float32 or float64)")
        elif not np.all(np.isfinite(tensors[name])):
            problems.append(f"{name}: holds NaN or infinite values")
    extra = sorted(set(tensors) - set(expected))
    if extra:
        problems.append(f"tensors the graph doesn't have: {', '.join(extra[:5])}{' ...' if len(extra) > 5 else ''}")
    if problems:
        raise WeightsError(f"{path.name} doesn't fit this graph:\n" + "\n".join(f"  {p}" for p in problems))
    return {k: np.asarray(tensors[k], dtype=np.float64) for k in expected}
