"""Quick-add: Tab on the canvas opens a search at the cursor; type, then Enter adds the
highlighted kind there. Up/Down move through the matches, Escape closes."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from .palette import matching_kinds
from .style import display_name, swatch


class QuickAdd(QFrame):
    chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent, Qt.Popup)
        self.setFrameShape(QFrame.StyledPanel)
        self.search = QLineEdit(placeholderText="Add a layer…")
        self.list = QListWidget()
        self.list.setMinimumWidth(240)
        self.list.setMaximumHeight(260)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.search.textChanged.connect(self._fill)
        self.search.installEventFilter(self)
        self.list.itemActivated.connect(self._choose)
        self.list.itemClicked.connect(self._choose)
        self._fill("")

    def _fill(self, text: str) -> None:
        self.list.clear()
        for kind in matching_kinds(text):
            item = QListWidgetItem(swatch(kind.color), f"{display_name(kind.name)}   ·  {kind.category}")
            item.setData(Qt.UserRole, kind.name)
            item.setToolTip(kind.doc)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, obj, event):
        if obj is self.search and event.type() == QEvent.KeyPress:
            key = event.key()
            if key in (Qt.Key_Down, Qt.Key_Up, Qt.Key_PageDown, Qt.Key_PageUp):
                step = {Qt.Key_Down: 1, Qt.Key_Up: -1, Qt.Key_PageDown: 5, Qt.Key_PageUp: -5}[key]
                row = max(0, min(self.list.count() - 1, self.list.currentRow() + step))
                self.list.setCurrentRow(row)
                return True
            if key in (Qt.Key_Return, Qt.Key_Enter):
                if self.list.currentItem() is not None:
                    self._choose(self.list.currentItem())
                return True
            if key == Qt.Key_Tab:
                return True
        return super().eventFilter(obj, event)

    def _choose(self, item: QListWidgetItem) -> None:
        kind = item.data(Qt.UserRole)
        self.close()
        self.chosen.emit(kind)

    def popup(self, global_pos: QPoint) -> None:
        self.search.clear()
        self._fill("")
        self.adjustSize()
        self.move(global_pos)
        self.show()
        self.search.setFocus()
