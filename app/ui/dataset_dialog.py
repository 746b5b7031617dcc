"""The dataset dialog: choose a built-in set or import a file, see what was read, and check
that it fits the graph.

- Source: a built-in set (with its options: samples, noise, layout...) or a file (CSV, NPZ, NPY,
  IDX, a folder of images) with its format's options (label column, delimiter, labels file...).
- Preview, loaded in a background thread after each change: a headline (samples, features,
  task), the class counts, and the first rows in a table, a grid of images (digits, IDX, image
  folders) or, for 2-D sets, a scatter plot coloured by class; the full Dataset.summary() too.
- A file that doesn't load shows its DatasetError (which names the file and the place) in red,
  and OK stays disabled.
- Binding: check_binding against the graph; a mismatch of the Input's shape (or the Target's
  kind of labels) comes with a one-click fix, an ordinary undoable param edit.
- OK writes the spec into training.dataset as one SetTraining undo command, with file paths
  relative to the graph file's folder when the graph has been saved (absolute otherwise).

The file choosers go through `ask_path`, which tests replace.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPixmap
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFileDialog, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPlainTextEdit, QPushButton, QRadioButton, QScrollArea,
                               QSpinBox, QSplitter, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from ..model.binding import check_binding
from ..model.datasets import (BUILTINS, FORMAT_OPTIONS, Dataset, DatasetError, infer_format, load_dataset,
                              make_spec_relative, resolve_spec_paths, validate_spec, with_defaults)
from ..model.datasets.options import COMMON, REQUIRED
from ..model.datasets.spec import PATH_KEYS, options_for
from ..model.files import check_regular
from ..model.layers import get_kind
from ..model.layers.spec import fmt_shape
from .commands import SetTraining
from .style import colors

RELOAD_MS = 250          # a change of an option reloads the preview after this pause
TABLE_ROWS = 50          # rows in the preview table
TABLE_COLUMNS = 30       # feature columns in the preview table
IMAGES_PER_CLASS = 8
MAX_IMAGE_ROWS = 30      # classes shown in the image grid
THUMB = 56               # thumbnail size in pixels
SCATTER_POINTS = 5000    # at most this many points in the scatter plot
CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf"]

FORMATS = [("detect from the name", None), ("CSV (text table)", "csv"), ("NumPy .npz (arrays x and y)", "npz"),
           ("NumPy .npy", "npy"), ("IDX (MNIST, Fashion-MNIST)", "idx"), ("Folder of images (one subfolder per class)",
                                                                         "images")]
FILE_FILTER = ("Datasets (*.csv *.tsv *.txt *.gz *.npz *.npy *ubyte *.idx1 *.idx3);;CSV (*.csv *.tsv *.txt *.gz);;"
               "NumPy (*.npz *.npy);;IDX (*ubyte *ubyte.gz *.idx1 *.idx3);;All files (*)")


# ---- one widget per option ----------------------------------------------------------------------

@dataclass
class Field:
    """An option's widget: get() gives the value for the spec, set() shows a value."""
    widget: QWidget
    get: Callable[[], Any]
    set: Callable[[Any], None]


def _spin(lo: int, hi: int, changed) -> Field:
    w = QSpinBox(minimum=lo, maximum=hi)
    w.setKeyboardTracking(False)
    w.valueChanged.connect(changed)
    return Field(w, w.value, lambda v: w.setValue(int(v)))


def _double(lo: float, hi: float, step: float, changed) -> Field:
    w = QDoubleSpinBox(minimum=lo, maximum=hi, singleStep=step, decimals=3)
    w.setKeyboardTracking(False)
    w.valueChanged.connect(changed)
    return Field(w, lambda: round(w.value(), 6), lambda v: w.setValue(float(v)))


def _choice(items: list[tuple[str, Any]], changed) -> Field:
    w = QComboBox()
    for text, value in items:
        w.addItem(text, value)

    def set_(v):
        for i in range(w.count()):
            if w.itemData(i) == v and type(w.itemData(i)) is type(v):
                w.setCurrentIndex(i)
                return
        w.addItem(repr(v), v)               # a value the list doesn't name (from a hand-edited file)
        w.setCurrentIndex(w.count() - 1)
    w.currentIndexChanged.connect(changed)
    return Field(w, w.currentData, set_)


def _check(text: str, changed) -> Field:
    w = QCheckBox(text)
    w.toggled.connect(changed)
    return Field(w, w.isChecked, lambda v: w.setChecked(bool(v)))


def _text(changed, default: str) -> Field:
    """A name; left empty, the default."""
    w = QLineEdit(placeholderText=default)
    w.editingFinished.connect(changed)
    return Field(w, lambda: w.text().strip() or default, lambda v: w.setText("" if v in (None, default) else str(v)))


def _size(changed) -> Field:
    box = QWidget()
    h, w = QSpinBox(minimum=1, maximum=4096), QSpinBox(minimum=1, maximum=4096)
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(QLabel("height"))
    row.addWidget(h)
    row.addWidget(QLabel("width"))
    row.addWidget(w)
    for s in (h, w):
        s.setKeyboardTracking(False)
        s.valueChanged.connect(changed)

    def set_(v):
        h.setValue(int(v[0]))
        w.setValue(int(v[1]))
    return Field(box, lambda: [h.value(), w.value()], set_)


