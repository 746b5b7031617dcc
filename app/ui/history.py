"""Bounded metric history: a million steps must not grow memory without bound.

Each series keeps at most `capacity` points, spread evenly over the whole run. It stores
every `stride`-th appended point (stride 1 at first); when the store is full, every other
stored point is dropped and the stride doubles. So the first point is always kept, the
points stay evenly spaced from the first to the last (the curve keeps its shape, early
steps included), and the newest point is always shown, in a spare slot when it falls
between strides. Pure numpy: the plots read arrays from here at their own redraw rate.

(An earlier version thinned only the older half each time; after a million appends it held
one point for the first 98% of the run and 3,999 for the last 2%.)
"""
from __future__ import annotations

import numpy as np


class Series:
    def __init__(self, capacity: int = 4000):
        self.capacity = max(8, capacity)
        self.x = np.empty(self.capacity, dtype=np.float64)
        self.y = np.empty(self.capacity, dtype=np.float64)
        self.n = 0                # stored points: appends 0, stride, 2*stride, ...
        self.stride = 1
        self.count = 0            # points appended so far
        self._tail = False        # the newest point sits at x[n], between strides
        self.version = 0          # bumps on every change, so a plot skips unchanged series

    def append(self, x: float, y: float) -> None:
        if self.count % self.stride == 0 and self.n == self.capacity - 1:
            self._thin()
        if self.count % self.stride == 0:
            self.x[self.n], self.y[self.n] = x, y
            self.n += 1
            self._tail = False
        else:                     # not on the stride: shown as the newest point until the next one
            self.x[self.n], self.y[self.n] = x, y
            self._tail = True
        self.count += 1
        self.version += 1

    def _thin(self) -> None:
        keep = (self.n + 1) // 2
        self.x[:keep] = self.x[:self.n:2]
        self.y[:keep] = self.y[:self.n:2]
        self.n = keep
        self.stride *= 2

    def __len__(self) -> int:
        return self.n + self._tail

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        m = len(self)
        return self.x[:m], self.y[:m]

    def last(self) -> float | None:
        m = len(self)
        return float(self.y[m - 1]) if m else None

    def clear(self) -> None:
        self.n, self.count, self.stride, self._tail = 0, 0, 1, False
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
        return sum(len(s) for s in self.series.values())

    def to_rows(self) -> tuple[list[str], list[list]]:
        """For CSV export: one row per (series, x, y)."""
        rows = []
        for name, s in self.series.items():
            x, y = s.data()
            rows += [[name, float(a), float(b)] for a, b in zip(x, y)]
        return ["series", "x", "y"], rows
