"""The dataset dialog, driven through the real widgets: opened from the training panel's
Choose… button; a built-in set with its scatter plot and class counts; a CSV import with its
first rows; an IDX pair shown as images; a malformed file's message in the dialog with OK
disabled; OK as one undoable edit storing the path relative to the saved graph; the binding
check and its one-click fix."""
from __future__ import annotations

import gzip
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import struct  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import shiboken6  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QFormLayout  # noqa: E402

from app.paths import example  # noqa: E402
from app.ui.dataset_dialog import DatasetDialog  # noqa: E402
from app.ui.style import colors  # noqa: E402
from ui_helpers import settings_dir, settle, type_into, window  # noqa: E402,F401

pytestmark = pytest.mark.qt

FLOWERS = """petal_length,petal_width,stem_cm,kind
1.4,0.2,10,rose
4.7,1.4,12,tulip
5.9,2.1,14,lily
1.3,0.2,11,rose
4.5,1.5,13,tulip
6.0,2.5,15,lily
1.5,0.3,10,rose
4.9,1.5,12,tulip
5.8,2.2,14,lily
1.6,0.2,9,rose
"""


def open_dialog(w, qtbot) -> DatasetDialog:
    """Click Choose… beside the dataset list; wait for the first preview."""
    QTest.mouseClick(w.training.panel.choose_dataset, Qt.LeftButton)
    dialog = w.training.dataset_dialog
    assert dialog.isVisible()
    wait_loaded(dialog, qtbot)
    return dialog


def wait_loaded(dialog: DatasetDialog, qtbot) -> None:
    qtbot.waitUntil(lambda: not dialog.loading, timeout=15_000)
    settle()


def import_file(dialog: DatasetDialog, qtbot, path: Path) -> None:
    """Click File… and answer the file chooser with path."""
    asked = []
    dialog.ask_path = lambda what, title: asked.append(what) or str(path)
    QTest.mouseClick(dialog.file_button, Qt.LeftButton)
    assert asked == ["file"]
    wait_loaded(dialog, qtbot)


def table_rows(dialog: DatasetDialog) -> list[list[str]]:
    t = dialog.table
    return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


def headers(dialog: DatasetDialog) -> list[str]:
    t = dialog.table
    return [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]


def visible_tabs(dialog: DatasetDialog) -> list[str]:
    return [dialog.tabs.tabText(i) for i in range(dialog.tabs.count()) if dialog.tabs.isTabVisible(i)]


def test_a_built_in_set_shows_its_scatter_plot_and_class_counts(window, qtbot):
    w = window
    dialog = open_dialog(w, qtbot)
    # the untitled document trains on digits: images, one row per class
    assert dialog.builtin_radio.isChecked() and dialog.builtin.currentData() == "digits"
    assert dialog.tabs.currentWidget() is dialog.pages["images"]
    assert len(dialog.thumbnails) == 80 and "1797 samples" in dialog.headline.text()
    assert "0:\u00a0178" in dialog.counts.text() and "64 features" in dialog.headline.text()

    dialog.builtin.setCurrentIndex(dialog.builtin.findData("spiral"))
    assert "Samples" in [dialog.options_form.itemAt(i, QFormLayout.LabelRole).widget().text()
                         for i in range(dialog.options_form.rowCount())]
    type_into(dialog._fields["samples"].widget, "300")
    wait_loaded(dialog, qtbot)
    assert not dialog.error and dialog.ok_button.isEnabled()
    assert "300 samples (240 train, 60 test)" in dialog.headline.text()
    assert "2 features" in dialog.headline.text() and "2 classes" in dialog.headline.text()
    assert "0:\u00a0150" in dialog.counts.text() and "1:\u00a0150" in dialog.counts.text()
    assert dialog.tabs.currentWidget() is dialog.scatter and "Scatter plot" in visible_tabs(dialog)
    assert "Images" not in visible_tabs(dialog)
    points = [item.data.shape[0] for item in dialog.scatter_items]
    assert points == [150, 150]                                   # one colour per class
    assert "task: classification, 2 classes" in dialog.summary.toPlainText()
    assert dialog.spec() == {"name": "spiral", "samples": 300}     # defaults are left out
    dialog.reject()


