"""Files in the editor: open (good and bad), save and failed save, recent files, examples,
export, the prompt on close and New, and autosave with crash recovery across processes."""
from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from app.model import graphfile
from app.paths import example, examples_dir
from app.ui import recovery
from app.ui.main_window import MainWindow, start_editor
from ui_helpers import click_node, make_window, settings_dir, settle, window  # noqa: F401

pytestmark = pytest.mark.qt
ROOT = Path(__file__).resolve().parent.parent


def press(w, key) -> None:
    seq = QKeySequence(key)[0]
    QTest.keyClick(w.canvas, seq.key(), seq.keyboardModifiers())
    settle()


def edit(w) -> None:
    """One small edit, as a user would make it."""
    w.editor.add_node("relu", (500, 400))
    settle()


@contextmanager
def read_only(folder: Path):
    """A folder nobody can write into, root included (chattr +i), else by permissions."""
    if os.geteuid() == 0:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
            pytest.skip("running as root on a filesystem without chattr +i: can't make a read-only folder")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)


def test_open_from_the_command_line_and_the_default_example(qtbot, tmp_path, settings_dir, monkeypatch):
    monkeypatch.setenv(recovery.ENV_DIR, str(tmp_path / "rec"))
    graph = tmp_path / "mine.json"
    shutil.copy(example("spiral"), graph)
    w = start_editor([str(graph)], adapter_probe=None)
    qtbot.addWidget(w)
    assert w.path == str(graph.resolve()) and w.windowTitle().startswith("mine.json")
    assert len(w.document.nodes) == 8 and not w.isWindowModified()
    d = start_editor([], adapter_probe=None)
    qtbot.addWidget(d)
    assert d.path is None and "digits_mlp.json (example)" in d.windowTitle()
    assert d.document == graphfile.load(example("digits_mlp"))


def test_opening_a_file_with_a_node_selected(window):
    """Opening another graph while a node was selected raised "BadgeItem already deleted"
    from the inspector's selection change (pytest-qt fails a test on such an exception)."""
    w = window
    assert w.open_example(example("spiral"))
    settle()
    w.canvas.graph.select_only(["dense1"])
    settle()
    assert w.selected_node_ids() == ["dense1"]
    assert w.open_example(example("iris"))
    settle()
    assert w.selected_node_ids() == [] and set(w.canvas.graph.nodes) == set(w.document.nodes)


def test_a_bad_file_shows_the_loaders_message_and_leaves_the_document(window, tmp_path):
    w = window
    w.open_example(example("digits_mlp"))
    edit(w)
    before = graphfile.dumps(w.document)
    data = json.loads(example("digits_mlp").read_text())
    data["nodes"][1]["params"]["units"] = "abc"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    asked = []
    w.ask_save_changes = lambda: asked.append(1) or "discard"
    w.ask_open_path = lambda: str(bad)
    press(w, QKeySequence.Open)
    assert w.errors and "nodes[1].params.units" in w.errors[-1][1] and '"abc"' in w.errors[-1][1]
    assert graphfile.dumps(w.document) == before
    assert w.isWindowModified() and w.undo_stack.count() == 1
    assert not asked                           # nothing to decide about a file that won't open


def test_a_failed_save_says_why_keeps_the_mark_and_the_old_file(window, tmp_path):
    w = window
    folder = tmp_path / "locked"
    folder.mkdir()
    path = folder / "g.json"
    w.open_example(example("digits_mlp"))
    w.ask_save_path = lambda suggested, title="": str(path)
    press(w, QKeySequence.Save)
    old = path.read_bytes()
    edit(w)
    with read_only(folder):
        press(w, QKeySequence.Save)
        assert w.errors, "no error shown"
        title, text = w.errors[-1]
        assert str(path) in text and ("not permitted" in text or "denied" in text)
        assert w.isWindowModified() and "[*]" in w.windowTitle()
        assert path.read_bytes() == old
        assert sorted(p.name for p in folder.iterdir()) == ["g.json"]      # no temp file left behind
    press(w, QKeySequence.Save)
    assert not w.isWindowModified() and "relu1" in graphfile.load(path).nodes


def test_save_as_recent_files_and_examples_menu(window, tmp_path):
    w = window
    bundled = example("residual_mlp").read_bytes()
    names = [a.text() for a in w.examples_menu.actions()]
    assert names == sorted(p.name for p in examples_dir().glob("*.json")) and "residual_mlp.json" in names
    next(a for a in w.examples_menu.actions() if a.text() == "residual_mlp.json").trigger()
    settle()
    assert "add1" in w.document.nodes and w.path is None
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    suggested = []
    w.ask_save_path = lambda s, title="": suggested.append(s) or str(first)
    press(w, QKeySequence.Save)                # an example is saved elsewhere, never over itself
    assert suggested[-1].endswith("residual_mlp.json") and first.exists()
    assert example("residual_mlp").read_bytes() == bundled
    w.ask_save_path = lambda s, title="": str(second)
    w.act_save_as.trigger()
    assert w.path == str(second.resolve()) and w.recent_files()[:2] == [str(second.resolve()), str(first.resolve())]
    w._fill_recent()
    assert [a.text() for a in w.recent_menu.actions()][:2] == ["b.json", "a.json"]
    w.recent_menu.actions()[1].trigger()
    assert w.path == str(first.resolve())


def test_export_writes_a_copy_and_stays_on_the_own_file(window, tmp_path):
    w = window
    w.open_example(example("digits_mlp"))
    edit(w)
    out = tmp_path / "copy.json"
    w.ask_save_path = lambda s, title="": str(out)
    w.act_export.trigger()
    assert graphfile.load(out) == w.document
    assert w.path is None and w.isWindowModified()


