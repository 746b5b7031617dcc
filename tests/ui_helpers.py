"""Fixtures and helpers for the editor tests: a window with isolated settings and recovery
folder, and real mouse and key input on real widgets.

Import what a test module needs: `from ui_helpers import window, ...` (pytest puts tests/ on
sys.path). Set QT_QPA_PLATFORM before Qt loads: each UI module does so at its top.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QDrag, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.ui.main_window import MainWindow


@pytest.fixture
def settings_dir(tmp_path):
    """Recent files and other QSettings go to a folder of this test's own."""
    folder = tmp_path / "settings"
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, str(folder))
    return folder


def make_window(qtbot, tmp_path) -> MainWindow:
    w = MainWindow(adapter_probe=lambda: "Test Adapter (CPU)", recovery_dir=tmp_path / "recovery")
    w.ask_save_changes = lambda: "discard"          # closing at teardown never blocks
    w.show_error = lambda title, text: w.errors.append((title, text))
    w.errors = []
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    activate(w)
    return w


def activate(w) -> None:
    """Bring a window to the front, as a click on it would: shortcuts go to the active window."""
    w.activateWindow()
    w.raise_()
    for _ in range(50):
        if QApplication.activeWindow() is w:
            return
        QTest.qWait(5)


@pytest.fixture
def window(qtbot, tmp_path, settings_dir) -> MainWindow:
    """An editor window on an empty, untitled document."""
    return make_window(qtbot, tmp_path)


def settle(n: int = 3) -> None:
    """Let queued work run (the analysis after an edit runs on the next event-loop turn)."""
    for _ in range(n):
        QApplication.processEvents()


# ---- the mouse on the canvas -------------------------------------------------------------------------

def view_point(window: MainWindow, scene_pos) -> QPoint:
    return window.canvas.mapFromScene(QPointF(scene_pos))


def drag(widget, start: QPoint, end: QPoint, button=Qt.LeftButton, modifiers=Qt.NoModifier, steps: int = 6) -> None:
    """Press, move in steps, release: what a hand on the mouse does."""
    QTest.mousePress(widget, button, modifiers, start)
    for i in range(1, steps + 1):
        t = i / steps
        QTest.mouseMove(widget, QPoint(round(start.x() + (end.x() - start.x()) * t),
                                       round(start.y() + (end.y() - start.y()) * t)))
    QTest.mouseRelease(widget, button, modifiers, end)
    settle()


def port_point(window: MainWindow, node_id: str, port: str, output: bool) -> QPoint:
    item = window.canvas.graph.nodes[node_id].port(port, output)
    assert item is not None, f"{node_id} has no {'output' if output else 'input'} port {port!r}"
    return view_point(window, item.scenePos())


def wire(window: MainWindow, src: str, src_port: str, dst: str, dst_port: str) -> None:
    """Drag from an output port to an input port."""
    drag(window.canvas.viewport(), port_point(window, src, src_port, True), port_point(window, dst, dst_port, False))


def header_point(window: MainWindow, node_id: str) -> QPoint:
    item = window.canvas.graph.nodes[node_id]
    return view_point(window, item.mapToScene(QPointF(40, 10)))


def click_node(window: MainWindow, node_id: str, modifiers=Qt.NoModifier) -> None:
    QTest.mouseClick(window.canvas.viewport(), Qt.LeftButton, modifiers, header_point(window, node_id))
    settle()


# ---- palette drag and drop -------------------------------------------------------------------------------

def palette_drag(window: MainWindow, kind: str, scene_pos, monkeypatch) -> None:
    """Drag a kind from the palette onto the canvas with the mouse.

    The press and the moves on the palette are real, so the tree starts its drag as it would for
    a user, and the palette builds the QDrag with its real mime data. What happens next is the
    platform's: it runs a nested loop that follows the cursor and sends drag-enter, drag-move
    and drop events to the widget under it. The offscreen platform has no drag support
    (QDrag.exec returns at once), so here QDrag.exec is replaced by exactly that delivery, to
    the canvas at the drop position, with the drag's own mime data.
    """
    target = window.canvas.viewport()
    drop_at = view_point(window, scene_pos)
    delivered = []

    def platform_drag(drag_obj: QDrag, *args, **kwargs):
        mime = drag_obj.mimeData()
        pos = QPointF(drop_at)
        enter = QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(target, enter)
        if not enter.isAccepted():          # (an assert here would be swallowed by Qt)
            delivered.append("enter refused")
            return Qt.IgnoreAction
        move = QDragMoveEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(target, move)
        drop = QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(target, drop)
        delivered.append(drop.isAccepted())
        return drop.dropAction() if drop.isAccepted() else Qt.IgnoreAction

    monkeypatch.setattr(QDrag, "exec", platform_drag)
    tree = window.palette.tree
    tree.scrollToItem(window.palette.items[kind])
    rect = window.palette.item_rect(kind)
    start = rect.center()
    QTest.mousePress(tree.viewport(), Qt.LeftButton, Qt.NoModifier, start)
    for dx in (4, 12, 30):
        QTest.mouseMove(tree.viewport(), start + QPoint(dx, 0))
    QTest.mouseRelease(tree.viewport(), Qt.LeftButton, Qt.NoModifier, start + QPoint(30, 0))
    monkeypatch.undo()
    settle()
    assert delivered == [True], "the palette did not start a drag, or the canvas did not take the drop"


# ---- keyboard -------------------------------------------------------------------------------------------

def quick_add(window: MainWindow, text: str, scene_pos) -> str:
    """Tab on the canvas with the mouse at scene_pos, type, Enter; returns the new node's id."""
    before = set(window.document.nodes)
    window.canvas.centerOn(scene_pos)      # the training docks leave the canvas small: keep the spot in view
    QTest.mouseMove(window.canvas.viewport(), view_point(window, scene_pos))
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key_Tab)
    popup = window.quick_add
    assert popup.isVisible(), "Tab on the canvas did not open quick-add"
    QTest.keyClicks(popup.search, text)
    QTest.keyClick(popup.search, Qt.Key_Return)
    settle()
    (new,) = set(window.document.nodes) - before
    return new


def type_into(widget, text: str) -> None:
    """Click into a field, select what is there, type, Enter."""
    QTest.mouseClick(widget, Qt.LeftButton)
    QTest.keyClick(widget, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClicks(widget, text)
    QTest.keyClick(widget, Qt.Key_Return)
    settle()


def wire_label(window: MainWindow, src: str, src_port: str, dst: str, dst_port: str) -> str:
    from app.model.document import Edge
    window.editor.flush()
    return window.canvas.graph.wires[Edge(src, src_port, dst, dst_port)].label