def test_importing_a_csv_with_string_labels_shows_its_rows_and_classes(window, qtbot, tmp_path):
    csv_path = tmp_path / "flowers.csv"
    csv_path.write_text(FLOWERS)
    dialog = open_dialog(window, qtbot)
    import_file(dialog, qtbot, csv_path)
    assert dialog.file_radio.isChecked() and dialog.path_edit.text() == str(csv_path)
    assert dialog.options_box.title() == "Options for CSV"
    assert not dialog.error, dialog.error
    assert "10 samples (8 train, 2 test)" in dialog.headline.text() and "3 features" in dialog.headline.text()
    for name, n in (("lily", 3), ("rose", 4), ("tulip", 3)):
        assert f"{name}:\u00a0{n}" in dialog.counts.text()
    assert dialog.tabs.currentWidget() is dialog.pages["rows"]
    assert headers(dialog) == ["petal_length", "petal_width", "stem_cm", "class"]
    file_rows = [line.split(",") for line in FLOWERS.splitlines()[1:]]
    shown = table_rows(dialog)
    assert len(shown) == 8
    # the training rows, in file order, with the values as read (not standardised) and the label by name
    as_text = [[f"{float(v):.4g}" for v in r[:3]] + [r[3]] for r in file_rows]
    it = iter(as_text)
    assert all(row in it for row in shown), shown
    # the label column list offers the file's columns; choosing one by name makes it the label
    combo = dialog._fields["label"].widget
    assert [combo.itemText(i) for i in range(combo.count())] == ["last column (kind)", "petal_length", "petal_width",
                                                                  "stem_cm", "kind"]
    assert dialog._fields["label"].get() == -1
    combo.setCurrentIndex(3)
    combo.activated.emit(3)
    wait_loaded(dialog, qtbot)
    assert dialog.spec()["label"] == "stem_cm"
    assert "kind" not in headers(dialog) or dialog.error       # "kind" holds strings: now a feature, an error
    assert "kind" in dialog.error
    dialog.reject()


