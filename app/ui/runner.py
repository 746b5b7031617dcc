"""The training worker: a QThread that owns the GPU session. The only UI module that reaches
the GPU. The GUI sends commands (a thread-safe queue) and receives results through signals,
which Qt delivers queued to the GUI thread, so the GUI never waits on the GPU.

Statistics are read once per chunk of steps, and a chunk is sized to take about one plot
frame (CHUNK_SECONDS), so reads happen at most once per redraw, never per step.
"""
from __future__ import annotations

import queue
import time
import traceback

import numpy as np
from PySide6.QtCore import QThread, Signal

CHUNK_SECONDS = 0.03      # one chunk of steps (one stats read) per ~30 Hz: the plots redraw at 25 Hz
EVAL_SHARE = 0.1          # evaluation at an epoch's end takes at most this share of the time
BOUNDARY_SECONDS = 0.25   # decision-boundary refresh for 2-D datasets
TENSORS_SECONDS = 0.3     # weight/gradient histogram refresh for the watched node
GRID = 60                 # decision-boundary grid resolution


def adapter_name() -> str:
    """The adapter's name for the status bar, or why there is none; never raises."""
    try:
        from gpu.device import adapter_name as name
        return name()
    except Exception as e:   # no adapter, no wgpu: editing still works
        return f"no GPU adapter ({str(e).splitlines()[0][:80]})"


