"""A training run on the GPU: dataset upload, steps, statistics, evaluation, weights.

Used by `wiregrad train` and by the editor's worker thread (app/ui/runner.py). It owns one
Engine for the training step and, lazily, one forward-only Engine for evaluation.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .model.binding import check_binding
from .model.datasets import load_dataset
from .model.layers import get_kind
from .model.lower import grad_name, lower
from .model.optim import hyper_vector, validate_settings
from .model.shapes import Problem, analyse, problem_lines
from .model.sizes import human_bytes, memory_problem, size_problems, widest_sample

EVAL_ROWS = 1024          # the most rows one evaluation batch holds


def batch_problem(batch: int, train_rows: int) -> str | None:
    """A batch larger than the training split can't make one step."""
    if train_rows < batch:
        return f"training.batch_size: {batch} is larger than the {train_rows} training samples"
    return None


def eval_batch_rows(data) -> int:
    """Rows of one evaluation batch: the largest split, up to EVAL_ROWS (before shrinking to
    fit a buffer, Session.rows_that_fit)."""
    return min(EVAL_ROWS, max(len(getattr(data, f"x_{s}")) for s in ("train", "val", "test")))
SNAPSHOT_SECONDS = 0.5    # how often a stats read also copies the weights to the host

TRAIN_PHASES = ("feed", "forward", "backward", "update")


class TrainingError(RuntimeError):
    """A problem that stops or prevents training; `node` names the culprit when known."""

    def __init__(self, message: str, node: str | None = None):
        super().__init__(message)
        self.node = node


@dataclass
class Stats:
    step: int
    epoch: float
    loss: float
    losses: dict = field(default_factory=dict)        # loss node -> batch mean
    param_norms: dict = field(default_factory=dict)   # weight tensor -> ‖dC/dθ‖
    out_norms: dict = field(default_factory=dict)     # node -> ‖dC/d(output)‖


class PendingStats:
    """A queued chunk's statistics (Session.submit): result() waits for them, checks them (a
    non-finite value raises TrainingError and puts the last finite weights back) and, when the
    chunk carried a copy of the weights, keeps it as the last finite snapshot."""

    def __init__(self, session: "Session", readback, step: int, snapshot: bool):
        self.session, self.readback, self.step, self.snapshot = session, readback, step, snapshot
        self._stats: Stats | None = None

    def result(self) -> Stats:
        if self._stats is None:
            s = self.session
            arrays = self.readback.result()
            self._stats = s._stats(arrays["stats"], self.step)
            if self.snapshot:
                weights = {t: arrays[t].reshape(shape) for t, (_, _, shape) in s.low.persistent.items()}
                if all(np.all(np.isfinite(w)) for w in weights.values()):
                    s.last_finite = weights
        return self._stats

    def arrays(self) -> dict[str, np.ndarray]:
        """Every tensor the chunk copied out, as it was at the chunk's end."""
        return self.readback.result()


