"""The palette of layer kinds, grouped by category, with a search filter; kinds are dragged
from it onto the canvas. `matching_kinds` is the one search, shared with quick-add.
"""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from ..model.layers import CATEGORIES, all_kinds
from ..model.layers.spec import LayerKind
from .style import display_name, swatch

KIND_MIME = "application/x-wiregrad-kind"


def matching_kinds(text: str) -> list[LayerKind]:
    """Kinds that match every word of text: a word matches the start of a word of the kind's
    name or category, or (from three letters on) any part of its description. Best first:
    names that begin with the whole text ("softmax cross" finds SoftmaxCrossEntropy), then
    names that begin with the first word, then the rest; ties in category order."""
    words = text.lower().split()
    typed = "".join(words)
    order = {c: i for i, c in enumerate(CATEGORIES)}
    found = []
    for kind in all_kinds().values():
        names = [*kind.name.split("_"), kind.name.replace("_", ""), display_name(kind.name).lower(), kind.category.lower()]
        doc = kind.doc.lower()
        if all(any(n.startswith(w) for n in names) or (len(w) >= 3 and w in doc) for w in words):
            name = kind.name.replace("_", "")
            rank = 0 if name.startswith(typed) else 1 if words and name.startswith(words[0]) else 2
            found.append((rank if words else 0, order.get(kind.category, len(order)), kind.name, kind))
    return [k for *_, k in sorted(found, key=lambda t: t[:3])]


def kind_mime(kind: str) -> QMimeData:
    mime = QMimeData()
    mime.setData(KIND_MIME, kind.encode("utf-8"))
    return mime


class _KindTree(QTreeWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setIndentation(8)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setUniformRowHeights(True)

    def startDrag(self, actions):
        item = self.currentItem()
        kind = item.data(0, Qt.UserRole) if item else None
        if not kind:
            return
        drag = QDrag(self)
        drag.setMimeData(kind_mime(kind))
        drag.setPixmap(item.icon(0).pixmap(24, 24))
        drag.exec(Qt.CopyAction)


class Palette(QWidget):
    activated = Signal(str)          # a kind chosen by double-click or Enter: add it to the canvas

    def __init__(self, parent=None):
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Search layers…", clearButtonEnabled=True)
        self.tree = _KindTree()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.items: dict[str, QTreeWidgetItem] = {}
        self.groups: dict[str, QTreeWidgetItem] = {}
        self._fill()
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._add_first)
        self.tree.itemActivated.connect(self._activated)

    def _fill(self) -> None:
        kinds = all_kinds()
        categories = list(CATEGORIES) + sorted({k.category for k in kinds.values()} - set(CATEGORIES))
        for cat in categories:
            members = sorted((k for k in kinds.values() if k.category == cat), key=lambda k: display_name(k.name))
            if not members:
                continue
            group = QTreeWidgetItem(self.tree, [cat])
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            group.setFlags(Qt.ItemIsEnabled)
            self.groups[cat] = group
            for kind in members:
                item = QTreeWidgetItem(group, [display_name(kind.name)])
                item.setIcon(0, swatch(kind.color))
                item.setData(0, Qt.UserRole, kind.name)
                item.setToolTip(0, f"{display_name(kind.name)} ({kind.category})\n{kind.doc}\n\n"
                                   "Drag onto the canvas, or double-click to add.")
                item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
                self.items[kind.name] = item
        self.tree.expandAll()

    def filter(self, text: str) -> None:
        shown = {k.name for k in matching_kinds(text)}
        for name, item in self.items.items():
            item.setHidden(name not in shown)
        for group in self.groups.values():
            group.setHidden(all(group.child(i).isHidden() for i in range(group.childCount())))

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        kind = item.data(0, Qt.UserRole)
        if kind:
            self.activated.emit(kind)

    def _add_first(self) -> None:
        found = matching_kinds(self.search.text())
        if found:
            self.activated.emit(found[0].name)

    def item_rect(self, kind: str):
        """Where a kind's row is, in the tree's viewport (for tests and tours)."""
        return self.tree.visualItemRect(self.items[kind])
