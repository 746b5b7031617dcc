"""What the canvas draws: nodes with their ports and problem badge, and wires with the shape
of the tensor they carry. Items only draw and hold view state; the scene (canvas.py) creates,
updates and removes them from the Document's events.
"""
from __future__ import annotations

import math
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyle

from ..model.document import Node
from ..model.layers import get_kind
from .style import colors, display_name, kind_color, scene_font

NODE_W = 128.0     # the examples space columns 190 apart: this leaves room for a shape label
MAX_W = 176.0
HEADER_H = 24.0
FLOW_TEXT_H = 13.0      # room under a node for its gradient figure while training
INFO_H = 17.0
ROW_H = 18.0
BOTTOM = 6.0
PORT_R = 5.0
RADIUS = 6.0

TITLE_FONT, SUMMARY_FONT, INFO_FONT, PORT_FONT, LABEL_FONT = 12, 11, 10, 10, 10


@lru_cache(maxsize=16)
def _metrics(font_px: int, bold: bool) -> QFontMetricsF:
    return QFontMetricsF(scene_font(font_px, bold))


def _elide(text: str, font_px: int, width: float, bold: bool = False) -> str:
    return _metrics(font_px, bold).elidedText(text, Qt.ElideRight, width)


def _text_width(text: str, font_px: int, bold: bool = False) -> float:
    return _metrics(font_px, bold).horizontalAdvance(text)


def format_count(n: int) -> str:
    if n < 10_000:
        return f"{n:,d}"
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.3g}{unit}"
    return str(n)


def node_ports(node: Node, edges_in: list[str], edges_out: list[str]) -> tuple[list[str], list[str]]:
    """Input and output port names. A node of an unknown kind shows the ports its edges use."""
    kind = get_kind(node.kind)
    if kind is None:
        return sorted(set(edges_in)), sorted(set(edges_out))
    try:
        ins = [p.name for p in kind.input_ports(node.params)]
    except Exception:        # params out of bounds (a file may hold them): validation says so
        ins = sorted(set(edges_in))
    return ins, [p.name for p in kind.outputs]


class PortItem(QGraphicsItem):
    """A port on a node's edge. Its shape is larger than the dot so it is easy to hit."""

    HIT = 9.0

    def __init__(self, parent: "NodeItem", name: str, output: bool):
        super().__init__(parent)
        self.name, self.output = name, output
        self.connected = False
        self.problem: str | None = None
        self.target: str | None = None       # "ok" / "bad" while a wire is dragged over it
        self.hovered = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CrossCursor)

    @property
    def node_item(self) -> "NodeItem":
        return self.parentItem()

    @property
    def node_id(self) -> str:
        return self.parentItem().node_id

    def boundingRect(self) -> QRectF:
        return QRectF(-self.HIT, -self.HIT, 2 * self.HIT, 2 * self.HIT)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(self.boundingRect())
        return path

    def set_state(self, connected: bool | None = None, problem: str | None | bool = False) -> None:
        if connected is not None:
            self.connected = connected
        if problem is not False:
            self.problem = problem
            self._update_tooltip()
        self.update()

    def set_target(self, state: str | None) -> None:
        if state != self.target:
            self.target = state
            self.update()

    def _update_tooltip(self) -> None:
        side = "output" if self.output else "input"
        tip = f"{self.node_id}.{self.name} ({side})"
        self.setToolTip(f"{tip}\n{self.problem}" if self.problem else tip)

    def hoverEnterEvent(self, event):
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event):
        self.hovered = False
        self.update()

    def paint(self, painter: QPainter, option, widget=None):
        c = colors()
        painter.setRenderHint(QPainter.Antialiasing)
        ring = {"ok": c.selection, "bad": c.error}.get(self.target) or (c.selection if self.hovered else None)
        if ring is not None:
            painter.setPen(QPen(ring, 2))
            painter.setBrush(Qt.NoBrush)
            painter.drawEllipse(QPointF(0, 0), PORT_R + 3, PORT_R + 3)
        if self.problem:
            painter.setPen(QPen(c.error, 2))
            painter.setBrush(c.error if not self.connected else self.node_item.color)
        else:
            painter.setPen(QPen(c.node_border, 1.2))
            painter.setBrush(self.node_item.color if self.connected else c.node)
        painter.drawEllipse(QPointF(0, 0), PORT_R, PORT_R)