class Session:
    def __init__(self, doc, base_dir: str | Path | None = None, overrides: dict | None = None,
                 weights: dict | None = None, device=None):
        from gpu.engine import Engine
        self.doc = doc.copy()                     # a snapshot: the editor may go on editing
        t = self.doc.training
        for key, value in (overrides or {}).items():
            if value is not None:
                if key in ("lr", "name"):
                    t["optimizer"] = {**t.get("optimizer", {}), key: value}
                else:
                    t[key] = value
        errors = validate_settings(t.get("optimizer", {}))
        if errors:
            raise TrainingError("; ".join(errors))
        self.analysis = analyse(self.doc)
        if self.analysis.problems:
            first = self.analysis.problems[0]
            raise TrainingError("the graph has problems:\n" + "\n".join(f"  {p}" for p in problem_lines(self.analysis.problems)),
                                first.node)
        self.data = load_dataset(t.get("dataset", {"name": "digits"}), Path(base_dir) if base_dir else None)
        problems = check_binding(self.doc, self.analysis, self.data)
        if problems:
            raise TrainingError("the dataset doesn't fit the graph:\n" + "\n".join(f"  {p}" for p in problems),
                                problems[0].node)
        self.batch = int(t.get("batch_size", 64))
        self.epochs = int(t.get("epochs", 10))
        self.seed = int(t.get("seed", 0))
        n = len(self.data.x_train)
        too_big = batch_problem(self.batch, n)
        if too_big:
            raise TrainingError(too_big)
        # the last partial batch of each epoch is dropped (a fresh shuffle covers it next epoch)
        self.steps_per_epoch = n // self.batch
        self.dropped_per_epoch = n - self.steps_per_epoch * self.batch
        self.device = device
        self._check_sizes(n)
        try:
            self.low = lower(self.doc, self.batch, analysis=self.analysis, seed=self.seed, weights=weights,
                             data_rows=n, optimizer=t["optimizer"], max_binding=self._max_binding())
        except MemoryError:
            total = sum(math.prod(w.shape) for ws in self.analysis.weights.values() for w in ws)
            raise TrainingError(f"not enough memory for the graph's {total:,} weights; make the layers smaller") from None
        self.engine = Engine(self.low.program, device)
        # the phases of one training step (a fused program runs its own, see app/model/fused.py)
        self.train_phases = tuple(self.low.program.meta.get("train_phases", TRAIN_PHASES))
        self.adapter = _adapter_name()
        for node_id in self.low.feeds:
            self.engine.write(f"data:{node_id}", self._split_for(node_id, "train"))
        self.step = 0
        self._optimizer_start = 0     # the step the optimizer's state last started from zeros
        self._epoch_rng = np.random.default_rng(self.seed)
        self._eval = None
        self.last_finite = self.weights()
        self._snapshot_at = time.monotonic()
        self._start_epoch()

    # ---- sizes ----------------------------------------------------------------
    def _max_binding(self) -> int:
        from gpu.device import get_device
        return int((self.device or get_device()).limits["max-storage-buffer-binding-size"])

    def _check_sizes(self, train_rows: int) -> None:
        """Refuse, by node, a weight, activation or dataset larger than one GPU buffer may be,
        before any weights are drawn. (Evaluation and prediction batches shrink to fit.)"""
        limit = self._max_binding()
        problems = size_problems(self.analysis, self.batch, limit)
        too_much = memory_problem(self.analysis, self.batch, self.rows_that_fit(eval_batch_rows(self.data)))
        if too_much:
            problems.append(too_much)
        for node_id in self.analysis.order:
            role = get_kind(self.doc.nodes[node_id].kind).role
            if role in ("data", "target"):
                split = self.data.x_train if role == "data" else self.data.y_train
                nbytes = int(np.asarray(split).size) * 4
                if nbytes > limit:
                    problems.append(Problem(node_id, None, (
                        f"the training set is {human_bytes(nbytes)} as float32 ({train_rows:,} samples); "
                        f"this adapter holds at most {human_bytes(limit)} in one buffer. Use fewer samples.")))
        if problems:
            raise TrainingError("the graph is too large to train here:\n"
                                + "\n".join(f"  {p}" for p in problems), problems[0].node)

    def rows_that_fit(self, wanted: int) -> int:
        """`wanted`, or fewer rows where a batch that large would overflow a buffer."""
        fit = self._max_binding() // (4 * widest_sample(self.analysis))
        return max(1, min(wanted, fit))

    # ---- data -----------------------------------------------------------------
    def _split_for(self, node_id: str, split: str) -> np.ndarray:
        role = get_kind(self.doc.nodes[node_id].kind).role
        x, y = getattr(self.data, f"x_{split}"), getattr(self.data, f"y_{split}")
        return np.asarray(x if role == "data" else y, dtype=np.float32).reshape(len(x), -1)

    def _start_epoch(self) -> None:
        perm = self._epoch_rng.permutation(len(self.data.x_train)).astype(np.uint32)
        self.engine.write("perm", perm)
        self.engine.write("counters", np.array([self.step - self._optimizer_start, 0], dtype=np.uint32))

    @property
    def epoch(self) -> float:
        return self.step / self.steps_per_epoch

    # ---- stepping ---------------------------------------------------------------
    def run(self, steps: int, stats: bool = True) -> Stats | None:
        """Run up to `steps` steps (stopping at the epoch's end) in one submit; with stats, the
        last step also writes the stats buffer, which is read and checked."""
        if not stats:
            self.engine.run(self.train_phases, repeat=self._clip(steps))
            self._advance(self._clip(steps))
            return None
        return self.submit(steps).result()

    def submit(self, steps: int, extra: tuple[str, ...] = ()) -> "PendingStats":
        """Queue up to `steps` steps (stopping at the epoch's end) and their statistics in one
        submit, without waiting: the PendingStats returned waits when asked. Queue the next
        chunk before asking, and the GPU runs it while the host handles this one's figures.
        extra: more tensors to copy out with the statistics (a histogram's weights, say)."""
        steps = self._clip(steps)
        snapshot = time.monotonic() - self._snapshot_at >= SNAPSHOT_SECONDS
        names = ("stats", *extra, *(self.low.persistent if snapshot else ()))
        readback = self.engine.run(self.train_phases, repeat=steps, tail=("stats",), read=tuple(dict.fromkeys(names)))
        if snapshot:
            self._snapshot_at = time.monotonic()
        self._advance(steps)
        return PendingStats(self, readback, self.step, snapshot)

    def _clip(self, steps: int) -> int:
        return max(1, min(steps, self.steps_per_epoch - self.step % self.steps_per_epoch))

    def _advance(self, steps: int) -> None:
        self.step += steps
        if self.step % self.steps_per_epoch == 0:
            self._start_epoch()

    def _stats(self, raw: np.ndarray, step: int) -> Stats:
        raw = raw.astype(np.float64)
        s = Stats(step, step / self.steps_per_epoch, 0.0)
        for value, (what, node, tensor) in zip(raw, self.low.stats):
            if what == "loss":
                s.losses[node] = value
            elif what == "param":
                s.param_norms[tensor] = float(np.sqrt(value))
            elif what == "out":
                s.out_norms[node] = float(np.sqrt(value))
        s.loss = float(sum(s.losses.values()))
        # the loss and the gradients decide; the outputs' own slots ("fwd") only say where
        # (a finite output past 1.8e19 squares to inf there)
        if not all(np.isfinite(v) for v, slot in zip(raw, self.low.stats) if slot[0] != "fwd"):
            raise self._non_finite(step, raw)
        return s

    def read_stats(self) -> Stats:
        """The stats buffer as it is now (after everything submitted), checked."""
        return self._stats(self.engine.read("stats"), self.step)

    def final_weights(self) -> dict[str, np.ndarray]:
        """The weights to keep at the end of a run: the current ones if they are finite, else
        the last finite snapshot."""
        current = self.weights()
        if all(np.all(np.isfinite(v)) for v in current.values()):
            self.last_finite = current
        return self.last_finite

    def _non_finite(self, step: int, raw: np.ndarray) -> TrainingError:
        """Name the first node, in the order the step runs, whose output is not finite, else
        the last whose gradient is not: from the stats of the step it happened in (raw), since
        the tensors may already hold a later, queued chunk's values, spread further."""
        bad = {(what, node) for value, (what, node, _) in zip(raw, self.low.stats) if not np.isfinite(value)}
        culprit, where = None, ""
        for node_id in self.low.order:
            if ("fwd", node_id) in bad or ("loss", node_id) in bad:
                culprit, where = node_id, f"the output of {node_id}"
                break
        if culprit is None:
            for node_id in reversed(self.low.order):
                if ("out", node_id) in bad or ("param", node_id) in bad:
                    culprit, where = node_id, f"the gradient of {node_id}"
                    break
        msg = (f"training stopped at step {step}: NaN or infinite values, first in {where or 'the statistics'}. "
               f"The weights from the last finite check (before step {step}) are kept and the "
               f"optimizer's state starts afresh; try a smaller learning rate.")
        self.set_weights(self.last_finite)
        self._rewind(step)
        self._reset_optimizer()
        return TrainingError(msg, culprit)

    def _rewind(self, step: int) -> None:
        """Back to the step that failed: chunks queued after it ran on its non-finite values,
        and their updates are gone with the weights put back, so their steps don't count. The
        batch cursor follows (an epoch end crossed meanwhile keeps its new shuffle)."""
        if step < self.step:
            self.step = step
            self.engine.write("counters", np.array([0, step % self.steps_per_epoch], dtype=np.uint32))

    def _reset_optimizer(self) -> None:
        """Zero the optimizer's state (momentum, Adam's moments) and its step count
        (counters[0], Adam's bias correction): after a non-finite step the state holds NaN or
        Inf, which would poison the kept weights on the next step, however small the new
        learning rate. The batch cursor (counters[1]) goes on."""
        for t in self.low.program.meta.get("optimizer", {}).get("state", []):
            self.engine.write(t, np.zeros(self.low.program.tensors[t].size, np.float32))
        self._optimizer_start = self.step
        self.engine.write("counters", np.zeros(1, np.uint32), offset=0)

    def set_optimizer(self, settings: dict) -> None:
        """Takes effect on the next step: the kernels read "hyper" every step."""
        errors = validate_settings(settings)
        if errors:
            raise TrainingError("; ".join(errors))
        if settings.get("name") != self.doc.training["optimizer"].get("name"):
            raise TrainingError("changing the optimizer kind needs a Reset; learning rate and settings change live")
        self.doc.training["optimizer"] = dict(settings)
        self.engine.write("hyper", hyper_vector(settings))

    # ---- weights ------------------------------------------------------------------
    def weights(self) -> dict[str, np.ndarray]:
        """Every persistent tensor: the learnable ones and the state (BatchNorm's running
        statistics), which evaluation, last_finite and the weights file all need."""
        return {t: self.engine.read(t).reshape(shape) for t, (_, _, shape) in self.low.persistent.items()}

    def set_weights(self, weights: dict) -> None:
        for t in self.low.persistent:
            self.engine.write(t, np.asarray(weights[t], dtype=np.float32))

    # ---- evaluation ---------------------------------------------------------------
    def evaluate(self, split: str = "test") -> tuple[float, float | None]:
        """Mean loss and accuracy (classification) over a split, on the GPU, forward only, in
        evaluation mode (BatchNorm uses its running statistics, Dropout passes through). The
        weights are copied on the GPU, and each batch's figures come back in one readback."""
        from gpu.engine import Engine
        x = getattr(self.data, f"x_{split}")
        n = len(x)
        if n == 0:
            return float("nan"), None
        if self._eval is None:
            rows = self.rows_that_fit(min(n, eval_batch_rows(self.data)))
            low = lower(self.doc, rows, analysis=self.analysis, weights=self.last_finite, training=False)
            self._eval = (low, Engine(low.program, self.device))
        low, engine = self._eval
        engine.copy_from(self.engine, list(self.low.persistent))
        feeds = {node: self._split_for(node, split) for node in low.feeds}
        judged = self._judged(low)
        reads = [low.outputs[(loss, "loss")] for loss in low.losses] + list(judged[1:] if judged else ())
        losses, correct, counted = 0.0, 0, 0
        for start in range(0, n, low.batch):
            m = min(low.batch, n - start)
            for node, data in feeds.items():
                chunk = np.zeros((low.batch, data.shape[1]), dtype=np.float32)
                chunk[:m] = data[start:start + m]
                engine.write(low.feeds[node], chunk)
            got = engine.run(["forward"], read=tuple(dict.fromkeys(reads))).result()
            for loss in low.losses:
                losses += float(got[low.outputs[(loss, "loss")]][:m].sum())
            if judged:
                correct += self._correct(low.batch, m, judged[0], got[judged[1]], got[judged[2]])
                counted += m
        return losses / n, (correct / counted if counted else None)

    def _judged(self, low):
        """(kind, prediction tensor, label tensor) of the first classification loss, or None."""
        for loss in low.losses:
            name = self.doc.nodes[loss].kind
            if name in ("softmax_cross_entropy", "binary_cross_entropy"):
                pred_edge, target_edge = self.doc.edge_into(loss, "pred"), self.doc.edge_into(loss, "target")
                return (name, low.outputs[(pred_edge.src, pred_edge.src_port)],
                        low.outputs[(target_edge.src, target_edge.src_port)])
        return None

    @staticmethod
    def _correct(batch: int, m: int, kind: str, pred: np.ndarray, labels: np.ndarray) -> int:
        """Right answers among the first m rows."""
        labels = labels[:m]
        if kind == "softmax_cross_entropy":
            guess = pred.reshape(batch, -1)[:m].argmax(axis=1)
        else:
            guess = (pred.reshape(batch, -1)[:m, 0] > 0).astype(np.float32)
            labels = labels.reshape(m, -1)[:, 0]
        return int((guess == labels.reshape(m)).sum())

    def close(self) -> None:
        self.engine.destroy()
        if self._eval:
            self._eval[1].destroy()


