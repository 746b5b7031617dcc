"""Training from the editor (issue 5), driven through the real panel on the offscreen platform:
Train / Pause / Step / Stop / Reset, the learning rate changed live, a NaN stop with its node
highlighted, worker exceptions reaching the user, editing while a run goes on, exports, and a
screenshot of the spiral example mid-training under Xvfb.

Every test that trains takes `gpu_device` (skipped without an adapter, failed under
WIREGRAD_EXPECT_ADAPTER=1). An exception raised in a slot on the GUI thread fails the test
(pytest-qt's exception capture), and the worker's are checked to arrive as messages.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from app.model.optim import hyper_vector
from app.paths import example
from ui_helpers import click_node, settings_dir, settle, type_into, window  # noqa: F401

pytestmark = pytest.mark.qt
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out"
START_MS = 30_000          # building the first session in a process: device, JIT of the pipelines


class Recorder:
    """Everything the runner sends to the GUI, in arrival order (on the GUI thread)."""

    def __init__(self, controller):
        self.metrics, self.evaluated, self.failed, self.states = [], [], [], []
        r = controller.runner
        r.metrics.connect(self.metrics.append)
        r.evaluated.connect(self.evaluated.append)
        r.failed.connect(lambda message, node: self.failed.append((message, node)))
        r.state.connect(lambda state, run: self.states.append(state))

    @property
    def step(self) -> int:
        return self.metrics[-1]["step"] if self.metrics else 0


def click(button) -> None:
    QTest.mouseClick(button, Qt.LeftButton)


def open_digits(w, epochs: int | None = None):
    assert w.open_example(example("digits_mlp"))
    settle()
    c = w.training
    if epochs is not None:
        type_into(c.panel.epochs, str(epochs))
        assert w.document.training["epochs"] == epochs
    return c, Recorder(c)


def wait_state(qtbot, c, state: str, timeout: int = 10_000) -> None:
    qtbot.waitUntil(lambda: c.state == state, timeout=timeout)


def stop_and_wait(qtbot, c) -> None:
    if c.state != "idle":
        click(c.panel.stop_button)
        wait_state(qtbot, c, "idle")


# ---- train, pause, step, live learning rate, stop ----------------------------------------------------

def test_train_pause_step_live_learning_rate_stop(window, gpu_device, qtbot):
    w = window
    c, rec = open_digits(w)
    p = c.panel
    assert p.train_button.text() == "Train" and not p.stop_button.isEnabled()

    click(p.train_button)
    qtbot.waitUntil(lambda: len(rec.metrics) >= 8 and rec.step >= 40, timeout=START_MS)
    assert rec.states[0] == "running" and p.train_button.text() == "Pause" and p.stop_button.isEnabled()
    qtbot.waitUntil(lambda: c.loss_plot.curves.get("loss/train") is not None
                    and c.loss_plot.curves["loss/train"].xData is not None
                    and len(c.loss_plot.curves["loss/train"].xData) >= 8, timeout=2000)
    x = c.loss_plot.curves["loss/train"].xData
    assert np.all(np.diff(x) > 0), "loss curve x not increasing"
    losses = [m["loss"] for m in rec.metrics]
    assert np.mean(losses[-3:]) < 0.7 * losses[0], f"the loss did not fall: {losses}"
    steps = [m["step"] for m in rec.metrics]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    # every parameter tensor has a gradient curve, coloured per node
    assert set(c.grad_plot.nodes) == {f"dense{i}.{k}" for i in (1, 2, 3) for k in "wb"}
    qtbot.waitUntil(lambda: len(c.grad_plot.curves) == 6, timeout=2000)
    assert "steps/s on" in p.status.text() and "Step " in p.status.text() and "Loss " in p.status.text()

    # Pause: the metrics stop coming
    click(p.train_button)
    wait_state(qtbot, c, "paused")
    assert p.train_button.text() == "Resume"
    s = c.runner.session
    paused_at = rec.step
    assert s.step == paused_at, "the last chunk's metrics arrived after the paused state"
    QTest.qWait(300)
    assert rec.step == paused_at and s.step == paused_at

    # Step: exactly one
    n = len(rec.metrics)
    click(p.step_button)
    qtbot.waitUntil(lambda: len(rec.metrics) > n, timeout=5000)
    QTest.qWait(200)
    assert [m["step"] for m in rec.metrics[n:]] == [paused_at + 1]
    assert s.step == paused_at + 1 and c.state == "paused"
    assert f"Step {paused_at + 1:,} ·" in p.status.text()

    # the update a step makes at the document's learning rate (Adam: about lr per weight)
    before = s.weights()
    n = len(rec.metrics)
    click(p.step_button)
    qtbot.waitUntil(lambda: len(rec.metrics) > n, timeout=5000)
    after = s.weights()
    big = max(np.abs(after[t] - before[t]).max() for t in before)

    # the learning rate changed live, in the panel: the document gets it (undoably) and so does
    # the running session, without a reset
    type_into(p.lr, "0.00001")
    assert w.document.training["optimizer"] == {"name": "adam", "lr": 1e-5}
    assert w.undo_stack.undoText().lower().startswith("set optimizer")
    before = s.weights()
    n = len(rec.metrics)
    click(p.step_button)
    qtbot.waitUntil(lambda: len(rec.metrics) > n, timeout=5000)
    assert c.runner.session is s, "the learning-rate change restarted the session"
    assert s.step == paused_at + 3
    assert np.array_equal(s.engine.read("hyper"), hyper_vector({"name": "adam", "lr": 1e-5}))
    assert s.doc.training["optimizer"]["lr"] == 1e-5
    after = s.weights()
    small = max(np.abs(after[t] - before[t]).max() for t in before)
    assert 0 < small < 1e-4 < big, (small, big)     # the engine's next step used the new rate

    # Stop: the run ends, the buttons say so, the flow overlay clears
    click(p.stop_button)
    wait_state(qtbot, c, "idle")
    assert c.runner.session is None
    assert p.train_button.text() == "Train" and not p.stop_button.isEnabled()
    assert not rec.failed and not w.errors


def test_train_to_the_end_pauses_and_evaluates_each_epoch(window, gpu_device, qtbot):
    """A short run (2 epochs) trains to its end, evaluates after each epoch, then pauses."""
    w = window
    c, rec = open_digits(w, epochs=2)
    click(c.panel.train_button)
    qtbot.waitUntil(lambda: c.state == "running", timeout=START_MS)
    wait_state(qtbot, c, "paused", timeout=20_000)
    spe = c.info["steps_per_epoch"]
    assert rec.step == 2 * spe
    assert [e["step"] for e in rec.evaluated] == [spe, 2 * spe]
    assert 0.5 < rec.evaluated[-1]["test_accuracy"] <= 1.0
    c.refresh()
    assert c.history.get("accuracy/test") is not None and len(c.history.get("accuracy/test")) == 2
    assert "Test accuracy" in c.panel.status.text() and "Finished 2 epochs" in c.panel.status.text()
    assert "· 2.0 of 2 epochs\n" in c.panel.status.text(), c.panel.status.text()
    # the x axis in epochs: the same points divided by steps per epoch
    c.panel.x_epochs.setChecked(True)
    c.refresh()
    x, _ = c.loss_plot.curves["loss/train"].getData()
    assert x[-1] == pytest.approx(2.0)
    assert c.loss_plot.plot.getAxis("bottom").labelText == "epoch"
    stop_and_wait(qtbot, c)
    assert not rec.failed and not w.errors


# ---- failures reach the user -----------------------------------------------------------------------

def test_nan_run_stops_with_message_and_highlights_the_node(window, gpu_device, qtbot):
    """SGD at lr 1e6 on digits goes non-finite within a few steps (Adam at 1e6 would not: its
    updates are bounded by lr and the ReLUs die)."""
    w = window
    c, rec = open_digits(w)
    p = c.panel
    p.optimizer.setFocus()
    QTest.keyClicks(p.optimizer, "SGD")                 # keyboard search in the combo box
    assert p.optimizer.currentData() == "sgd"
    assert w.document.training["optimizer"]["name"] == "sgd"
    type_into(p.lr, "1000000")
    assert w.document.training["optimizer"] == {"name": "sgd", "lr": 1e6}

    click(p.train_button)
    qtbot.waitUntil(lambda: bool(w.errors), timeout=START_MS)
    (title, message), = w.errors
    assert title == "Training stopped"
    (sent, node), = rec.failed
    assert sent == message
    assert "NaN or infinite" in message and "training stopped at step " in message
    step = int(message.split("training stopped at step ")[1].split(":")[0])
    assert step >= 1
    assert node in w.document.nodes and node in message, (node, message)
    graph = w.canvas.graph
    assert graph.nodes[node].highlighted
    assert [n for n, item in graph.nodes.items() if item.highlighted] == [node]
    wait_state(qtbot, c, "paused")
    QTest.qWait(150)            # a few frames: the stop message stays in the status line
    c.refresh()
    assert p.status.text().startswith("Stopped: training stopped at step"), p.status.text()
    assert p.status.toolTip() == message                  # the whole of it, after the figures too
    assert "Paused at the last finite weights: lower the learning rate and Resume, or Reset" in p.status.text()
    assert p.train_button.text() == "Resume" and c.act_train.text() == "&Resume"
    # the kept weights are finite, the step count is the failing step's, and a new run clears the highlight
    assert all(np.all(np.isfinite(v)) for v in c.runner.session.weights().values())
    assert c.runner.session.step == step
    stop_and_wait(qtbot, c)
    type_into(p.lr, "0.01")
    click(p.train_button)
    assert not graph.nodes[node].highlighted
    qtbot.waitUntil(lambda: c.state == "running", timeout=START_MS)
    stop_and_wait(qtbot, c)


def test_an_unexpected_worker_exception_reaches_the_user(window, gpu_device, qtbot, monkeypatch):
    """Nothing the worker raises is swallowed: an unexpected RuntimeError from inside the session
    arrives as a message with its type and text (and a traceback), and the run pauses."""
    from app.session import Session
    real_submit = Session.submit
    calls = []

    def submit(self, steps, extra=()):
        calls.append(steps)
        if len(calls) == 3:
            raise RuntimeError("engine exploded on purpose")
        return real_submit(self, steps, extra)

    monkeypatch.setattr(Session, "submit", submit)
    w = window
    c, rec = open_digits(w)
    click(c.panel.train_button)
    qtbot.waitUntil(lambda: bool(w.errors), timeout=START_MS)
    (title, message), = w.errors
    assert message.startswith("RuntimeError: engine exploded on purpose")
    assert "Traceback" in message and "in submit" in message
    assert rec.failed == [(message, "")]
    wait_state(qtbot, c, "paused")
    before = len(rec.metrics)
    assert 1 <= before <= 2           # the chunks queued before the third call to Session.submit
    QTest.qWait(200)
    assert len(rec.metrics) == before, "the run went on after the exception"
    assert c.panel.status.text().startswith("Stopped: RuntimeError: engine exploded on purpose")
    # the run can go on: the session survived the exception
    click(c.panel.step_button)
    qtbot.waitUntil(lambda: len(rec.metrics) == before + 1, timeout=5000)
    stop_and_wait(qtbot, c)


def test_a_dataset_that_does_not_fit_the_graph_is_a_clear_message(window, gpu_device, qtbot):
    """The digits MLP (Input of 64) fed the 2-D spiral set: a message naming the input node,
    which is highlighted, and no run."""
    w = window
    c, rec = open_digits(w)
    i = c.panel.dataset.findData("spiral")
    assert i >= 0
    c.panel.dataset.setFocus()
    QTest.keyClicks(c.panel.dataset, "spiral")
    assert w.document.training["dataset"]["name"] == "spiral"
    click(c.panel.train_button)
    qtbot.waitUntil(lambda: bool(w.errors), timeout=START_MS)
    (title, message), = w.errors
    assert message.startswith("the dataset doesn't fit the graph"), message
    assert "input1" in message and "64" in message and "2" in message
    assert rec.failed[0][1] == "input1"
    assert w.canvas.graph.nodes["input1"].highlighted
    assert w.inspector.node_id == "input1"                       # the culprit selected, in the inspector
    assert w.problems_button.text() == "Can't train" and "doesn't fit" in w.problems_button.toolTip()
    qtbot.waitUntil(lambda: c.state == "idle" and bool(rec.states), timeout=5000)
    assert rec.states[-1] == "idle" and c.runner.session is None
    assert c.panel.train_button.text() == "Train"
    assert "Traceback" not in message


# ---- editing while training --------------------------------------------------------------------------

def test_editing_while_training_keeps_the_snapshot_and_reset_trains_the_edit(window, gpu_device, qtbot):
    w = window
    c, rec = open_digits(w)
    p = c.panel
    click(p.train_button)
    qtbot.waitUntil(lambda: len(rec.metrics) >= 3, timeout=START_MS)
    s = c.runner.session
    assert w.editor.set_param("dense2", "units", 32) is None
    settle()
    assert w.document.nodes["dense2"].params["units"] == 32
    assert "changed since this run started" in p.notice.text() and "Reset" in p.notice.text()
    n = rec.step
    qtbot.waitUntil(lambda: rec.step > n + 10, timeout=10_000)     # the run goes on, on its snapshot
    assert c.runner.session is s and s.doc.nodes["dense2"].params["units"] == 64
    # (shapes from the lowered program: reading the GPU from this thread would race the worker)
    assert s.low.params["dense2.w"][2] == (128, 64)
    assert c.state == "running" and not rec.failed

    click(p.reset_button)
    new_run = c.runner.run_id
    # (the new run's own metrics: a fast one can be past the old step count before the GUI looks)
    qtbot.waitUntil(lambda: any(m["run"] == new_run for m in rec.metrics), timeout=START_MS)
    first = next(m for m in rec.metrics if m["run"] == new_run)
    assert first["step"] < rec.metrics[rec.metrics.index(first) - 1]["step"] and first["step"] <= 25   # from the start
    s2 = c.runner.session
    assert s2 is not s
    assert s2.doc.nodes["dense2"].params["units"] == 32
    qtbot.waitUntil(lambda: rec.step >= 5, timeout=10_000)
    assert s2.low.params["dense2.w"][2] == (128, 32)
    assert p.notice.text() == ""
    # the new run's history starts afresh
    x, _ = c.history.get("loss/train").data()
    assert x[0] <= 5 and np.all(np.diff(x) > 0)
    stop_and_wait(qtbot, c)
    assert not rec.failed and not w.errors


def test_quick_resets_keep_a_paused_run_paused_and_say_it_is_ready(window, gpu_device, qtbot):
    """Reset follows what the user last asked for (Pause/Step: paused; Train/Resume:
    running), however fast the presses come; a stopped run's late "paused" can't flip the
    new run's buttons; and a run reset while paused says it is ready at step 0."""
    w = window
    c, rec = open_digits(w, epochs=500)
    p = c.panel
    click(p.train_button)
    click(p.train_button)                     # Pause before the worker has even answered
    click(p.reset_button)
    click(p.reset_button)
    old = c.runner.run_id
    wait_state(qtbot, c, "paused", timeout=START_MS)
    QTest.qWait(500)
    assert c.state == "paused" and p.train_button.text() == "Resume" and c.runner.run_id == old
    assert c.last == {} and "Ready at step 0" in p.status.text(), p.status.text()
    lo, hi = c.loss_plot.item.getViewBox().viewRange()[1]
    assert c.loss_plot.log and hi - lo >= 4       # empty, log: decades enough that ticks don't pile up
    click(p.train_button)                     # Resume and Pause at once: paused in the end
    click(p.train_button)
    wait_state(qtbot, c, "paused")
    QTest.qWait(300)
    assert c.state == "paused" and p.train_button.text() == "Resume"
    click(p.train_button)                     # Resume, then Reset twice: running again
    wait_state(qtbot, c, "running")
    click(p.reset_button)
    click(p.reset_button)
    qtbot.waitUntil(lambda: c.state == "running" and c.last.get("step", 0) > 20, timeout=START_MS)
    stop_and_wait(qtbot, c)
    assert p.status.text().startswith("Step") and not rec.failed