@pytest.mark.parametrize("answer", ["cancel", "discard", "save"])
def test_close_and_new_ask_to_save(window, tmp_path, answer):
    w = window
    path = tmp_path / "g.json"
    w.ask_save_path = lambda s, title="": str(path)
    edit(w)
    w.ask_save_changes = lambda: answer
    press(w, QKeySequence.New)
    assert (len(w.document.nodes) == 1) == (answer == "cancel")
    assert path.exists() == (answer == "save")
    edit(w)
    w.close()
    assert w.isVisible() == (answer == "cancel")
    w.ask_save_changes = lambda: "discard"


@pytest.mark.parametrize("answer", ["cancel", "discard"])
def test_ctrl_c_in_the_terminal_closes_the_window_as_its_close_button_does(window, qtbot, answer):
    """SIGINT asks to save unsaved changes like a close does; cancelling keeps the editor open."""
    from PySide6.QtWidgets import QApplication
    from app.ui.main_window import close_on_interrupt
    w = window
    edit(w)
    asked = []
    w.ask_save_changes = lambda: asked.append(1) or answer
    previous = signal.getsignal(signal.SIGINT)
    wake = close_on_interrupt(QApplication.instance())
    try:
        signal.raise_signal(signal.SIGINT)
        qtbot.waitUntil(lambda: bool(asked), timeout=3000)
        settle()
        assert w.isVisible() == (answer == "cancel")
    finally:
        wake.stop()
        wake.deleteLater()
        signal.signal(signal.SIGINT, previous)
        w.ask_save_changes = lambda: "discard"


# ---- autosave and recovery ------------------------------------------------------------------------

CHILD = r"""
import os, sys, time
sys.path.insert(0, {root!r})
from PySide6.QtWidgets import QApplication
app = QApplication(["wiregrad"])
from app.ui.main_window import start_editor
w = start_editor([], adapter_probe=None)
w.editor.add_node("tanh", (300, 300))
w.editor.set_param("dense1", "units", 77)
app.processEvents()
deadline = time.time() + 20
while not list(w.slot.dir.glob("*.json")) and time.time() < deadline:
    app.processEvents()
    time.sleep(0.02)
print("autosaved", flush=True)
while True:            # the parent kills us here, without saving
    app.processEvents()
    time.sleep(0.05)
"""


def test_killed_without_saving_then_the_next_start_offers_the_edits_back(qtbot, tmp_path, settings_dir, monkeypatch):
    rec = tmp_path / "recovery"
    env = {**os.environ, recovery.ENV_DIR: str(rec), "WIREGRAD_AUTOSAVE_MS": "100", "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT))], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.strip() == "autosaved", child.stderr.read()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert len(list(rec.glob("*.json"))) == 1

    offers = []

    def ask_restore(self, descriptions):
        offers.append(descriptions)
        return True

    monkeypatch.setattr(MainWindow, "ask_restore", ask_restore)
    monkeypatch.setenv(recovery.ENV_DIR, str(rec))
    w = start_editor([], adapter_probe=None)
    qtbot.addWidget(w)
    w.ask_save_changes = lambda: "discard"
    assert len(offers) == 1 and "untitled" in offers[0][0]
    assert "tanh1" in w.document.nodes and w.document.nodes["dense1"].params["units"] == 77
    assert w.isWindowModified() and w.windowTitle().startswith("Recovered")
    # the killed process's file is gone; this window keeps its own copy until it is saved or closed
    files = list(rec.glob("*.json"))
    assert files == [w.slot.path]
    w.close()
    assert not list(rec.glob("*.json"))


def test_a_running_instances_recovery_file_is_never_taken(window, qtbot, tmp_path):
    edit(window)
    assert window.autosave() and window.slot.path.exists()
    other = make_window(qtbot, tmp_path)          # same recovery folder
    offered = []
    other.ask_restore = lambda d: offered.append(d) or True
    assert not other.offer_recovery() and not offered
    assert window.slot.path.exists()
    other.ask_save_changes = lambda: "discard"


def test_declining_the_offer_discards_the_files(tmp_path):
    rec = tmp_path / "recovery"
    slot = recovery.RecoverySlot(rec)
    doc = graphfile.load(example("spiral"))
    assert slot.write(doc, "/somewhere/spiral.json")
    slot.lock.unlock()                            # as if its process had died
    (found,) = recovery.orphans(rec)
    assert found.source == "/somewhere/spiral.json" and found.document() == doc
    assert "spiral.json" in found.describe()
    found.discard()
    assert not list(rec.iterdir())


def test_autosave_writes_only_while_unsaved(window, tmp_path):
    w = window
    assert not w.autosave() and not w.slot.path.exists()
    edit(w)
    assert w.autosave() and w.slot.path.exists()
    w.undo_stack.undo()
    settle()
    assert not w.slot.path.exists()               # back at the saved state: nothing to recover
    assert w.autosave_timer.isActive()
    assert w.autosave_timer.interval() == int(os.environ.get("WIREGRAD_AUTOSAVE_MS", 60_000))


def test_an_error_box_has_its_headline_as_a_sentence_and_the_problems_under_it(window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append((box.text(), box.informativeText())) or 0)
    MainWindow.show_error(window, "Training stopped",
                          "the graph is too large to train here:\n  dense2.w: this weight is big\n  graph: all of it")
    assert shown == [("The graph is too large to train here:", "dense2.w: this weight is big\ngraph: all of it")]