class BadgeItem(QGraphicsItem):
    """The red mark on a node with problems; its tooltip says what they are."""

    R = 8.0

    def boundingRect(self) -> QRectF:
        return QRectF(-self.R - 1, -self.R - 1, 2 * self.R + 2, 2 * self.R + 2)

    def paint(self, painter: QPainter, option, widget=None):
        c = colors()
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(QPen(c.node, 1.5))
        painter.setBrush(c.error)
        painter.drawEllipse(QPointF(0, 0), self.R, self.R)
        painter.setPen(QColor("white"))
        painter.setFont(scene_font(12, bold=True))
        painter.drawText(self.boundingRect(), Qt.AlignCenter, "!")


class NodeItem(QGraphicsItem):
    def __init__(self, node: Node, ports: tuple[list[str], list[str]]):
        super().__init__()
        self.node_id = node.id
        self.setFlags(QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable
                      | QGraphicsItem.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.wires: set[WireItem] = set()
        self.inputs: dict[str, PortItem] = {}
        self.outputs: dict[str, PortItem] = {}
        self.color = QColor()
        self.height = HEADER_H + INFO_H + ROW_H + BOTTOM
        self.param_count = 0
        self.problems: list[str] = []
        self.flow: tuple[float, float] | None = None      # (value, 0..1 on the overlay's scale)
        self.highlighted = False
        self.width = NODE_W
        self.badge = BadgeItem(self)
        self.badge.setPos(NODE_W - 2, 2)
        self.badge.setVisible(False)
        self.badge.setZValue(2)
        self.sync(node, ports)

    # ---- state from the document and the analysis -------------------------------------------
    def sync(self, node: Node, ports: tuple[list[str], list[str]]) -> None:
        kind = get_kind(node.kind)
        self.color = kind_color(node.kind)
        self.kind_name, self.label = node.kind, node.label
        title = display_name(node.kind)
        try:
            summary = kind.summary(node.params) if kind else "unknown kind"
        except Exception:         # a summary of params out of bounds; the badge explains
            summary = ""
        # a long kind name (SoftmaxCrossEntropy) or summary ("65536 units") widens its node a
        # little rather than being cut short, up to MAX_W
        full = _text_width(title, TITLE_FONT, bold=True) + (_text_width(summary, SUMMARY_FONT) + 8 if summary else 0)
        width = min(MAX_W, max(NODE_W, math.ceil(full) + 14))
        if width != self.width:
            self.prepareGeometryChange()
            self.width = width
            self.badge.setPos(width - 2, 2)
            for p in self.outputs.values():
                p.setPos(width, p.y())
        room = width - 14
        self.title = _elide(title, TITLE_FONT, room, bold=True)
        title_w = _text_width(self.title, TITLE_FONT, bold=True)
        self.summary = _elide(summary, SUMMARY_FONT, room - title_w - 8) if summary else ""
        self.name_text = node.label or node.id
        self.named = bool(node.label)
        self._layout_info()
        ins, outs = ports
        if list(self.inputs) != ins or list(self.outputs) != outs:
            self._make_ports(ins, outs)
        self.setToolTip(f"{title} · {node.id}" + (f" “{node.label}”" if node.label else "")
                        + (f" · {summary}" if summary else "")
                        + (f"\n{kind.doc}" if kind and kind.doc else ""))
        self.update()

    def _layout_info(self) -> None:
        count = f"{format_count(self.param_count)} params" if self.param_count else ""
        self.count_text = count
        room = self.width - 14 - (_text_width(count, INFO_FONT) + 8 if count else 0)
        self.name_shown = _elide(self.name_text, INFO_FONT, room)

    def _make_ports(self, ins: list[str], outs: list[str]) -> None:
        for port in [*self.inputs.values(), *self.outputs.values()]:
            port.setParentItem(None)
            if port.scene():
                port.scene().removeItem(port)
        self.prepareGeometryChange()
        self.inputs = {n: PortItem(self, n, False) for n in ins}
        self.outputs = {n: PortItem(self, n, True) for n in outs}
        for i, p in enumerate(self.inputs.values()):
            p.setPos(0, self.port_y(i))
            p._update_tooltip()
        for i, p in enumerate(self.outputs.values()):
            p.setPos(self.width, self.port_y(i))
            p._update_tooltip()
        self.height = HEADER_H + INFO_H + max(len(ins), len(outs), 1) * ROW_H + BOTTOM

    @staticmethod
    def port_y(row: int) -> float:
        return HEADER_H + INFO_H + row * ROW_H + ROW_H / 2

    def port(self, name: str, output: bool) -> PortItem | None:
        return (self.outputs if output else self.inputs).get(name)

    def set_analysis(self, param_count: int, problems: list[tuple[str | None, str]]) -> None:
        """problems: (port or None, message) pairs for this node."""
        self.param_count = param_count
        self._layout_info()
        self.problems = [f"{port}: {msg}" if port else msg for port, msg in problems]
        self.badge.setVisible(bool(problems))
        self.badge.setToolTip("\n".join(self.problems))
        by_port = {}
        for port, msg in problems:
            if port:
                by_port.setdefault(port, []).append(msg)
        for p in [*self.inputs.values(), *self.outputs.values()]:
            msgs = by_port.get(p.name) if not p.output else None
            if (msgs and "\n".join(msgs)) != p.problem:
                p.set_state(problem="\n".join(msgs) if msgs else None)
        self.update()

    def set_flow(self, flow: tuple[float, float] | None) -> None:
        if (flow is None) != (self.flow is None):
            self.prepareGeometryChange()      # the figure below the node comes or goes
        elif _flow_look(flow, "{:.2g}") == _flow_look(self.flow, "{:.2g}"):
            self.flow = flow                  # looks the same: no repaint (each costs ~0.6 ms)
            return
        self.flow = flow
        self.update()

    def set_highlight(self, on: bool) -> None:
        self.highlighted = on
        self.update()

    # ---- geometry and drawing -----------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        below = FLOW_TEXT_H if self.flow is not None else 0.0
        return QRectF(-4, -4, self.width + 8, self.height + 8 + below)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, self.width, self.height), RADIUS, RADIUS)
        return path

    def itemChange(self, change, value):
        if change == QGraphicsItem.ItemPositionHasChanged:
            for wire in self.wires:
                wire.update_path()
        return super().itemChange(change, value)

    def paint(self, painter: QPainter, option, widget=None):
        c = colors()
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.TextAntialiasing)
        rect = QRectF(0, 0, self.width, self.height)
        body = self.shape()
        painter.fillPath(body, c.node)
        header = QPainterPath()
        header.addRect(QRectF(0, 0, self.width, HEADER_H))
        painter.fillPath(body.intersected(header), self.color)

        # the header: kind and its key params, in white on the category colour
        painter.setPen(QColor("white"))
        painter.setFont(scene_font(TITLE_FONT, bold=True))
        painter.drawText(QRectF(7, 0, self.width - 14, HEADER_H), Qt.AlignVCenter | Qt.AlignLeft, self.title)
        if self.summary:
            painter.setFont(scene_font(SUMMARY_FONT))
            painter.drawText(QRectF(7, 0, self.width - 14, HEADER_H), Qt.AlignVCenter | Qt.AlignRight, self.summary)

        # label (or id) and parameter count
        info = QRectF(7, HEADER_H, self.width - 14, INFO_H)
        painter.setFont(scene_font(INFO_FONT, bold=self.named))
        painter.setPen(c.text if self.named else c.dim_text)
        painter.drawText(info, Qt.AlignVCenter | Qt.AlignLeft, self.name_shown)
        if self.count_text:
            painter.setFont(scene_font(INFO_FONT))
            painter.setPen(c.dim_text)
            painter.drawText(info, Qt.AlignVCenter | Qt.AlignRight, self.count_text)

        # port names beside their dots
        painter.setFont(scene_font(PORT_FONT))
        for p in self.inputs.values():
            painter.setPen(c.error if p.problem else c.dim_text)
            painter.drawText(QRectF(10, p.y() - ROW_H / 2, self.width / 2 - 10, ROW_H), Qt.AlignVCenter | Qt.AlignLeft, p.name)
        painter.setPen(c.dim_text)
        for p in self.outputs.values():
            painter.drawText(QRectF(self.width / 2, p.y() - ROW_H / 2, self.width / 2 - 10, ROW_H), Qt.AlignVCenter | Qt.AlignRight, p.name)

        if self.flow is not None:
            t = self.flow[1]
            bar = QRectF(8, self.height - 4.5, max(2.0, (self.width - 16) * t), 2.5)
            painter.fillRect(QRectF(8, self.height - 4.5, self.width - 16, 2.5), c.grid)
            painter.fillRect(bar, c.flow)
            # the latest ‖dC/dθ‖ of this node's weights, as a figure under the node
            painter.setFont(scene_font(PORT_FONT))
            painter.setPen(c.flow)
            painter.drawText(QRectF(0, self.height + 1, self.width, FLOW_TEXT_H), Qt.AlignHCenter | Qt.AlignTop,
                             f"‖dC/dθ‖ {self.flow[0]:.2g}")

        selected = bool(option.state & QStyle.State_Selected)
        if self.highlighted:
            painter.setPen(QPen(c.highlight, 3))
            painter.setBrush(Qt.NoBrush)
            painter.drawRoundedRect(rect.adjusted(-2.5, -2.5, 2.5, 2.5), RADIUS + 2, RADIUS + 2)
        if selected:
            pen = QPen(c.selection, 2.2)
        elif self.problems:
            pen = QPen(c.error, 1.6)
        else:
            pen = QPen(c.node_border, 1)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)