def test_settings_changed_mid_run_epochs_live_others_after_reset(window, gpu_device, qtbot):
    w = window
    c, rec = open_digits(w, epochs=500)
    p = c.panel
    click(p.train_button)
    qtbot.waitUntil(lambda: len(rec.metrics) >= 2, timeout=START_MS)
    type_into(p.batch, "32")
    assert "batch size takes effect after Reset" in p.notice.text(), p.notice.text()
    type_into(p.epochs, "2")                  # the run now ends at the next epoch end past 2
    wait_state(qtbot, c, "paused", timeout=30_000)
    s = c.runner.session
    assert s.epochs == 2 and s.batch == 64
    assert s.step % s.steps_per_epoch == 0 and s.step < 50 * s.steps_per_epoch
    c.refresh()
    assert "Finished 2 epochs" in p.status.text(), p.status.text()
    if s.step > 2 * s.steps_per_epoch:       # it had passed 2 when the epochs were lowered
        assert "epochs (past the 2 set)" in p.status.text(), p.status.text()
    stop_and_wait(qtbot, c)


def test_opening_another_graph_stops_the_run(window, gpu_device, qtbot):
    w = window
    c, rec = open_digits(w, epochs=500)
    click(c.panel.train_button)
    qtbot.waitUntil(lambda: len(rec.metrics) >= 2, timeout=START_MS)
    assert w.open_example(example("spiral"))
    settle()
    assert c.state == "idle" and "another graph was opened" in c.panel.status.text()
    qtbot.waitUntil(lambda: c.runner.session is None, timeout=10_000)
    n = len(rec.metrics)
    QTest.qWait(300)
    c.refresh()
    assert all(node.flow is None for node in w.canvas.graph.nodes.values())
    assert c.history.get("loss/train") is None and len(rec.metrics) == n
    click(c.panel.train_button)               # and Train trains the graph now open
    qtbot.waitUntil(lambda: c.runner.session is not None and c.runner.session.data.feature_shape == (2,),
                    timeout=START_MS)
    stop_and_wait(qtbot, c)