def _label_column(changed) -> Field:
    """An editable list of the file's columns: a name, an index, or names separated by commas."""
    w = QComboBox(editable=True)
    w.setInsertPolicy(QComboBox.NoInsert)
    w.addItem("last column", -1)

    def get():
        text = w.currentText().strip()
        i = w.findText(text)
        if i >= 0 and w.itemData(i) is not None:
            return w.itemData(i)
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        if "," in text:
            return [int(t) if re.fullmatch(r"-?\d+", t) else t for t in (s.strip() for s in text.split(",")) if t]
        return text or -1

    def set_(v):
        if v == -1:
            w.setCurrentIndex(0)
        else:
            w.setEditText(", ".join(map(str, v)) if isinstance(v, list) else str(v))
    w.activated.connect(changed)
    w.lineEdit().editingFinished.connect(changed)
    return Field(w, get, set_)


# Each option: its label, a tooltip, and how to make its widget (dialog, kind, changed) -> Field.
def _path_field(title: str):
    def make(dialog, kind, changed) -> Field:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        edit = QLineEdit(placeholderText="none" if kind == "npy" or title.startswith("Test") else "required")
        button = QPushButton("Choose…")
        row.addWidget(edit, 1)
        row.addWidget(button)
        edit.editingFinished.connect(changed)

        def browse():
            path = dialog.ask_path("file", title)
            if path:
                edit.setText(path)
                changed()
        button.clicked.connect(browse)
        return Field(box, lambda: edit.text().strip() or None, lambda v: edit.setText("" if v is None else str(v)))
    return make


OPTIONS: dict[str, tuple[str, str, Callable]] = {
    "samples": ("Samples", "How many points the generator makes.", lambda d, k, c: _spin(4, 1_000_000, c)),
    "noise": ("Noise", "0 gives clean shapes; 1 blurs the classes into each other.",
              lambda d, k, c: _double(0, 1, 0.05, c)),
    "layout": ("Layout", "flat: 64 numbers per sample, for Dense layers; image: 1×8×8, for Conv2D.",
               lambda d, k, c: _choice([("flat: 64 features (for Dense)", "flat"),
                                        ("image: 1×8×8 (for Conv2D)", "image")], c)),
    "label": ("Label column", "The column that holds the class or the target value; the other columns are the "
              "features. A column name, an index (0 is the first column, -1 the last), or several names separated "
              "by commas for regression with several targets.",
              lambda d, k, c: _label_column(c) if k == "csv" else _spin(-1_000_000, 1_000_000, c)),
    "delimiter": ("Delimiter", "The character between fields.",
                  lambda d, k, c: _choice([("detect", None), ("comma  ,", ","), ("semicolon  ;", ";"),
                                           ("tab", "tab"), ("bar  |", "|"), ("space", " ")], c)),
    "header": ("Header row", "Whether the first line names the columns.",
               lambda d, k, c: _choice([("detect", None), ("yes: the first line names the columns", True),
                                        ("no: the first line is data", False)], c)),
    "missing": ("Missing values", "Empty cells, NA, NaN, ?: what to do with them.",
                lambda d, k, c: _choice([("stop with an error", "error"), ("drop the rows that have them", "drop"),
                                         ("fill with the column's mean (training split)", "fill_mean"),
                                         ("fill with 0", "fill_zero")], c)),
    "task": ("Task", "Classification: labels are classes. Regression: labels are real values. "
             "Detect: strings and few distinct integers are classes.",
             lambda d, k, c: _choice([("detect", None), ("classification", "classification"),
                                      ("regression", "regression")], c)),
    "x": ("Features array", "The name of the features array in the .npz file.", lambda d, k, c: _text(c, "x")),
    "y": ("Labels array", "The name of the labels array in the .npz file.", lambda d, k, c: _text(c, "y")),
    "labels": ("Labels file", "The file with one label per sample (for IDX: the …-labels-idx1-ubyte file).",
               lambda d, k, c: _path_field("Labels file")(d, k, c)),
    "test_path": ("Test images file", "Optional: a separate test set's images (e.g. t10k-images-idx3-ubyte).",
                  lambda d, k, c: _path_field("Test images file")(d, k, c)),
    "test_labels": ("Test labels file", "Optional: the separate test set's labels.",
                    lambda d, k, c: _path_field("Test labels file")(d, k, c)),
    "size": ("Image size", "Every image is resized to this many pixels.", lambda d, k, c: _size(c)),
    "color": ("Colour", "gray: 1 channel; rgb: 3 channels.",
              lambda d, k, c: _choice([("gray (1 channel)", "gray"), ("RGB (3 channels)", "rgb")], c)),
    "flatten": ("Flatten", "One row of C×H×W numbers per sample (for Dense) instead of images shaped (C, H, W) "
                "(for Conv2D).", lambda d, k, c: _check("one row of numbers per image (for Dense)", c)),
    "test_ratio": ("Test share", "The fraction of samples held out to measure accuracy; never trained on.",
                   lambda d, k, c: _double(0, 0.95, 0.05, c)),
    "val_ratio": ("Validation share", "The fraction of samples held out for validation during training.",
                  lambda d, k, c: _double(0, 0.95, 0.05, c)),
    "seed": ("Seed", "The same seed gives the same samples and the same split.",
             lambda d, k, c: _spin(0, 2**31 - 1, c)),
    "scale": ("Scaling", "Fitted on the training split only, then applied to every split.",
              lambda d, k, c: _choice([("standardise (mean 0, std 1)", "standard"),
                                       ("min-max to [0, 1]", "minmax"), ("none: values as they are", "none")], c)),
}


def _row_order(kind: str) -> list[str]:
    """The kind's own options first, then the common ones."""
    own = FORMAT_OPTIONS[kind] if kind in FORMAT_OPTIONS else BUILTINS[kind].options
    return [*own, *[k for k in COMMON if k not in own]]


