"""The editor window: palette, canvas, inspector, menus, toolbar and status bar around one
Document, and the file handling (open, save, recent, examples, autosave and recovery).

For the training panel and plots (written elsewhere), the hooks are:
- `window.document` (always the same Document object; opening a file replaces its contents
  and emits "reset") and `window.undo_stack` (push commands.SetTraining etc. on it);
- `window.add_training_dock(widget, title, area)` docks a panel, `window.menu("Train")` gives a
  menu, `window.toolbar` takes actions;
- `window.canvas.set_flow(edge_values, node_values)` and `window.canvas.highlight_node(node_id)`
  draw per-wire / per-node values (gradient norms) and mark a node (the first non-finite one).
Dialogs go through small `ask_*` / `show_error` methods so that tests can answer them.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import shiboken6
from PySide6.QtCore import QEvent, QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox,
                               QToolBar, QToolButton, QWidget)

from ..model import graphfile
from ..model.document import Document
from ..paths import example, examples_dir
from . import clipboard, recovery
from .adapter import AdapterProbe
from .collector import collect_garbage_on_gui_thread
from .runner import adapter_name_warmed
from .canvas import Canvas
from .editor import Editor
from .inspector import Inspector
from .items import format_count
from .layout import layered_positions
from .palette import Palette
from .quick_add import QuickAdd
from .style import colors, dark_palette, icon

APP = "Wiregrad"
MAX_RECENT = 8
AUTOSAVE_MS = int(os.environ.get("WIREGRAD_AUTOSAVE_MS", 60_000))
FILTER = "Wiregrad graphs (*.json);;All files (*)"
DEFAULT_EXAMPLE = "digits_mlp.json"
SIDE_BY_SIDE = 3           # training docks in one area before further ones become tabs

_windows: list["MainWindow"] = []          # open windows, kept alive until closed


def settings() -> QSettings:
    return QSettings(APP, APP)


class MainWindow(QMainWindow):
    selection_changed = Signal(list)        # node ids, in document order

    def __init__(self, adapter_probe=adapter_name_warmed, recovery_dir: Path | None = None):
        super().__init__()
        collect_garbage_on_gui_thread()
        self.editor = Editor(parent=self)
        self.document: Document = self.editor.doc
        self.undo_stack = self.editor.stack
        self.path: str | None = None               # where Save writes; None for untitled and examples
        self.untitled_name = "Untitled"
        self._training_docks: list[QDockWidget] = []
        self._icon_names: dict[QAction, str] = {}
        self._menus: dict[str, QMenu] = {}

        self.canvas = Canvas(self.editor)
        self.setCentralWidget(self.canvas)
        self.palette = Palette()
        self.inspector = Inspector(self.editor)
        self.palette_dock = self._dock("Layers", self.palette, Qt.LeftDockWidgetArea, "palette")
        self.inspector_dock = self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea, "inspector")
        self.resizeDocks([self.palette_dock, self.inspector_dock], [190, 280], Qt.Horizontal)
        # the right column (inspector over the training controls) runs the window's full height,
        # beside the plots: under them it left the inspector a few lines while training
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        self.quick_add = QuickAdd(self)
        self._quick_at = None

        self._make_status_bar()
        self._make_actions()
        self._make_menus()
        self._make_toolbar()
        self._tint_icons()
        self._connect()

        self.slot = recovery.RecoverySlot(recovery_dir)
        self.autosave_timer = QTimer(self, interval=AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

        self._adapter = AdapterProbe(self)
        self._adapter.found.connect(self._show_adapter)
        if adapter_probe is not None:
            self.adapter_label.setText("GPU: looking…")
            self._adapter.start(adapter_probe)
        self.setWindowIcon(icon("wiregrad"))
        self.resize(*self._initial_size())
        self._update_title()
        self.editor.flush()
        from .training_panel import TrainingController     # its docks and the Train menu
        self.training = TrainingController(self)
        _windows.append(self)

    @staticmethod
    def _initial_size() -> tuple[int, int]:
        """Most of the screen, up to 1600x1000; 1280x800 where there is no real screen (offscreen)."""
        screen = QGuiApplication.primaryScreen()
        g = screen.availableGeometry() if screen else None
        if g is None or g.width() < 1000:
            return 1280, 800
        return min(1600, int(g.width() * 0.85)), min(1000, int(g.height() * 0.85))

    # ---- building the window ----------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut=None, icon_name: str | None = None, tip: str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([k if isinstance(k, QKeySequence) else QKeySequence(k) for k in keys])
        if icon_name:
            self._icon_names[action] = icon_name
        shown = action.shortcut().toString(QKeySequence.NativeText)
        action.setToolTip((tip or text.replace("…", "").replace("&", "")) + (f" ({shown})" if shown else ""))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        A, K = self._action, QKeySequence
        self.act_new = A("&New", self.new, K.New, "new", "New graph")
        self.act_new_window = A("New &Window", self.new_window, "Ctrl+Shift+N")
        self.act_open = A("&Open…", self.open, K.Open, "open", "Open a graph")
        self.act_save = A("&Save", self.save, K.Save, "save", "Save")
        self.act_save_as = A("Save &As…", self.save_as, K.SaveAs)
        self.act_export = A("&Export JSON…", self.export_json, None, None, "Write a copy of the graph as JSON")
        self.act_close = A("&Close Window", self.close, K.Close)
        self.act_quit = A("&Quit", QApplication.closeAllWindows, K.Quit)
        self.act_undo = self.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts(K.Undo)
        self._icon_names[self.act_undo] = "undo"
        self.act_redo = self.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts(K.Redo)
        self._icon_names[self.act_redo] = "redo"
        self.addActions([self.act_undo, self.act_redo])
        self.act_cut = A("Cu&t", self.cut, K.Cut)
        self.act_copy = A("&Copy", self.copy, K.Copy)
        self.act_paste = A("&Paste", self.paste, K.Paste)
        self.act_duplicate = A("&Duplicate", self.duplicate, "Ctrl+D", "duplicate")
        self.act_delete = A("De&lete", self.delete_selection, [K(K.Delete), K(Qt.Key_Backspace)], "delete",
                            "Delete the selection")
        self.act_select_all = A("Select &All", self.select_all, K.SelectAll)
        self.act_add = A("&Add Layer…\tTab", self.open_quick_add, None, "add", "Add a layer (Tab on the canvas)")
        self.act_fit = A("&Fit All", self.canvas.fit_all, "F", "fit", "Fit the view to all nodes")
        self.act_zoom_in = A("Zoom &In", lambda: self.canvas.zoom_by(1.25, False), K.ZoomIn)
        self.act_zoom_out = A("Zoom &Out", lambda: self.canvas.zoom_by(0.8, False), K.ZoomOut)
        self.act_zoom_reset = A("&Actual Size", self.canvas.reset_zoom, "Ctrl+0")
        self.act_layout = A("Auto-&Layout", self.auto_layout, "Ctrl+L", "layout", "Arrange the graph from inputs to losses")
        self.act_shortcuts = A("&Keyboard and Mouse", self.show_shortcuts, K.HelpContents)
        self.act_about = A("&About Wiregrad", self.show_about)

    def _tint_icons(self) -> None:
        for action, name in self._icon_names.items():
            action.setIcon(icon(name))

    def changeEvent(self, event):
        # the system switched between light and dark: icons and canvas follow
        if event.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange, QEvent.ThemeChange):
            self._tint_icons()
            self.canvas.resetCachedContent()
            self.canvas.graph.update()
            self.canvas.viewport().update()
            self._show_analysis(self.editor.analysis)
        super().changeEvent(event)

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file = self.menu("&File")
        file.addActions([self.act_new, self.act_new_window, self.act_open])
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.examples_menu = file.addMenu("E&xamples")
        self._fill_examples()
        file.addSeparator()
        file.addActions([self.act_save, self.act_save_as, self.act_export])
        file.addSeparator()
        file.addActions([self.act_close, self.act_quit])
        edit = self.menu("&Edit")
        edit.addActions([self.act_undo, self.act_redo])
        edit.addSeparator()
        edit.addActions([self.act_cut, self.act_copy, self.act_paste, self.act_duplicate, self.act_delete])
        edit.addSeparator()
        edit.addActions([self.act_select_all, self.act_add])
        view = self.menu("&View")
        view.addActions([self.act_fit, self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset])
        view.addSeparator()
        view.addAction(self.act_layout)
        view.addSeparator()
        self.docks_menu = view
        view.addActions([self.palette_dock.toggleViewAction(), self.inspector_dock.toggleViewAction()])
        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addActions([self.act_shortcuts, self.act_about])

    def menu(self, title: str) -> QMenu:
        """The menu with this title, made (before Help) if there is none: e.g. menu("&Train")."""
        key = title.replace("&", "")
        if key not in self._menus:
            menu = QMenu(title, self)
            help_menu = getattr(self, "help_menu", None)
            if help_menu is not None:
                self.menuBar().insertMenu(help_menu.menuAction(), menu)
            else:
                self.menuBar().addMenu(menu)
            self._menus[key] = menu
        return self._menus[key]

    def _make_toolbar(self) -> None:
        self.toolbar = QToolBar("Main", self)
        self.toolbar.setObjectName("toolbar")
        self.toolbar.setMovable(False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonIconOnly)
        self.toolbar.addActions([self.act_new, self.act_open, self.act_save])
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.act_undo, self.act_redo])
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.act_add, self.act_duplicate, self.act_delete])
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.act_fit, self.act_layout])
        self.addToolBar(Qt.TopToolBarArea, self.toolbar)

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        self.problems_button = QToolButton(autoRaise=True)
        self.problems_button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.problems_button.clicked.connect(self.show_next_problem)
        self.params_label = QLabel()
        self.adapter_label = QLabel("GPU: not checked")
        self.adapter_label.setMaximumWidth(360)
        for w in (self.problems_button, self.params_label, self.adapter_label):
            bar.addPermanentWidget(w)

    def _connect(self) -> None:
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.editor.analysed.connect(self._show_analysis)
        self._show_analysis(self.editor.analysis)      # the first document's, before any edit
        self.editor.refused.connect(self.canvas.show_reason)
        self.canvas.message.connect(self._status)
        self.canvas.quick_add_requested.connect(self._quick_add_at)
        self.canvas.graph.selectionChanged.connect(self._selection_changed)
        self.quick_add.chosen.connect(self._quick_added)
        self.palette.activated.connect(self.add_at_center)

    # ---- hooks for the training panel --------------------------------------------------------------
    def add_training_dock(self, widget: QWidget, title: str = "Training",
                          area=Qt.BottomDockWidgetArea) -> QDockWidget:
        """Dock a panel (training controls, plots). The first few docks in an area sit side by
        side, later ones become tabs beside the last; each gets an entry in the View menu."""
        dock = self._dock(title, widget, area, f"training_{len(self._training_docks)}")
        same = [d for d in self._training_docks if self.dockWidgetArea(d) == area]
        if len(same) >= SIDE_BY_SIDE:
            self.tabifyDockWidget(same[-1], dock)
        elif same:
            self.splitDockWidget(same[-1], dock, Qt.Horizontal)
        self._training_docks.append(dock)
        self.docks_menu.addAction(dock.toggleViewAction())
        if area == Qt.BottomDockWidgetArea:     # the canvas keeps most of the height
            self.resizeDocks([dock], [max(240, int(self.height() * 0.36))], Qt.Vertical)
        return dock

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not getattr(self, "_right_column_sized", False):
            self._right_column_sized = True
            QTimer.singleShot(0, self._size_right_column)

    def _size_right_column(self) -> None:
        """Once laid out: the training controls under the inspector get what they need, the
        inspector the rest (Qt split the column evenly, cutting the inspector's shapes off)."""
        below = [d for d in self._training_docks if self.dockWidgetArea(d) == Qt.RightDockWidgetArea]
        if not below or not shiboken6.isValid(self):
            return
        need = below[0].sizeHint().height()
        column = self.inspector_dock.height() + below[0].height()
        self.resizeDocks([self.inspector_dock, below[0]], [max(120, column - need), need], Qt.Vertical)

    def selected_node_ids(self) -> list[str]:
        return self.canvas.graph.selected_node_ids()

    # ---- status ---------------------------------------------------------------------------------
    def _status(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text, 6000)
        else:
            self.statusBar().clearMessage()

    def _show_analysis(self, analysis) -> None:
        n = len(analysis.problems)
        if not self.document.nodes:       # a fresh start is not an error: no red "1 problem" yet
            self._problems("Empty graph", "Drag layers from the palette onto the canvas, or press Tab on it.")
        elif n:
            self._problems(f"{n} problem{'s' if n != 1 else ''}",
                           "\n".join(str(p) for p in analysis.problems[:20])
                           + ("\n…" if n > 20 else "") + "\n\nClick to go to the next one.", error=True)
        else:
            self._problems("No problems", "The graph is complete and every shape fits.")
        self.params_label.setText(f"{format_count(analysis.param_count)} parameters")
        self.params_label.setToolTip(f"{analysis.param_count:,d} learnable parameters")

    def show_cannot_train(self, message: str) -> None:
        """A run that could not start (the dataset doesn't fit, too large...): the status bar's
        "No problems" would contradict it, so it says so until the next edit analyses anew."""
        self._problems("Can't train", message, error=True)

    def _problems(self, text: str, tooltip: str, error: bool = False) -> None:
        b = self.problems_button
        b.setIcon(icon("problem" if error else "ok"))
        b.setText(text)
        b.setStyleSheet(f"color: {colors().error.name()}" if error else "")
        b.setToolTip(tooltip)

    def _show_adapter(self, text: str) -> None:
        self.adapter_label.setToolTip(text)
        short = text if len(text) <= 48 else text[:47] + "…"
        self.adapter_label.setText(f"GPU: {short}")

    def show_next_problem(self) -> None:
        problems = self.editor.analysis.problems
        nodes = list(dict.fromkeys(p.node for p in problems if p.node in self.document.nodes))
        if not nodes:
            if problems:               # a problem of the whole graph (no loss): say it
                self._status(str(problems[0]))
            return
        current = self.selected_node_ids()
        after = nodes.index(current[0]) + 1 if current and current[0] in nodes else 0
        target = nodes[after % len(nodes)]
        self.canvas.graph.select_only([target])
        self.canvas.center_on_node(target)

    def _selection_changed(self) -> None:
        if not shiboken6.isValid(self.canvas.graph):
            return              # the window is being torn down
        ids = self.selected_node_ids()
        self.inspector.show_nodes(ids)
        self.selection_changed.emit(ids)

    # ---- adding nodes -------------------------------------------------------------------------------
    def open_quick_add(self) -> None:
        self._quick_add_at(self.canvas.cursor_scene_pos())

    def _quick_add_at(self, scene_pos) -> None:
        self._quick_at = scene_pos
        self.quick_add.popup(self.canvas.viewport().mapToGlobal(self.canvas.mapFromScene(scene_pos)))

    def _quick_added(self, kind: str) -> None:
        self.activateWindow()          # back from the popup: shortcuts go to this window again
        self._add(kind, self._quick_at or self.canvas.visible_center())

    def add_at_center(self, kind: str) -> None:
        at = self.canvas.visible_center()
        taken = {(round(x), round(y)) for x, y in self.canvas.graph.item_positions().values()}
        x, y = self.canvas.node_origin(at)
        while (round(x), round(y)) in taken:        # don't stack a second one exactly on the first
            at.setX(at.x() + 30)
            at.setY(at.y() + 30)
            x, y = self.canvas.node_origin(at)
        self._add(kind, at)

    def _add(self, kind: str, at) -> None:
        node_id = self.editor.add_node(kind, self.canvas.node_origin(at))
        if node_id:
            self.canvas.graph.select_only([node_id])
            self.canvas.setFocus()

    # ---- editing ----------------------------------------------------------------------------------
    def select_all(self) -> None:
        for item in self.canvas.graph.nodes.values():
            item.setSelected(True)

    def delete_selection(self) -> None:
        self.editor.delete(self.selected_node_ids(), self.canvas.graph.selected_edges())

    def _fragment(self, ids: list[str]) -> Document:
        return clipboard.fragment(self.document, ids, self.canvas.graph.item_positions())

    def copy(self) -> bool:
        ids = self.selected_node_ids()
        if not ids:
            return False
        QGuiApplication.clipboard().setMimeData(clipboard.to_mime(self._fragment(ids)))
        self._status(f"Copied {len(ids)} node{'s' if len(ids) != 1 else ''}")
        return True

    def cut(self) -> None:
        if self.copy():
            self.editor.delete(self.selected_node_ids(), [], "Cut")

    def paste(self) -> None:
        try:
            part = clipboard.from_mime(QGuiApplication.clipboard().mimeData())
        except graphfile.GraphFileError as e:
            self._status(f"Can't paste: {e}")
            return
        if part is None or not part.nodes:
            self._status("Nothing to paste: copy some nodes first")
            return
        ox, oy = clipboard.bounds_origin(part)
        x, y = self.canvas.node_origin(self.canvas.cursor_scene_pos())
        self.canvas.graph.select_only(self.editor.paste(part, (x - ox, y - oy)))

    def duplicate(self) -> None:
        ids = self.selected_node_ids()
        if ids:
            self.canvas.graph.select_only(self.editor.paste(self._fragment(ids), (30, 30), "Duplicate"))

    def auto_layout(self) -> None:
        items = self.canvas.graph.nodes
        new = layered_positions(self.document, lambda n: items[n].height)
        current = self.canvas.graph.item_positions()
        self.editor.move({n: (current[n], new[n]) for n in new}, "Auto-layout")
        self.canvas.fit_all()

    # ---- files ------------------------------------------------------------------------------------
    def _update_title(self) -> None:
        name = Path(self.path).name if self.path else self.untitled_name
        self.setWindowTitle(f"{name}[*] — {APP}")
        self.setWindowModified(not self.undo_stack.isClean())

    def _clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)
        if clean:
            self.slot.clear()

    def _replace(self, doc: Document, path: str | None, untitled_name: str = "Untitled") -> None:
        self.undo_stack.clear()
        self.document.replace_with(doc)
        self.path, self.untitled_name = path, untitled_name
        self.slot.clear()
        self._update_title()
        self.canvas.fit_all()
        QTimer.singleShot(0, self.canvas.fit_all)        # again once the view has its final size

    def maybe_save(self) -> bool:
        """Before the document is replaced or closed: True to go on."""
        if self.undo_stack.isClean():
            return True
        answer = self.ask_save_changes()
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new(self) -> bool:
        if not self.maybe_save():
            return False
        self._replace(Document(), None)
        return True

    def new_window(self) -> "MainWindow":
        window = MainWindow(recovery_dir=self.slot.dir)
        window.show()
        return window

    def open(self) -> bool:
        path = self.ask_open_path()
        return bool(path) and self.open_path(path)

    def open_path(self, path: str | os.PathLike) -> bool:
        """Open a graph file. A file that doesn't load leaves the current document as it was."""
        doc = self._load(path, "Could not open the graph")
        if doc is None or not self.maybe_save():
            return False
        path = str(Path(path).resolve())
        self._replace(doc, path)
        self._add_recent(path)
        return True

    def open_example(self, path: str | os.PathLike) -> bool:
        """Open a bundled example as an untitled copy, so Save never writes into the examples."""
        doc = self._load(path, "Could not open the example")
        if doc is None or not self.maybe_save():
            return False
        # an untitled copy has no folder: its data files are named by full path until it is saved
        doc.training["dataset"] = _dataset_in(doc, Path(path).resolve().parent, None)
        self._replace(doc, None, f"{Path(path).name} (example)")
        return True

    def _load(self, path, title: str) -> Document | None:
        """Load before asking about unsaved changes: a bad file costs nothing."""
        try:
            return graphfile.load(path)
        except graphfile.GraphFileError as e:
            self.show_error(title, str(e))
            return None

    def save(self) -> bool:
        return self._write(self.path) if self.path else self.save_as()

    def save_as(self) -> bool:
        suggested = self.path or str(Path(self._documents_dir()) / self.untitled_name.split(" (")[0])
        path = self.ask_save_path(suggested if suggested.endswith(".json") else suggested + ".json")
        if not path:
            return False
        if not self._write(path):
            return False
        self.path = str(Path(path).resolve())
        self._add_recent(self.path)
        self._update_title()
        return True

    def export_json(self) -> bool:
        """Write a copy elsewhere; the window stays on its own file and its saved state."""
        name = Path(self.path).stem if self.path else self.untitled_name.split(".")[0]
        path = self.ask_save_path(str(Path(self._documents_dir()) / f"{name}-export.json"), "Export JSON")
        if not path:
            return False
        try:
            graphfile.save(self.document, path)
        except (OSError, ValueError) as e:
            self.show_error("Could not export", f"{path}: {getattr(e, 'strerror', None) or e}")
            return False
        self._status(f"Exported to {path}")
        return True

    @property
    def base_dir(self) -> Path | None:
        """The folder that relative paths in the graph (its dataset) are relative to."""
        return Path(self.path).resolve().parent if self.path else None

    def _write(self, path: str) -> bool:
        # the dataset's path, relative to where the graph will live (Save As may move it)
        spec = _dataset_in(self.document, self.base_dir or Path.cwd(), Path(path).resolve().parent)
        copy = self.document.copy()
        copy.training["dataset"] = spec
        try:
            graphfile.save(copy, path)       # atomic: the old file survives a failure
        except (OSError, ValueError) as e:
            why = getattr(e, "strerror", None) or str(e)
            self.show_error("Could not save", f"{path}: {why}\n\nThe graph is not saved; the file on disk is unchanged.")
            return False
        if spec != self.document.training.get("dataset"):
            self.document.training["dataset"] = spec      # same data, named from the new folder
        self.undo_stack.setClean()
        self._status(f"Saved {path}")
        return True

    @staticmethod
    def _documents_dir() -> str:
        return QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation) or str(Path.home())

    def _add_recent(self, path: str) -> None:
        s = settings()
        recent = [p for p in s.value("recent", [], type=list) if p != path]
        s.setValue("recent", [path, *recent][:MAX_RECENT])

    def recent_files(self) -> list[str]:
        return list(settings().value("recent", [], type=list))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for path in files:
            action = self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_path(p))
            action.setToolTip(path)
            action.setEnabled(Path(path).exists())
        if not files:
            self.recent_menu.addAction("No recent files").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", lambda: settings().setValue("recent", []))

    def _fill_examples(self) -> None:
        for path in sorted(examples_dir().glob("*.json")):
            self.examples_menu.addAction(path.name, lambda p=path: self.open_example(p))

    # ---- autosave and recovery ---------------------------------------------------------------------
    def autosave(self) -> bool:
        """Write the recovery file if there are unsaved changes (the timer calls this every minute)."""
        if self.undo_stack.isClean():
            self.slot.clear()
            return False
        return self.slot.write(self.document, self.path)

    def offer_recovery(self) -> bool:
        """Offer back what a crashed or killed instance left unsaved. True if something was restored."""
        found = recovery.orphans(self.slot.dir)
        if not found:
            return False
        if not self.ask_restore([r.describe() for r in found]):
            for r in found:
                r.discard()
            return False
        restored = False
        for r in found:
            try:
                doc = r.document()
            except graphfile.GraphFileError as e:
                self.show_error("Could not restore", f"{r.describe()}: {e}")
                r.discard()
                continue
            window = self if not restored and self.undo_stack.isClean() else self.new_window()
            window._replace(doc, r.source, "Recovered")
            window.undo_stack.resetClean()        # unsaved until the user saves it
            window.autosave()
            r.discard()
            restored = True
        return restored

    # ---- dialogs (tests replace these) ---------------------------------------------------------------
    def ask_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Open graph", self._documents_dir(), FILTER)
        return path or None

    def ask_save_path(self, suggested: str, title: str = "Save graph", filter: str = FILTER) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, title, suggested, filter)
        return path or None

    def ask_save_changes(self) -> str:
        """'save', 'discard' or 'cancel'."""
        name = Path(self.path).name if self.path else self.untitled_name
        box = QMessageBox(QMessageBox.Warning, APP, f"Save the changes to {name}?",
                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, self)
        box.setInformativeText("Your changes will be lost if you don't save them.")
        box.setDefaultButton(QMessageBox.Save)
        return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(box.exec(), "cancel")

    def ask_restore(self, descriptions: list[str]) -> bool:
        text = "Wiregrad did not close properly last time. Restore the unsaved work?"
        box = QMessageBox(QMessageBox.Question, APP, text, QMessageBox.NoButton, self)
        box.setInformativeText("\n".join(descriptions))
        restore = box.addButton("Restore", QMessageBox.AcceptRole)
        box.addButton("Discard", QMessageBox.DestructiveRole)
        box.setDefaultButton(restore)
        box.exec()
        return box.clickedButton() is restore

    def show_error(self, title: str, text: str) -> None:
        """A message box whose first line is the headline (as a sentence) and the rest, such as
        a list of problems, the details under it."""
        head, _, rest = text.strip().partition("\n")
        box = QMessageBox(QMessageBox.Warning, title, head[:1].upper() + head[1:], QMessageBox.Ok, self)
        if rest.strip():
            box.setInformativeText("\n".join(line.strip() for line in rest.splitlines()))
        box.exec()

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard and mouse", SHORTCUTS)

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP}", "<b>Wiregrad</b><p>Build neural networks by wiring layers, "
                          "and watch them learn. Training runs as WGSL compute shaders through wgpu.</p>")

    # ---- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event):
        if not self.maybe_save():
            event.ignore()
            return
        self.autosave_timer.stop()
        self.training.shutdown()
        self.slot.close()
        self.quick_add.close()
        self.canvas.graph.close()
        self.inspector.close_inspector()
        self.editor.close()
        if self in _windows:
            _windows.remove(self)
        if not _windows:
            clipboard.hand_over()
        event.accept()


