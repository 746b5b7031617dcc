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


def torch_or_none(threads: int | None = None, device: str = "cpu"):
    """PyTorch with `threads` threads (default: every core, as lavapipe uses), or None when it
    isn't installed. device "cuda" (the peer on a real GPU) turns TF32 off, so both engines
    multiply in float32."""
    try:
        import torch
        # An optimizer's first step imports torch._dynamo, and with a CUDA build of torch that
        # imports triton, whose LLVM segfaulted once lavapipe's was loaded (torch 2.14.1+cu130):
        # imported here, before any wgpu device, they load first
        import torch._dynamo  # noqa: F401
    except ImportError:
        return None
    torch.set_num_threads(threads or os.cpu_count() or 1)
    if device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("--torch-device cuda: this PyTorch sees no CUDA device "
                             f"(torch {torch.__version__})")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return torch
