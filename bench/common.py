"""Shared timing helpers for the benchmarks: medians of repeats, and the peer's setup."""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def median_rate(fn, work: int, repeats: int = 5) -> float:
    """Median of work/seconds over repeats of fn() (each call does `work` units)."""
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        rates.append(work / (time.perf_counter() - t0))
    return statistics.median(rates)


def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)   # lavapipe uses every core too
    return torch