SHORTCUTS = """Adding
  Drag a layer from the palette onto the canvas, or press Tab on the canvas.
Wiring
  Drag from an output port (right side) to an input port (left side).
  Drop on a connected input to replace its wire; drag a wire's end away to disconnect it.
Selecting and moving
  Click, Ctrl+click, or drag a rubber band on empty canvas; drag nodes to move them.
  Delete or Backspace removes; Ctrl+C, Ctrl+X, Ctrl+V, Ctrl+D copy, cut, paste, duplicate.
View
  Wheel zooms toward the cursor; middle button or Space+drag pans; F fits all; Ctrl+L lays out."""


def _dataset_in(doc: Document, base: Path, folder: Path | None) -> dict:
    """The document's dataset spec with file paths read from `base` and written relative to
    `folder` (or absolute when folder is None). Built-in sets come back unchanged."""
    from ..model.datasets import make_spec_relative, resolve_spec_paths
    spec = doc.training.get("dataset", {})
    absolute = resolve_spec_paths(spec, base)
    return make_spec_relative(absolute, folder) if folder is not None else absolute


def _apply_theme(app: QApplication) -> None:
    """WIREGRAD_THEME=dark|light overrides the system scheme (Fusion follows it otherwise)."""
    theme = os.environ.get("WIREGRAD_THEME", "").lower()
    if theme == "dark":
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    elif theme == "light":
        app.setStyle("Fusion")
        app.setPalette(app.style().standardPalette())


def start_editor(argv: list[str], adapter_probe=adapter_name_warmed) -> MainWindow:
    """Open the first window: the graph named in argv, else the digits example; then offer
    back whatever a crashed instance left unsaved."""
    window = MainWindow(adapter_probe=adapter_probe)
    files = [a for a in argv if not a.startswith("-")]
    window.show()
    if files:
        window.open_path(files[0])        # a file that doesn't load: its error, then an empty canvas
    else:
        window.open_example(example(DEFAULT_EXAMPLE))
    window.offer_recovery()
    return window


def close_on_interrupt(app: QApplication) -> QTimer:
    """Ctrl-C in the terminal closes the windows as the close button does (each asks to save
    unsaved changes). Python runs signal handlers only between bytecodes, so a timer wakes
    the interpreter from Qt's event loop a few times a second; returned to keep it alive."""
    signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, app.closeAllWindows))
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)
    wake.start(200)
    return wake


def run_editor(argv: list[str]) -> int:
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "wiregrad", *argv])
    app.setOrganizationName(APP)
    app.setApplicationName(APP)
    app.setApplicationDisplayName(APP)
    _apply_theme(app)
    start_editor(app.arguments()[1:])
    close_on_interrupt(app)
    return app.exec()
