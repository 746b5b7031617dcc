"""Editing with the keyboard: delete, copy/cut/paste/duplicate (also between windows),
undo/redo of each, the saved state and [*], the inspector, auto-layout."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from app.model import graphfile
from app.model.document import Edge
from app.paths import example
from ui_helpers import click_node, make_window, settings_dir, settle, type_into, window, wire_label  # noqa: F401

pytestmark = pytest.mark.qt


def keys(widget, sequence) -> None:
    """Press a shortcut the way the platform spells it (QKeySequence.StandardKey or text)."""
    seq = QKeySequence(sequence)
    combo = seq[0]
    QTest.keyClick(widget, combo.key(), combo.keyboardModifiers())
    settle()


@pytest.fixture
def digits(window):
    window.open_example(example("digits_mlp"))
    settle()
    window.canvas.setFocus()
    return window


def structure(doc):
    return (sorted((n.id, n.kind, repr(n.params), n.label) for n in doc.nodes.values()), sorted(map(str, doc.edges)),
            dict(doc.positions))


def test_delete_and_backspace_remove_the_selection_with_its_edges(digits):
    w = digits
    before = structure(w.document)
    click_node(w, "relu1")
    keys(w.canvas, QKeySequence.Delete)
    assert "relu1" not in w.document.nodes and "relu1" not in w.canvas.graph.nodes
    assert not any("relu1" in str(e) for e in w.document.edges)
    click_node(w, "dense2")
    QTest.keyClick(w.canvas, Qt.Key_Backspace)
    settle()
    assert "dense2" not in w.document.nodes
    keys(w.canvas, QKeySequence.Undo)
    keys(w.canvas, QKeySequence.Undo)
    assert structure(w.document) == before
    assert list(w.document.nodes) == list(graphfile.load(example("digits_mlp")).nodes)     # order too
    keys(w.canvas, QKeySequence.Redo)
    assert "relu1" not in w.document.nodes and "dense2" in w.document.nodes


def test_a_selected_wire_can_be_deleted(digits):
    w = digits
    wire_item = w.canvas.graph.wires[Edge("dense1", "y", "relu1", "x")]
    wire_item.setSelected(True)
    keys(w.canvas, QKeySequence.Delete)
    assert Edge("dense1", "y", "relu1", "x") not in w.document.edges
    assert len(w.document.nodes) == 8
    w.undo_stack.undo()
    assert Edge("dense1", "y", "relu1", "x") in w.document.edges


def test_copy_paste_gives_fresh_ids_and_keeps_inner_edges(digits):
    w = digits
    click_node(w, "dense1")
    click_node(w, "relu1", Qt.ControlModifier)
    keys(w.canvas, QKeySequence.Copy)
    keys(w.canvas, QKeySequence.Paste)
    assert set(w.document.nodes) - {"input1", "dense1", "relu1", "dense2", "relu2", "dense3", "target1",
                                     "softmax_cross_entropy1"} == {"dense4", "relu3"}
    assert Edge("dense4", "y", "relu3", "x") in w.document.edges
    assert w.document.nodes["dense4"].params == w.document.nodes["dense1"].params
    assert w.selected_node_ids() == ["dense4", "relu3"]
    assert w.undo_stack.count() == 1
    keys(w.canvas, QKeySequence.Undo)
    assert "dense4" not in w.document.nodes and len(w.document.nodes) == 8
    keys(w.canvas, QKeySequence.Redo)
    assert "dense4" in w.document.nodes


def test_cut_then_paste(digits):
    w = digits
    click_node(w, "dense3")
    keys(w.canvas, QKeySequence.Cut)
    assert "dense3" not in w.document.nodes
    keys(w.canvas, QKeySequence.Paste)
    assert "dense3" in w.document.nodes          # the id is free again, so it is reused
    assert w.document.nodes["dense3"].params["units"] == 10
    keys(w.canvas, QKeySequence.Undo)
    keys(w.canvas, QKeySequence.Undo)
    assert Edge("dense3", "y", "softmax_cross_entropy1", "pred") in w.document.edges


def test_duplicate_offsets_the_copy_and_undoes_in_one_step(digits):
    w = digits
    click_node(w, "dense2")
    QTest.keyClick(w.canvas, Qt.Key_D, Qt.ControlModifier)
    settle()
    assert "dense4" in w.document.nodes
    x, y = w.document.positions["dense2"]
    assert w.document.positions["dense4"] == (x + 30, y + 30)
    assert w.selected_node_ids() == ["dense4"]
    w.undo_stack.undo()
    assert "dense4" not in w.document.nodes


def test_paste_between_windows(digits, qtbot, tmp_path):
    click_node(digits, "dense1")
    click_node(digits, "relu1", Qt.ControlModifier)
    keys(digits.canvas, QKeySequence.Copy)
    other = make_window(qtbot, tmp_path / "other")
    other.canvas.setFocus()
    keys(other.canvas, QKeySequence.Paste)
    assert sorted(other.document.nodes) == ["dense1", "relu1"]
    assert other.document.edges == [Edge("dense1", "y", "relu1", "x")]
    assert len(digits.document.nodes) == 8


def test_undo_back_to_the_saved_state_clears_the_modified_mark(digits, tmp_path):
    w = digits
    assert "[*]" in w.windowTitle() and not w.isWindowModified()
    path = tmp_path / "g.json"
    w.ask_save_path = lambda suggested, title="": str(path)
    keys(w.canvas, QKeySequence.Save)
    assert path.exists() and not w.isWindowModified()
    assert w.windowTitle().startswith("g.json")
    click_node(w, "relu2")
    keys(w.canvas, QKeySequence.Delete)
    assert w.isWindowModified()
    keys(w.canvas, QKeySequence.Undo)
    assert not w.isWindowModified()
    keys(w.canvas, QKeySequence.Redo)
    assert w.isWindowModified()


def test_inspector_edit_updates_the_wire_shapes_downstream(digits):
    w = digits
    assert wire_label(w, "relu1", "y", "dense2", "x") == "(?, 128)"
    click_node(w, "dense1")
    field = w.inspector.fields["units"]
    type_into(field, "32")
    assert w.document.nodes["dense1"].params["units"] == 32
    assert wire_label(w, "dense1", "y", "relu1", "x") == "(?, 32)"
    assert wire_label(w, "relu1", "y", "dense2", "x") == "(?, 32)"
    assert w.canvas.graph.nodes["dense1"].param_count == 64 * 32 + 32
    assert w.canvas.graph.nodes["dense1"].summary == "32 units"
    assert w.undo_stack.count() == 1
    w.undo_stack.undo()
    assert wire_label(w, "relu1", "y", "dense2", "x") == "(?, 128)"
    assert field.text() == "128"


@pytest.mark.parametrize("text, reason", [("0", "in [1, 65536], got 0"), ("abc", "expected an integer"), ("2.5", "expected an integer"),
                                          ("70000", "65536")])
def test_inspector_refuses_bad_values_with_the_reason_and_does_not_clamp(digits, text, reason):
    w = digits
    click_node(w, "dense1")
    field = w.inspector.fields["units"]
    type_into(field, text)
    assert w.document.nodes["dense1"].params["units"] == 128
    error = w.inspector.errors["units"]
    assert error.isVisible() and reason in error.text()
    assert field.text() == text                   # left as typed, to be fixed
    assert w.undo_stack.count() == 0
    type_into(field, "100")
    assert w.document.nodes["dense1"].params["units"] == 100 and not error.isVisible()


def test_inspector_widgets_follow_the_param_types(digits):
    w = digits
    click_node(w, "dense1")
    bias = w.inspector.fields["bias"]
    QTest.mouseClick(bias, Qt.LeftButton, pos=QPoint(8, bias.height() // 2))      # on the box
    settle()
    assert w.document.nodes["dense1"].params["bias"] is False
    assert w.canvas.graph.nodes["dense1"].param_count == 64 * 128
    click_node(w, "input1")
    shape = w.inspector.fields["shape"]
    type_into(shape, "1, 8, 8")
    assert w.document.nodes["input1"].params["shape"] == [1, 8, 8]
    assert "Flatten" in " ".join(w.canvas.graph.nodes["dense1"].problems)      # Dense now complains
    click_node(w, "target1")
    labels = w.inspector.fields["labels"]
    labels.setFocus()
    QTest.keyClick(labels, Qt.Key_Down)
    settle()
    assert w.document.nodes["target1"].params["labels"] == "values"
    type_into(w.inspector.label_edit, "answers")
    assert w.document.nodes["target1"].label == "answers"
    assert w.canvas.graph.nodes["target1"].name_text == "answers"


def test_a_param_that_removes_a_port_takes_its_edge_and_undo_brings_both_back(window):
    w = window
    w.open_example(example("residual_mlp"))
    settle()
    click_node(w, "add1")
    type_into(w.inspector.fields["inputs"], "2")
    assert "c" not in w.canvas.graph.nodes["add1"].inputs
    assert Edge("tanh1", "y", "add1", "c") not in w.document.edges
    w.undo_stack.undo()
    assert Edge("tanh1", "y", "add1", "c") in w.document.edges
    assert w.canvas.graph.wires[Edge("tanh1", "y", "add1", "c")].dst is w.canvas.graph.nodes["add1"].inputs["c"]


def test_auto_layout_is_one_undoable_step_from_inputs_to_losses(digits):
    w = digits
    before = dict(w.document.positions)
    QTest.keyClick(w.canvas, Qt.Key_L, Qt.ControlModifier)
    settle()
    pos = w.document.positions
    order = ["input1", "dense1", "relu1", "dense2", "relu2", "dense3", "softmax_cross_entropy1"]
    assert all(pos[a][0] < pos[b][0] for a, b in zip(order, order[1:]))
    assert pos["target1"][0] < pos["softmax_cross_entropy1"][0]
    assert w.undo_stack.count() == 1
    w.undo_stack.undo()
    assert w.document.positions == before


def test_select_all_then_delete_then_undo(digits):
    w = digits
    keys(w.canvas, QKeySequence.SelectAll)
    assert len(w.selected_node_ids()) == 8
    keys(w.canvas, QKeySequence.Delete)
    assert not w.document.nodes and not w.document.edges
    keys(w.canvas, QKeySequence.Undo)
    assert len(w.document.nodes) == 8 and len(w.document.edges) == 7