class WireItem(QGraphicsItem):
    """A wire from an output port to an input port, labelled with the shape it carries.
    With no edge, it is the wire that follows the mouse while one is being drawn."""

    def __init__(self, edge=None, src: PortItem | None = None, dst: PortItem | None = None):
        super().__init__()
        self.edge, self.src, self.dst = edge, src, dst
        self.p1 = self.p2 = QPointF()
        self.path = QPainterPath()
        self.label, self.label_rect = "", QRectF()
        self.shown, self.label_px = "", LABEL_FONT         # the label as drawn: compact where room is short
        self.known = True
        self.flow: tuple[float, float] | None = None
        self.setZValue(-1)
        if edge is not None:
            self.setFlag(QGraphicsItem.ItemIsSelectable)
            self.setAcceptHoverEvents(True)
        self.update_path()

    def update_path(self, p1: QPointF | None = None, p2: QPointF | None = None) -> None:
        """Follow the ports; a free end (while dragging) goes where it is told."""
        self.prepareGeometryChange()
        self.p1 = p1 if p1 is not None else (self.src.scenePos() if self.src else self.p1)
        self.p2 = p2 if p2 is not None else (self.dst.scenePos() if self.dst else self.p2)
        a, b = self.p1, self.p2
        dx = max(40.0, abs(b.x() - a.x()) * 0.5, min(120.0, abs(b.y() - a.y()) * 0.5) if b.x() < a.x() else 0)
        path = QPainterPath(a)
        path.cubicTo(a + QPointF(dx, 0), b - QPointF(dx, 0), b)
        self.path = path
        self._place_label()

    def set_label(self, text: str, known: bool = True) -> None:
        if (text, known) != (self.label, self.known):
            self.prepareGeometryChange()
            self.label, self.known = text, known
            self._place_label()
            self._update_tooltip()
            self.update()

    def set_flow(self, flow: tuple[float, float] | None) -> None:
        same = _flow_look(flow, "{:.3g}") == _flow_look(self.flow, "{:.3g}")
        self.flow = flow
        if not same:
            self._update_tooltip()
            self.update()

    def _update_tooltip(self) -> None:
        e = self.edge
        if e is None:
            return
        shape = self.label if self.known else "shape unknown: see the problems upstream"
        flow = f"\nflow {self.flow[0]:.3g}" if self.flow else ""
        self.setToolTip(f"{e.src}.{e.src_port} → {e.dst}.{e.dst_port}\n{shape}{flow}")

    def _place_label(self) -> None:
        if not self.label:
            self.label_rect = QRectF()
            return
        # between two nodes placed close (the examples leave 62 px) a long shape such as
        # (?, 16, 8, 8) is written without spaces, a size smaller, to stay clear of the ports
        room = abs(self.p2.x() - self.p1.x()) - 2 * (PORT_R + 2)
        self.shown, self.label_px, pad = self.label, LABEL_FONT, 10
        if _text_width(self.label, LABEL_FONT) + pad > room:
            self.shown, self.label_px, pad = self.label.replace(" ", ""), LABEL_FONT - 1, 6
        w = _text_width(self.shown, self.label_px) + pad
        mid = self.path.pointAtPercent(0.5)
        self.label_rect = QRectF(mid.x() - w / 2, mid.y() - 8, w, 16)

    def boundingRect(self) -> QRectF:
        r = self.path.boundingRect().adjusted(-6, -6, 6, 6)
        return r.united(self.label_rect.adjusted(-1, -1, 1, 1)) if self.label else r

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        shape = stroker.createStroke(self.path)
        if self.label:
            shape.addRect(self.label_rect)
        return shape

    def pen(self) -> QPen:
        c = colors()
        if self.edge is None:
            return QPen(c.selection, 2, Qt.DashLine)
        color, width = c.wire, 1.8
        if self.flow is not None:
            t = self.flow[1]
            color = QColor.fromRgbF(*(c.wire.getRgbF()[i] * (1 - t) + c.flow.getRgbF()[i] * t for i in range(3)))
            width = 1.5 + 6.0 * t
        if self.isSelected():
            color, width = c.selection, max(width, 2.6)
        pen = QPen(color, width)
        pen.setCapStyle(Qt.RoundCap)
        if not self.known:
            pen.setStyle(Qt.DashLine)
        return pen

    def paint(self, painter: QPainter, option, widget=None):
        c = colors()
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(self.pen())
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self.path)
        if self.label:
            painter.setPen(QPen(c.selection if self.isSelected() else c.node_border, 1))
            painter.setBrush(c.label_bg)
            painter.drawRoundedRect(self.label_rect, 8, 8)
            painter.setPen(c.text)
            painter.setFont(scene_font(self.label_px))
            painter.drawText(self.label_rect, Qt.AlignCenter, self.shown)


FLOW_DECADES = 4.0   # the overlay shows this many decades below the largest value


def _flow_look(flow: tuple[float, float] | None, figure: str):
    """What a flow overlay shows: its figure as written, and its 0..1 position in 1/100 steps
    (a bar's or a wire's width in pixels, near enough)."""
    return None if flow is None else (figure.format(flow[0]), round(flow[1] * 100))


def flow_scale(values: dict) -> dict:
    """Map positive values to 0..1 on a log scale: the largest is 1, and FLOW_DECADES decades
    below it is 0. (Gradient norms span decades; a min..max scale would make values that
    differ by a few percent look as different as ones a thousand times apart.)"""
    logs = {k: math.log10(v) for k, v in values.items() if v is not None and v > 0 and math.isfinite(v)}
    if not logs:
        return {k: 0.0 for k in values}
    hi = max(logs.values())
    return {k: min(1.0, max(0.0, 1.0 - (hi - logs[k]) / FLOW_DECADES)) if k in logs else 0.0 for k in values}