def effective_defaults(kind: str) -> dict:
    """Every option of a kind with the value used when the spec leaves it out (scale resolved)."""
    spec = {"name": kind} if kind in BUILTINS else {"path": "x", "format": kind}
    _, opts = with_defaults(spec)
    for k, o in options_for(kind).items():
        if o.default is REQUIRED:
            opts[k] = None
    return {k: opts[k] for k in options_for(kind)}


# ---- the loader thread -------------------------------------------------------------------------

class _Loader(QObject):
    """Loads a spec on a Python thread; `done` reaches the GUI thread queued."""
    done = Signal(int, object, str)       # generation, Dataset or None, error text

    def load(self, generation: int, spec: dict, base_dir: Path | None) -> None:
        def work():
            try:
                ds, error = load_dataset(spec, base_dir), ""
            except DatasetError as e:
                ds, error = None, str(e)
            except Exception as e:          # a bug in an importer: say so rather than hang
                ds, error = None, f"{type(e).__name__}: {e}"
            try:
                self.done.emit(generation, ds, error)
            except RuntimeError:            # the dialog is gone
                pass
        threading.Thread(target=work, name="wiregrad-dataset-preview", daemon=True).start()


# ---- helpers for the preview -----------------------------------------------------------------------

def unscaled(ds: Dataset, x: np.ndarray) -> np.ndarray:
    """Feature values as the file or generator gave them (the preview shows those, not scaled ones)."""
    s = ds.scaling
    if s.get("method", "none") == "none":
        return x
    return x * s["scale"] + s["offset"]


PIXEL = re.compile(r"^(pixel|red|green|blue|alpha|ch\d+)_(\d+)_(\d+)$")


def image_shape(ds: Dataset) -> tuple[int, int, int] | None:
    """(C, H, W) when the samples are images: shaped so, or flattened with pixel_r_c names."""
    if len(ds.feature_shape) == 3:
        return tuple(ds.feature_shape)
    names = ds.feature_names
    if len(ds.feature_shape) == 1 and names and all(PIXEL.match(n) for n in (names[0], names[-1])):
        m = PIXEL.match(names[-1])
        h, w = int(m.group(2)) + 1, int(m.group(3)) + 1
        c = len(names) // (h * w)
        if c * h * w == len(names) and c in (1, 3):
            return c, h, w
    return None


