"""The editing controller of one window: the Document, its undo stack, and the analysis
(shapes, problems, parameter counts) kept fresh after every change.

Views ask the editor for an edit; it checks the edit first and either pushes one undo command
or emits `refused` with the reason a user can read. Nothing here draws.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from ..model.document import Document, Edge, EditError, Node
from ..model.layers import get_kind
from ..model.layers.spec import ParamError
from ..model.shapes import Analysis, analyse
from . import clipboard
from .commands import AddNodes, Connect, Disconnect, MoveNodes, RemoveItems, SetLabel, SetParam
from .style import display_name


class Editor(QObject):
    analysed = Signal(object)     # Analysis, after the changes of one event-loop turn
    refused = Signal(str)         # an edit that was not made, and why

    def __init__(self, doc: Document | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = doc or Document()
        self.stack = QUndoStack(self)
        self._analysis: Analysis | None = None
        # several events (a paste, an open) are analysed once, after the event loop turns
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.flush)
        self._unsubscribe = self.doc.subscribe(self._changed)

    def _changed(self, event: str, data: dict) -> None:
        self._analysis = None
        self._timer.start()

    @property
    def analysis(self) -> Analysis:
        """Shapes and problems of the document as it is now."""
        if self._analysis is None:
            self.flush()
        return self._analysis

    def flush(self) -> None:
        """Analyse now rather than on the next turn of the event loop."""
        self._timer.stop()
        if self._analysis is None:
            self._analysis = analyse(self.doc)
            self.analysed.emit(self._analysis)

    def close(self) -> None:
        self._timer.stop()
        self._unsubscribe()

    # ---- edits ------------------------------------------------------------------------
    def _refuse(self, reason: str) -> None:
        self.refused.emit(reason)

    def add_node(self, kind: str, pos: tuple[float, float], params: dict | None = None) -> str | None:
        spec = get_kind(kind)
        if spec is None:
            self._refuse(f"unknown layer kind {kind!r}")
            return None
        values = spec.defaults()
        try:
            for name, value in (params or {}).items():
                values[name] = spec.param(name).check(value)
        except (KeyError, ParamError) as e:
            self._refuse(f"{kind}: {e}")
            return None
        node = Node(self.doc.new_id(kind), kind, spec.version, values)
        self.stack.push(AddNodes(self.doc, [node], [], {node.id: (round(pos[0]), round(pos[1]))},
                                 f"Add {display_name(kind)}"))
        return node.id

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> bool:
        edge = Edge(src, src_port, dst, dst_port)
        if edge in self.doc.edges:
            return True
        try:
            self.doc.check_connect(edge)
        except EditError as e:
            self._refuse(str(e))
            return False
        self.stack.push(Connect(self.doc, edge, f"Connect {src}.{src_port} to {dst}.{dst_port}"))
        return True

    def replug(self, edge: Edge, dst: str, dst_port: str) -> bool:
        """Move the input end of a wire to another input, as one undo step."""
        new = Edge(edge.src, edge.src_port, dst, dst_port)
        if new == edge:
            return True
        try:
            # checking with the old edge still in place is exact: a path back to edge.src
            # never needs an edge that leaves edge.src
            self.doc.check_connect(new)
        except EditError as e:
            self._refuse(str(e))
            return False
        self.stack.beginMacro(f"Reconnect {edge.src}.{edge.src_port} to {dst}.{dst_port}")
        self.stack.push(Disconnect(self.doc, edge))
        self.stack.push(Connect(self.doc, new))
        self.stack.endMacro()
        return True

    def disconnect(self, edge: Edge) -> None:
        if edge in self.doc.edges:
            self.stack.push(Disconnect(self.doc, edge, f"Disconnect {edge.dst}.{edge.dst_port}"))

    def delete(self, node_ids: list[str], edges: list[Edge] = (), text: str = "Delete") -> None:
        node_ids = [n for n in node_ids if n in self.doc.nodes]
        edges = [e for e in edges if e in self.doc.edges]
        if node_ids or edges:
            self.stack.push(RemoveItems(self.doc, node_ids, edges, text))

    def move(self, moves: dict[str, tuple[tuple, tuple]], text: str = "Move") -> None:
        """moves: node id -> (old, new) positions; one undo step for all of them."""
        moves = {n: (old, (round(new[0]), round(new[1]))) for n, (old, new) in moves.items()
                 if n in self.doc.nodes and tuple(old) != (round(new[0]), round(new[1]))}
        if moves:
            self.stack.push(MoveNodes(self.doc, moves, text))

    def set_param(self, node_id: str, name: str, value) -> str | None:
        """Set a param; returns None when done, or the reason it was refused."""
        node = self.doc.nodes.get(node_id)
        spec = get_kind(node.kind) if node else None
        if spec is None:
            return f"no layer {node_id!r} to edit"
        try:
            value = spec.param(name).check(value)
        except KeyError:
            return f"{display_name(node.kind)} has no parameter {name!r}"
        except ParamError as e:
            return str(e)
        if node.params.get(name) != value:
            self.stack.push(SetParam(self.doc, node_id, name, value, f"Set {node_id}.{name}"))
        return None

    def set_label(self, node_id: str, label: str) -> None:
        node = self.doc.nodes.get(node_id)
        if node is not None and node.label != label:
            self.stack.push(SetLabel(self.doc, node_id, label))

    def paste(self, part: Document, offset: tuple[float, float], text: str = "Paste") -> list[str]:
        """Add a copied fragment with fresh ids, moved by offset; returns the new ids."""
        nodes, edges, positions = clipboard.remapped(self.doc, part, offset)
        if not nodes:
            return []
        self.stack.push(AddNodes(self.doc, nodes, edges, positions, text))
        return [n.id for n in nodes]