def test_a_loss_that_explodes_without_nan_gets_a_notice(window, gpu_device, qtbot):
    """Adam at lr 1e6 climbs to a huge loss without NaN (its steps are bounded by lr), so
    nothing stops the run: the panel says the learning rate may be too large, until it changes."""
    w = window
    c, rec = open_digits(w, epochs=500)
    type_into(c.panel.lr, "1000000")
    click(c.panel.train_button)
    qtbot.waitUntil(lambda: "learning rate may be too large" in c.panel.notice.text(), timeout=START_MS)
    assert c.state == "running" and not rec.failed
    type_into(c.panel.lr, "0.001")
    assert c.panel.notice.text() == ""
    stop_and_wait(qtbot, c)


def test_a_stop_message_fits_the_status_line():
    from app.ui.training_panel import headline
    nan = ("training stopped at step 6: NaN or infinite values, first in the output of dense2. The weights "
           "from the last finite check (before step 6) are kept and the optimizer's state starts afresh.")
    assert headline(nan) == "training stopped at step 6: NaN or infinite values, first in the output of dense2."
    assert headline("the graph has problems:\n  dense1: no input\n  dense2: bad") == \
        "the graph has problems: dense1: no input (+1 more)"
    assert headline("the graph has no loss node: add one (e.g. SoftmaxCrossEntropy) at its end. More.") == \
        "the graph has no loss node: add one (e.g. SoftmaxCrossEntropy) at its end."
    assert len(headline("x" * 500)) == 100 and headline("x" * 500).endswith("…")


