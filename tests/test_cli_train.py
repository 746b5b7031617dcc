"""`python -m app train` end to end, in subprocesses: the --json result line, metrics CSV,
weights out and back in (resuming), a weights file of the wrong shape, the stop on
non-finite numbers, and Ctrl-C. Epochs are kept to 0-2 so the file stays quick."""
from __future__ import annotations

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from app.model.graphfile import load
from app.model.shapes import analyse
from app.model.weights import load_weights, save_weights
from app.session import Session

ROOT = Path(__file__).resolve().parent.parent
DIGITS = ROOT / "assets" / "examples" / "digits_mlp.json"
SPIRAL = ROOT / "assets" / "examples" / "spiral.json"
KEYS = {"test_accuracy", "test_loss", "train_loss", "steps", "steps_per_second", "adapter", "epochs"}


def wiregrad(*args, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def result_line(proc) -> dict:
    lines = proc.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{proc.stderr}"
    return json.loads(lines[-1])


def shapes(graph) -> dict:
    a = analyse(load(graph))
    return {f"{n}.{w.name}": tuple(w.shape) for n, ws in a.weights.items() for w in ws}


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, gpu_device):
    """Two epochs of digits_mlp from a fresh start, with every output asked for."""
    d = tmp_path_factory.mktemp("first")
    proc = wiregrad("train", DIGITS, "--epochs", 2, "--json", "--weights-out", d / "w.safetensors",
                    "--metrics-out", d / "m.csv")
    assert proc.returncode == 0, proc.stderr
    return d, proc, result_line(proc)


