"""Layered auto-layout of the DAG, inputs on the left to losses on the right (no Qt here).

Each node's column is its longest path from a source. A source that is not a data input
(a target, a learnable parameter) moves right, next to its first consumer, where people put
it by hand. A few barycenter sweeps order each column to keep wires from crossing.
"""
from __future__ import annotations

from typing import Callable

from ..model.document import Document
from ..model.layers import get_kind
from ..model.shapes import topological_order

COLUMN = 210.0     # node width plus room for a wire and its shape label
GAP = 36.0         # between nodes in one column


def layered_positions(doc: Document, height: Callable[[str], float] = lambda n: 80.0,
                      column: float = COLUMN, gap: float = GAP) -> dict[str, tuple[float, float]]:
    order, _ = topological_order(doc)
    order += [n for n in doc.nodes if n not in set(order)]          # nodes in a cycle go last
    preds = {n: [] for n in doc.nodes}
    succs = {n: [] for n in doc.nodes}
    for e in doc.edges:
        preds[e.dst].append(e.src)
        succs[e.src].append(e.dst)

    layer: dict[str, int] = {}
    for n in order:
        layer[n] = 1 + max((layer[p] for p in preds[n] if p in layer), default=-1)
    for n in reversed(order):
        kind = get_kind(doc.nodes[n].kind)
        if not preds[n] and succs[n] and not (kind and kind.role == "data"):
            layer[n] = max(0, min(layer[s] for s in succs[n]) - 1)

    columns: dict[int, list[str]] = {}
    for n in order:
        columns.setdefault(layer[n], []).append(n)
    rank = {n: i for col in columns.values() for i, n in enumerate(col)}

    def sweep(keys: list[int], neighbours: dict[str, list[str]]) -> None:
        for k in keys:
            col = columns[k]
            def centre(n: str) -> float:
                ns = [rank[m] for m in neighbours[n] if m in rank and layer[m] != k]
                return sum(ns) / len(ns) if ns else rank[n]
            col.sort(key=lambda n: (centre(n), rank[n]))
            for i, n in enumerate(col):
                rank[n] = i

    keys = sorted(columns)
    for _ in range(3):
        sweep(keys, preds)
        sweep(list(reversed(keys)), succs)

    positions = {}
    for k in keys:
        col = columns[k]
        heights = [height(n) for n in col]
        # centred on y = 0, counting the first node's top: a chain lines up top to top, so
        # its ports (at the same offset in every node) line up and its wires run straight
        y = -(sum(heights[1:]) + gap * (len(col) - 1)) / 2
        for n, h in zip(col, heights):
            positions[n] = (round(k * column), round(y))
            y += h + gap
    return positions
