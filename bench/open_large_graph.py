"""How long a generated 300-node graph takes to open in the editor window (budget: 1 s).

Measures File > Open end to end: load and check the file, rebuild the canvas, analyse shapes,
and paint the first frame, as the median of several runs. Beside it, the same file loaded
without any window (graphfile.load) as the reference the window's cost is a multiple of.

    python bench/open_large_graph.py [--nodes 300] [--runs 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUDGET_S = 1.0


def generate(nodes: int):
    """A residual MLP of `nodes` nodes: input, blocks of Dense -> ReLU with a skip Add every
    third block, a 10-way head, a target and a loss; laid out as auto-layout would."""
    from app.model.document import Document
    from app.ui.layout import layered_positions
    doc = Document()
    prev = doc.add_node("input", {"shape": [64]})
    skip = prev
    block = 0
    while len(doc.nodes) < nodes - 4:
        d = doc.add_node("dense", {"units": 64})
        doc.connect(prev, "y", d, "x")
        r = doc.add_node("relu")
        doc.connect(d, "y", r, "x")
        prev, block = r, block + 1
        if block % 3 == 0 and len(doc.nodes) < nodes - 4:
            a = doc.add_node("add")
            doc.connect(prev, "y", a, "a")
            doc.connect(skip, "y", a, "b")
            prev = skip = a
    head = doc.add_node("dense", {"units": 10})
    doc.connect(prev, "y", head, "x")
    target = doc.add_node("target")
    loss = doc.add_node("softmax_cross_entropy")
    doc.connect(head, "y", loss, "pred")
    doc.connect(target, "y", loss, "target")
    while len(doc.nodes) < nodes:            # pad to the exact count with a free-standing node
        doc.add_node("relu")
    doc.positions.update(layered_positions(doc, lambda n: 80.0))
    return doc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=300)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(["bench"])
    settings_dir = tempfile.mkdtemp(prefix="wiregrad-bench-")      # keep the user's recent files clean
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, settings_dir)
    from app.model import graphfile
    from app.ui.main_window import MainWindow

    doc = generate(args.nodes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.json"
        graphfile.save(doc, path)
        window = MainWindow(adapter_probe=None, recovery_dir=Path(tmp) / "recovery")
        window.ask_save_changes = lambda: "discard"
        window.resize(1440, 900)
        window.show()
        app.processEvents()

        loads, opens = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            graphfile.load(path)
            loads.append(time.perf_counter() - t0)

            window.new()
            app.processEvents()
            t0 = time.perf_counter()
            assert window.open_path(path)
            window.editor.flush()                    # shapes, badges and counts on the canvas
            window.canvas.viewport().repaint()       # the first frame, painted now
            opens.append(time.perf_counter() - t0)
        n_nodes, n_edges = len(window.document.nodes), len(window.document.edges)
        window.close()

    med_open, med_load = statistics.median(opens), statistics.median(loads)
    print(f"graph: {n_nodes} nodes, {n_edges} edges")
    print(f"open in the window (load + canvas + analysis + first paint): median {med_open * 1000:.0f} ms "
          f"over {args.runs} runs (min {min(opens) * 1000:.0f}, max {max(opens) * 1000:.0f})")
    print(f"graphfile.load alone (reference):                           median {med_load * 1000:.0f} ms")
    print(f"window / load alone: {med_open / med_load:.1f}x")
    verdict = "within" if med_open < BUDGET_S else "OVER"
    print(f"{verdict} the {BUDGET_S:.0f} s budget")
    return 0 if med_open < BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
