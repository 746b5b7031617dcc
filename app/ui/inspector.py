"""The inspector: the selected node's label and params, generated from its kind's declaration,
with its shapes, parameter count and problems. Each committed edit is one undo command; a value
the kind refuses is not applied, and the kind's own reason is shown under the field.
"""
from __future__ import annotations

import math
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QFrame, QLabel, QLineEdit, QScrollArea,
                               QVBoxLayout, QWidget)

from ..model.layers import get_kind
from ..model.layers.spec import Param, fmt_shape
from .editor import Editor
from .items import format_count
from .style import colors, display_name, kind_color

MAX_LABEL = 200      # as the graph file's schema allows


def parse(param: Param, text: str):
    """Text as the value it most likely means; what doesn't parse goes through as text, so the
    kind's own check words the refusal ("expected an integer >= 1, got 'abc'")."""
    text = text.strip()
    if param.type == "int":
        for convert in (int, float):
            try:
                return convert(text)
            except ValueError:
                pass
    elif param.type == "float":
        try:
            return float(text)
        except ValueError:
            pass
    elif param.type == "shape":
        parts = [p for p in re.split(r"[\s,×x*()\[\]]+", text) if p]
        try:
            return [int(p) for p in parts]
        except ValueError:
            pass
    return text


def show_value(param: Param, value) -> str:
    if param.type == "shape" and isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if param.type == "float" and isinstance(value, float):
        return f"{value:g}"
    return str(value)


class NumberEdit(QLineEdit):
    """A line edit for int, float and shape params. Up/Down step numbers. It never clamps:
    the value is checked when committed."""

    def __init__(self, param: Param):
        super().__init__()
        self.param = param

    def keyPressEvent(self, event):
        if self.param.type in ("int", "float") and event.key() in (Qt.Key_Up, Qt.Key_Down):
            value = parse(self.param, self.text())
            if isinstance(value, (int, float)) and math.isfinite(value):
                sign = 1 if event.key() == Qt.Key_Up else -1
                if self.param.type == "int":
                    value = int(value) + sign
                else:
                    step = 10 ** (math.floor(math.log10(abs(value))) - 1) if value else 0.01
                    value = round(value + sign * step, 12)
                self.setText(show_value(self.param, value))
                self.editingFinished.emit()
            return
        super().keyPressEvent(event)