class TrainingRunner(QThread):
    # Every dict carries "run": the id start_run returned, so results of a run that was stopped
    # while they were on their way (Reset) can be told from the new run's.
    started_run = Signal(dict)      # adapter, steps_per_epoch, params {tensor: node}, task, classes
    metrics = Signal(dict)          # step, epoch, loss, losses, param_norms, out_norms, steps_per_s
    evaluated = Signal(dict)        # step, epoch, val_loss, val_accuracy, test_loss, test_accuracy
    boundary = Signal(dict)         # extent, grid (GRID x GRID probabilities), points, labels
    tensors = Signal(dict)          # node, weights {name: array}, grads {name: array}
    failed = Signal(str, str)       # message, node id ("" when none)
    state = Signal(str)             # "running" | "paused" | "idle"

    def __init__(self, parent=None):
        super().__init__(parent)
        self._commands: queue.Queue = queue.Queue()
        self.session = None
        self._running = False
        self._watch = None
        self._predictor = None
        self._snapshot = None
        self._shut = False
        self.run_id = 0             # GUI side: the latest run asked for
        self._run = 0               # worker side: the run whose session is open
        self._rate = None
        self._eval_cost, self._eval_done = 0.0, 0.0

    # ---- GUI side: every call only queues a command ----------------------------------
    def start_run(self, doc, base_dir=None, weights=None) -> int:
        """Train a snapshot of doc; returns the run's id, which its results carry."""
        self.run_id += 1
        self._post("start", (doc.copy(), base_dir, weights, self.run_id))
        return self.run_id

    def pause(self): self._post("pause")
    def resume(self): self._post("resume")
    def step_once(self): self._post("step")
    def stop_run(self): self._post("stop")
    def reset(self): self._post("reset")
    def set_optimizer(self, settings: dict): self._post("optimizer", dict(settings))
    def watch(self, node_id: str | None): self._post("watch", node_id)

    def shutdown(self, wait_ms: int = 5000) -> None:
        """End the worker (its session closed) for good: later commands are ignored. (A
        command after shutdown used to start the thread again, say the histogram's watch(None)
        as the closing window hid its dock, and the process aborted at exit with "QThread:
        Destroyed while thread is still running".)"""
        self._shut = True
        if self.isRunning():
            self._commands.put(("quit", None))
            self.wait(wait_ms)

    def _post(self, name, arg=None):
        if self._shut:
            return
        self._commands.put((name, arg))
        if not self.isRunning():
            self.start()

    # ---- worker thread ------------------------------------------------------------
    def run(self):
        while True:
            if self._running:        # between chunks: take a command if one is waiting
                try:
                    name, arg = self._commands.get_nowait()
                except queue.Empty:
                    name = None
            else:                    # idle or paused: sleep until told what to do
                name, arg = self._commands.get()
            if name == "quit":
                self._close()
                return
            try:
                if name is not None:
                    self._handle(name, arg)
                elif self._running:
                    self._chunk()
            except Exception as e:    # every failure reaches the GUI; none is swallowed
                self._running = False
                node = getattr(e, "node", None) or ""
                message = str(e) if _known(e) else f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}"
                self.failed.emit(message, node)
                self.state.emit("paused" if self.session else "idle")

    def _handle(self, name, arg):
        if name == "start":
            *self._snapshot, self._run = arg
            self._open(*self._snapshot)
            self._running = True
            self.state.emit("running")
        elif name == "resume" and self.session:
            self._running = True
            self.state.emit("running")
        elif name == "pause":
            self._running = False
            self.state.emit("paused" if self.session else "idle")
        elif name == "step" and self.session:
            self._running = False
            self._chunk(steps=1, to_the_end=False)
            self.state.emit("paused")
        elif name == "stop":
            self._running = False
            self._close()
            self.state.emit("idle")
        elif name == "reset" and self._snapshot:
            was = self._running
            self._open(*self._snapshot)
            self.state.emit("running" if was else "paused")
        elif name == "optimizer" and self.session:
            self.session.set_optimizer(arg)
        elif name == "watch":
            self._watch = arg
            self._send_tensors(force=True)

    def _open(self, doc, base_dir, weights):
        from app.session import Session
        self._close()
        self.session = Session(doc, base_dir, weights=weights)
        self._rate, self._last_boundary, self._last_tensors = None, 0.0, 0.0
        self._warm = False                # the first chunk pays the pipelines' JIT: not a rate
        self._eval_cost, self._eval_done = 0.0, 0.0
        s = self.session
        self.started_run.emit({
            "run": self._run, "adapter": s.adapter, "steps_per_epoch": s.steps_per_epoch, "batch": s.batch, "epochs": s.epochs,
            "params": {t: node for t, (node, _, _) in s.low.params.items()},
            "task": s.data.task, "classes": s.data.num_classes, "features": list(s.data.feature_shape),
            "dropped": s.dropped_per_epoch})
        if s.data.feature_shape == (2,):
            from app.session import Predictor
            self._predictor = Predictor(s, GRID * GRID)
            self._send_boundary()

    def _close(self):
        if self._predictor:
            self._predictor.close()
            self._predictor = None
        if self.session:
            self.session.close()
            self.session = None

    def _chunk(self, steps: int | None = None, to_the_end: bool = True):
        """Run a chunk of steps, sized to take CHUNK_SECONDS, and send its metrics: one stats
        read per chunk. A chunk goes on across epoch ends (a small model runs hundreds of
        steps in a frame, and an epoch of the spiral set is 70), and ends at one where an
        evaluation is due or the run ends. Running (not Step), the run pauses when it reaches
        its last epoch's end; Resume goes on for another epoch."""
        s = self.session
        if steps is None:
            steps = max(1, int(CHUNK_SECONDS * self._rate)) if self._rate else 1
        spe, end = s.steps_per_epoch, s.epochs * s.steps_per_epoch
        t0 = time.perf_counter()
        before = s.step
        left = steps
        while True:
            n = min(left, spe - s.step % spe)
            ends_epoch = (s.step + n) % spe == 0
            final = n == left or (ends_epoch and (not to_the_end or s.step + n >= end or self._evaluation_due()))
            st = s.run(n, stats=final)
            left -= n
            if final:
                break
        dt = time.perf_counter() - t0
        rate = (s.step - before) / dt if dt > 0 else 0.0
        if self._warm:
            self._rate = rate if self._rate is None else 0.7 * self._rate + 0.3 * rate
        self._warm = True
        self.metrics.emit({"run": self._run, "step": st.step, "epoch": st.epoch, "loss": st.loss, "losses": st.losses,
                           "param_norms": st.param_norms, "out_norms": st.out_norms,
                           "steps_per_s": self._rate or rate})
        if ends_epoch:
            last = s.step >= end
            if last or not to_the_end or self._evaluation_due():
                self._evaluate()
            if to_the_end and last:
                self._running = False
                self.state.emit("paused")
        now = time.perf_counter()
        if self._predictor and now - self._last_boundary > BOUNDARY_SECONDS:
            self._send_boundary()
        if self._watch and now - self._last_tensors > TENSORS_SECONDS:
            self._send_tensors()

    def _evaluation_due(self) -> bool:
        """At an epoch's end, evaluate unless the evaluations would take more than EVAL_SHARE of
        the time: on digits an evaluation (~30 ms) costs a quarter of an epoch (~110 ms), so
        it runs every few epochs there, and after every epoch on bigger ones. The first epoch
        and the run's last are always evaluated, and so is an epoch ended by Step."""
        return time.perf_counter() - self._eval_done >= self._eval_cost / EVAL_SHARE

    def _evaluate(self):
        s = self.session
        t0 = time.perf_counter()
        val = s.evaluate("val") if len(s.data.x_val) else (float("nan"), None)
        test = s.evaluate("test")
        self._eval_done = time.perf_counter()
        self._eval_cost = self._eval_done - t0
        self.evaluated.emit({"run": self._run, "step": s.step, "epoch": s.epoch, "val_loss": val[0], "val_accuracy": val[1],
                             "test_loss": test[0], "test_accuracy": test[1]})

    def _send_boundary(self):
        s = self.session
        x = np.concatenate([s.data.x_train, s.data.x_test])
        lo, hi = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
        out = self._predictor(np.stack([gx.ravel(), gy.ravel()], axis=1))
        if out.shape[1] == 1:
            prob = 1.0 / (1.0 + np.exp(-out[:, 0]))          # P(class 1) from the logit
        else:
            e = np.exp(out - out.max(axis=1, keepdims=True))
            prob = (e / e.sum(axis=1, keepdims=True))[:, -1]
        self._last_boundary = time.perf_counter()
        self.boundary.emit({"run": self._run, "extent": (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])),
                            "grid": prob.reshape(GRID, GRID), "points": s.data.x_train,
                            "labels": np.asarray(s.data.y_train).reshape(len(s.data.x_train), -1)[:, 0]})

    def _send_tensors(self, force=False):
        s = self.session
        if not s or not self._watch:
            return
        from app.model.lower import grad_name
        weights, grads = {}, {}
        for t, (node, wname, shape) in s.low.params.items():
            if node == self._watch:
                weights[wname] = s.engine.read(t)
                if grad_name(t) in s.low.program.tensors:
                    grads[wname] = s.engine.read(grad_name(t))
        self._last_tensors = time.perf_counter()
        self.tensors.emit({"run": self._run, "node": self._watch, "weights": weights, "grads": grads})


def _known(e: Exception) -> bool:
    """Errors whose message is written for the user (no traceback needed)."""
    from app.model.datasets import DatasetError
    from app.session import TrainingError
    try:
        from gpu.errors import GpuError
    except ImportError:
        GpuError = ()
    return isinstance(e, (TrainingError, DatasetError, GpuError, ValueError))
