"""Every edit as a QUndoCommand that changes the Document; the canvas follows the Document's
events, so undo and redo need no view code. Commands assume the edit was checked before it was
pushed (see editor.py): redo after undo replays onto the exact state it was made on.
"""
from __future__ import annotations

import copy

from PySide6.QtGui import QUndoCommand

from ..model.document import Document, Edge, Node


def _restore_order(doc: Document, order: list[str]) -> None:
    """Put re-inserted nodes back where they were, so undo gives back the same document order
    (which is the order of the saved file and of the topological sort's ties)."""
    rank = {n: i for i, n in enumerate(order)}
    if list(doc.nodes) != sorted(doc.nodes, key=lambda n: rank.get(n, len(rank))):
        doc.nodes = dict(sorted(doc.nodes.items(), key=lambda kv: rank.get(kv[0], len(rank))))


class AddNodes(QUndoCommand):
    """Add nodes with the edges among them: one node from the palette, a paste, a duplicate."""

    def __init__(self, doc: Document, nodes: list[Node], edges: list[Edge], positions: dict, text: str):
        super().__init__(text)
        self.doc, self.nodes, self.edges, self.positions = doc, nodes, edges, positions

    def redo(self):
        for n in self.nodes:
            self.doc.insert_node(copy.deepcopy(n), self.positions.get(n.id))
        for e in self.edges:
            self.doc.connect(e.src, e.src_port, e.dst, e.dst_port)

    def undo(self):
        for n in reversed(self.nodes):
            self.doc.remove_node(n.id)


class RemoveItems(QUndoCommand):
    """Delete nodes (with every edge they touch) and loose edges."""

    def __init__(self, doc: Document, node_ids: list[str], edges: list[Edge], text: str = "Delete"):
        super().__init__(text)
        self.doc, self.node_ids, self.loose = doc, list(node_ids), list(edges)
        self.removed: list[tuple[Node, tuple | None]] = []
        self.edges: list[Edge] = []
        self.order: list[str] = []

    def redo(self):
        doc = self.doc
        self.order = list(doc.nodes)
        gone = set(self.node_ids)
        self.edges = [e for e in doc.edges if e in self.loose or e.src in gone or e.dst in gone]
        for e in self.edges:
            doc.disconnect(e)
        self.removed = []
        for node_id in self.node_ids:
            node, _, pos = doc.remove_node(node_id)
            self.removed.append((node, pos))

    def undo(self):
        for node, pos in self.removed:
            self.doc.insert_node(node, pos)
        _restore_order(self.doc, self.order)
        for e in self.edges:
            self.doc.connect(e.src, e.src_port, e.dst, e.dst_port)


class Connect(QUndoCommand):
    """Connect an output to an input; an edge already in that input is replaced (and restored on undo)."""

    def __init__(self, doc: Document, edge: Edge, text: str = "Connect"):
        super().__init__(text)
        self.doc, self.edge, self.replaced = doc, edge, None

    def redo(self):
        e = self.edge
        _, self.replaced = self.doc.connect(e.src, e.src_port, e.dst, e.dst_port)

    def undo(self):
        self.doc.disconnect(self.edge)
        if self.replaced is not None:
            r = self.replaced
            self.doc.connect(r.src, r.src_port, r.dst, r.dst_port)


class Disconnect(QUndoCommand):
    def __init__(self, doc: Document, edge: Edge, text: str = "Disconnect"):
        super().__init__(text)
        self.doc, self.edge = doc, edge

    def redo(self):
        self.doc.disconnect(self.edge)

    def undo(self):
        e = self.edge
        self.doc.connect(e.src, e.src_port, e.dst, e.dst_port)


class SetParam(QUndoCommand):
    """Set one param. A port that disappears (Add with fewer inputs) takes its edge along;
    undo brings both back."""

    def __init__(self, doc: Document, node_id: str, name: str, value, text: str):
        super().__init__(text)
        self.doc, self.node_id, self.name, self.value = doc, node_id, name, value
        self.old, self.dropped = None, []

    def redo(self):
        before = [e for e in self.doc.edges if e.dst == self.node_id]
        self.old = self.doc.set_param(self.node_id, self.name, self.value)
        self.dropped = [e for e in before if e not in self.doc.edges]

    def undo(self):
        # restore, not set: the old value may be one a file held out of bounds
        self.doc.restore_param(self.node_id, self.name, self.old)
        for e in self.dropped:
            self.doc.connect(e.src, e.src_port, e.dst, e.dst_port)


class SetLabel(QUndoCommand):
    def __init__(self, doc: Document, node_id: str, label: str):
        super().__init__(f"Rename {node_id}")
        self.doc, self.node_id, self.label, self.old = doc, node_id, label, ""

    def redo(self):
        self.old = self.doc.set_label(self.node_id, self.label)

    def undo(self):
        self.doc.set_label(self.node_id, self.old)


class MoveNodes(QUndoCommand):
    """Move several nodes at once: a mouse drag or an auto-layout is one step."""

    def __init__(self, doc: Document, moves: dict[str, tuple[tuple, tuple]], text: str = "Move"):
        super().__init__(text)
        self.doc, self.moves = doc, moves

    def redo(self):
        for node_id, (_, new) in self.moves.items():
            self.doc.move_node(node_id, new)

    def undo(self):
        for node_id, (old, _) in self.moves.items():
            self.doc.move_node(node_id, old)


class SetTraining(QUndoCommand):
    """One training setting, for the training panel, so its edits undo like any other.
    The key must exist already (default_training() has every standard key)."""

    def __init__(self, doc: Document, key: str, value, text: str | None = None):
        super().__init__(text or f"Set {key}")
        self.doc, self.key, self.value, self.old = doc, key, value, None

    def redo(self):
        self.old = self.doc.set_training(self.key, self.value)

    def undo(self):
        self.doc.set_training(self.key, self.old)