# ---- export --------------------------------------------------------------------------------------------

def test_export_metrics_csv_and_plot_png(window, gpu_device, qtbot, tmp_path):
    w = window
    c, rec = open_digits(w, epochs=1)
    click(c.panel.train_button)
    qtbot.waitUntil(lambda: c.state == "running", timeout=START_MS)
    wait_state(qtbot, c, "paused", timeout=20_000)
    c.refresh()
    path = tmp_path / "metrics.csv"
    c.export_csv(str(path))
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["series", "x", "y"]
    series = {r[0] for r in rows[1:]}
    assert {"loss/train", "loss/test", "accuracy/test", "grad/dense1.w"} <= series
    train = [(float(r[1]), float(r[2])) for r in rows[1:] if r[0] == "loss/train"]
    assert train[-1][0] == c.info["steps_per_epoch"] and all(np.isfinite(v) for _, v in train)
    for plot, name in ((c.loss_plot, "loss.png"), (c.grad_plot, "grads.png")):
        png = tmp_path / name
        c.export_png(plot, str(png))
        image = QImage(str(png))
        assert not image.isNull() and image.width() > 100 and image.height() > 50
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
        assert len(colours) > 5, "an empty image"
    stop_and_wait(qtbot, c)


# ---- gradient curves <-> nodes ----------------------------------------------------------------------

