"""The training worker: a QThread that owns the GPU session. The only UI module that reaches
the GPU. The GUI sends commands (a thread-safe queue) and receives results through signals,
which Qt delivers queued to the GUI thread, so the GUI never waits on the GPU.

Statistics are read once per chunk of steps, and a chunk is sized to take about one plot
frame (CHUNK_SECONDS), so reads happen at most once per redraw, never per step.

While running, one chunk is always queued ahead: the worker submits chunk N+1, then collects
chunk N's figures and sends them. So the GPU never waits for the host, and in particular not
for the GIL, which the GUI thread holds while Qt paints (PySide6 keeps it through a paint):
before this, every millisecond the worker waited for it between chunks was a millisecond the
GPU sat idle. Any command first settles the chunk in flight, so Pause, Step, Stop and a new
learning rate act on a quiet session.
"""
from __future__ import annotations

import queue
import time
import traceback

import numpy as np
from PySide6.QtCore import QThread, Signal

CHUNK_SECONDS = 0.042     # one chunk of steps (one stats read) per ~24 Hz: the plots redraw on each
EVAL_SHARE = 0.04
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


def adapter_name_warmed() -> str:
    """adapter_name(), then one tiny run on the device, off the GUI thread as the editor opens:
    the first Engine of a process pays ~0.6-1.5 s (cffi's first use of wgpu's types, lavapipe
    starting its threads) that the first press of Train then doesn't (bench/README.md, L1)."""
    name = adapter_name()
    if not name.startswith("no GPU adapter"):
        try:
            from gpu.engine import warm_up
            warm_up()
        except Exception:    # Train will say what is wrong, with its context
            pass
    return name