def to_qimage(a: np.ndarray) -> QImage:
    """(C, H, W) floats -> a QImage, stretched to the full grey (or colour) range."""
    lo, hi = float(a.min()), float(a.max())
    u8 = np.clip((a - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(a), 0, 255).astype(np.uint8)
    c, h, w = u8.shape
    if c == 1:
        data = np.ascontiguousarray(u8[0])
        return QImage(data.data, w, h, w, QImage.Format_Grayscale8).copy()
    data = np.ascontiguousarray(u8[:3].transpose(1, 2, 0))
    return QImage(data.data, w, h, 3 * w, QImage.Format_RGB888).copy()


def class_counts(ds: Dataset) -> list[tuple[str, int]]:
    k = ds.num_classes or 0
    y = np.concatenate([ds.y_train, ds.y_val, ds.y_test]).astype(np.int64)
    counts = np.bincount(y, minlength=k)
    names = ds.class_names or [str(i) for i in range(k)]
    return [(names[i], int(counts[i])) for i in range(k)]


def _fmt(v: float) -> str:
    return f"{float(v):.4g}"


def guess_idx_labels(images: Path) -> Path | None:
    """train-images-idx3-ubyte(.gz) -> train-labels-idx1-ubyte(.gz), when that file is there."""
    name = images.name
    guess = name.replace("images", "labels").replace("idx3", "idx1")
    if guess != name and (images.parent / guess).exists():
        return images.parent / guess
    return None


# ---- the dialog ----------------------------------------------------------------------------------------

class DatasetDialog(QDialog):
    loaded = Signal()              # a preview (or its error) is showing

    def __init__(self, window, parent=None):
        super().__init__(parent or window)
        self.window = window
        self.setWindowTitle("Dataset")
        self.graph_dir = window.base_dir
        self.dataset: Dataset | None = None
        self.error = ""
        self.loading = False
        self.fixes: list[tuple[str, str, Any, str]] = []     # node, param, value, words
        self._generation = 0
        self._kind: str | None = None
        self._fields: dict[str, Field] = {}
        self._building = False
        self._loader = _Loader(self)
        self._loader.done.connect(self._loaded)
        self._reload_timer = QTimer(self, singleShot=True, interval=RELOAD_MS)
        self._reload_timer.timeout.connect(self.reload)
        self._build()
        self._show_spec(window.document.training.get("dataset", {"name": "digits"}))
        self.resize(1020, 700)
        self.reload()

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        source = QGroupBox("Where the data comes from")
        grid = QGridLayout(source)
        self.builtin_radio = QRadioButton("Built-in set")
        self.file_radio = QRadioButton("My own file")
        group = QButtonGroup(self)
        group.addButton(self.builtin_radio)
        group.addButton(self.file_radio)
        self.builtin = QComboBox()
        for name, b in BUILTINS.items():
            self.builtin.addItem(name, name)
            self.builtin.setItemData(self.builtin.count() - 1, b.description, Qt.ToolTipRole)
        self.builtin_about = QLabel()
        self.builtin_about.setWordWrap(True)
        self.builtin_about.setStyleSheet("color: palette(mid)")
        self.path_edit = QLineEdit(placeholderText="choose a file or a folder of images")
        self.file_button = QPushButton("File…")
        self.file_button.setToolTip("A CSV, NPZ, NPY or IDX file")
        self.folder_button = QPushButton("Image folder…")
        self.folder_button.setToolTip("A folder with one subfolder of PNG or JPEG images per class")
        self.format = QComboBox()
        for text, value in FORMATS:
            self.format.addItem(text, value)
        self.path_note = QLabel()
        self.path_note.setWordWrap(True)
        self.path_note.setTextInteractionFlags(Qt.TextSelectableByMouse)
        choose_row = QHBoxLayout()
        choose_row.addWidget(self.file_button)
        choose_row.addWidget(self.folder_button)
        choose_row.addStretch(1)
        fmt_row = QHBoxLayout()
        fmt_row.addWidget(QLabel("Format"))
        fmt_row.addWidget(self.format, 1)
        grid.addWidget(self.builtin_radio, 0, 0)
        grid.addWidget(self.builtin, 0, 1)
        grid.addWidget(self.builtin_about, 1, 1)
        grid.addWidget(self.file_radio, 2, 0)
        grid.addLayout(choose_row, 2, 1)
        grid.addWidget(self.path_edit, 3, 1)
        grid.addLayout(fmt_row, 4, 1)
        grid.addWidget(self.path_note, 5, 1)
        grid.setColumnStretch(1, 1)

        self.options_box = QGroupBox("Options")
        self.options_form = QFormLayout(self.options_box)
        self.options_form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(source)
        lv.addWidget(self.options_box)
        lv.addStretch(1)

        # the preview
        self.headline = QLabel("Loading…")
        self.headline.setWordWrap(True)
        bold = QFont(self.headline.font())
        bold.setBold(True)
        self.headline.setFont(bold)
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        self.counts.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label.setStyleSheet(f"color: {colors().error.name()}")
        self.error_label.hide()
        self.tabs = QTabWidget()
        self.scatter = self._make_scatter()
        self.images = QScrollArea(widgetResizable=True)
        self.thumbnails: list[QLabel] = []
        self._bold = QFont(self.font())
        self._bold.setBold(True)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.verticalHeader().hide()       # not the file's line numbers: the test rows are held out
        self.table_caption = QLabel("The first rows of the training split, in file order, with the values as "
                                    "read (before scaling). The label column is in bold.")
        self.table_caption.setWordWrap(True)
        rows_page = QWidget()
        rows_layout = QVBoxLayout(rows_page)
        rows_layout.setContentsMargins(4, 4, 4, 4)
        rows_layout.addWidget(self.table_caption)
        rows_layout.addWidget(self.table, 1)
        self.images_caption = QLabel()
        self.images_caption.setWordWrap(True)
        images_page = QWidget()
        images_layout = QVBoxLayout(images_page)
        images_layout.setContentsMargins(4, 4, 4, 4)
        images_layout.addWidget(self.images_caption)
        images_layout.addWidget(self.images, 1)
        self.summary = QPlainTextEdit(readOnly=True)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.Monospace)
        self.summary.setFont(mono)
        self.summary.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.tabs.addTab(self.scatter, "Scatter plot")
        self.tabs.addTab(images_page, "Images")
        self.tabs.addTab(rows_page, "First rows")
        self.tabs.addTab(self.summary, "Summary")
        self.pages = {"scatter": self.scatter, "images": images_page, "rows": rows_page, "summary": self.summary}

        self.binding_label = QLabel()
        self.binding_label.setWordWrap(True)
        self.binding_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.fix_button = QPushButton()
        self.fix_button.setToolTip("Change the graph to fit this dataset (Edit ▸ Undo takes it back)")
        self.fix_button.clicked.connect(self.apply_fixes)
        self.fix_button.hide()
        binding = QVBoxLayout()
        binding.addWidget(self.binding_label)
        binding.addWidget(self.fix_button, 0, Qt.AlignLeft)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.headline)
        rv.addWidget(self.counts)
        rv.addWidget(self.error_label)
        rv.addWidget(self.tabs, 1)
        rv.addLayout(binding)
        rv.addStretch(0)     # with no preview tab to show, the messages stay at the top together

        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([430, 590])

        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.Ok)
        self.ok_button.setText("Use this dataset")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(self.buttons)

        self.builtin_radio.toggled.connect(self._source_changed)
        self.builtin.currentIndexChanged.connect(self._source_changed)
        self.format.currentIndexChanged.connect(self._source_changed)
        self.path_edit.editingFinished.connect(self._path_edited)
        self.file_button.clicked.connect(lambda: self._browse("file"))
        self.folder_button.clicked.connect(lambda: self._browse("folder"))

    def _make_scatter(self) -> QWidget:
        import pyqtgraph as pg
        plot = pg.PlotWidget()
        plot.setBackground(None)
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setLabel("bottom", "x1")
        plot.setLabel("left", "x2")
        self.scatter_legend = plot.addLegend(offset=(8, 8))
        self.scatter_items: list = []
        return plot

    # ---- file choice (tests replace ask_path) -----------------------------------------------------
    def ask_path(self, what: str, title: str) -> str | None:
        """what: "file" or "folder". Returns an absolute path, or None when cancelled."""
        start = str(self.graph_dir or Path.home())
        if what == "folder":
            path = QFileDialog.getExistingDirectory(self, title, start)
        else:
            path, _ = QFileDialog.getOpenFileName(self, title, start, FILE_FILTER)
        return path or None

    def _browse(self, what: str) -> None:
        path = self.ask_path(what, "Choose a folder of images" if what == "folder" else "Choose a dataset file")
        if not path:
            return
        self.choose_file(path, "images" if what == "folder" else None)

    def choose_file(self, path: str | os.PathLike, fmt: str | None = None) -> None:
        """Import this file (or folder): the File source with the format detected or given."""
        path = Path(self._absolute(str(path)))
        self._building = True
        self.file_radio.setChecked(True)
        self.path_edit.setText(str(path))
        self.format.setCurrentIndex(max(0, self.format.findData(fmt)))
        self._building = False
        self._source_changed()
        if self._kind == "idx" and "labels" in self._fields and not self._fields["labels"].get():
            guess = guess_idx_labels(path)
            if guess is not None:
                self._fields["labels"].set(str(guess))
                self.schedule_reload()

    def _path_edited(self) -> None:
        if self.path_edit.text().strip():
            self.file_radio.setChecked(True)
        self._source_changed()

    # ---- the spec <-> the widgets -------------------------------------------------------------------
    def _base_dir(self) -> Path:
        """Where a relative path in the document points: the graph's folder (the runner's cwd if unsaved)."""
        return self.graph_dir or Path.cwd()

    def _absolute(self, path: str) -> str:
        """A path as typed or stored -> absolute and tidy (graphs/../data/x.csv -> data/x.csv)."""
        return os.path.normpath(Path(self._base_dir(), Path(path).expanduser()))

    def _show_spec(self, spec: dict) -> None:
        """Show a spec from the document in the widgets."""
        self._building = True
        if not isinstance(spec, dict) or ("name" in spec) == ("path" in spec):
            spec = {"name": "digits"}
        if "path" in spec and isinstance(spec["path"], str):
            spec = {k: self._absolute(v) if k in PATH_KEYS and isinstance(v, str) else v for k, v in spec.items()}
            self.file_radio.setChecked(True)
            self.path_edit.setText(spec["path"])
            self.format.setCurrentIndex(max(0, self.format.findData(spec.get("format"))))
        else:
            self.builtin_radio.setChecked(True)
            self.builtin.setCurrentIndex(max(0, self.builtin.findData(spec.get("name"))))
        self._building = False
        self._rebuild_options(self._current_kind())
        self._building = True
        for key, value in spec.items():
            if key in self._fields:
                try:
                    self._fields[key].set(value)
                except (TypeError, ValueError, IndexError):     # a hand-edited value no widget can show
                    pass
        self._building = False
        self._update_source_widgets()

    def _current_kind(self) -> str | None:
        if self.builtin_radio.isChecked():
            return self.builtin.currentData()
        fmt = self.format.currentData()
        path = self.path_edit.text().strip()
        return fmt or (infer_format(path) if path else None)

    def _source_changed(self, *_) -> None:
        if self._building:
            return
        kind = self._current_kind()
        if kind != self._kind:
            self._rebuild_options(kind)
        self._update_source_widgets()
        self.schedule_reload()

    def _update_source_widgets(self) -> None:
        builtin = self.builtin_radio.isChecked()
        self.builtin.setEnabled(builtin)
        self.builtin_about.setText(BUILTINS[self.builtin.currentData()].description if builtin else "")
        self.builtin_about.setVisible(builtin)
        for w in (self.path_edit, self.format):
            w.setEnabled(not builtin)
        self._update_path_note()

    def _rebuild_options(self, kind: str | None) -> None:
        """One row per option of the kind, at its default value; a changed seed or split carries over."""
        carried = {}
        if self._kind is not None and kind is not None:
            old = effective_defaults(self._kind)
            carried = {k: v for k, f in self._fields.items() if k in COMMON and k != "scale"
                       and (v := f.get()) != old.get(k)}
        self._kind = kind
        self._fields = {}
        while self.options_form.rowCount():
            self.options_form.removeRow(0)
        if kind is None:
            self.options_box.setTitle("Options")
            return
        self.options_box.setTitle(f"Options for {kind if kind in BUILTINS else FORMAT_NAMES.get(kind, kind)}")
        defaults = effective_defaults(kind)
        self._building = True
        for key in _row_order(kind):
            if key not in OPTIONS:
                continue
            text, tip, make = OPTIONS[key]
            field = make(self, kind, self.schedule_reload)
            value = carried.get(key, defaults.get(key))
            if value is not None:
                field.set(value)
            field.widget.setToolTip(tip)
            label = QLabel(text)
            label.setToolTip(tip)
            self.options_form.addRow(label, field.widget)
            self._fields[key] = field
        self._building = False

    def spec(self) -> dict | None:
        """The spec the widgets describe, with absolute paths; None when no file is chosen yet.
        Options at their default values are left out."""
        kind = self._current_kind()
        if self.builtin_radio.isChecked():
            spec = {"name": kind}
        else:
            path = self.path_edit.text().strip()
            if not path:
                return None
            spec = {"path": self._absolute(path)}
            if self.format.currentData():
                spec["format"] = self.format.currentData()
        if kind is None:
            return spec
        defaults = effective_defaults(kind)
        for key, field in self._fields.items():
            value = field.get()
            if key in PATH_KEYS and value is not None:
                value = self._absolute(value)
            if value != defaults.get(key) or (options_for(kind)[key].default is REQUIRED and value is not None):
                spec[key] = value
        return spec

    def stored_spec(self) -> dict | None:
        """The spec as the graph file will hold it: paths relative to the graph's folder when saved."""
        spec = self.spec()
        if spec is None or self.graph_dir is None:
            return spec
        return make_spec_relative(spec, self.graph_dir)

    def _update_path_note(self) -> None:
        if self.builtin_radio.isChecked():
            self.path_note.setText("")
            self.path_note.hide()
            return
        self.path_note.show()
        spec = self.stored_spec()
        if spec is None:
            self.path_note.setText("Choose a file, or a folder with one subfolder of images per class.")
        elif self.graph_dir is None:
            self.path_note.setText("The graph has not been saved yet, so the file is stored by its full path. "
                                   "Save the graph first to store the path relative to the graph file, so that "
                                   "the two can move together.")
        elif Path(spec["path"]).is_absolute():
            self.path_note.setText(f"Stored as the full path {spec['path']} (it is on another drive than the graph).")
        else:
            self.path_note.setText(f"Stored relative to the graph file's folder as: {spec['path']}")

    # ---- loading ------------------------------------------------------------------------------------
    def schedule_reload(self, *_) -> None:
        if self._building:
            return
        self._update_path_note()
        self._generation += 1              # a result still on its way is now stale
        self.loading = True
        self.ok_button.setEnabled(False)
        self._reload_timer.start()

    def reload(self) -> None:
        """Load the spec now (on a thread); the preview follows when it is read."""
        self._reload_timer.stop()
        self._generation += 1
        spec = self.spec()
        self.loading = True
        self.ok_button.setEnabled(False)
        if spec is None:
            self._loaded(self._generation, None, "")
            return
        self.headline.setText("Reading…")
        self._loader.load(self._generation, spec, None)

    def _loaded(self, generation: int, ds, error: str) -> None:
        if generation != self._generation:
            return
        self.loading = False
        self.dataset, self.error = ds, error
        self.error_label.setVisible(bool(error))
        self.error_label.setText(f"Could not read this dataset:\n{error}" if error else "")
        if ds is None:
            self.headline.setText("No file chosen yet." if not error else "Nothing to preview until the file reads "
                                  "without errors.")
            self.counts.setText("")
            self._clear_preview()
            self._show_file_start()
        else:
            self._show_dataset(ds)
        if self._current_kind() == "csv":
            self._suggest_columns()
        self.check_binding()
        self.ok_button.setEnabled(ds is not None)
        self.loaded.emit()

    # ---- the preview --------------------------------------------------------------------------------
    def _clear_preview(self) -> None:
        for i in range(3):
            self.tabs.setTabVisible(i, False)
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.images.setWidget(QWidget())
        self.thumbnails = []
        self.summary.setPlainText("")

    def _show_file_start(self) -> None:
        """After an error in a text file: its first lines, numbered as the message numbers them."""
        spec = self.spec()
        head = text_head(spec["path"]) if spec and self._current_kind() == "csv" else None
        summary = self.tabs.indexOf(self.pages["summary"])
        if head:
            self.tabs.setTabText(summary, "Start of the file")
            self.summary.setPlainText(head)
        self.tabs.setVisible(bool(head))

    def _show_dataset(self, ds: Dataset) -> None:
        self._clear_preview()
        self.tabs.setTabText(self.tabs.indexOf(self.pages["summary"]), "Summary")
        self.tabs.setVisible(True)
        n = {s: len(getattr(ds, f"x_{s}")) for s in ("train", "val", "test")}
        splits = ", ".join(f"{v} {k}" for k, v in n.items() if v or k == "train")
        numbers = int(np.prod(ds.feature_shape))
        shape = "×".join(map(str, ds.feature_shape))
        features = (f"{numbers} features" if len(ds.feature_shape) == 1
                    else f"features of shape {shape} ({numbers} numbers)")
        task = (f"{ds.num_classes} classes" if ds.task == "classification"
                else f"regression, {int(np.prod(ds.target_shape) or 1)} target value(s)")
        self.headline.setText(f"{sum(n.values())} samples ({splits})  ·  {features}  ·  {task}")
        if ds.task == "classification":
            counts = class_counts(ds)
            shown = counts[:30]
            text = "  ·  ".join(f"{name}:\u00a0{c}" for name, c in shown)
            if len(counts) > len(shown):
                text += f"  ·  … {len(counts) - len(shown)} more"
            self.counts.setText(f"Samples per class:  {text}")
        else:
            y = np.concatenate([ds.y_train, ds.y_val, ds.y_test]).reshape(sum(n.values()), -1)
            self.counts.setText("Target range: " + ", ".join(f"{_fmt(y[:, j].min())} .. {_fmt(y[:, j].max())}"
                                                           for j in range(min(y.shape[1], 8))))
        self.summary.setPlainText(ds.summary())
        shown_tab = self.tabs.indexOf(self.pages["rows"])
        if ds.feature_shape == (2,):
            self._show_scatter(ds)
            shown_tab = self.tabs.indexOf(self.scatter)
        chw = image_shape(ds)
        if chw is not None:
            self._show_images(ds, chw)
            shown_tab = self.tabs.indexOf(self.pages["images"])
        if chw is None or len(ds.feature_shape) == 1:
            self._show_table(ds)
        self.tabs.setTabVisible(self.tabs.indexOf(self.pages["rows"]), self.table.rowCount() > 0)
        self.tabs.setCurrentIndex(shown_tab)

    def _label_text(self, ds: Dataset, y) -> str:
        if ds.task == "classification":
            i = int(y)
            return ds.class_names[i] if ds.class_names and i < len(ds.class_names) else str(i)
        return ", ".join(_fmt(v) for v in np.ravel(y))

    def _show_table(self, ds: Dataset) -> None:
        rows = min(TABLE_ROWS, len(ds.x_train))
        x = unscaled(ds, ds.x_train[:rows]).reshape(rows, -1)
        names = list(ds.feature_names)
        cols = min(TABLE_COLUMNS, x.shape[1])
        label = "class" if ds.task == "classification" else "target"
        headers = names[:cols] + (["…"] if x.shape[1] > cols else []) + [label]
        self.table.setColumnCount(len(headers))
        self.table.setRowCount(rows)
        self.table.setHorizontalHeaderLabels(headers)
        bold = QFont(self.table.font())
        bold.setBold(True)
        for r in range(rows):
            for c in range(cols):
                item = QTableWidgetItem(_fmt(x[r, c]))
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, item)
            if x.shape[1] > cols:
                self.table.setItem(r, cols, QTableWidgetItem("…"))
            item = QTableWidgetItem(self._label_text(ds, ds.y_train[r]))
            item.setFont(bold)
            self.table.setItem(r, len(headers) - 1, item)
        self.table.setToolTip("The first rows of the training split, in file order, with the values as read "
                              "(before scaling). The test rows are held out, so some row numbers of the file "
                              "are missing here.")
        self.tabs.setTabVisible(self.tabs.indexOf(self.pages["rows"]), True)

    def _show_images(self, ds: Dataset, chw: tuple[int, int, int]) -> None:
        """One row per class: its name, then its first training samples."""
        x, y = ds.x_train, ds.y_train
        if ds.task == "classification":
            names = [name for name, _ in class_counts(ds)][:MAX_IMAGE_ROWS]
            rows = [(name, np.flatnonzero(y == k)[:IMAGES_PER_CLASS]) for k, name in enumerate(names)]
        else:
            rows = [("", np.arange(min(len(x), IMAGES_PER_CLASS * 4)))]
        each = "each class" if ds.task == "classification" else "the training split"
        more = (f" (the first {MAX_IMAGE_ROWS} of {ds.num_classes} classes)"
                if ds.task == "classification" and (ds.num_classes or 0) > MAX_IMAGE_ROWS else "")
        self.images_caption.setText(f"The first training samples of {each}{more}, as {chw[0]}×{chw[1]}×{chw[2]} "
                                    "images (contrast stretched per image).")
        page = QWidget()
        grid = QGridLayout(page)
        grid.setSpacing(4)
        self.thumbnails = []
        for r, (name, picks) in enumerate(rows):
            label = QLabel(name)
            label.setFont(self._bold)
            grid.addWidget(label, r, 0, Qt.AlignRight | Qt.AlignVCenter)
            for c, i in enumerate(picks):
                a = unscaled(ds, x[i:i + 1])[0].reshape(chw)
                thumb = QLabel()
                thumb.setPixmap(QPixmap.fromImage(to_qimage(a)).scaled(THUMB, THUMB, Qt.KeepAspectRatio,
                                                                       Qt.FastTransformation))
                thumb.setToolTip(f"training sample {i}: {self._label_text(ds, y[i])}")
                grid.addWidget(thumb, r, c + 1)
                self.thumbnails.append(thumb)
        grid.setColumnStretch(IMAGES_PER_CLASS + 1, 1)
        grid.setRowStretch(len(rows), 1)
        self.images.setWidget(page)
        self.tabs.setTabVisible(self.tabs.indexOf(self.pages["images"]), True)

    def _show_scatter(self, ds: Dataset) -> None:
        import pyqtgraph as pg
        plot = self.scatter
        for item in self.scatter_items:
            plot.removeItem(item)
        self.scatter_items = []
        self.scatter_legend.clear()
        x = unscaled(ds, np.concatenate([ds.x_train, ds.x_val, ds.x_test]))
        y = np.concatenate([ds.y_train, ds.y_val, ds.y_test])
        if len(x) > SCATTER_POINTS:
            keep = np.random.default_rng(0).choice(len(x), SCATTER_POINTS, replace=False)
            x, y = x[keep], y[keep]
        names = ds.feature_names if len(ds.feature_names) == 2 else ["x1", "x2"]
        plot.setLabel("bottom", names[0])
        plot.setLabel("left", names[1])
        if ds.task == "classification":
            for k, (name, _) in enumerate(class_counts(ds)):
                pts = x[y == k]
                color = QColor(CLASS_COLORS[k % len(CLASS_COLORS)])
                item = pg.ScatterPlotItem(pts[:, 0], pts[:, 1], size=6, pen=None, brush=pg.mkBrush(color),
                                          name=f"class {name}")
                plot.addItem(item)
                self.scatter_items.append(item)
        else:
            v = np.ravel(y.reshape(len(y), -1)[:, 0])
            lo, hi = float(v.min()), float(v.max())
            cmap = pg.colormap.get("viridis")
            brushes = [pg.mkBrush(c) for c in cmap.map((v - lo) / (hi - lo) if hi > lo else v * 0, mode="qcolor")]
            item = pg.ScatterPlotItem(x[:, 0], x[:, 1], size=6, pen=None, brush=brushes,
                                      name=f"target {_fmt(lo)} (dark) .. {_fmt(hi)} (light)")
            plot.addItem(item)
            self.scatter_items.append(item)
        plot.autoRange()
        self.tabs.setTabVisible(self.tabs.indexOf(self.scatter), True)

    def _suggest_columns(self) -> None:
        """Offer the CSV's column names in the label-column list, and name the last one."""
        field = self._fields.get("label")
        if field is None or not isinstance(field.widget, QComboBox):
            return
        names = csv_header(self.spec())
        combo = field.widget
        at_last = combo.currentIndex() == 0 and combo.currentText() == combo.itemText(0)
        current = combo.currentText()
        self._building = True
        combo.setItemText(0, f"last column ({names[-1]})" if names else "last column")
        if [combo.itemText(i) for i in range(1, combo.count())] != names:
            while combo.count() > 1:
                combo.removeItem(1)
            for name in names:
                combo.addItem(name, name)
        if at_last:
            combo.setCurrentIndex(0)
            combo.setEditText(combo.itemText(0))
        else:
            combo.setEditText(current)
        self._building = False

    # ---- binding to the graph -------------------------------------------------------------------------
    def check_binding(self) -> list:
        """Show what doesn't fit between the dataset and the graph, with a fix where one param does it."""
        ds = self.dataset
        self.fixes = []
        if ds is None:
            self.binding_label.setText("")
            self.fix_button.hide()
            return []
        doc = self.window.document
        analysis = self.window.editor.analysis
        problems = check_binding(doc, analysis, ds)
        for n in doc.nodes:
            node = doc.nodes[n]
            role = get_kind(node.kind).role
            if role == "data" and tuple(node.params["shape"]) != tuple(ds.feature_shape):
                self.fixes.append((n, "shape", list(ds.feature_shape),
                                   f"set {n}'s shape to {fmt_shape((None, *ds.feature_shape))}"))
            elif role == "target":
                want = "classes" if ds.task == "classification" else "values"
                if node.params["labels"] != want:
                    self.fixes.append((n, "labels", want, f"set {n}'s labels to {want}"))
                if want == "values" and tuple(node.params["shape"]) != tuple(ds.target_shape):
                    self.fixes.append((n, "shape", list(ds.target_shape),
                                       f"set {n}'s shape to {fmt_shape((None, *ds.target_shape))}"))
        if problems:
            lines = "\n".join(f"• {p.node + ': ' if p.node else ''}{p.message}" for p in problems)
            self.binding_label.setText(f"This dataset doesn't fit the graph yet:\n{lines}\n"
                                       "You can still choose it; training starts once the graph fits.")
            self.binding_label.setStyleSheet(f"color: {colors().error.name()}")
        else:
            self.binding_label.setText("✓ The graph's Input and loss fit this dataset.")
            self.binding_label.setStyleSheet("")
        if analysis.problems:
            first = "\n".join(f"• {p}" for p in analysis.problems[:3])
            more = f"\n… and {len(analysis.problems) - 3} more" if len(analysis.problems) > 3 else ""
            self.binding_label.setText(self.binding_label.text() + f"\nThe graph itself has problems:\n{first}{more}")
            self.binding_label.setStyleSheet(f"color: {colors().error.name()}")
        self.fix_button.setVisible(bool(self.fixes))
        words = "; ".join(f[3] for f in self.fixes)
        self.fix_button.setText(words[:1].upper() + words[1:])
        return problems

    def apply_fixes(self) -> None:
        """Set the Input's shape (and the Target's labels) to fit the dataset: one undo step."""
        if not self.fixes:
            return
        stack = self.window.undo_stack
        stack.beginMacro("Fit the graph to the dataset")
        refused = [why for n, name, value, _ in self.fixes if (why := self.window.editor.set_param(n, name, value))]
        stack.endMacro()
        self.window.editor.flush()
        if refused:
            self.binding_label.setText("Could not change the graph: " + "; ".join(refused))
            return
        self.check_binding()

    # ---- OK ---------------------------------------------------------------------------------------
    def accept(self) -> None:
        if self.loading or self.dataset is None:
            return
        spec = self.stored_spec()
        old = self.window.document.training.get("dataset")
        if not same_dataset(old, spec, self._base_dir()):
            self.window.undo_stack.push(SetTraining(self.window.document, "dataset", spec, "Set dataset"))
        super().accept()