def test_selecting_a_node_highlights_its_curves_and_shows_its_histogram(window, gpu_device, qtbot):
    w = window
    c, rec = open_digits(w)
    click(c.panel.train_button)
    qtbot.waitUntil(lambda: len(rec.metrics) >= 3, timeout=START_MS)
    click(c.panel.train_button)
    wait_state(qtbot, c, "paused")
    c.refresh()
    w.canvas.fit_all()
    c.hist_dock.raise_()                # its tab to the front: the histogram is read only when shown
    settle()
    click_node(w, "dense2")
    assert c.grad_plot.selected == "dense2"
    alpha = {name: curve.opts["pen"].color().alpha() for name, curve in c.grad_plot.curves.items()}
    assert alpha["grad/dense2.w"] == alpha["grad/dense2.b"] == 255
    assert alpha["grad/dense1.w"] < 128 and alpha["grad/dense3.b"] < 128       # the others dimmed
    assert c.grad_plot.curves["grad/dense2.w"].zValue() > c.grad_plot.curves["grad/dense1.w"].zValue()
    qtbot.waitUntil(lambda: c.hist_plot.node == "dense2", timeout=5000)
    assert "dense2" in c.hist_plot.caption.text() and "8,256 weights" in c.hist_plot.caption.text()
    # clicking a curve selects its node
    c.grad_plot.curves["grad/dense3.w"].sigClicked.emit(c.grad_plot.curves["grad/dense3.w"], None)
    settle()
    assert w.selected_node_ids() == ["dense3"]
    assert c.grad_plot.selected == "dense3"
    # a readback of a node no longer selected, still on its way, doesn't bring its histogram back
    w.canvas.graph.select_only([])
    settle()
    assert c.hist_plot.node is None
    stale = {"run": c.runner.run_id, "node": "dense2", "weights": {"dense2.w": np.ones(4)}, "grads": {}}
    c.runner.tensors.emit(stale)
    settle()
    assert c.hist_plot.node is None and "Select a node" in c.hist_plot.caption.text()
    # the gradient flow is on the canvas: every Dense node carries its figure
    graph = w.canvas.graph
    assert all(graph.nodes[f"dense{i}"].flow is not None for i in (1, 2, 3))
    stop_and_wait(qtbot, c)
    assert all(graph.nodes[f"dense{i}"].flow is None for i in (1, 2, 3))