def test_a_malformed_csv_shows_its_error_in_the_dialog_and_ok_stays_disabled(window, qtbot, tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_text("a,b,label\n1,2,x\n3,oops,y\n")
    dialog = open_dialog(window, qtbot)
    assert dialog.ok_button.isEnabled()
    import_file(dialog, qtbot, bad)
    assert dialog.error_label.isVisible()
    text = dialog.error_label.text()
    assert "broken.csv" in text and "line 3" in text and "column 'b'" in text and "'oops'" in text
    assert colors().error.name() in dialog.error_label.styleSheet()
    assert not dialog.ok_button.isEnabled() and dialog.dataset is None
    # the start of the file, numbered as the message numbers lines
    assert dialog.tabs.isVisible() and dialog.tabs.currentWidget() is dialog.summary
    assert dialog.tabs.tabText(dialog.tabs.currentIndex()) == "Start of the file"
    assert "   3 | 3,oops,y" in dialog.summary.toPlainText()
    QTest.mouseClick(dialog.ok_button, Qt.LeftButton)
    assert dialog.isVisible() and window.document.training["dataset"] == {"name": "digits"}
    # a ragged row, then a good file: the message goes, OK comes back
    bad.write_text("a,b,label\n1,2,x\n3,4\n")
    dialog.reload()
    wait_loaded(dialog, qtbot)
    assert "line 3: expected 3 fields" in dialog.error_label.text()
    good = tmp_path / "good.csv"
    good.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,1,x\n")
    import_file(dialog, qtbot, good)
    assert not dialog.error_label.isVisible() and dialog.ok_button.isEnabled()
    # a file that isn't there: no preview pane, the headline and the message together at the top
    import_file(dialog, qtbot, tmp_path / "gone.csv")
    assert "file not found" in dialog.error_label.text() and not dialog.tabs.isVisible()
    gap = dialog.error_label.geometry().top() - dialog.headline.geometry().bottom()
    assert gap < 60, gap
    dialog.reject()


def test_ok_stores_the_path_relative_to_the_saved_graph_and_undo_restores(window, qtbot, tmp_path):
    w = window
    graphs, data = tmp_path / "graphs", tmp_path / "data"
    graphs.mkdir()
    data.mkdir()
    csv_path = data / "flowers.csv"
    csv_path.write_text(FLOWERS)
    w.ask_save_path = lambda *a, **k: str(graphs / "mine.json")
    assert w.save_as()
    before = dict(w.document.training["dataset"])
    depth = w.undo_stack.count()

    dialog = open_dialog(w, qtbot)
    import_file(dialog, qtbot, csv_path)
    assert "relative to the graph file's folder as: ../data/flowers.csv" in dialog.path_note.text()
    QTest.mouseClick(dialog.ok_button, Qt.LeftButton)
    settle()
    assert not shiboken6.isValid(dialog)                # closed and deleted
    assert w.document.training["dataset"] == {"path": "../data/flowers.csv"}
    assert w.undo_stack.count() == depth + 1 and w.undo_stack.undoText() == "Set dataset"
    assert w.isWindowModified()
    combo = w.training.panel.dataset
    assert combo.currentText() == "file: flowers.csv" and combo.currentData() is None

    w.undo_stack.undo()
    assert w.document.training["dataset"] == before
    assert combo.currentData() == "digits" and combo.findData(None) < 0      # the file entry is gone
    w.undo_stack.redo()
    assert w.document.training["dataset"] == {"path": "../data/flowers.csv"} and combo.currentText() == "file: flowers.csv"

    # reopened, the dialog finds the file through the graph's folder, whatever the working directory
    os.chdir(tmp_path)
    try:
        again = open_dialog(w, qtbot)
    finally:
        os.chdir(Path(__file__).resolve().parent.parent)
    assert again.file_radio.isChecked() and Path(again.path_edit.text()) == csv_path
    assert not again.error and "10 samples" in again.headline.text()
    QTest.mouseClick(again.ok_button, Qt.LeftButton)             # nothing changed: no new undo step
    assert w.undo_stack.count() == depth + 1


def test_an_unsaved_graph_stores_the_full_path_and_says_so(window, qtbot, tmp_path):
    csv_path = tmp_path / "flowers.csv"
    csv_path.write_text(FLOWERS)
    dialog = open_dialog(window, qtbot)
    import_file(dialog, qtbot, csv_path)
    assert "has not been saved yet" in dialog.path_note.text() and "full path" in dialog.path_note.text()
    QTest.mouseClick(dialog.ok_button, Qt.LeftButton)
    assert window.document.training["dataset"] == {"path": str(csv_path)}


def test_a_mismatch_with_the_graph_shows_and_one_click_sets_the_input_shape(window, qtbot):
    w = window
    w.open_example(example("digits_mlp"))              # Input (?, 64), 10 logits, SoftmaxCrossEntropy
    dialog = open_dialog(w, qtbot)
    assert "fit this dataset" in dialog.binding_label.text() and not dialog.fix_button.isVisible()
    import_file(dialog, qtbot, example("iris").parent.parent / "datasets" / "iris.csv")
    text = dialog.binding_label.text()
    assert "the Input has shape (?, 64) but the dataset" in text and "has features (?, 4)" in text
    assert dialog.fix_button.isVisible() and dialog.fix_button.text() == "Set input1's shape to (?, 4)"
    assert dialog.ok_button.isEnabled()                 # the graph can still be fixed later
    QTest.mouseClick(dialog.fix_button, Qt.LeftButton)
    settle()
    assert w.document.nodes["input1"].params["shape"] == [4]
    assert w.undo_stack.undoText() == "Fit the graph to the dataset"
    assert "fit this dataset" in dialog.binding_label.text() and not dialog.fix_button.isVisible()
    assert not w.editor.analysis.problems
    w.undo_stack.undo()
    assert w.document.nodes["input1"].params["shape"] == [64]
    dialog.check_binding()
    assert "(?, 64)" in dialog.binding_label.text()
    dialog.reject()


def test_loss_mismatches_are_named_in_the_dialog(window, qtbot):
    w = window
    w.open_example(example("spiral"))                   # BinaryCrossEntropy
    dialog = open_dialog(w, qtbot)
    dialog.builtin.setCurrentIndex(dialog.builtin.findData("plane"))   # regression targets
    wait_loaded(dialog, qtbot)
    text = dialog.binding_label.text()
    assert "real values: use MSE, not binary_cross_entropy" in text
    assert dialog.fix_button.text().startswith("Set target1's labels to values")
    dialog.reject()


def _idx(path: Path, magic: int, array: np.ndarray, gz: bool = False) -> None:
    data = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def test_idx_images_show_as_a_grid_and_the_labels_file_is_found(window, qtbot, tmp_path):
    rng = np.random.default_rng(0)
    images = (rng.random((12, 6, 5)) * 255).astype(np.uint8)
    labels = np.arange(12, dtype=np.uint8) % 3
    _idx(tmp_path / "train-images-idx3-ubyte.gz", 0x803, images, gz=True)
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", 0x801, labels, gz=True)
    dialog = open_dialog(window, qtbot)
    import_file(dialog, qtbot, tmp_path / "train-images-idx3-ubyte.gz")
    assert dialog._kind == "idx" and dialog._fields["labels"].get() == str(tmp_path / "train-labels-idx1-ubyte.gz")
    assert not dialog.error, dialog.error
    assert "features of shape 1×6×5" in dialog.headline.text() and "3 classes" in dialog.headline.text()
    assert dialog.tabs.currentWidget() is dialog.pages["images"]
    assert len(dialog.thumbnails) == 10                 # the training images (2 of the 12 are held out for test)
    assert dialog.thumbnails[0].pixmap().height() == 56 and dialog.thumbnails[0].pixmap().width() < 56
    assert "First rows" not in visible_tabs(dialog)
    dialog.reject()


def test_an_example_with_a_data_file_finds_it_and_save_as_repoints_it(window, tmp_path, monkeypatch):
    """The iris example names its CSV relative to the examples folder. Opened as an untitled
    copy it must still find it (whatever the working directory), and Save As elsewhere must
    store a path that works from the new folder."""
    from app.model.datasets import load_dataset
    from app.model.graphfile import load
    monkeypatch.chdir(tmp_path)
    window.open_example(example("iris"))
    spec = window.document.training["dataset"]
    assert Path(spec["path"]).is_absolute() and Path(spec["path"]).is_file()
    assert load_dataset(spec, window.base_dir).num_classes == 3
    target = tmp_path / "elsewhere" / "iris_copy.json"
    target.parent.mkdir()
    monkeypatch.setattr(window, "ask_save_path", lambda *a, **k: str(target))
    assert window.save_as()
    saved = load(target).training["dataset"]
    assert not Path(saved["path"]).is_absolute()
    assert load_dataset(saved, target.parent).num_classes == 3


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_named_as_the_file_is_not_read_on_the_gui_thread(tmp_path):
    """The file-start preview opened it and waited forever (the editor froze)."""
    from app.ui.dataset_dialog import text_head
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert text_head(str(fifo)) is None