FORMAT_NAMES = {"csv": "CSV", "npz": "NPZ", "npy": "NPY", "idx": "IDX", "images": "an image folder"}


def same_dataset(a, b, base_dir: Path) -> bool:
    """True when two specs read the same data (defaults and relative paths considered)."""
    if a == b:
        return True
    try:
        if validate_spec(a) or validate_spec(b):
            return False
        (ka, oa), (kb, ob) = with_defaults(a), with_defaults(b)
        if ka != kb:
            return False
        oa, ob = resolve_spec_paths(oa, base_dir), resolve_spec_paths(ob, base_dir)
        oa.pop("format", None)
        ob.pop("format", None)
        return {k: v for k, v in oa.items()} == {k: v for k, v in ob.items()}
    except Exception:
        return False


def csv_header(spec: dict | None) -> list[str]:
    """The column names on a CSV's first line (empty when it has no header or can't be read)."""
    if not spec or "path" not in spec:
        return []
    try:
        from ..model.datasets.fileio import read_text
        text = read_text(Path(spec["path"]))
    except (DatasetError, OSError):
        return []
    import csv
    first = next((line for line in text.splitlines() if line.strip()), "")
    delim = spec.get("delimiter")
    delim = "\t" if delim in ("tab", "\\t") else delim
    if not delim:
        delim = max(",;\t", key=first.count) if any(d in first for d in ",;\t") else ","
    cells = next(csv.reader([first], delimiter=delim), [])
    if not cells or spec.get("header") is False:
        return []
    if all(_is_number(c) for c in cells):
        return []
    return [c.strip() for c in cells]


def text_head(path: str, lines: int = 40) -> str | None:
    """The first lines of a text file (gunzipped), numbered from 1; None when it can't be read."""
    try:
        check_regular(path)        # a FIFO would block the GUI thread here for good
        with open(path, "rb") as f:
            data = f.read(1 << 16)
        if data[:2] == b"\x1f\x8b":
            import zlib
            data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    except Exception:          # unreadable, or broken gzip: no preview, the error says why
        return None
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    rows = text.splitlines()[:lines]
    return "\n".join(f"{i:>4} | {line}" for i, line in enumerate(rows, 1)) if rows else None


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def open_dataset_dialog(window) -> DatasetDialog:
    """Open the dialog (window-modal, without blocking); OK changes the document."""
    dialog = DatasetDialog(window)
    dialog.setAttribute(Qt.WA_DeleteOnClose)
    dialog.open()
    return dialog