def test_garbage_is_collected_on_the_gui_thread_only(window, qtbot):
    """Python's collector, run by a worker thread, destroyed a closed window's Qt objects there
    and deadlocked PySide6 (hung tests: the training worker once, the dataset preview's loader
    once). With a window open, automatic collection is off and the GUI thread collects on a
    timer: garbage made anywhere is collected there, and a worker's allocations collect nothing."""
    import gc
    import threading
    assert not gc.isenabled()
    collected_in = []

    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            collected_in.append(threading.current_thread().name)

    def churn():                          # enough allocations to trigger automatic collections
        for _ in range(2000):
            Cycle()
        junk = [[i] for i in range(50_000)]
        del junk
    worker = threading.Thread(target=churn, name="worker")
    worker.start()
    worker.join()
    assert collected_in == [], "the worker ran the collector"
    qtbot.waitUntil(lambda: len(collected_in) >= 2000, timeout=5000)
    assert set(collected_in) == {threading.main_thread().name}


# ---- a screenshot under Xvfb ------------------------------------------------------------------------

CHILD = r"""
import os, sys, time
sys.path.insert(0, {root!r})
from PySide6.QtWidgets import QApplication
app = QApplication(["wiregrad"])
from app.ui.main_window import MainWindow
from app.paths import example
w = MainWindow()
w.resize(1600, 1000)
w.show()
w.open_example(example("spiral"))
def pump(seconds):
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        time.sleep(0.01)
pump(0.5)
w.canvas.fit_all()
c = w.training
errors = []
w.show_error = lambda title, text: errors.append(text)
c.panel.train_button.click()
end = time.time() + 60
while time.time() < end and (not c.last or c.last["step"] < {steps}):
    pump(0.05)
w.canvas.graph.select_only(["dense2"])
pump(1.0)
c.refresh()
pump(0.2)
shot = w.screen().grabWindow(0)
shot.save({out!r})
print("STEP", c.last.get("step", 0), "BOUNDARY", c.boundary_dock.isVisible(), "CURVES", len(c.grad_plot.curves),
      "ERRORS", len(errors), flush=True)
c.runner.stop_run()
pump(0.5)
w.ask_save_changes = lambda: "discard"
w.close()
"""


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="xvfb-run is not installed")
def test_screenshot_of_spiral_mid_training_under_xvfb(gpu_device, tmp_path):
    OUT.mkdir(exist_ok=True)
    out = OUT / "training_spiral_xvfb.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "WIREGRAD_RECOVERY_DIR": str(tmp_path / "rec"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    run = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-c",
                          CHILD.format(root=str(ROOT), out=str(out), steps=3000)],
                         env=env, capture_output=True, text=True, timeout=120)
    if "Could not load the Qt platform plugin" in run.stderr:
        pytest.skip("Qt's xcb plugin can't load here; it needs libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1")
    assert run.returncode == 0, run.stderr[-2000:]
    words = run.stdout.split()
    got = dict(zip(words[::2], words[1::2]))
    assert int(got["STEP"]) >= 3000 and got["BOUNDARY"] == "True" and got["CURVES"] == "6" and got["ERRORS"] == "0", run.stdout
    image = QImage(str(out))
    assert image.width() == 1600
    # the boundary heatmap's two class colours are on screen
    from test_ui_screenshot import has_color
    assert has_color(image, "#f97316", tolerance=30) and has_color(image, "#2563eb", tolerance=30)


