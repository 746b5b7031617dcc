"""Train from the editor: the panel's controls, and the controller that joins the worker
(runner.py), the bounded history, the plots and the canvas's gradient-flow overlay.

Settings live in the document's training settings (edits are undoable). The learning rate
and optimizer settings also reach a running session at once, for the next step. The run
trains on a snapshot of the graph; when the graph is edited meanwhile, the panel says so and
the run continues on its snapshot until Reset or Train starts it over.
"""
from __future__ import annotations

import csv
import math
import re
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel,
                               QPushButton, QSizePolicy, QSpinBox, QVBoxLayout, QWidget)

from ..model.datasets import BUILTINS
from ..model.optim import OPTIMIZERS, default_settings
from .commands import SetTraining
from .history import History
from .number_field import ScientificSpinBox
from .plots import AccuracyPlot, BoundaryPlot, GradNormPlot, HistogramPlot, LossPlot
from .runner import TrainingRunner

RUNNING = ("running", "starting", "resuming")    # a press pauses
PAUSED = ("paused", "pausing")                   # a press resumes
PLAYGROUND = {name for name, b in BUILTINS.items() if b.description.startswith("2-D")}   # 2-D sets
FRAME_MS = 33          # a frame follows new data, at least FRAME_MS after the last: at most ~30 Hz,
                       # and each batch of metrics gets its own frame (a fixed 25 Hz timer beside
                       # ~24 Hz metrics that arrive unevenly drew only ~20 of them a second)
TICK_MS = 250          # and a frame 4 times a second anyway: a toggled log scale or a dock just shown
                       # catches up while nothing arrives
FLOW_MS = 333          # the canvas's gradient-flow overlay at 3 Hz: a canvas repaint costs 10-30 ms
                       # here (more than the plots' frame), and figures on wires can't be read faster


def headline(message: str, limit: int = 100) -> str:
    """A message's gist for the status line (the whole of it is in the error dialog and the
    tooltip): its first sentence, or a first line ending in ':' with what follows it."""
    lines = [l.strip() for l in message.splitlines() if l.strip()]
    if not lines:
        return ""
    first = lines[0]
    if first.endswith(":") and len(lines) > 1:
        first = f"{first} {lines[1]}" + (f" (+{len(lines) - 2} more)" if len(lines) > 2 else "")
    end = re.search(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)\. ", first)    # not "e.g. "
    if end and end.start() < limit:
        first = first[:end.start() + 1]
    return first if len(first) <= limit else first[:limit - 1].rstrip() + "…"


class TrainingPanel(QWidget):
    """Controls: dataset, optimizer, learning rate, batch size, epochs; Train/Pause, Step, Stop, Reset."""
    train_clicked = Signal()
    step_clicked = Signal()
    stop_clicked = Signal()
    reset_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QFormLayout()
        self.dataset = QComboBox()
        for name, b in BUILTINS.items():
            self.dataset.addItem(name, name)
            self.dataset.setItemData(self.dataset.count() - 1, b.description, Qt.ToolTipRole)
        self.optimizer = QComboBox()
        for name, o in OPTIMIZERS.items():
            self.optimizer.addItem(o.label, name)
        self.lr = ScientificSpinBox(1e-6, 1e6)
        self.lr.setToolTip("From 1e-6 to 1e6; type 0.003 or 3e-3. The arrows halve and double it. "
                           "While training, a new value applies at the next step.")
        self.lr.refused.connect(lambda text: self.notice.setText(
            f"Learning rate {text!r} is not a number from 1e-6 to 1e6; it stays {self.lr.textFromValue(self.lr.value())}."))
        self.batch = QSpinBox(minimum=1, maximum=1_048_576)
        self.batch.setToolTip("Samples per step, from 1 to 1,048,576 (and at most the training samples). "
                              "While training, takes effect after Reset.")
        self.epochs = QSpinBox(minimum=1, maximum=1_000_000)
        self.epochs.setToolTip("Passes over the training set, at least 1. While training, applies at once.")
        self.choose_dataset = QPushButton("Choose…")
        self.choose_dataset.setToolTip("Choose a built-in set or import your own file (CSV, NPZ, NPY, IDX, "
                                       "a folder of images), with a preview")
        dataset_row = QHBoxLayout()
        dataset_row.addWidget(self.dataset, 1)
        dataset_row.addWidget(self.choose_dataset)
        form.addRow("Dataset", dataset_row)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Learning rate", self.lr)
        form.addRow("Batch size", self.batch)
        form.addRow("Epochs", self.epochs)
        buttons = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.step_button = QPushButton("Step")
        self.stop_button = QPushButton("Stop")
        self.reset_button = QPushButton("Reset")
        self.train_button.setToolTip("Start training, or pause and resume it")
        self.step_button.setToolTip("Run exactly one training step")
        self.stop_button.setToolTip("End the run (the weights stay until the next Train)")
        self.reset_button.setToolTip("Start over from the seed's initial weights, on the graph as it is now")
        for b, sig in ((self.train_button, self.train_clicked), (self.step_button, self.step_clicked),
                       (self.stop_button, self.stop_clicked), (self.reset_button, self.reset_clicked)):
            b.clicked.connect(sig.emit)
            buttons.addWidget(b)
        self.x_epochs = QCheckBox("x axis in epochs")
        self.status = QLabel("Press Train to start.")
        self.status.setWordWrap(True)
        # The figures change 25 times a second. A label that may change size asks for a new
        # layout each time, which resized the docks beside it and repainted the window (30
        # resizes and ~100 layout passes in 5 s of training); a fixed height, and a width the
        # label doesn't ask for, keep the layout still.
        self.status.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.status.setFixedHeight(self.status.fontMetrics().lineSpacing() * 6 + 4)
        self.status.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.notice = QLabel("")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #d97706")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.x_epochs)
        layout.addWidget(self.status)
        layout.addWidget(self.notice)
        layout.addStretch(1)