class TrainingRunner(QThread):
    # Every dict carries "run": the id start_run returned, so results of a run that was stopped
    # while they were on their way (Reset) can be told from the new run's.
    started_run = Signal(dict)      # adapter, steps_per_epoch, params {tensor: node}, task, classes
    metrics = Signal(dict)          # step, epoch, loss, losses, param_norms, out_norms, steps_per_s
    evaluated = Signal(dict)        # step, epoch, val_loss, val_accuracy, test_loss, test_accuracy
    boundary = Signal(dict)         # extent, grid (GRID x GRID probabilities), points, labels
    tensors = Signal(dict)          # node, weights {name: array}, grads {name: array}
    failed = Signal(str, str)       # message, node id ("" when none)
    state = Signal(str, int)        # "running" | "paused" | "idle", and the run it is about

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
        self._eval_cost, self._eval_done, self._evaluated = 0.0, 0.0, 0
        self._pending = None        # the chunk in flight: (PendingStats, what to do when it lands)
        self._mark = None           # (time, step) of the last delivery: the rate's start

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
    def set_epochs(self, epochs: int): self._post("epochs", int(epochs))
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
                self._settle()
                self._close()
                return
            try:
                if name is not None:
                    self._settle()
                    self._handle(name, arg)
                elif self._running:
                    self._chunk()
            except Exception as e:    # every failure reaches the GUI; none is swallowed
                self._report(e)

    def _report(self, e: Exception) -> None:
        self._running = False
        self._pending = None
        node = getattr(e, "node", None) or ""
        message = str(e) if _known(e) else f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}"
        self.failed.emit(message, node)
        self._say("paused" if self.session else "idle")

    def _say(self, state: str) -> None:
        self.state.emit(state, self._run)

    def _settle(self) -> None:
        """Deliver the chunk in flight, if any (its failure is reported; the command that
        asked still goes through)."""
        try:
            self._deliver()
        except Exception as e:
            self._report(e)

    def _handle(self, name, arg):
        if name == "start":
            *self._snapshot, self._run = arg
            self._open(*self._snapshot)
            self._running = True
            self._say("running")
        elif name == "resume" and self.session:
            self._running = True
            self._say("running")
        elif name == "pause":
            self._running = False
            self._say("paused" if self.session else "idle")
        elif name == "step" and self.session:
            self._running = False
            self._chunk(steps=1, to_the_end=False)
            self._say("paused")
        elif name == "stop":
            self._running = False
            self._close()
            self._say("idle")
        elif name == "reset" and self._snapshot:
            was = self._running
            self._open(*self._snapshot)
            self._say("running" if was else "paused")
        elif name == "optimizer" and self.session:
            self.session.set_optimizer(arg)
        elif name == "epochs" and self.session:
            self.session.epochs = max(1, arg)
        elif name == "watch":
            self._watch = arg
            self._send_tensors()

    def _open(self, doc, base_dir, weights):
        from app.session import Session
        self._close()
        self.session = Session(doc, base_dir, weights=weights)
        self._rate, self._avg, self._last_boundary, self._last_tensors = None, None, 0.0, 0.0
        self._warm = False                # the first chunk pays the pipelines' JIT: not a rate
        self._eval_cost, self._eval_done, self._evaluated = 0.0, 0.0, 0
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
        """Queue a chunk of steps, sized to take CHUNK_SECONDS, then deliver the chunk queued
        before it (its metrics: one stats read per chunk). A chunk goes on across epoch ends (a
        small model runs hundreds of steps in a frame, and an epoch of the spiral set is 70),
        and ends at one where an evaluation is due or the run ends; there the chunk is
        delivered at once, and evaluated. Running (not Step), the run pauses when it reaches
        its last epoch's end; Resume goes on for another epoch."""
        s = self.session
        if steps is None:
            steps = max(1, int(CHUNK_SECONDS * self._rate)) if self._rate else 1
        spe, end = s.steps_per_epoch, s.epochs * s.steps_per_epoch
        if self._mark is None:
            self._mark = (time.perf_counter(), s.step)
        left = steps
        while True:
            n = min(left, spe - s.step % spe)
            ends_epoch = (s.step + n) % spe == 0
            last = ends_epoch and s.step + n >= end
            evaluate = ends_epoch and (last or not to_the_end or self._evaluation_due())
            if n == left or evaluate:
                break
            s.run(n, stats=False)
            left -= n
        now = time.perf_counter()
        watch = self._watch if self._watch and now - self._last_tensors > TENSORS_SECONDS else None
        pending = s.submit(n, extra=self._watched_tensors(watch))
        previous, self._pending = self._pending, (pending, watch)
        if previous:
            self._deliver(previous)           # this one's figures while the GPU runs the next
        if evaluate or not to_the_end:
            self._deliver()
            if evaluate:
                self._evaluate()
            if to_the_end and last:
                self._running = False
                self._say("paused")
        now = time.perf_counter()
        if self._predictor and now - self._last_boundary > BOUNDARY_SECONDS:
            self._send_boundary()

    def _deliver(self, entry=None) -> None:
        """Collect a queued chunk's figures (by default the one in flight, which leaves the
        session quiet) and send them."""
        drain = entry is None
        if drain:
            entry, self._pending = self._pending, None
        if entry is None:
            return
        pending, watch = entry
        st = pending.result()
        now = time.perf_counter()
        t0, step0 = self._mark or (now, st.step)
        steps, dt = st.step - step0, now - t0
        rate = steps / dt if dt > 0 and steps > 0 else 0.0
        if self._warm and rate:
            # steps and time averaged apart: deliveries come unevenly (two close together
            # after a late one), and an average of per-chunk rates would favour the short ones
            a = self._avg = (dt, steps) if self._avg is None else (0.7 * self._avg[0] + 0.3 * dt,
                                                                   0.7 * self._avg[1] + 0.3 * steps)
            self._rate = a[1] / a[0]
        self._warm = True                 # the first chunk pays the pipelines' JIT: not a rate
        # drained, the next chunk's time starts at its submit (not counting evaluation or a pause)
        self._mark = None if drain else (now, st.step)
        self.metrics.emit({"run": self._run, "step": st.step, "epoch": st.epoch, "loss": st.loss, "losses": st.losses,
                           "param_norms": st.param_norms, "out_norms": st.out_norms,
                           "steps_per_s": self._rate or rate})
        if watch:
            self._emit_tensors(watch, pending.arrays())

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
        # the first evaluation builds its program (compiles included): not what the next cost
        self._eval_cost = self._eval_done - t0 if self._evaluated else 0.0
        self._evaluated += 1
        self.evaluated.emit({"run": self._run, "step": s.step, "epoch": s.epoch, "val_loss": val[0], "val_accuracy": val[1],
                             "test_loss": test[0], "test_accuracy": test[1]})

    def _send_boundary(self):
        s = self.session
        x = np.concatenate([s.data.x_train, s.data.x_test])
        lo, hi = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
        out = self._predictor(np.stack([gx.ravel(), gy.ravel()], axis=1))
        if out.shape[1] == 1:
            prob = 0.5 * (1.0 + np.tanh(0.5 * out[:, 0]))    # P(class 1) from the logit, no overflow
        else:
            e = np.exp(out - out.max(axis=1, keepdims=True))
            prob = (e / e.sum(axis=1, keepdims=True))[:, -1]
        self._last_boundary = time.perf_counter()
        self.boundary.emit({"run": self._run, "extent": (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])),
                            "grid": prob.reshape(GRID, GRID), "points": s.data.x_train,
                            "labels": np.asarray(s.data.y_train).reshape(len(s.data.x_train), -1)[:, 0]})

    def _watched_tensors(self, node: str | None) -> tuple[str, ...]:
        """The watched node's weights and their gradients: tensors for a chunk to copy out."""
        if not node:
            return ()
        from app.model.lower import grad_name
        s = self.session
        names = []
        for t, (owner, _, _) in s.low.params.items():
            if owner == node:
                names.append(t)
                if grad_name(t) in s.low.program.tensors:
                    names.append(grad_name(t))
        return tuple(names)

    def _send_tensors(self):
        """The watched node's tensors now (nothing is in flight: commands settle first)."""
        s = self.session
        if s and self._watch:
            self._emit_tensors(self._watch, {t: s.engine.read(t) for t in self._watched_tensors(self._watch)})

    def _emit_tensors(self, node: str, arrays: dict) -> None:
        from app.model.lower import grad_name
        s = self.session
        weights, grads = {}, {}
        for t, (owner, wname, _) in s.low.params.items():
            if owner == node and t in arrays:
                weights[wname] = arrays[t]
                if grad_name(t) in arrays:
                    grads[wname] = arrays[grad_name(t)]
        self._last_tensors = time.perf_counter()
        self.tensors.emit({"run": self._run, "node": node, "weights": weights, "grads": grads})


def _known(e: Exception) -> bool:
    """Errors whose message is written for the user (no traceback needed)."""
    from app.model.datasets import DatasetError
    from app.session import TrainingError
    try:
        from gpu.errors import GpuError
    except ImportError:
        GpuError = ()
    return isinstance(e, (TrainingError, DatasetError, GpuError, ValueError))