def test_closing_the_window_mid_run_ends_the_worker_for_good(window, gpu_device, qtbot):
    """Closing the window ends the worker, and nothing after restarts it: a command after
    shutdown (the histogram's watch as its dock hides) used to start the thread again, and the
    process aborted at exit ("QThread: Destroyed while thread is still running")."""
    w = window
    c, rec = open_digits(w)
    c.hist_dock.raise_()
    w.canvas.graph.select_only(["dense1"])
    click(c.panel.train_button)
    qtbot.waitUntil(lambda: len(rec.metrics) >= 3, timeout=START_MS)
    w.ask_save_changes = lambda: "discard"
    assert w.close()
    runner = c.runner
    assert not runner.isRunning() and runner.session is None
    runner.watch(None)
    runner.step_once()
    settle()
    assert not runner.isRunning()


def test_a_smoothed_curve_is_drawn_through_few_points_and_keeps_the_newest(qtbot):
    """The gradient curves are smoothed, so drawing them through at most SMOOTH_DRAWN points
    loses nothing visible and halves the painting; the newest point is always among them."""
    from app.ui.history import History
    from app.ui.plots import SMOOTH_DRAWN, GradNormPlot, smooth
    plot = GradNormPlot()
    qtbot.addWidget(plot)
    plot.set_params({"d.w": "d"}, {"d": "#3366cc"})
    h = History()
    rng = np.random.default_rng(0)
    for step in range(1, 3001):
        h.add("grad/d.w", step, float(np.exp(-step / 1000) + 0.1 * rng.random()))
    plot.refresh(h)
    x, y = plot.curves["grad/d.w"].getData()
    sx, sy = h.get("grad/d.w").data()
    assert len(x) <= SMOOTH_DRAWN + 1 and x[0] == sx[0] and x[-1] == sx[-1]
    full = smooth(sy, log=True)
    drawn = np.searchsorted(sx, x)
    np.testing.assert_allclose(10 ** y if plot.log else y, full[drawn], rtol=1e-9)


