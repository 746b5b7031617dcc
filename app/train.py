"""`wiregrad train GRAPH.json`: headless training with a progress line, metrics, weights."""
from __future__ import annotations

import csv
import io
import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

from .model.datasets import PATH_KEYS, DatasetError, resolve_spec_paths
from .model.files import check_regular
from .model.graphfile import GraphFileError, atomic_write, load
from .model.lower import LoweringError
from .model.shapes import analyse
from .model.weights import WeightsError, load_weights, save_weights
from .session import Session, TrainingError

try:
    from gpu.errors import GpuError
except ImportError:          # no wgpu: Session says so itself
    GpuError = RuntimeError

MIN_CHUNK = 25        # steps between reads of the stats buffer, at least (never per step)
CHUNK_SECONDS = 0.1   # and about this long: each read leaves the GPU idle unless one is queued
METRICS = ["epoch", "step", "train_loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy"]  # CSV columns


def _expected_shapes(doc) -> dict:
    a = analyse(doc)
    return {f"{n}.{w.name}": tuple(w.shape) for n, ws in a.weights.items() for w in ws}


def output_problem(flag: str, path: str) -> str | None:
    """What would stop writing `path` at the end of the run; checked before training starts."""
    try:
        target, folder = Path(path), Path(path).resolve(strict=False).parent
    except (OSError, RuntimeError):        # RuntimeError: a symlink loop (Python < 3.13)
        return f"{flag} {path}: a symlink loop; give a file name"
    if not folder.is_dir():
        return f"{flag} {path}: the folder {folder} doesn't exist"
    if target.exists():
        try:
            check_regular(target)
        except OSError as e:
            return f"{flag} {path}: {e.strerror}; give a file name"
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        return f"{flag} {path}: not writable here"
    return None


def _same_file(a, b) -> bool:
    try:
        return bool(a and b) and os.path.realpath(a) == os.path.realpath(b)
    except (OSError, RuntimeError):
        return False


def clash_problem(args, dataset_files: dict | None = None) -> str | None:
    """An output that is the graph, a dataset file, the weights read in (for metrics) or the
    other output: writing it would destroy a file the user keeps (resuming into --weights-in
    is fine). dataset_files: key -> path, once the graph is read."""
    pairs = [("--weights-out", args.weights_out, "the graph file", args.graph),
             ("--metrics-out", args.metrics_out, "the graph file", args.graph),
             ("--metrics-out", args.metrics_out, "--weights-out", args.weights_out),
             ("--metrics-out", args.metrics_out, "--weights-in", args.weights_in)]
    for key, path in (dataset_files or {}).items():
        pairs += [(flag, out, f"the dataset's {key} file", path)
                  for flag, out in (("--weights-out", args.weights_out), ("--metrics-out", args.metrics_out))]
    for flag, path, other, other_path in pairs:
        if _same_file(path, other_path):
            return f"{flag} {path}: that is {other}; writing there would replace it. Give another name"
    return None


def train_main(args) -> int:
    problem = clash_problem(args)
    for flag, path in (("--weights-out", args.weights_out), ("--metrics-out", args.metrics_out)):
        problem = problem or (path and output_problem(flag, path))     # say so now, not after training
    if problem:
        return _setup_failed(args, problem)
    try:
        doc = load(args.graph)
        graph_dir = Path(args.graph).resolve().parent
        spec = doc.training.get("dataset", {})
        spec = resolve_spec_paths(spec if isinstance(spec, dict) else {}, graph_dir)
        problem = clash_problem(args, {k: spec[k] for k in PATH_KEYS if isinstance(spec.get(k), str)})
        if problem:
            return _setup_failed(args, problem)
        try:
            weights = load_weights(args.weights_in, _expected_shapes(doc)) if args.weights_in else None
        except WeightsError as e:
            raise WeightsError(f"--weights-in {e}") from None
        overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
                     "lr": args.lr, "name": args.optimizer}
        session = Session(doc, graph_dir, overrides, weights)
    except (GraphFileError, WeightsError, DatasetError, TrainingError, LoweringError, GpuError) as e:
        return _setup_failed(args, _in_flags(str(e), args))
    return Run(session, args).go()