class Inspector(QScrollArea):
    def __init__(self, editor: Editor, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.node_ids: list[str] = []
        self.fields: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.label_edit: QLineEdit | None = None
        self.details: QLabel | None = None
        self._unsubscribe = editor.doc.subscribe(self._on_doc)
        editor.analysed.connect(self._show_analysis)
        self.show_nodes([])

    def close_inspector(self) -> None:
        self._unsubscribe()

    @property
    def node_id(self) -> str | None:
        return self.node_ids[0] if len(self.node_ids) == 1 else None

    # ---- building ---------------------------------------------------------------------------------
    def show_nodes(self, node_ids: list[str]) -> None:
        self.node_ids = [n for n in node_ids if n in self.editor.doc.nodes]
        self.fields, self.errors, self.label_edit = {}, {}, None
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(10, 10, 10, 10)
        box.setSpacing(8)
        if self.node_id is None:
            text = (f"{len(self.node_ids)} nodes selected." if self.node_ids else
                    "Select a node to edit its parameters.\n\nAdd layers by dragging them from the palette, "
                    "or press Tab on the canvas.")
            box.addWidget(QLabel(text, wordWrap=True))
        else:
            self._build_node(box)
        self.details = QLabel(wordWrap=True, textFormat=Qt.RichText)
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        box.addWidget(self.details)
        box.addStretch(1)
        old = self.takeWidget()
        if old is not None:
            old.deleteLater()          # an editor of the old page may be mid-signal
        self.setWidget(page)
        self._show_analysis(self.editor.analysis)

    def _build_node(self, box: QVBoxLayout) -> None:
        node = self.editor.doc.nodes[self.node_id]
        kind = get_kind(node.kind)
        title = QLabel(f"<b style='font-size:14pt'>{display_name(node.kind)}</b>"
                       f"&nbsp;&nbsp;<span style='color:{kind_color(node.kind).name()}'>■</span> "
                       f"{kind.category if kind else 'unknown kind'}")
        box.addWidget(title)
        if kind and kind.doc:
            box.addWidget(QLabel(kind.doc, wordWrap=True))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        ident = QLineEdit(node.id, readOnly=True, frame=False)
        ident.setToolTip("The node's id: problems and the saved file name it.")
        form.addRow("id", ident)
        self.label_edit = QLineEdit(node.label, placeholderText="optional name", maxLength=MAX_LABEL)
        self.label_edit.editingFinished.connect(self._commit_label)
        form.addRow("label", self.label_edit)
        for param in kind.params if kind else []:
            field = self._field(param, node.params.get(param.name))
            tip = "\n".join(t for t in (param.doc, self._bounds(param)) if t)
            label = QLabel(param.name)
            label.setToolTip(tip)
            field.setToolTip(tip)
            form.addRow(label, field)
            error = QLabel(wordWrap=True)
            error.setStyleSheet(f"color: {colors().error.name()}")
            error.hide()
            form.addRow("", error)
            self.fields[param.name], self.errors[param.name] = field, error
        box.addLayout(form)

    @staticmethod
    def _bounds(param: Param) -> str:
        if param.type in ("int", "float") and param.bounds_text():
            return f"allowed: {param.type}{param.bounds_text()}"
        if param.type == "shape":
            return "a list of sizes, e.g. 64 or 1, 8, 8"
        return ""

    def _field(self, param: Param, value) -> QWidget:
        name = param.name
        if param.type == "bool":
            w = QCheckBox(param.doc)
            w.setChecked(bool(value))
            w.toggled.connect(lambda on, n=name: self._commit(n, on))
        elif param.type == "choice":
            w = QComboBox()
            w.addItems([str(c) for c in param.choices])
            if value in param.choices:
                w.setCurrentIndex(list(param.choices).index(value))
            w.activated.connect(lambda i, n=name, p=param: self._commit(n, p.choices[i]))
        else:
            w = NumberEdit(param)
            w.setText(show_value(param, value))
            w.editingFinished.connect(lambda n=name, p=param, w=w: self._commit(n, parse(p, w.text())))
        w.setObjectName(f"param_{name}")
        return w

    # ---- committing -------------------------------------------------------------------------------
    def _commit(self, name: str, value) -> None:
        if self.node_id is None:
            return
        reason = self.editor.set_param(self.node_id, name, value)
        self._set_error(name, reason)
        if reason is None:
            self._refresh_values()

    def _set_error(self, name: str, reason: str | None) -> None:
        error, field = self.errors.get(name), self.fields.get(name)
        if error is None:
            return
        error.setText(f"Not applied: {reason}" if reason else "")
        error.setVisible(bool(reason))
        field.setStyleSheet(f"border: 1px solid {colors().error.name()}" if reason else "")

    def _commit_label(self) -> None:
        if self.node_id is not None and self.label_edit is not None:
            self.editor.set_label(self.node_id, self.label_edit.text().strip())

    # ---- following the document ---------------------------------------------------------------------
    def _on_doc(self, event: str, data: dict) -> None:
        if event in ("reset", "node_removed", "node_added"):
            if any(n not in self.editor.doc.nodes for n in self.node_ids):
                self.show_nodes([n for n in self.node_ids if n in self.editor.doc.nodes])
        elif event in ("param_changed", "label_changed") and data.get("id") == self.node_id:
            self._refresh_values()

    def _refresh_values(self) -> None:
        """Show the document's values (after an edit, an undo, a redo) without rebuilding."""
        node = self.editor.doc.nodes.get(self.node_id) if self.node_id else None
        kind = get_kind(node.kind) if node else None
        if node is None:
            return
        if self.label_edit is not None and self.label_edit.text() != node.label:
            self.label_edit.setText(node.label)
        for param in kind.params if kind else []:
            w, value = self.fields.get(param.name), node.params.get(param.name)
            if w is None:
                continue
            w.blockSignals(True)
            if isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QComboBox):
                if value in param.choices:
                    w.setCurrentIndex(list(param.choices).index(value))
            elif not self.errors[param.name].isVisible():
                w.setText(show_value(param, value))
            w.blockSignals(False)

    def _show_analysis(self, analysis) -> None:
        if self.details is None:
            return
        err = colors().error.name()
        if self.node_id is None:
            if self.node_ids:
                self.details.setText("")
                return
            problems = analysis.problems if self.editor.doc.nodes else []   # empty: nothing wrong yet
            lines = [f"<b>{format_count(analysis.param_count)}</b> learnable parameters in "
                     f"{len(self.editor.doc.nodes)} nodes."]
            if problems:
                lines.append(f"<b style='color:{err}'>{len(problems)} problem{'s' if len(problems) != 1 else ''}</b>:")
                lines += [f"<span style='color:{err}'>• {_html(str(p))}</span>" for p in problems[:12]]
            self.details.setText("<br>".join(lines))
            return
        n = self.node_id
        ins = analysis.in_shapes.get(n, {})
        outs = {port: s for (node, port), s in analysis.shapes.items() if node == n}
        lines = []
        if ins:
            lines.append("<b>in</b> " + ", ".join(f"{p} {fmt_shape(s)}" for p, s in ins.items()))
        if outs:
            lines.append("<b>out</b> " + ", ".join(f"{p} {fmt_shape(s)}" for p, s in outs.items()))
        for w in analysis.weights.get(n, []):
            lines.append(f"<b>{w.name}</b> {fmt_shape(w.shape)}")
        count = analysis.node_param_count(n)
        lines.append(f"<b>{count:,d}</b> learnable parameters" if count else "no learnable parameters")
        for p in analysis.problems_of(n):
            where = f"{p.port}: " if p.port else ""
            lines.append(f"<span style='color:{err}'>⚠ {_html(where + p.message)}</span>")
        self.details.setText("<br>".join(lines))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
