"""Building on the canvas with the mouse: palette drops, wiring port to port, refusals,
rewiring and disconnecting, shapes on the wires, badges on nodes with problems."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from app.model.document import Edge
from app.paths import example
from ui_helpers import (click_node, drag, palette_drag, port_point, quick_add, settings_dir, settle, view_point,  # noqa: F401
                        window, wire, wire_label)

pytestmark = pytest.mark.qt


def test_palette_drag_drops_a_dense_node_at_the_drop_position(window, monkeypatch):
    at = QPointF(120, 80)
    palette_drag(window, "dense", at, monkeypatch)
    (node_id,) = window.document.nodes
    assert window.document.nodes[node_id].kind == "dense"
    item = window.canvas.graph.nodes[node_id]
    assert item.sceneBoundingRect().contains(at)
    x, y = window.document.positions[node_id]
    assert abs(x + item.boundingRect().width() / 2 - 4 - at.x()) <= 2      # the drop point is mid-header
    assert abs(y - at.y()) <= 20
    assert window.selected_node_ids() == [node_id]
    assert window.isWindowModified()
    window.undo_stack.undo()
    assert not window.document.nodes and not window.canvas.graph.nodes
    assert not window.isWindowModified()


def test_port_to_port_drag_connects_and_shapes_show_on_the_wire(window, monkeypatch):
    palette_drag(window, "input", QPointF(0, 0), monkeypatch)
    palette_drag(window, "dense", QPointF(260, 0), monkeypatch)
    wire(window, "input1", "y", "dense1", "x")
    assert window.document.edges == [Edge("input1", "y", "dense1", "x")]
    assert wire_label(window, "input1", "y", "dense1", "x") == "(?, 2)"
    assert window.undo_stack.undoText().startswith("Connect")
    window.undo_stack.undo()
    assert window.document.edges == [] and not window.canvas.graph.wires
    window.undo_stack.redo()
    assert window.document.edges == [Edge("input1", "y", "dense1", "x")]


def test_wire_can_be_drawn_backwards_from_a_free_input(window):
    window.editor.add_node("input", (0, 0))
    window.editor.add_node("relu", (250, 0))
    settle()
    drag(window.canvas.viewport(), port_point(window, "relu1", "x", False), port_point(window, "input1", "y", True))
    assert window.document.edges == [Edge("input1", "y", "relu1", "x")]


def test_self_connection_and_cycles_are_refused_with_the_reason(window):
    messages = []
    window.editor.refused.connect(messages.append)
    for kind, x in (("input", 0), ("relu", 250), ("tanh", 500)):
        window.editor.add_node(kind, (x, 0))
    settle()
    wire(window, "relu1", "y", "relu1", "x")
    assert window.document.edges == []
    assert "itself" in messages[-1]
    assert "itself" in window.statusBar().currentMessage()

    wire(window, "relu1", "y", "tanh1", "x")
    wire(window, "tanh1", "y", "relu1", "x")
    assert window.document.edges == [Edge("relu1", "y", "tanh1", "x")]
    assert "cycle" in messages[-1] and "cycle" in window.statusBar().currentMessage()
    assert window.undo_stack.count() == 4           # three adds and one connect: nothing for the refusals


def test_dropping_on_a_connected_input_replaces_its_edge(window):
    for kind, x, y in (("input", 0, 0), ("input", 0, 150), ("relu", 300, 60)):
        window.editor.add_node(kind, (x, y))
    settle()
    wire(window, "input1", "y", "relu1", "x")
    wire(window, "input2", "y", "relu1", "x")
    assert window.document.edges == [Edge("input2", "y", "relu1", "x")]
    window.undo_stack.undo()
    assert window.document.edges == [Edge("input1", "y", "relu1", "x")]


def test_dragging_a_wire_end_away_disconnects_and_onto_another_input_moves_it(window):
    for kind, x, y in (("input", 0, 0), ("relu", 300, 0), ("tanh", 300, 150)):
        window.editor.add_node(kind, (x, y))
    settle()
    wire(window, "input1", "y", "relu1", "x")
    # pick the wire up at relu1's input and drop it on tanh1's
    drag(window.canvas.viewport(), port_point(window, "relu1", "x", False), port_point(window, "tanh1", "x", False))
    assert window.document.edges == [Edge("input1", "y", "tanh1", "x")]
    # then drag it off into empty canvas
    drag(window.canvas.viewport(), port_point(window, "tanh1", "x", False), view_point(window, QPointF(150, 400)))
    assert window.document.edges == []
    assert not window.canvas.graph.nodes["tanh1"].inputs["x"].connected
    window.undo_stack.undo()
    assert window.document.edges == [Edge("input1", "y", "tanh1", "x")]
    window.undo_stack.undo()                         # the move is one step
    assert window.document.edges == [Edge("input1", "y", "relu1", "x")]


def test_an_undo_while_a_wire_is_being_drawn_drops_the_wire(window):
    for kind, x in (("input", 0), ("relu", 250), ("tanh", 500)):
        window.editor.add_node(kind, (x, 0))
    settle()
    view = window.canvas.viewport()
    start, end = port_point(window, "input1", "y", True), port_point(window, "relu1", "x", False)
    QTest.mousePress(view, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(view, start + QPoint(40, 10))
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key_Z, Qt.ControlModifier)        # removes tanh1 meanwhile
    QTest.mouseMove(view, end)
    QTest.mouseRelease(view, Qt.LeftButton, Qt.NoModifier, end)
    settle()
    assert "tanh1" not in window.document.nodes
    assert window.document.edges == [] and not window.canvas.graph._ghost.isVisible()


def test_problems_get_a_badge_and_the_offending_port_is_marked(window):
    settle()
    assert window.problems_button.text() == "Empty graph"           # not a red "1 problem" at the start
    assert window.problems_button.styleSheet() == "" and "palette" in window.problems_button.toolTip()
    assert "problem" not in window.inspector.details.text()          # nor a red one in the inspector
    window.editor.add_node("dense", (0, 0))
    settle()
    item = window.canvas.graph.nodes["dense1"]
    assert item.badge.isVisible()
    assert "not connected" in item.badge.toolTip()
    assert "not connected" in item.inputs["x"].problem
    assert "problem" in window.problems_button.text()
    window.editor.add_node("input", (-250, 0))
    settle()
    wire(window, "input1", "y", "dense1", "x")
    assert not item.badge.isVisible() and item.inputs["x"].problem is None
    assert item.param_count == 2 * 16 + 16


def test_the_problem_count_in_the_status_bar_goes_to_each_problem(window):
    window.open_example(example("residual_mlp"))
    settle()
    assert window.problems_button.text() == "No problems"
    window.editor.delete(["relu2", "tanh1"])
    settle()
    assert window.problems_button.text() == "2 problems"
    assert "add1.b: input is not connected" in window.problems_button.toolTip()
    QTest.mouseClick(window.problems_button, Qt.LeftButton)
    assert window.selected_node_ids() == ["add1"]
    assert "input is not connected" in window.inspector.details.text()
    QTest.mouseClick(window.problems_button, Qt.LeftButton)            # the only node with problems
    assert window.selected_node_ids() == ["add1"]


def test_moving_several_nodes_is_one_undo_step(window):
    window.open_example(example("digits_mlp"))
    settle()
    before = dict(window.document.positions)
    click_node(window, "dense1")
    click_node(window, "relu1", Qt.ControlModifier)
    assert window.selected_node_ids() == ["dense1", "relu1"]
    start = view_point(window, window.canvas.graph.nodes["dense1"].mapToScene(QPointF(40, 10)))
    drag(window.canvas.viewport(), start, start + QPoint(60, 90))
    moved = {n for n in before if window.document.positions[n] != before[n]}
    assert moved == {"dense1", "relu1"}
    assert window.undo_stack.count() == 1
    window.undo_stack.undo()
    assert window.document.positions == before
    assert window.canvas.graph.nodes["relu1"].pos() == QPointF(*before["relu1"])


def test_rubber_band_selects_the_nodes_inside(window):
    window.open_example(example("digits_mlp"))
    settle()
    graph = window.canvas.graph
    r = graph.nodes["dense1"].sceneBoundingRect().united(graph.nodes["relu1"].sceneBoundingRect())
    drag(window.canvas.viewport(), view_point(window, r.topLeft() - QPointF(20, 30)),
         view_point(window, r.bottomRight() + QPointF(10, 10)))
    assert window.selected_node_ids() == ["dense1", "relu1"]


def test_quick_add_puts_the_node_at_the_cursor(window):
    at = QPointF(300, 200)
    node_id = quick_add(window, "relu", at)
    assert window.document.nodes[node_id].kind == "relu"
    assert window.canvas.graph.nodes[node_id].sceneBoundingRect().contains(at)


def test_zoom_follows_the_cursor_and_f_fits_everything(window):
    window.open_example(example("residual_mlp"))
    settle()
    view = window.canvas
    anchor = QPoint(200, 150)
    under = view.mapToScene(anchor)
    before = view.zoom()
    QTest.mouseMove(view.viewport(), anchor)
    from PySide6.QtGui import QWheelEvent
    wheel = QWheelEvent(QPointF(anchor), QPointF(view.viewport().mapToGlobal(anchor)), QPoint(), QPoint(0, 240),
                        Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QTest.qWait(1)
    view.wheelEvent(wheel)
    assert view.zoom() > before * 1.2
    after = view.mapToScene(anchor)
    assert abs(after.x() - under.x()) < 3 and abs(after.y() - under.y()) < 3     # zoomed toward the cursor
    view.setFocus()
    QTest.keyClick(view, Qt.Key_F)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in window.canvas.graph.nodes.values():
        assert visible.contains(item.sceneBoundingRect())


def test_middle_button_and_space_drag_pan(window):
    window.open_example(example("digits_mlp"))
    settle()
    view = window.canvas
    c0 = view.mapToScene(view.viewport().rect().center())
    drag(view.viewport(), QPoint(300, 300), QPoint(200, 250), button=Qt.MiddleButton)
    c1 = view.mapToScene(view.viewport().rect().center())
    assert c1.x() > c0.x() + 50 and c1.y() > c0.y() + 20
    view.setFocus()
    QTest.keyPress(view, Qt.Key_Space)
    drag(view.viewport(), QPoint(200, 250), QPoint(300, 300))
    QTest.keyRelease(view, Qt.Key_Space)
    c2 = view.mapToScene(view.viewport().rect().center())
    assert abs(c2.x() - c0.x()) < 3 and abs(c2.y() - c0.y()) < 3
    assert window.undo_stack.count() == 0 and not window.selected_node_ids()


def test_flow_overlay_and_highlight_hooks(window):
    window.open_example(example("digits_mlp"))
    settle()
    graph = window.canvas.graph
    # a log scale over the four decades below the largest value: 3 decades down is 0.25
    window.canvas.set_flow({("input1", "y"): 1e-4, ("dense1", "y"): 1e-1, ("dense2", "y"): 1e-9},
                           {"dense1": 0.5, "relu1": 0.05})
    assert graph.wires[Edge("dense1", "y", "relu1", "x")].flow == (1e-1, 1.0)
    assert graph.wires[Edge("input1", "y", "dense1", "x")].flow == pytest.approx((1e-4, 0.25))
    assert graph.wires[Edge("dense2", "y", "relu2", "x")].flow == (1e-9, 0.0)
    assert graph.wires[Edge("relu1", "y", "dense2", "x")].flow is None
    assert graph.nodes["dense1"].flow[1] == 1.0 and graph.nodes["dense2"].flow is None
    window.canvas.highlight_node("dense2")
    assert graph.nodes["dense2"].highlighted
    window.canvas.highlight_node(None)
    assert not graph.nodes["dense2"].highlighted
    window.canvas.set_flow({}, {})
    assert all(w.flow is None for w in graph.wires.values())