# a setting given as a flag overrides the file's: a problem with it names the flag
FLAG_KEYS = {"batch_size": "training.batch_size", "epochs": "training.epochs", "seed": "training.seed",
             "lr": "training.optimizer.lr", "optimizer": "training.optimizer.name"}


def _in_flags(message: str, args) -> str:
    for attr, key in FLAG_KEYS.items():
        if getattr(args, attr, None) is not None:
            message = message.replace(f"{key}:", f"--{attr.replace('_', '-')}:")
    return message


def _setup_failed(args, problem: str) -> int:
    """The message, and with --json a result line as a finished run prints (scripts read it)."""
    print(f"error: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps({"error": problem, "steps": 0}))
    return 1


def _held_out(loss, accuracy) -> str:
    """' test loss 0.1234 accuracy 0.9700', or '' where there is no test split."""
    if loss is None:
        return ""
    return f" test loss {loss:.4f}" + (f" accuracy {accuracy:.4f}" if accuracy is not None else "")


class Run:
    def __init__(self, session: Session, args):
        self.s, self.args = session, args
        self.rows: list[dict] = []
        self.quiet = args.json and not sys.stderr.isatty()

    def go(self) -> int:
        s = self.s
        status, error = 0, None
        t0 = time.perf_counter()
        train_time = 0.0        # stepping only, not evaluation: what steps_per_second divides by
        t_epoch = None
        # Ctrl-C sets a flag the loop checks between chunks, rather than raising wherever the
        # interpreter happens to be: a KeyboardInterrupt raised inside a destructor (wgpu's
        # objects have __del__) is printed and ignored, and training went on. A second Ctrl-C
        # raises, for a run that doesn't reach the check.
        interrupted = []

        def on_sigint(signum, frame):
            if interrupted:
                raise KeyboardInterrupt
            interrupted.append(signum)
        # SIGTERM (`timeout`, `kill`, a job scheduler) stops the same way: what was trained is written
        previous = {sig: signal.signal(sig, on_sigint) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:                    # from the first line printed: a Ctrl-C any time after it is clean
            if s.dropped_per_epoch:
                self.say(f"note: {s.dropped_per_epoch} training samples don't fill a last batch of {s.batch}; "
                         f"each epoch drops them (a new shuffle each epoch)")
            self.say(f"training on {s.adapter}: {len(s.data.x_train)} samples, batch {s.batch}, "
                     f"{s.steps_per_epoch} steps/epoch, {s.epochs} epoch{'s' if s.epochs != 1 else ''}")
            for epoch in range(s.epochs):
                losses = []
                t_epoch = time.perf_counter()
                # one chunk queued ahead: the GPU runs it while the host reads the last one's
                # stats (a chunk stops at the epoch's end, so the queue drains there for evaluation)
                pending, chunk = None, MIN_CHUNK
                while pending or (s.step < (epoch + 1) * s.steps_per_epoch and not interrupted):
                    queued = None
                    if s.step < (epoch + 1) * s.steps_per_epoch and not interrupted:
                        queued = s.submit(chunk)
                    if pending:
                        st = pending.result()
                        losses.append(st.loss)
                        done, seconds = st.step - epoch * s.steps_per_epoch, time.perf_counter() - t_epoch
                        self.progress(epoch, st.loss, st.step, done, seconds)
                        chunk = max(MIN_CHUNK, int(done / seconds * CHUNK_SECONDS))
                    pending = queued
                if interrupted:
                    raise KeyboardInterrupt
                train_time += time.perf_counter() - t_epoch
                t_epoch = None
                self.epoch_done(epoch, float(np.mean(losses)))
        except TrainingError as e:
            status, error = 1, str(e)
            self.say(f"\nerror: {e}")
        except KeyboardInterrupt:
            pass                            # said below, with a signal that came after the loop
        if t_epoch is not None:             # stopped within an epoch: count its steps' time too
            train_time += time.perf_counter() - t_epoch
        # the handlers stay until the outputs are written: a signal during the last evaluation
        # skips the final one and still writes what was trained (a second one stops the writes;
        # each is atomic, so the old files stay whole)
        try:
            test_loss, test_acc = float("nan"), None
            if not interrupted:
                try:
                    test_loss, test_acc = s.evaluate("test")
                except KeyboardInterrupt:
                    pass
            if interrupted and status == 0:
                terminated = interrupted[:1] == [signal.SIGTERM]
                status, error = (143, "terminated") if terminated else (130, "interrupted")
                self.say(f"\n{error}: writing what was trained so far")
            train_loss = self.rows[-1]["train_loss"] if self.rows else float("nan")
            problem = self.write_outputs(failed=status == 1)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if problem:
            status, error = status or 1, error or problem
        result = {"test_accuracy": test_acc, "test_loss": test_loss, "train_loss": train_loss, "steps": s.step,
                  "steps_per_second": s.step / train_time if train_time else 0.0, "adapter": s.adapter,
                  "epochs": len(self.rows), "seconds": time.perf_counter() - t0}
        if error:
            result["error"] = error
        if self.args.json:
            print(json.dumps({k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in result.items()}))
        else:
            figures = _held_out(test_loss, test_acc).strip() if len(s.data.x_test) else f"train loss {train_loss:.4f}"
            print(f"{figures} after {s.step} steps ({result['steps_per_second']:.0f} steps/s)")
        s.close()
        return status

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def progress(self, epoch, loss, step, step_in_epoch, seconds) -> None:
        if self.quiet or not sys.stderr.isatty():   # a log file gets the per-epoch lines only
            return
        s = self.s
        width = 24
        done = int(width * step_in_epoch / s.steps_per_epoch)
        rate = step_in_epoch / seconds if seconds else 0.0
        sys.stderr.write(f"\repoch {epoch + 1}/{s.epochs} [{'#' * done}{'.' * (width - done)}] "
                         f"step {step} loss {loss:.4f} {rate:,.0f} steps/s {s.adapter[:28]}  ")
        sys.stderr.flush()

    def epoch_done(self, epoch, train_loss) -> None:
        s = self.s
        # a split the dataset doesn't have is an empty cell in the CSV, not "nan"
        val_loss, val_acc = s.evaluate("val") if len(s.data.x_val) else (None, None)
        test_loss, test_acc = s.evaluate("test") if len(s.data.x_test) else (None, None)
        row = {"epoch": epoch + 1, "step": s.step, "train_loss": train_loss, "val_loss": val_loss,
               "val_accuracy": val_acc, "test_loss": test_loss, "test_accuracy": test_acc}
        self.rows.append(row)
        if not self.quiet:
            tty = sys.stderr.isatty()      # over the progress bar on a terminal; plain lines in a log
            start = "\r" if tty else ""
            sys.stderr.write(f"{start}epoch {epoch + 1}/{s.epochs} step {s.step} train loss {train_loss:.4f}"
                             f"{_held_out(test_loss, test_acc)}{' ' * 30 if tty else ''}\n")

    def write_outputs(self, failed: bool = False) -> str | None:
        """Write each output asked for, each atomically and each on its own (one failing
        doesn't cost the other); returns the first problem, or None. A failed run's last
        finite weights don't replace a weights file already there: they go beside it."""
        problems = []
        weights_out = self.args.weights_out
        if failed and weights_out and os.path.exists(weights_out):
            p = Path(weights_out)
            weights_out = str(p.with_name(f"{p.stem}.last-finite{p.suffix}"))
            self.say(f"the run failed, so {self.args.weights_out} is left as it was")
        for path, what, write in ((weights_out, "weights", lambda p: save_weights(p, self.s.final_weights())),
                                  (self.args.metrics_out, "metrics", self._write_metrics)):
            if not path:
                continue
            try:
                write(path)
                self.say(f"{what} written to {path}")
            except OSError as e:
                problems.append(f"writing the {what} to {path}: {e.strerror or e}; any old file there is unchanged")
                self.say(f"error: {problems[-1]}")
        return problems[0] if problems else None

    def _write_metrics(self, path) -> None:
        text = io.StringIO(newline="")
        w = csv.DictWriter(text, fieldnames=METRICS)      # asked for, it is written, if only its header
        w.writeheader()
        w.writerows(self.rows)
        atomic_write(path, text.getvalue().encode("utf-8"))
