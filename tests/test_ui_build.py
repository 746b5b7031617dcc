"""Build the digits MLP from an empty canvas with the mouse and keyboard only, save it, and
check that `wiregrad validate` accepts the file and that it is the bundled example's network."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from app.model import graphfile
from app.paths import example
from ui_helpers import click_node, palette_drag, quick_add, settings_dir, settle, type_into, window, wire  # noqa: F401

pytestmark = pytest.mark.qt
ROOT = Path(__file__).resolve().parent.parent


def signature(doc) -> list[str]:
    """The network up to renaming: each node as its kind, its params and, per input port, the
    signature of what feeds it."""
    memo: dict[str, tuple] = {}

    def sig(n: str) -> tuple:
        if n not in memo:
            node = doc.nodes[n]
            feeds = sorted((e.dst_port, sig(e.src), e.src_port) for e in doc.edges if e.dst == n)
            memo[n] = (node.kind, json.dumps(node.params, sort_keys=True), node.label, tuple(feeds))
        return memo[n]
    return sorted(repr(sig(n)) for n in doc.nodes)


def test_build_the_digits_mlp_by_hand_and_save_it(window, tmp_path, monkeypatch):
    w = window
    assert not w.document.nodes
    # two rows of four, inside the part of the canvas that is on screen
    row1, row2 = -170.0, 110.0
    ids = {
        "input": (palette_drag, "input", QPointF(-300, row1)),
        "dense_a": (quick_add, "dense", QPointF(-100, row1)),
        "relu_a": (palette_drag, "relu", QPointF(100, row1)),
        "dense_b": (quick_add, "dense", QPointF(300, row1)),
        "relu_b": (quick_add, "relu", QPointF(-300, row2)),
        "dense_c": (palette_drag, "dense", QPointF(-100, row2)),
        "target": (quick_add, "tar", QPointF(100, row2)),
        "loss": (quick_add, "softmax cross", QPointF(300, row2)),
    }
    for role, (how, kind, at) in ids.items():
        before = set(w.document.nodes)
        if how is palette_drag:
            palette_drag(w, kind, at, monkeypatch)
        else:
            quick_add(w, kind, at)
        (ids[role],) = set(w.document.nodes) - before
    n = ids
    assert [w.document.nodes[n[r]].kind for r in ("input", "loss", "target")] == ["input", "softmax_cross_entropy", "target"]

    # params, typed into the inspector
    for role, name, text in (("input", "shape", "64"), ("dense_a", "units", "128"), ("dense_b", "units", "64"),
                             ("dense_c", "units", "10")):
        click_node(w, n[role])
        assert w.inspector.node_id == n[role]
        type_into(w.inspector.fields[name], text)

    # wires, dragged port to port
    for src, dst, port in (("input", "dense_a", "x"), ("dense_a", "relu_a", "x"), ("relu_a", "dense_b", "x"),
                           ("dense_b", "relu_b", "x"), ("relu_b", "dense_c", "x"), ("dense_c", "loss", "pred"),
                           ("target", "loss", "target")):
        wire(w, n[src], "y", n[dst], port)
    w.editor.flush()
    assert w.problems_button.text() == "No problems", w.problems_button.toolTip()

    # save with the keyboard; the file dialog answers with a path
    path = tmp_path / "built.json"
    w.ask_save_path = lambda suggested, title="": str(path)
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key_S, Qt.ControlModifier)
    settle()
    assert path.exists() and not w.isWindowModified()

    run = subprocess.run([sys.executable, "-m", "app", "validate", str(path)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "ok" in run.stdout.splitlines()[0]

    built, bundled = graphfile.load(path), graphfile.load(example("digits_mlp"))
    assert len(built.nodes) == len(bundled.nodes) and len(built.edges) == len(bundled.edges)
    assert signature(built) == signature(bundled)
    assert set(built.positions) == set(built.nodes)
