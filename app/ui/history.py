"""Bounded metric history: a million steps must not grow memory without bound.

Each series keeps at most `capacity` points. When full, the older half is thinned by two
(every other point dropped), so recent points stay dense and old ones sparse, and the curve
keeps its shape. Pure numpy: the plots read arrays from here at their own redraw rate.
"""
from __future__ import annotations

import numpy as np


class Series:
    def __init__(self, capacity: int = 4000):
        self.capacity = max(8, capacity)
        self.x = np.empty(self.capacity, dtype=np.float64)
        self.y = np.empty(self.capacity, dtype=np.float64)
        self.n = 0
        self.version = 0          # bumps on every change, so a plot skips unchanged series

    def append(self, x: float, y: float) -> None:
        if self.n == self.capacity:
            self._thin()
        self.x[self.n], self.y[self.n] = x, y
        self.n += 1
        self.version += 1

    def _thin(self) -> None:
        half = self.n // 2
        keep_x = np.concatenate([self.x[:half:2], self.x[half:self.n]])
        keep_y = np.concatenate([self.y[:half:2], self.y[half:self.n]])
        self.n = len(keep_x)
        self.x[:self.n], self.y[:self.n] = keep_x, keep_y

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[:self.n], self.y[:self.n]

    def last(self) -> float | None:
        return float(self.y[self.n - 1]) if self.n else None

    def clear(self) -> None:
        self.n = 0
        self.version += 1


class History:
    """Named series, created on first use: "loss/train", "grad/dense1.w", ..."""

    def __init__(self, capacity: int = 4000):
        self.capacity = capacity
        self.series: dict[str, Series] = {}

    def add(self, name: str, x: float, y: float) -> None:
        s = self.series.get(name)
        if s is None:
            s = self.series[name] = Series(self.capacity)
        s.append(x, y)

    def get(self, name: str) -> Series | None:
        return self.series.get(name)

    def names(self, prefix: str = "") -> list[str]:
        return [n for n in self.series if n.startswith(prefix)]

    def clear(self) -> None:
        self.series.clear()

    def points(self) -> int:
        return sum(s.n for s in self.series.values())

    def to_rows(self) -> tuple[list[str], list[list]]:
        """For CSV export: one row per (series, x, y)."""
        rows = []
        for name, s in self.series.items():
            x, y = s.data()
            rows += [[name, float(a), float(b)] for a, b in zip(x, y)]
        return ["series", "x", "y"], rows