def test_the_learning_rate_field_takes_scientific_notation_and_says_what_it_refuses(window):
    """Typed key by key as a person types: 1e-4 is 0.0001 (a plain spin box kept "14")."""
    c, _ = open_digits(window)
    p = c.panel
    type_into(p.lr, "1e-4")
    assert window.document.training["optimizer"]["lr"] == pytest.approx(1e-4)
    assert p.lr.text() == "0.0001"
    type_into(p.lr, "2.5E-3")
    assert window.document.training["optimizer"]["lr"] == pytest.approx(2.5e-3)
    type_into(p.lr, "0")                      # out of range: refused in words, the value stays
    assert window.document.training["optimizer"]["lr"] == pytest.approx(2.5e-3)
    assert "Learning rate '0' is not a number from 1e-6 to 1e6; it stays 0.0025." in p.notice.text(), p.notice.text()
    QTest.keyClick(p.lr, Qt.Key_Up)            # the arrows double and halve
    assert window.document.training["optimizer"]["lr"] == pytest.approx(5e-3)
    type_into(p.lr, "1e6")
    assert p.lr.text() == "1e+06"
    type_into(p.lr, "1,5")                    # a decimal comma is a point, not dropped (it gave 15)
    assert window.document.training["optimizer"]["lr"] == pytest.approx(1.5)
    type_into(p.lr, "abc")                    # letters are refused in words too
    assert window.document.training["optimizer"]["lr"] == pytest.approx(1.5)
    assert "Learning rate 'abc' is not a number" in p.notice.text(), p.notice.text()


def test_a_narrow_plot_gives_its_legend_and_long_caption_room_to_the_curves(qtbot):
    from app.ui.plots import GradNormPlot, UnpiledAxis
    plot = GradNormPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 300)
    plot.show()
    settle()
    assert plot.legend.isVisible() and plot.caption.text() == plot.title
    plot.resize(200, 300)
    settle()
    assert not plot.legend.isVisible() and plot.caption.text() == "Gradient size ‖dC/dθ‖ per weight tensor"
    assert plot.title in plot.caption.toolTip()
    plot.resize(600, 300)
    settle()
    assert plot.legend.isVisible()
    # on a log axis, minor ticks keep a label only a line of text apart
    axis = plot.plot.getAxis("left")
    assert isinstance(axis, UnpiledAxis)
    levels = axis.tickValues(np.log10(0.3), np.log10(3.0), 150)       # one decade in 150 px
    kept = sorted(v for _, values in levels for v in values)
    from PySide6.QtGui import QFontMetrics
    line = QFontMetrics(axis.font()).height() / 150                   # a line of text, in decades
    assert len(kept) >= 3 and all(b - a >= line for a, b in zip(kept, kept[1:])), kept
    assert 0.0 in kept                                                # the decade, 1, is labelled first


def test_a_step_axis_ticks_whole_steps_and_an_epoch_axis_fractions(qtbot):
    from app.ui.plots import LossPlot
    plot = LossPlot()
    qtbot.addWidget(plot)
    axis = plot.plot.getAxis("bottom")
    ticks = [v for _, values in axis.tickValues(0.0, 2.0, 300) for v in values]
    assert ticks and all(v == round(v) for v in ticks), ticks
    assert axis.tickStrings([0.0, 1.0, 2.0], 1.0, 0.5) == ["0", "1", "2"]           # not "1.0"
    assert [v for _, values in axis.tickValues(1.0, 2.0, 300) for v in values] == [1.0, 2.0]
    plot.set_x_epochs(True, 22)
    ticks = [v for _, values in axis.tickValues(0.0, 2.0, 300) for v in values]
    assert any(v != round(v) for v in ticks), ticks


def test_the_training_controls_take_what_they_need_and_the_inspector_the_rest(window, qtbot):
    w = window
    w.resize(1600, 1000)
    w.show()
    qtbot.waitUntil(lambda: getattr(w, "_right_column_sized", False), timeout=3000)
    QTest.qWait(50)
    w._size_right_column()
    settle()
    controls = next(d for d in w._training_docks if w.dockWidgetArea(d) == Qt.RightDockWidgetArea)
    assert abs(controls.height() - controls.sizeHint().height()) <= 30, (controls.height(), controls.sizeHint())
    assert w.inspector_dock.height() > controls.height()