def _adapter_name() -> str:
    from gpu.device import adapter_name
    return adapter_name()


class Predictor:
    """Forward-only runs of a Session's graph on arbitrary rows (the decision-boundary grid):
    returns the first loss's prediction input for each row, `rows` at a time (fewer where a
    batch that large would not fit a buffer)."""

    def __init__(self, session: Session, rows: int):
        from gpu.engine import Engine
        self.s = session
        rows = session.rows_that_fit(rows)
        self.low = lower(session.doc, rows, analysis=session.analysis, weights=session.last_finite)
        self.engine = Engine(self.low.program, session.device)
        loss = self.low.losses[0]
        edge = session.doc.edge_into(loss, "pred")
        self.pred = self.low.outputs[(edge.src, edge.src_port)]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.engine.copy_from(self.s.engine, list(self.s.low.persistent))
        rows = self.low.batch
        out = []
        for start in range(0, len(x), rows):
            part = np.zeros((rows, *x.shape[1:]), dtype=np.float32)
            part[: len(x) - start] = x[start:start + rows]
            for node in self.low.feeds:
                role = get_kind(self.s.doc.nodes[node].kind).role
                size = self.low.program.tensors[self.low.feeds[node]].size
                data = part if role == "data" else np.zeros(size)
                self.engine.write(self.low.feeds[node], np.asarray(data, dtype=np.float32).ravel()[:size])
            got = self.engine.run(["forward"], read=(self.pred,)).result()[self.pred].reshape(rows, -1)
            out.append(got[: len(x) - start])
        return np.concatenate(out)

    def close(self) -> None:
        self.engine.destroy()