class TrainingController(QObject):
    """Owns the runner and the history; drives the panel, the plots and the canvas overlay."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.runner = TrainingRunner(self)
        self.history = History()
        self.panel = TrainingPanel()
        self.loss_plot, self.acc_plot, self.grad_plot = LossPlot(), AccuracyPlot(), GradNormPlot()
        self.hist_plot, self.boundary_plot = HistogramPlot(), BoundaryPlot()
        self.state = "idle"
        self.info: dict = {}
        self.last: dict = {}
        self.errors: list[tuple[str, str]] = []
        self.last_eval: dict = {}
        self.stop_message = self.stop_detail = ""
        self._run_doc_version = None
        self._doc_changed = False
        self._flow_dirty = False
        self._flow_at = 0.0
        self._syncing = False
        window.add_training_dock(self.panel, "Training", Qt.RightDockWidgetArea)
        window.add_training_dock(self.loss_plot, "Loss")
        window.add_training_dock(self.grad_plot, "Gradients")
        window.add_training_dock(self.acc_plot, "Accuracy")
        self.hist_dock = window.add_training_dock(self.hist_plot, "Weights histogram")
        self._watched = None
        self.hist_dock.visibilityChanged.connect(self._watch_selection)
        self.boundary_dock = window.add_training_dock(self.boundary_plot, "Decision boundary")
        self._wire()
        self._make_actions()
        self.sync_from_document()
        self.timer = QTimer(self, singleShot=True)      # the next frame
        self.timer.timeout.connect(self.refresh)
        self._frame_at = 0.0
        self.tick = QTimer(self, interval=TICK_MS)
        self.tick.timeout.connect(self.schedule_frame)
        self.tick.start()
        self._want_running = False       # what the user last asked for: Train/Resume, or Pause/Step
        self._divergence_said = False
        self._state("idle", self.runner.run_id)

    # ---- wiring ---------------------------------------------------------------------
    def _wire(self):
        p, r = self.panel, self.runner
        p.train_clicked.connect(self.train_or_pause)
        p.step_clicked.connect(self.step)
        p.stop_clicked.connect(self.stop)
        p.reset_clicked.connect(self.reset)
        p.dataset.activated.connect(lambda _: p.dataset.currentData() is not None    # None: the file shown
                                    and self._set("dataset", self._dataset_spec(p.dataset.currentData())))
        p.choose_dataset.clicked.connect(self.open_dataset_dialog)
        p.optimizer.activated.connect(lambda _: self._set_optimizer(name=p.optimizer.currentData()))
        p.lr.editingFinished.connect(lambda: self._set_optimizer(lr=p.lr.value()))
        p.batch.editingFinished.connect(lambda: self._set("batch_size", p.batch.value()))
        p.epochs.editingFinished.connect(lambda: self._set("epochs", p.epochs.value()))
        p.x_epochs.toggled.connect(self._x_axis)
        r.started_run.connect(self._started)
        r.metrics.connect(self._metrics)
        r.evaluated.connect(self._evaluated)
        r.boundary.connect(lambda d: self._current(d) and self.boundary_plot.show_boundary(d))
        # a readback queued before the selection changed arrives after it: only the watched node's shows
        r.tensors.connect(lambda d: self._current(d) and d["node"] == self._watched and self.hist_plot.show_tensors(d))
        r.failed.connect(self._failed)
        r.state.connect(self._state)
        self.grad_plot.node_clicked.connect(self._select_node)
        self.window.selection_changed.connect(self._selected)
        self.window.document.subscribe(self._doc_event)

    def _make_actions(self):
        from PySide6.QtGui import QAction, QKeySequence
        menu = self.window.menu("&Train")
        def action(text, slot, shortcut=None, tip=""):
            a = QAction(text, self.window)
            a.triggered.connect(slot)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.setStatusTip(tip)
            menu.addAction(a)
            return a
        self.act_train = action("&Train / Pause", self.train_or_pause, "F5", "Start, pause or resume training")
        self.act_step = action("&Step", self.step, "F10", "Run exactly one training step")
        self.act_stop = action("S&top", self.stop, "Shift+F5", "End the run")
        self.act_reset = action("&Reset", self.reset, "Ctrl+F5", "Start over from the seed on the graph as it is now")
        menu.addSeparator()
        action("&Dataset…", self.open_dataset_dialog, tip="Choose a built-in set or import a file, with a preview")
        menu.addSeparator()
        action("Export &Metrics as CSV…", self._ask_export_csv, tip="Every plotted point, as series,x,y rows")
        action("Export &Loss Plot as PNG…", lambda: self._ask_export_png(self.loss_plot), tip="The loss plot as an image")
        action("Export &Gradient Plot as PNG…", lambda: self._ask_export_png(self.grad_plot), tip="The gradient plot as an image")
        self.window.toolbar.addSeparator()
        self.window.toolbar.addActions([self.act_train, self.act_step, self.act_stop, self.act_reset])

    def _ask_export_csv(self):
        path = self.window.ask_save_path("metrics.csv", "Export metrics", "CSV files (*.csv)")
        if path:
            self.export_csv(path)

    def _ask_export_png(self, plot):
        path = self.window.ask_save_path("plot.png", "Export plot", "PNG images (*.png)")
        if path:
            self.export_png(plot, path)

    @property
    def doc(self):
        return self.window.document

    def _doc_event(self, event, data):
        if event == "reset" and self.state != "idle":
            # another graph replaced this one in the window: its run has nothing to show here
            self.runner.stop_run()
            self.runner.run_id += 1           # its results still on their way are dropped
            self._state("idle", self.runner.run_id)
            self.last, self.stop_message = {}, ""
            self.history.clear()
            for plot in (self.loss_plot, self.acc_plot, self.grad_plot):
                plot.clear()
            self.panel.status.setText("The run stopped: another graph was opened. Press Train to train this one.")
        if event == "training_changed" or event == "reset":
            self.sync_from_document()
        if event not in ("node_moved", "training_changed") and self.state != "idle":
            self._doc_changed = True
            self.panel.notice.setText("The graph changed since this run started. The run goes on training its "
                                      "snapshot of the graph; press Reset to train the graph as it is now.")

    def _show_boundary_dock(self, show: bool) -> None:
        if show != self.boundary_dock.isVisible() or show:
            self.boundary_dock.setVisible(show)
            if show:
                self.boundary_dock.raise_()      # the front tab among the docks it shares a place with

    def sync_from_document(self):
        """Show the document's training settings in the controls."""
        self._syncing = True
        t, p = self.doc.training, self.panel
        name = t.get("dataset", {}).get("name")
        i = p.dataset.findData(name) if name is not None else -1
        file_item = p.dataset.findData(None)          # the one item that shows a file, if any
        if name is None:
            path = str(t.get("dataset", {}).get("path", "?"))
            if file_item < 0:
                p.dataset.addItem("", None)
                file_item = p.dataset.count() - 1
            p.dataset.setItemText(file_item, f"file: {Path(path).name}")
            p.dataset.setItemData(file_item, path, Qt.ToolTipRole)
            i = file_item
        elif file_item >= 0:
            p.dataset.removeItem(file_item)
            i = p.dataset.findData(name)
        p.dataset.setCurrentIndex(max(i, 0))
        opt = t.get("optimizer", {})
        p.optimizer.setCurrentIndex(max(0, p.optimizer.findData(opt.get("name", "adam"))))
        p.lr.setValue(float(opt.get("lr", default_settings(opt.get("name", "adam"))["lr"])))
        p.batch.setValue(int(t.get("batch_size", 64)))
        p.epochs.setValue(int(t.get("epochs", 10)))
        # the decision boundary only means something for 2-D inputs (the Playground sets); a
        # file's shape is known once a run starts (see _started)
        if self.state == "idle":
            self._show_boundary_dock(name in PLAYGROUND)
        self._syncing = False

    def open_dataset_dialog(self):
        from .dataset_dialog import open_dataset_dialog
        self.dataset_dialog = open_dataset_dialog(self.window)
        return self.dataset_dialog

    def _dataset_spec(self, name):
        old = self.doc.training.get("dataset", {})
        return {**old, "name": name} if old.get("name") == name else {"name": name}

    def _set(self, key, value):
        if self._syncing or self.doc.training.get(key) == value:
            return
        self.window.undo_stack.push(SetTraining(self.doc, key, value, f"Set {key.replace('_', ' ')}"))
        if self.state == "idle" or key == "optimizer":
            return
        if key == "epochs":                   # live: the run now ends there
            self.runner.set_epochs(value)
            self.info["epochs"] = value
        else:
            self.panel.notice.setText(f"The new {key.replace('_', ' ')} takes effect after Reset; "
                                      "this run goes on with the one it started with.")

    def _set_optimizer(self, **changes):
        if self._syncing:
            return
        settings = dict(self.doc.training.get("optimizer", {}))
        if "name" in changes and changes["name"] != settings.get("name"):
            settings = {"name": changes["name"], "lr": settings.get("lr", default_settings(changes["name"])["lr"])}
        settings.update(changes)
        self._set("optimizer", settings)
        if self.state != "idle" and settings.get("name") == self.info.get("optimizer"):
            self.runner.set_optimizer(settings)      # live: the next step uses it
            if self.panel.notice.text().startswith("The loss is"):
                self.panel.notice.setText("")
        elif self.state != "idle":
            self.panel.notice.setText("A new optimizer kind takes effect after Reset.")

    # ---- buttons --------------------------------------------------------------------
    def train_or_pause(self):
        # "pausing"/"resuming" until the worker answers: a second press before then undoes the
        # first rather than repeating it
        if self.state in RUNNING:
            self._want_running = False
            self.runner.pause()
            self._state("pausing", self.runner.run_id)
        elif self.state in PAUSED:
            self._want_running = True
            self.runner.resume()
            self._state("resuming", self.runner.run_id)
        else:
            self.start()

    def start(self, running: bool = True):
        self._want_running = running
        self._divergence_said = False
        self.history.clear()
        for plot in (self.loss_plot, self.acc_plot, self.grad_plot):
            plot.clear()
        self.hist_plot.show_nothing()
        self.boundary_plot.show_nothing()
        self._flow_dirty = False
        self.window.canvas.set_flow({}, {})
        self.last, self.last_eval, self.stop_message, self.stop_detail = {}, {}, "", ""
        self.info = {"optimizer": self.doc.training.get("optimizer", {}).get("name")}
        self._doc_changed = False
        self.panel.notice.setText("")
        self.panel.status.setText("Building the training program…")
        self.window.canvas.graph.highlight_node(None)
        base = self.window.base_dir
        run = self.runner.start_run(self.doc, base)
        if not running:
            self.runner.pause()
        # the snapshot is taken now: edits from here on are edits to a running graph, and a
        # second press before the worker answers pauses rather than starting twice
        self._state("starting", run)
        self._watch_selection()

    def step(self):
        if self.state == "idle":
            self.start(running=False)
        self._want_running = False
        self.runner.step_once()

    def stop(self):
        self.runner.stop_run()

    def reset(self):
        """Start over from the seed on the graph as it is now, running if the user last asked
        it to run (Train, Resume) and paused otherwise (Pause, Step), however quickly Resets
        follow each other. (The worker closes the old session when it opens the new one;
        results and states of the old one still on their way are dropped by their run id.)"""
        self.start(running=self._want_running and self.state != "idle")

    # ---- results from the worker ----------------------------------------------------
    def _current(self, data: dict) -> bool:
        """Whether a result belongs to the latest run: after Reset, results of the stopped run
        may still be on their way, and must not land in the new run's history."""
        return data.get("run") == self.runner.run_id

    def _started(self, info):
        if not self._current(info):
            return
        self.info = dict(info, optimizer=self.doc.training.get("optimizer", {}).get("name"))
        colors = {n: (self._node_color(n)) for n in info["params"].values()}
        self.grad_plot.set_params(info["params"], colors)
        for plot in (self.loss_plot, self.acc_plot, self.grad_plot):
            plot.set_x_epochs(self.panel.x_epochs.isChecked(), info["steps_per_epoch"])
        self._show_boundary_dock(info["features"] == [2])
        self.acc_plot.setEnabled(info["task"] == "classification")

    def _node_color(self, node_id):
        from .style import kind_color
        node = self.doc.nodes.get(node_id)
        return kind_color(node.kind).name() if node else "#888888"

    def _metrics(self, m):
        if not self._current(m):
            return
        self.last = m
        self.stop_message = ""            # going on after a stop (Resume, Step)
        step = m["step"]
        self._watch_divergence(m["loss"])
        self.history.add("loss/train", step, m["loss"])
        for tensor, norm in m["param_norms"].items():
            self.history.add(f"grad/{tensor}", step, norm)
        self._flow_dirty = True
        self.schedule_frame()

    def _watch_divergence(self, loss: float) -> None:
        """Adam's steps are bounded by the learning rate, so a huge one rarely makes NaN (which
        stops the run): the loss just climbs and stays there. Say so once it is 100x its start."""
        first = self.history.get("loss/train")
        start = first.y[0] if first is not None and len(first) else None
        if start and loss > 100 * start and loss > 10 and not self._divergence_said and not self.panel.notice.text():
            self._divergence_said = True      # once a run: after a lower lr the loss takes time to come down
            self.panel.notice.setText(f"The loss is {loss / start:.3g} times what it was at the start: the "
                                      "learning rate may be too large. Lower it (it applies at once) or Reset.")

    def _evaluated(self, e):
        if not self._current(e):
            return
        for key in ("val", "test"):
            if e[f"{key}_loss"] == e[f"{key}_loss"]:         # not NaN
                self.history.add(f"loss/{key}", e["step"], e[f"{key}_loss"])
            if e[f"{key}_accuracy"] is not None:
                self.history.add(f"accuracy/{key}", e["step"], e[f"{key}_accuracy"])
        self.last_eval = e
        self.schedule_frame()

    def _failed(self, message, node):
        self.errors.append((message, node))
        self.stop_message = f"Stopped: {headline(message)}"    # refresh() keeps it on top
        self.stop_detail = message                               # and the tooltip the whole of it
        self.panel.status.setText(self.stop_message)
        self.panel.status.setToolTip(message)
        if node and node in self.doc.nodes:
            self.window.canvas.graph.highlight_node(node)
            self.window.canvas.graph.select_only([node])       # the inspector shows the culprit
            self.window.canvas.center_on_node(node)
        if not self.last and self.doc.nodes:   # it never trained: the graph's status says why, till the next edit
            self.window.show_cannot_train(message)
        self.window.show_error("Training stopped", message)

    def _state(self, state, run):
        if run != self.runner.run_id:     # a stopped run's last word, arriving after Reset
            return
        self.state = state
        label = "Pause" if state in RUNNING else "Resume" if state in PAUSED else "Train"
        self.panel.train_button.setText(label)
        self.act_train.setText(f"&{label}")           # the toolbar and menu say what F5 will do
        self.panel.stop_button.setEnabled(state != "idle")
        self.act_stop.setEnabled(state != "idle")
        if state == "idle":
            self._flow_dirty = False      # the last chunk's metrics, delivered as it stopped, stay off
            self.window.canvas.set_flow({}, {})
        self._status_without_metrics()
        self.schedule_frame()

    def _status_without_metrics(self):
        """Before a run's first step (a Reset while paused, a Stop while it was starting) the
        line says where things stand rather than "Building..." forever."""
        if self.last or self.stop_message:
            return
        text = {"idle": "Press Train to start.",
                "paused": "Ready at step 0: press Resume to train, or Step for one step.",
                "running": "Training: the first steps compile the kernels…"}.get(self.state)
        if text:
            self.panel.status.setText(text)

    # ---- selection <-> curves ---------------------------------------------------------
    def _select_node(self, node_id):
        self.window.canvas.graph.select_only([node_id])

    def _selected(self, ids):
        node = ids[0] if len(ids) == 1 else None
        self.grad_plot.highlight(node)
        self._watch_selection()

    def _watch_selection(self, *_):
        """The worker reads the selected node's weights and gradients for the histogram only
        while the histogram is on screen (each read is a GPU readback)."""
        ids = self.window.selected_node_ids()
        node = ids[0] if len(ids) == 1 and self.hist_plot.isVisible() else None
        if node != self._watched:
            self._watched = node
            self.runner.watch(node)
            if node is None:
                self.hist_plot.show_nothing()

    def _x_axis(self, on):
        for plot in (self.loss_plot, self.acc_plot, self.grad_plot):
            plot.set_x_epochs(on, self.info.get("steps_per_epoch", 1))

    # ---- the frame ----------------------------------------------------------------
    def schedule_frame(self):
        """A frame as soon as FRAME_MS have passed since the last one."""
        if not self.timer.isActive():
            wait = FRAME_MS - (time.monotonic() - self._frame_at) * 1000
            self.timer.start(max(0, int(wait)))

    def refresh(self):
        """One frame: plots from the history (those on screen), the status line, and at
        FLOW_MS the canvas overlay."""
        now = self._frame_at = time.monotonic()
        if self.history.series:
            for plot in (self.loss_plot, self.acc_plot, self.grad_plot):
                if plot.isVisible():          # a closed or tabbed-away dock catches up when shown
                    plot.refresh(self.history)
        m = self.last
        if m:
            self._set_status(m)
        if self._flow_dirty and m and now - self._flow_at >= FLOW_MS / 1000:
            self._flow_dirty, self._flow_at = False, now
            self._show_flow(m)

    def _set_status(self, m):
        epochs = self.info.get("epochs", 0)
        acc = self.last_eval.get("test_accuracy")
        adapter = self.info.get("adapter", "?").split(" (")[0]
        if self.state == "running":
            pace = f"{m['steps_per_s']:,.0f} steps/s on {adapter}"
        elif self.state == "paused" and self.stop_message:
            pace = "Paused at the last finite weights: lower the learning rate and Resume, or Reset"
        elif self.state == "paused" and epochs and m["epoch"] >= epochs:
            pace = f"Finished {epochs} epochs; Resume trains one more"
        else:
            pace = f"{self.state.capitalize()} · {adapter}"
        text = ((self.stop_message + "\n" if self.stop_message else "")
                + f"Step {m['step']:,} · {self._epochs_text(m['epoch'], epochs)}\n"
                + f"Loss {m['loss']:.4g} (last batch)\n"
                + (f"Test accuracy {acc:.1%} (at epoch {self.last_eval['epoch']:.0f})\n" if acc is not None else "")
                + pace)
        if text != self.panel.status.text():
            self.panel.status.setText(text)
            self.panel.status.setToolTip(self.stop_detail if self.stop_message else f"Adapter: {self.info.get('adapter', '?')}")

    @staticmethod
    def _epochs_text(done: float, epochs: int) -> str:
        """'12.4 of 100 epochs'; past the end (Resume goes on one epoch at a time, or the
        epochs were lowered mid-run) it says so rather than '101 of 100'."""
        if done <= epochs:
            return f"{done:.1f} of {epochs} epochs"
        return f"{done:.1f} epochs (past the {epochs} set)"

    def _show_flow(self, m):
        """Each wire shows ‖dC/d(the tensor it carries)‖; each node its ‖dC/dθ‖ (root of the
        sum of squares over its parameter tensors). Where wires branch, the flows add."""
        edges = {(n, "y"): v for n, v in m["out_norms"].items()}
        per_node: dict[str, float] = {}
        for tensor, norm in m["param_norms"].items():
            node = self.info["params"].get(tensor)
            per_node[node] = math.hypot(per_node.get(node, 0.0), norm)
        self.window.canvas.set_flow(edges, per_node)

    # ---- export ---------------------------------------------------------------------
    def export_csv(self, path: str) -> None:
        header, rows = self.history.to_rows()
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)

    def export_png(self, plot, path: str) -> None:
        import pyqtgraph.exporters
        if hasattr(plot, "refresh") and self.history.series:
            plot.refresh(self.history)       # a plot in a hidden dock isn't refreshed by the timer
        pyqtgraph.exporters.ImageExporter(plot.item if hasattr(plot, "item") else plot.plot.getPlotItem()).export(path)

    def shutdown(self):
        self.timer.stop()
        self.tick.stop()
        self.runner.shutdown()
