"""Tensor sizes checked against the adapter's per-buffer limit before anything is built.

Every weight, its gradient and optimizer state, and every activation lives in one GPU buffer,
and an adapter binds at most `max-storage-buffer-binding-size` bytes of one (128 MiB on
lavapipe). A layer too wide for that must be refused by name, before numpy tries to draw
gigabytes of initial weights and dies in a MemoryError.
"""
from __future__ import annotations

import math
import os

from .shapes import Problem

BYTES_PER_NUMBER = 4            # float32 on the GPU


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


def _numbers(shape) -> str:
    dims = "×".join(str(d) for d in shape)
    total = math.prod(shape)
    return f"{dims} = {total:,} numbers" if len(shape) > 1 else f"{total:,} numbers"


def size_problems(analysis, batch: int, limit_bytes: int) -> list[Problem]:
    """A Problem for each weight or activation (at `batch` rows) larger than one buffer may be."""
    limit = f"this adapter holds at most {human_bytes(limit_bytes)} in one buffer"
    problems = []
    for node_id in analysis.order:
        for w in analysis.weights.get(node_id, []):
            shape = tuple(w.shape)
            if math.prod(shape) * BYTES_PER_NUMBER > limit_bytes:
                problems.append(Problem(node_id, w.name, (
                    f"this weight is {_numbers(shape)} "
                    f"({human_bytes(math.prod(shape) * BYTES_PER_NUMBER)}); {limit}. Make the layer smaller.")))
    for (node_id, port), shape in analysis.shapes.items():
        if None not in shape:       # not per sample: a parameter's output is its weight, above
            continue
        rows = tuple(batch if d is None else d for d in shape)
        if math.prod(rows) * BYTES_PER_NUMBER > limit_bytes:
            problems.append(Problem(node_id, port, (
                f"a batch of this output is {_numbers(rows)} "
                f"({human_bytes(math.prod(rows) * BYTES_PER_NUMBER)}); {limit}. "
                f"Lower the batch size or make the layer smaller.")))
    return problems


def widest_sample(analysis) -> int:
    """Numbers per sample in the largest per-sample tensor: what one more row of a batch costs."""
    return max((math.prod(1 if d is None else d for d in shape)
                for shape in analysis.shapes.values() if None in shape), default=1)


# Bytes a training run holds per parameter: the float64 draw and float32 copy on the host,
# then on the device the value, its gradient and up to two optimizer slots, and the weights
# copied out for the last finite snapshot. (lavapipe's "device" memory is this machine's.)
BYTES_PER_PARAMETER = 8 + 4 + 4 * 4 + 4
BYTES_PER_ACTIVATION = 2 * BYTES_PER_NUMBER          # each output and its gradient


def available_memory() -> int | None:
    """Bytes of memory free for a new run (Linux: MemAvailable), else the machine's total, else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def memory_problem(analysis, batch: int, eval_rows: int = 0, available: int | None = None,
                   activation_bytes: int = BYTES_PER_ACTIVATION) -> Problem | None:
    """A Problem when training (`batch` rows a step, evaluation batches of `eval_rows`) would
    need more memory than is free,
    naming the largest nodes; None when it fits or the free memory is unknown. Checked before
    anything is drawn: past it, the kernel's OOM killer ends the process without a word."""
    available = available_memory() if available is None else available
    per_node = {n: sum(math.prod(w.shape) for w in ws) for n, ws in analysis.weights.items()}
    params = sum(per_node.values())
    rows = max(batch, eval_rows)
    acts = sum(math.prod(rows if d is None else d for d in shape)
               for shape in analysis.shapes.values() if None in shape)
    need = params * BYTES_PER_PARAMETER + acts * activation_bytes
    if available is None or need <= available:
        return None
    largest = [n for n in sorted(per_node, key=per_node.get, reverse=True) if per_node[n]][:3]
    if acts * activation_bytes > params * BYTES_PER_PARAMETER:      # the batches, not the weights
        return Problem(None, None, (
            f"all of it together needs about {human_bytes(need)} of memory, mostly for the layers' outputs "
            f"({acts:,} numbers for batches of {max(batch, eval_rows)} rows); {human_bytes(available)} of this "
            f"computer's memory is free. Lower the batch size, or make the layers narrower or fewer."))
    return Problem(None, None, (
        f"all of it together needs about {human_bytes(need)} of memory to train ({params:,} parameters with "
        f"their gradients and optimizer state, batches of {batch} rows"
        + (f", evaluation batches of {eval_rows}" if eval_rows > batch else "")
        + f"); {human_bytes(available)} of this computer's memory is free. "
        f"The largest layers: " + ", ".join(f"{n} ({per_node[n]:,})" for n in largest) + ". Make them smaller."))
