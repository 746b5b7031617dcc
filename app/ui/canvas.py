"""The canvas: a scene that mirrors the Document (rebuilt from its events, decorated from the
editor's analysis) and a view for the mouse and keys: wires drawn port to port, nodes dragged,
palette drops, Tab quick-add, zoom toward the cursor, pan, fit.
"""
from __future__ import annotations

import functools
import sys

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QCursor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QToolTip

from ..model.document import Edge
from ..model.layers.spec import fmt_shape
from .editor import Editor
from .items import FLOW_DECADES, HEADER_H, NODE_W, NodeItem, PortItem, WireItem, flow_scale, node_ports
from .layout import layered_positions
from .palette import KIND_MIME
from .style import colors, scene_font

ZOOM_MIN, ZOOM_MAX = 0.15, 4.0
GRID = 20.0


def guarded(handler):
    """An event handler whose errors are reported (sys.excepthook: printed, or failing the test
    under pytest-qt) instead of unwinding through Qt's C++ frames, which can take the whole
    editor down with the user's work."""
    @functools.wraps(handler)
    def run(self, event):
        try:
            return handler(self, event)
        except Exception:
            sys.excepthook(*sys.exc_info())
    return run


class GraphScene(QGraphicsScene):
    """Items for the Document's nodes and edges, kept in step with its events."""

    status = Signal(str)          # a hint while wiring (why a drop would be refused)

    def __init__(self, editor: Editor, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.doc = editor.doc
        self.nodes: dict[str, NodeItem] = {}
        self.wires: dict[Edge, WireItem] = {}
        self._drag: dict | None = None          # a wire being drawn
        self._press_pos: dict[str, QPointF] = {}
        self._flow: tuple[dict, dict] = ({}, {})
        self._highlight: str | None = None
        self._graveyard: list = []
        self.setSceneRect(-50_000, -50_000, 100_000, 100_000)
        self.setItemIndexMethod(QGraphicsScene.BspTreeIndex)
        self._unsubscribe = self.doc.subscribe(self._on_doc)
        editor.analysed.connect(self._decorate)
        self.rebuild()

    def close(self) -> None:
        self._unsubscribe()

    # ---- following the document -----------------------------------------------------------------
    def _ports_of(self, node_id: str):
        node = self.doc.nodes[node_id]
        return node_ports(node, [e.dst_port for e in self.doc.edges if e.dst == node_id],
                          [e.src_port for e in self.doc.edges if e.src == node_id])

    def _on_doc(self, event: str, data: dict) -> None:
        if self._drag is not None:     # an undo in the middle of drawing a wire: drop the wire
            self._cancel_drag()
        if event == "node_added":
            self._add_node(data["id"])
        elif event == "node_removed":
            item = self.nodes.pop(data["id"], None)
            if item is not None:
                self._discard(item)
        elif event == "edge_added":
            self._add_wire(data["edge"])
        elif event == "edge_removed":
            self._remove_wire(data["edge"])
        elif event in ("param_changed", "label_changed"):
            self._sync_node(data["id"])
        elif event == "node_moved":
            item = self.nodes.get(data["id"])
            pos = self.doc.positions.get(data["id"])
            if item is not None and pos is not None:
                item.setPos(*pos)
        elif event == "reset":
            self.rebuild()

    def rebuild(self) -> None:
        self._drag = None
        # forget the items before clear() deletes them: clearing a selection emits
        # selectionChanged, whose listeners (the inspector, then the analysis) reach back here
        # (a selected node when another file opened: "BadgeItem already deleted")
        self.nodes, self.wires = {}, {}
        self.clearSelection()
        self.clear()
        self._ghost = WireItem()          # the wire that follows the mouse while wiring
        self._ghost.hide()
        self.addItem(self._ghost)
        for node_id in self.doc.nodes:
            self._add_node(node_id)
        missing = [n for n in self.doc.nodes if n not in self.doc.positions]
        if missing:       # a file without layout: show it laid out, without changing the document
            laid = layered_positions(self.doc, lambda n: self.nodes[n].height)
            for n in missing:
                self.nodes[n].setPos(*laid[n])
        for e in self.doc.edges:
            self._add_wire(e)
        if any(self._flow):
            self.set_flow(*self._flow)
        self.highlight_node(self._highlight)

    def _add_node(self, node_id: str) -> None:
        item = NodeItem(self.doc.nodes[node_id], self._ports_of(node_id))
        item.setPos(*self.doc.positions.get(node_id, (0, 0)))
        self.addItem(item)
        self.nodes[node_id] = item

    def _sync_node(self, node_id: str) -> None:
        item = self.nodes.get(node_id)
        if item is None:
            return
        old = (dict(item.inputs), dict(item.outputs))
        item.sync(self.doc.nodes[node_id], self._ports_of(node_id))
        if old != (item.inputs, item.outputs):         # ports were rebuilt: re-attach the wires
            for wire in list(item.wires):
                self._attach(wire)

    def _attach(self, wire: WireItem) -> None:
        e = wire.edge
        src, dst = self.nodes[e.src], self.nodes[e.dst]
        wire.src, wire.dst = src.port(e.src_port, True), dst.port(e.dst_port, False)
        src.wires.add(wire)
        dst.wires.add(wire)
        for port in (wire.src, wire.dst):
            if port is not None:
                port.set_state(connected=True)
        wire.update_path()

    def _add_wire(self, edge: Edge) -> None:
        if edge in self.wires:
            return
        wire = WireItem(edge)
        self.wires[edge] = wire
        self.addItem(wire)
        self._attach(wire)

    def _remove_wire(self, edge: Edge) -> None:
        wire = self.wires.pop(edge, None)
        if wire is None:
            return
        for node_id in (edge.src, edge.dst):
            if node_id in self.nodes:
                self.nodes[node_id].wires.discard(wire)
        if wire.dst is not None:
            wire.dst.set_state(connected=False)
        if wire.src is not None:
            wire.src.set_state(connected=bool(self.doc.consumers(edge.src, edge.src_port)))
        self._discard(wire)

    def _discard(self, item) -> None:
        """Take an item off the scene, and free it only once the event that removed it is over:
        Qt may still hold it for the mouse event in progress (a wire dragged off its port)."""
        self.removeItem(item)
        if not self._graveyard:
            QTimer.singleShot(0, self._graveyard.clear)
        self._graveyard.append(item)

    def _decorate(self, analysis) -> None:
        """Shapes on the wires, parameter counts and problem badges on the nodes."""
        problems: dict[str, list] = {}
        for p in analysis.problems:
            if p.node is not None:
                problems.setdefault(p.node, []).append((p.port, p.message))
        for node_id, item in self.nodes.items():
            item.set_analysis(analysis.node_param_count(node_id), problems.get(node_id, []))
        for edge, wire in self.wires.items():
            shape = analysis.shapes.get((edge.src, edge.src_port))
            wire.set_label(fmt_shape(shape) if shape is not None else "?", shape is not None)

    # ---- overlays for training ----------------------------------------------------------------
    def set_flow(self, edge_values: dict, node_values: dict) -> None:
        """Per-wire values keyed by (src, src_port), per-node values keyed by id (e.g. gradient
        norms). Both are drawn on a log scale across their own values; empty dicts clear."""
        self._flow = (dict(edge_values), dict(node_values))
        edge_t, node_t = flow_scale(edge_values), flow_scale(node_values)
        for edge, wire in self.wires.items():
            key = (edge.src, edge.src_port)
            wire.set_flow((edge_values[key], edge_t[key]) if key in edge_values else None)
        for node_id, item in self.nodes.items():
            item.set_flow((node_values[node_id], node_t[node_id]) if node_id in node_values else None)

    def highlight_node(self, node_id: str | None) -> None:
        if self._highlight in self.nodes:
            self.nodes[self._highlight].set_highlight(False)
        self._highlight = node_id
        if node_id in self.nodes:
            self.nodes[node_id].set_highlight(True)

    # ---- selection ------------------------------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n for n in self.doc.nodes if n in chosen]          # document order

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, WireItem) and i.edge is not None]

    def select_only(self, node_ids) -> None:
        self.clearSelection()
        for n in node_ids:
            if n in self.nodes:
                self.nodes[n].setSelected(True)

    def item_positions(self) -> dict[str, tuple[float, float]]:
        return {n: (item.pos().x(), item.pos().y()) for n, item in self.nodes.items()}

    # ---- mouse: wires and moves -------------------------------------------------------------------
    def _port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item
        return None

    def _drop_port(self, pos: QPointF, want_output: bool) -> PortItem | None:
        """The port a dragged wire end would plug into: the port under the cursor, or on a
        node's body its first free input (or its only one), or its first output."""
        port = self._port_at(pos)
        if port is not None:
            return port if port.output == want_output else None
        for item in self.items(pos):
            if isinstance(item, NodeItem):
                if want_output:
                    return next(iter(item.outputs.values()), None)
                free = [p for p in item.inputs.values() if not p.connected]
                if free:
                    return free[0]
                return next(iter(item.inputs.values())) if len(item.inputs) == 1 else None
        return None

    @guarded
    def mousePressEvent(self, event):
        port = self._port_at(event.scenePos()) if event.button() == Qt.LeftButton else None
        if port is None:
            super().mousePressEvent(event)
            self._press_pos = {n: self.nodes[n].pos() for n in self.selected_node_ids()}
            return
        event.accept()
        edge = None if port.output else self.doc.edge_into(port.node_id, port.name)
        if port.output:          # a new wire from this output
            self._drag = {"from": port, "edge": None}
        elif edge is not None:   # pick up the wire plugged into this input
            self._drag = {"from": self.nodes[edge.src].port(edge.src_port, True), "edge": edge}
            self.wires[edge].setVisible(False)
        else:                    # a new wire drawn backwards, from this free input
            self._drag = {"to": port, "edge": None}
        self._drag["target"] = None
        self._ghost.show()
        self._follow(event.scenePos())

    def _cancel_drag(self) -> dict:
        d, self._drag = self._drag, None
        self._ghost.hide()
        if d["target"] is not None:
            d["target"].set_target(None)
        if d["edge"] is not None and d["edge"] in self.wires:
            self.wires[d["edge"]].setVisible(True)
        self.status.emit("")
        return d

    def _follow(self, pos: QPointF) -> None:
        d = self._drag
        backwards = "to" in d
        target = self._drop_port(pos, want_output=backwards)
        if target is not d["target"]:
            if d["target"] is not None:
                d["target"].set_target(None)
            d["target"] = target
            reason = self._refusal(target) if target is not None else None
            if target is not None:
                target.set_target("bad" if reason else "ok")
            self.status.emit(reason or "")
        end = target.scenePos() if target is not None else pos
        if backwards:
            self._ghost.update_path(end, d["to"].scenePos())
        else:
            self._ghost.update_path(d["from"].scenePos(), end)

    def _edge_to(self, target: PortItem, d: dict) -> Edge:
        if "to" in d:
            return Edge(target.node_id, target.name, d["to"].node_id, d["to"].name)
        return Edge(d["from"].node_id, d["from"].name, target.node_id, target.name)

    def _refusal(self, target: PortItem) -> str | None:
        try:
            self.doc.check_connect(self._edge_to(target, self._drag))
        except ValueError as e:
            return str(e)
        return None

    @guarded
    def mouseMoveEvent(self, event):
        if self._drag is not None:
            self._follow(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    @guarded
    def mouseReleaseEvent(self, event):
        if self._drag is None:
            super().mouseReleaseEvent(event)
            self._commit_move()
            return
        event.accept()
        d = self._cancel_drag()
        target, old = d["target"], d["edge"]
        if target is None:
            if old is not None:           # a wire's end dragged off its input: disconnect
                self.editor.disconnect(old)
            return
        new = self._edge_to(target, d)
        if old is not None:
            self.editor.replug(old, new.dst, new.dst_port)
        else:
            self.editor.connect(new.src, new.src_port, new.dst, new.dst_port)

    def _commit_move(self) -> None:
        """A drag of several nodes is one undo step, recorded when the button comes up."""
        pressed, self._press_pos = self._press_pos, {}
        moves = {}
        for n, old in pressed.items():
            item = self.nodes.get(n)
            if item is not None and item.pos() != old:
                moves[n] = ((old.x(), old.y()), (item.pos().x(), item.pos().y()))
        if moves:
            self.editor.move(moves)


class Canvas(QGraphicsView):
    """The view: zoom toward the cursor, pan with the middle button or space-drag, F to fit,
    Tab to add a node at the cursor, drops from the palette."""

    quick_add_requested = Signal(QPointF)     # scene position; the window opens the popup
    message = Signal(str)                     # something to show in the status bar

    def __init__(self, editor: Editor, parent=None):
        self.graph = GraphScene(editor)
        super().__init__(self.graph, parent)
        self.editor = editor
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing | QPainter.SmoothPixmapTransform)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheBackground)     # the dot grid is drawn once per view change
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)
        self._pan: QPointF | None = None
        self._space = False
        self._showed_hint = False
        self.graph.status.connect(self.message)

    # ---- coordinates --------------------------------------------------------------------------
    def cursor_scene_pos(self) -> QPointF:
        """Where the mouse is on the canvas, or the middle of the view if it is elsewhere."""
        local = self.viewport().mapFromGlobal(QCursor.pos())
        if not self.viewport().rect().contains(local):
            local = self.viewport().rect().center()
        return self.mapToScene(local)

    def visible_center(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    @staticmethod
    def node_origin(at: QPointF) -> tuple[float, float]:
        """Top-left of a new node so that the point is in the middle of its header."""
        return at.x() - NODE_W / 2, at.y() - HEADER_H / 2

    # ---- zoom and pan ---------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float, anchor_under_mouse: bool = True) -> None:
        factor = max(ZOOM_MIN / self.zoom(), min(ZOOM_MAX / self.zoom(), factor))
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse if anchor_under_mouse else QGraphicsView.AnchorViewCenter)
        self.scale(factor, factor)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)

    def reset_zoom(self) -> None:
        center = self.visible_center()
        self.resetTransform()
        self.centerOn(center)

    def fit_all(self) -> None:
        items = [i for i in self.graph.nodes.values()]
        if not items:
            self.reset_zoom()
            self.centerOn(0, 0)
            return
        rect = QRectF()
        for i in items:
            rect = rect.united(i.sceneBoundingRect())
        rect = rect.adjusted(-40, -40, 40, 40)
        self.fitInView(rect, Qt.KeepAspectRatio)
        if self.zoom() > 1.25:                 # a small graph stays at a readable size
            self.resetTransform()
            self.scale(1.25, 1.25)
        elif self.zoom() < ZOOM_MIN:
            self.resetTransform()
            self.scale(ZOOM_MIN, ZOOM_MIN)
        self.centerOn(rect.center())

    def center_on_node(self, node_id: str) -> None:
        """Scroll the node into view, only if it isn't in view already (the view stays put)."""
        item = self.graph.nodes.get(node_id)
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        if item is not None and not visible.contains(item.sceneBoundingRect()):
            self.centerOn(item.sceneBoundingRect().center())

    def changeEvent(self, event):
        # light <-> dark: the cached background (the dot grid) must be drawn again
        if event.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange, QEvent.StyleChange):
            self.resetCachedContent()
        super().changeEvent(event)

    def wheelEvent(self, event):
        delta = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.ShiftModifier or not delta:
            return super().wheelEvent(event)
        self.zoom_by(1.0015 ** delta)
        event.accept()

    def _start_pan(self, event) -> None:
        self._pan = event.position()
        self.viewport().setCursor(Qt.ClosedHandCursor)
        event.accept()

    def mousePressEvent(self, event):
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space):
            return self._start_pan(event)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        if self._pan is not None:
            delta = event.position() - self._pan
            self._pan = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):
        if self._pan is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan = None
            self.viewport().setCursor(Qt.OpenHandCursor if self._space else Qt.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # ---- keys -----------------------------------------------------------------------------------
    def focusNextPrevChild(self, next: bool) -> bool:
        return False          # Tab belongs to quick-add on the canvas

    def keyPressEvent(self, event):
        if event.key() == Qt.Key_Tab and not event.modifiers() & ~Qt.KeypadModifier:
            self.quick_add_requested.emit(self.cursor_scene_pos())
            event.accept()
            return
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event):
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            if self._pan is None:
                self.viewport().setCursor(Qt.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    # ---- drops from the palette -------------------------------------------------------------------
    def dragEnterEvent(self, event):
        if event.mimeData().hasFormat(KIND_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):
        if event.mimeData().hasFormat(KIND_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    @guarded
    def dropEvent(self, event):
        if not event.mimeData().hasFormat(KIND_MIME):
            return super().dropEvent(event)
        kind = bytes(event.mimeData().data(KIND_MIME)).decode("utf-8")
        at = self.mapToScene(event.position().toPoint())
        node_id = self.editor.add_node(kind, self.node_origin(at))
        if node_id:
            self.graph.select_only([node_id])
            self.setFocus()
        event.acceptProposedAction()

    # ---- drawing ----------------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF):
        c = colors()
        painter.fillRect(rect, c.canvas)
        if self.zoom() < 0.45:
            return           # dots would be noise from this far out
        painter.setPen(c.grid)
        left, top = int(rect.left() // GRID) * GRID, int(rect.top() // GRID) * GRID
        points = []
        y = top
        while y < rect.bottom():
            x = left
            while x < rect.right():
                points.append(QPointF(x, y))
                x += GRID
            y += GRID
        painter.drawPoints(points)

    def drawForeground(self, painter: QPainter, rect: QRectF):
        empty = not self.graph.nodes
        if empty != self._showed_hint:        # the hint comes or goes: repaint all of it, not a corner
            self._showed_hint = empty
            QTimer.singleShot(0, self.viewport().update)
        if not empty:
            self._draw_flow_legend(painter)
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(colors().dim_text)
        painter.setFont(scene_font(15))
        painter.drawText(self.viewport().rect(), Qt.AlignCenter,
                         "Drag a layer from the palette, or press Tab to add one.\n"
                         "Then drag from an output port (right) to an input port (left) to wire them.")
        painter.restore()

    def _legend_box(self) -> QRectF:
        return QRectF(10, self.viewport().height() - 92, 250, 82)

    def _draw_flow_legend(self, painter: QPainter) -> None:
        """While gradients flow: how to read the wires, in the view's bottom-left corner."""
        values = [v for v in self.graph._flow[0].values() if v and v > 0]
        if not values:
            return
        c = colors()
        hi = max(values)
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.Antialiasing)
        box = self._legend_box()
        painter.setPen(QPen(c.node_border, 1))
        painter.setBrush(c.label_bg)
        painter.drawRoundedRect(box, 6, 6)
        painter.setFont(scene_font(11, bold=True))
        painter.setPen(c.text)
        painter.drawText(box.adjusted(8, 4, -8, 0), Qt.AlignTop | Qt.AlignLeft, "Gradient flow ‖dC/dx‖ on each wire")
        painter.setFont(scene_font(10))
        for i, decades in enumerate((0, 2, 4)):
            t = 1.0 - decades / FLOW_DECADES
            y = box.top() + 32 + i * 17
            color = QColor.fromRgbF(*(c.wire.getRgbF()[k] * (1 - t) + c.flow.getRgbF()[k] * t for k in range(3)))
            pen = QPen(color, 1.5 + 6.0 * t)
            pen.setCapStyle(Qt.RoundCap)
            painter.setPen(pen)
            painter.drawLine(QPointF(box.left() + 14, y), QPointF(box.left() + 64, y))
            painter.setPen(c.dim_text)
            painter.drawText(QRectF(box.left() + 76, y - 8, 170, 16), Qt.AlignVCenter | Qt.AlignLeft,
                             f"{hi / 10 ** decades:.2g}" + ("  (largest)" if decades == 0 else "  (log scale)" if decades == 4 else ""))
        painter.restore()

    # ---- overlays, for the training panel ---------------------------------------------------------
    def set_flow(self, edge_values: dict, node_values: dict) -> None:
        """edge_values: {(src, src_port): value}, node_values: {node_id: value}, e.g. gradient
        norms; drawn as wire width and colour and a bar under each node, on a log scale.
        Empty dicts clear the overlay."""
        self.graph.set_flow(edge_values, node_values)
        # the legend in the corner follows (only its corner: a whole repaint costs 5-40 ms)
        self.viewport().update(self._legend_box().adjusted(-2, -2, 2, 2).toAlignedRect())

    def highlight_node(self, node_id: str | None, center: bool = True) -> None:
        """Mark one node (say, the first one that went non-finite); None clears the mark."""
        self.graph.highlight_node(node_id)
        if node_id is not None and center:
            self.center_on_node(node_id)

    def show_reason(self, reason: str) -> None:
        """A refused edit: the reason at the cursor, and in the status bar."""
        if self.viewport().rect().contains(self.viewport().mapFromGlobal(QCursor.pos())):
            QToolTip.showText(QCursor.pos(), reason, self)
        self.message.emit(reason)
