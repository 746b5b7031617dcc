"""Placeholder until the editor lands: opens a window naming the graph."""
from __future__ import annotations


def run_editor(argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication, QLabel
    app = QApplication.instance() or QApplication(argv[:1] or ["wiregrad"])
    label = QLabel("Wiregrad editor")
    label.show()
    return app.exec()
