"""Copy and paste of nodes, within a window and between windows or processes.

A copied selection is a graph file of its own (the nodes, the edges among them, their
positions), put on the clipboard under a Wiregrad MIME type and as plain text. Pasting goes
through the graph file loader, so it is checked like any file, and gets fresh ids.
"""
from __future__ import annotations

import copy

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from ..model import graphfile
from ..model.document import Document, Edge, Node

MIME = "application/x-wiregrad-graph+json"


def fragment(doc: Document, node_ids: list[str], drawn_at: dict | None = None) -> Document:
    """The nodes, the edges among them and their positions, as a document of their own.
    drawn_at: where the canvas shows nodes the document has no position for."""
    part, chosen = Document(), set(node_ids)
    for n in doc.nodes:                              # document order
        if n in chosen:
            part.nodes[n] = copy.deepcopy(doc.nodes[n])
            pos = doc.positions.get(n) or (drawn_at or {}).get(n)
            if pos is not None:
                part.positions[n] = pos
    part.edges = [e for e in doc.edges if e.src in part.nodes and e.dst in part.nodes]
    return part


def to_mime(part: Document) -> QMimeData:
    text = graphfile.dumps(part)
    mime = QMimeData()
    mime.setData(MIME, text.encode("utf-8"))
    mime.setText(text)
    return mime


def hand_over() -> None:
    """Before the last window closes: leave copied nodes on the clipboard as plain JSON text.
    The QMimeData made in Python must not outlive the application (PySide would free it twice
    at exit); a copy Qt makes itself (setText) is safe, and other programs still get the text."""
    board = QGuiApplication.clipboard()
    mime = board.mimeData()
    if mime is not None and mime.hasFormat(MIME):
        board.setText(bytes(mime.data(MIME)).decode("utf-8"))


def from_mime(mime: QMimeData) -> Document | None:
    """The graph on the clipboard, or None if there is none. Raises GraphFileError for a
    Wiregrad fragment that doesn't load."""
    if mime.hasFormat(MIME):
        return graphfile.loads(bytes(mime.data(MIME)))
    text = mime.text().strip() if mime.hasText() else ""
    if text.startswith("{") and graphfile.FORMAT in text:
        try:
            return graphfile.loads(text)
        except graphfile.GraphFileError:
            return None          # some other JSON on the clipboard: not ours to complain about
    return None


def remapped(target: Document, part: Document, offset: tuple[float, float]
             ) -> tuple[list[Node], list[Edge], dict[str, tuple[float, float]]]:
    """part's nodes with ids that are free in target, the edges among them, and their
    positions moved by offset."""
    taken = Document(nodes=dict.fromkeys(target.nodes))     # new_id looks only at the ids
    mapping = {}
    for old, node in part.nodes.items():
        mapping[old] = taken.new_id(node.kind)
        taken.nodes[mapping[old]] = None
    nodes = [Node(mapping[n.id], n.kind, n.kind_version, copy.deepcopy(n.params), n.label) for n in part.nodes.values()]
    edges = [Edge(mapping[e.src], e.src_port, mapping[e.dst], e.dst_port) for e in part.edges]
    dx, dy = offset
    positions = {mapping[n]: (round(x + dx), round(y + dy)) for n, (x, y) in part.positions.items()}
    return nodes, edges, positions


def bounds_origin(part: Document) -> tuple[float, float]:
    """The top-left corner of the fragment's positions."""
    if not part.positions:
        return 0.0, 0.0
    return min(x for x, _ in part.positions.values()), min(y for _, y in part.positions.values())