def test_json_result_is_the_last_line(first_run):
    _, proc, result = first_run
    assert KEYS <= result.keys(), f"missing {KEYS - result.keys()}"
    assert result["epochs"] == 2
    assert result["steps"] == 2 * (1438 // 64)
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["test_accuracy"] > 0.5
    assert math.isfinite(result["test_loss"]) and math.isfinite(result["train_loss"])
    assert result["steps_per_second"] > 0
    assert isinstance(result["adapter"], str) and result["adapter"]
    assert "error" not in result


def test_metrics_csv_has_one_row_per_epoch(first_run):
    d, _, result = first_run
    rows = read_csv(d / "m.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert {"epoch", "step", "train_loss", "test_loss", "test_accuracy"} <= rows[0].keys()
    assert float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    assert float(rows[-1]["test_loss"]) == pytest.approx(result["test_loss"], rel=1e-6)


def test_weights_out_fit_the_graph(first_run):
    d, _, _ = first_run
    w = load_weights(d / "w.safetensors", shapes(DIGITS))
    assert all(np.all(np.isfinite(v)) for v in w.values())


def test_weights_in_resumes_where_the_run_ended(first_run, tmp_path):
    d, _, result = first_run
    # trained 0 more: the loaded weights give the test loss the first run ended with
    same = wiregrad("train", DIGITS, "--epochs", 0, "--json", "--weights-in", d / "w.safetensors")
    assert same.returncode == 0, same.stderr
    again = result_line(same)
    assert again["steps"] == 0
    assert again["test_loss"] == pytest.approx(result["test_loss"], rel=1e-6)
    assert again["test_accuracy"] == pytest.approx(result["test_accuracy"])
    # one more epoch starts far below where a fresh start's first epoch was
    more = wiregrad("train", DIGITS, "--epochs", 1, "--weights-in", d / "w.safetensors",
                    "--metrics-out", tmp_path / "m.csv")
    assert more.returncode == 0, more.stderr
    fresh_first = float(read_csv(d / "m.csv")[0]["train_loss"])
    resumed_first = float(read_csv(tmp_path / "m.csv")[0]["train_loss"])
    assert resumed_first < 0.5 * fresh_first, (resumed_first, fresh_first)


def test_weights_in_of_the_wrong_shape_names_the_tensor(gpu_device, tmp_path):
    good = {k: np.zeros(s, np.float32) for k, s in shapes(DIGITS).items()}
    bad = dict(good, **{"dense2.w": np.zeros((64, 128), np.float32)})     # transposed
    save_weights(tmp_path / "bad.safetensors", bad)
    proc = wiregrad("train", DIGITS, "--epochs", 1, "--weights-in", tmp_path / "bad.safetensors",
                    "--weights-out", tmp_path / "out.safetensors")
    assert proc.returncode != 0
    assert "dense2.w" in proc.stderr and "(64, 128)" in proc.stderr and "(128, 64)" in proc.stderr, proc.stderr
    assert "dense1.w" not in proc.stderr
    assert not (tmp_path / "out.safetensors").exists()
    missing = {k: v for k, v in good.items() if k != "dense3.b"}
    save_weights(tmp_path / "missing.safetensors", missing)
    proc = wiregrad("train", DIGITS, "--epochs", 1, "--weights-in", tmp_path / "missing.safetensors")
    assert proc.returncode != 0 and "dense3.b" in proc.stderr, proc.stderr


def test_weights_of_integer_type_are_refused_by_name(tmp_path):
    from safetensors.numpy import save_file
    w = {k: np.zeros(s, np.float32) for k, s in shapes(DIGITS).items()}
    w["dense1.w"] = np.zeros(shapes(DIGITS)["dense1.w"], np.int8)           # quantised: not castable as is
    save_file(w, str(tmp_path / "int.safetensors"))
    from app.model.weights import WeightsError
    with pytest.raises(WeightsError, match=r"dense1\.w: the file holds int8 numbers; weights must be floating point"):
        load_weights(tmp_path / "int.safetensors", shapes(DIGITS))
    w["dense1.w"] = w["dense1.w"].astype(np.float16)                        # a float of any width is fine
    save_file(w, str(tmp_path / "half.safetensors"))
    assert load_weights(tmp_path / "half.safetensors", shapes(DIGITS))["dense1.w"].dtype == np.float64


def test_huge_learning_rate_exits_nonzero_and_writes_finite_weights(gpu_device, tmp_path):
    out = tmp_path / "w.safetensors"
    # SGD: under the example's Adam a step is bounded by lr and the numbers stay finite
    proc = wiregrad("train", DIGITS, "--lr", "1e6", "--optimizer", "sgd", "--weights-out", out, "--json")
    assert proc.returncode != 0
    assert "error:" in proc.stderr and "step" in proc.stderr and "NaN or infinite" in proc.stderr, proc.stderr
    result = result_line(proc)
    assert "error" in result and "step" in result["error"]
    w = load_weights(out, shapes(DIGITS))
    assert all(np.all(np.isfinite(v)) for v in w.values())


def test_a_failed_run_leaves_an_existing_weights_file_and_writes_beside_it(gpu_device, tmp_path):
    out = tmp_path / "w.safetensors"
    rng = np.random.default_rng(0)
    save_weights(out, {k: rng.normal(0, 0.3, v) for k, v in shapes(DIGITS).items()})
    before = out.read_bytes()
    proc = wiregrad("train", DIGITS, "--lr", "1e6", "--optimizer", "sgd", "--weights-in", out, "--weights-out", out)
    assert proc.returncode == 1 and "NaN or infinite" in proc.stderr, proc.stderr
    assert out.read_bytes() == before
    beside = tmp_path / "w.last-finite.safetensors"
    assert f"{out} is left as it was" in proc.stderr and f"weights written to {beside}" in proc.stderr, proc.stderr
    w = load_weights(beside, shapes(DIGITS))
    assert all(np.all(np.isfinite(v)) for v in w.values())


STOPPED = {signal.SIGINT: (130, "interrupted"), signal.SIGTERM: (143, "terminated")}


def interrupt(tmp_path, after: str, sig=signal.SIGINT):
    """Train spiral.json (for 100000 epochs) with weights and metrics out; send `sig` once a
    stderr line containing `after` appears. Returns (metrics rows, weights)."""
    weights, metrics = tmp_path / "w.safetensors", tmp_path / "m.csv"
    # many epochs: the fused step trains the spiral in seconds, faster than the pipe is read
    proc = subprocess.Popen([sys.executable, "-m", "app", "train", str(SPIRAL), "--epochs", "100000",
                             "--weights-out", str(weights), "--metrics-out", str(metrics)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if after in line:
                break
        assert proc.poll() is None, f"training ended before a line with {after!r}:\n" + "".join(seen)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
    code, word = STOPPED[sig]
    assert proc.returncode == code, err
    assert f"{word}: writing what was trained so far" in err and "Traceback" not in err, err
    w = load_weights(weights, shapes(SPIRAL))
    assert all(np.all(np.isfinite(v)) for v in w.values())
    return read_csv(metrics), w


def test_ctrl_c_stops_cleanly_and_writes_outputs(gpu_device, tmp_path):
    rows, _ = interrupt(tmp_path, "train loss")       # after the end-of-epoch line
    assert len(rows) >= 1 and int(rows[0]["epoch"]) == 1
    assert len(rows) < 100, "the run was not interrupted"


def test_ctrl_c_before_an_epoch_ends_still_writes_both(gpu_device, tmp_path):
    rows, w = interrupt(tmp_path, "training on")      # the first line
    assert rows == []                                 # the CSV holds its header
    assert (tmp_path / "m.csv").read_text().startswith("epoch,step,train_loss")


def test_an_output_folder_that_does_not_exist_fails_before_training(gpu_device, tmp_path):
    proc = wiregrad("train", DIGITS, "--epochs", 1, "--weights-out", tmp_path / "no" / "w.safetensors")
    assert proc.returncode == 1
    assert "--weights-out" in proc.stderr and "doesn't exist" in proc.stderr, proc.stderr
    assert "training on" not in proc.stderr and "Traceback" not in proc.stderr


def test_ctrl_c_before_training_starts_is_a_quiet_130(monkeypatch, capsys):
    """A Ctrl-C while the command still imports or builds its session (before train's own
    handler is in place) ends with "interrupted" and 130, not a traceback."""
    import app.cli
    from app.__main__ import main

    def interrupted(argv):
        raise KeyboardInterrupt
    monkeypatch.setattr(app.cli, "run", interrupted)
    assert main(["train", "whatever.json"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


def test_a_chunk_is_queued_before_the_last_ones_stats_are_read(gpu_device, tmp_path, monkeypatch):
    """In process: within an epoch the GPU runs chunk N+1 while the host reads chunk N's stats
    (submit before result), the queue drains at the epoch's end for evaluation, and chunking
    changes nothing: the weights equal those of one synchronous Session over the same steps."""
    import app.session
    from app.__main__ import main
    events = []
    submit, result = app.session.Session.submit, app.session.PendingStats.result

    def logged_submit(self, steps, extra=()):
        pending = submit(self, steps, extra)
        events.append(("submit", pending.step))
        return pending

    def logged_result(self):
        events.append(("result", self.step))
        return result(self)
    monkeypatch.setattr(app.session.Session, "submit", logged_submit)
    monkeypatch.setattr(app.session.PendingStats, "result", logged_result)
    out = tmp_path / "w.safetensors"
    assert main(["train", str(DIGITS), "--batch-size", "8", "--epochs", "1", "--weights-out", str(out)]) == 0
    monkeypatch.undo()

    s = Session(load(DIGITS), DIGITS.parent, {"epochs": 1, "batch_size": 8}, device=gpu_device)
    per_epoch = s.steps_per_epoch
    ends = [step for kind, step in events if kind == "submit"]
    assert len(ends) >= 3 and ends[-1] == per_epoch
    for i, (kind, step) in enumerate(events):
        if kind == "result" and step < per_epoch:      # the next chunk went in first
            assert events[i - 1][0] == "submit" and events[i - 1][1] > step, events
    try:
        s.run(per_epoch)
        written = load_weights(out, shapes(DIGITS))
        for name, value in s.final_weights().items():
            np.testing.assert_array_equal(written[name], value, err_msg=name)
    finally:
        s.close()


def test_metrics_out_through_a_symlink_writes_the_target(gpu_device, tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    proc = wiregrad("train", SPIRAL, "--epochs", 1, "--metrics-out", link)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and target.read_text().startswith("epoch,step,train_loss")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_or_device_as_weights_out_fails_before_training(gpu_device, tmp_path):
    fifo = tmp_path / "w.safetensors"                 # stands in for /dev/full, which must not be at risk
    os.mkfifo(fifo)
    proc = wiregrad("train", SPIRAL, "--epochs", 1, "--weights-out", fifo)
    assert proc.returncode == 1
    assert f"--weights-out {fifo}" in proc.stderr and "not a regular file" in proc.stderr, proc.stderr
    assert "training on" not in proc.stderr
    assert fifo.is_fifo()


def test_without_a_test_split_no_nan_is_printed_and_the_csv_cells_are_empty(gpu_device, tmp_path):
    doc = json.loads(SPIRAL.read_text("utf-8"))
    doc["training"]["dataset"]["test_ratio"] = 0
    graph = tmp_path / "spiral_all_train.json"
    graph.write_text(json.dumps(doc), "utf-8")
    proc = wiregrad("train", graph, "--epochs", 1, "--metrics-out", tmp_path / "m.csv")
    assert proc.returncode == 0, proc.stderr
    assert "nan" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert proc.stdout.startswith("train loss ") and "test loss" not in proc.stderr
    row, = read_csv(tmp_path / "m.csv")
    assert row["test_loss"] == row["test_accuracy"] == row["val_loss"] == "" and float(row["train_loss"]) > 0


@pytest.mark.parametrize("flag", ["--weights-out", "--metrics-out", "--weights-in"])
def test_an_empty_file_name_is_refused_not_ignored(flag, capsys):
    from app.cli import run
    with pytest.raises(SystemExit) as e:
        run(["train", str(SPIRAL), flag, ""])
    assert e.value.code == 2
    assert f"{flag}: expected a file name, got an empty one" in capsys.readouterr().err


@pytest.mark.parametrize("flags, says", [
    (["--weights-out", "{graph}"], "--weights-out {graph}: that is the graph file"),
    (["--metrics-out", "{graph}"], "--metrics-out {graph}: that is the graph file"),
    (["--weights-out", "{d}/same", "--metrics-out", "{d}/same"], "--metrics-out {d}/same: that is --weights-out"),
])
def test_an_output_that_would_replace_the_graph_or_the_other_output_is_refused(tmp_path, capsys, flags, says):
    from app.cli import run
    graph = tmp_path / "g.json"
    graph.write_bytes(SPIRAL.read_bytes())
    fill = {"graph": str(graph), "d": str(tmp_path)}
    assert run(["train", str(graph), "--epochs", "1", *[f.format(**fill) for f in flags]]) == 1
    assert says.format(**fill) in capsys.readouterr().err
    assert graph.read_bytes() == SPIRAL.read_bytes()


def test_a_symlink_loop_as_an_output_is_a_message(tmp_path, capsys):
    from app.cli import run
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert run(["train", str(SPIRAL), "--epochs", "1", "--weights-out", str(tmp_path / "a")]) == 1
    assert "a symlink loop" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("role", ["graph", "weights"])
def test_a_pipe_as_an_input_is_refused_not_waited_on(tmp_path, role):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    args = [fifo] if role == "graph" else [SPIRAL, "--weights-in", fifo]
    proc = wiregrad("train", *args, "--epochs", 0, "--json", timeout=60)
    assert proc.returncode == 1
    assert "not a regular file" in proc.stderr, proc.stderr
    if role == "weights":
        assert proc.stderr.startswith(f"error: --weights-in {fifo}"), proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["error"]       # --json: a result line still


def test_a_flag_given_is_named_in_the_problem(capsys):
    from app.cli import run
    assert run(["train", str(SPIRAL), "--batch-size", "100000"]) == 1
    assert "error: --batch-size: 100000 is larger than the" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(["train", str(SPIRAL), "--seed", str(2**32)])
    assert "--seed: expected a whole number <= 4294967295" in capsys.readouterr().err


def test_sigterm_stops_like_ctrl_c_and_writes_outputs(gpu_device, tmp_path):
    interrupt(tmp_path, "training on", signal.SIGTERM)     # asserts exit 143 and finite weights written
    assert (tmp_path / "m.csv").read_text().startswith("epoch,step,train_loss")


def test_an_output_that_would_replace_the_dataset_file_is_refused(tmp_path, capsys):
    from app.cli import run
    shutil.copytree(ROOT / "assets" / "examples", tmp_path / "examples")
    shutil.copytree(ROOT / "assets" / "datasets", tmp_path / "datasets")
    data = tmp_path / "datasets" / "iris.csv"
    before = data.read_bytes()
    assert run(["train", str(tmp_path / "examples" / "iris.json"), "--epochs", "1", "--metrics-out", str(data)]) == 1
    assert "that is the dataset's path file" in capsys.readouterr().err
    assert data.read_bytes() == before


def test_a_signal_during_the_last_evaluation_still_stops_cleanly_and_writes(gpu_device, tmp_path, monkeypatch, capsys):
    """The handlers used to be put back before the final evaluation and the writes: a SIGTERM
    there was ignored (exit 0) or killed the run before anything was written."""
    from app.cli import run
    evaluations = []
    real = Session.evaluate

    def evaluate(self, split="test"):
        evaluations.append(split)
        if len(evaluations) == 1:                     # the epoch's evaluation: the signal comes
            os.kill(os.getpid(), signal.SIGTERM)
        return real(self, split)
    monkeypatch.setattr(Session, "evaluate", evaluate)
    out = tmp_path / "w.safetensors"
    assert run(["train", str(SPIRAL), "--epochs", "1", "--weights-out", str(out), "--json"]) == 143
    captured = capsys.readouterr()
    assert "terminated: writing what was trained so far" in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["error"] == "terminated"
    assert out.exists() and len(evaluations) == 1        # the final evaluation was skipped
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
