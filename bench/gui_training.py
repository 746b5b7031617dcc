"""Live training in the editor: is the GUI smooth, do the plots keep up, and what does the live
view cost the training? (Issue 5's benchmark; figures recorded in bench/README.md.)

With the digits MLP training at full speed in a real editor window and every plot live
(loss, gradient norms, accuracy, and the weights histogram of a selected node, each in a
visible dock), it measures over a window of --seconds:

  (a) the GUI event loop's stalls: the lateness of a 5 ms precise QTimer, p99 and max
      (target: p99 < 50 ms);
  (b) the plot redraw rate: TrainingController.refresh calls that redrew something, i.e.
      passed new data to a curve with setData (target: >= 20 Hz);
  (c) steps/s in the app (step count over wall time, evaluation and everything included)
      as a fraction of headless `python -m app train` steps/s on the same graph (what it
      reports: stepping time only; target: >= 0.8).

Each trial runs in a fresh process (the editor on Qt's offscreen platform, or xcb under
--platform xcb); app and headless trials alternate, so load from elsewhere on the machine
hits both alike, and medians are printed.

    python bench/gui_training.py [--repeats 3] [--seconds 10] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRAPH = ROOT / "assets" / "examples" / "digits_mlp.json"
TICK_MS = 5
IDLE_SECONDS = 2.0
TARGETS = {"stall_p99_ms": 50.0, "redraw_hz": 20.0, "app_vs_headless": 0.8}


# ---- one trial in the editor (child process) ---------------------------------------------------------

def app_trial(seconds: float, warmup: float) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(["wiregrad-bench"])
    from app.ui.main_window import MainWindow

    w = MainWindow(adapter_probe=None)
    w.ask_save_changes = lambda: "discard"
    errors = []
    w.show_error = lambda title, text: errors.append(text)
    w.resize(1600, 1000)
    w.show()
    w.open_example(str(GRAPH))
    c = w.training
    from app.ui.commands import SetTraining
    w.undo_stack.push(SetTraining(w.document, "epochs", 100_000, "epochs"))   # trains for the whole window
    for dock in w.findChildren(type(c.hist_dock)):                           # every plot on screen
        if dock.widget() in (c.acc_plot, c.hist_plot):
            dock.setFloating(True)
            dock.resize(500, 350)
            dock.show()
    w.canvas.graph.select_only(["dense1"])          # its weights' histogram is live too

    # (b) redraws: count refresh() calls during which some curve got new data
    set_data = pg.PlotDataItem.setData
    counter = {"set": 0}

    def counting_set_data(self, *a, **k):
        counter["set"] += 1
        return set_data(self, *a, **k)

    pg.PlotDataItem.setData = counting_set_data
    frames = []

    def refresh():
        before = counter["set"]
        c.refresh()
        frames.append((time.perf_counter(), counter["set"] > before))

    c.timer.timeout.disconnect()
    c.timer.timeout.connect(refresh)

    # (c) steps: the metrics as they arrive on the GUI thread
    steps = []
    c.runner.metrics.connect(lambda m: steps.append((time.perf_counter(), m["step"])))

    # (a) stalls: a 5 ms precise timer's lateness
    ticks = []
    tick = QTimer(interval=TICK_MS, timerType=Qt.PreciseTimer)
    tick.timeout.connect(lambda: ticks.append(time.perf_counter()))

    # the noise floor: the same timer with the window idle (the machine is shared)
    tick.start()
    idle_loop = QEventLoop()
    QTimer.singleShot(int(IDLE_SECONDS * 1000), idle_loop.quit)
    idle_loop.exec()
    tick.stop()
    idle_ticks, ticks[:] = list(ticks), []

    c.panel.train_button.click()
    t_press = time.perf_counter()
    while not steps and time.perf_counter() - t_press < 60 and not errors:
        app.processEvents()
        time.sleep(0.002)
    first_metrics = time.perf_counter() - t_press
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < warmup:
        app.processEvents()
        time.sleep(0.002)
    tick.start()
    t_start = time.perf_counter()
    gui_cpu0, proc0 = time.thread_time(), os.times()
    # the measured window runs the real event loop, as the app does
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    t_end = time.perf_counter()
    gui_cpu1, proc1 = time.thread_time(), os.times()
    tick.stop()
    c.runner.stop_run()
    c.runner.shutdown()

    def lateness(ts):
        return np.maximum(np.diff(np.array(ts)) * 1000.0 - TICK_MS, 0.0)

    late, idle_late = lateness(ticks), lateness(idle_ticks)
    wall = t_end - t_start
    in_window = [(t, s) for t, s in steps if t_start <= t <= t_end]
    redrew = sum(1 for t, r in frames if t_start <= t <= t_end and r)
    refreshes = sum(1 for t, _ in frames if t_start <= t <= t_end)
    rate = ((in_window[-1][1] - in_window[0][1]) / (in_window[-1][0] - in_window[0][0])
            if len(in_window) > 1 else 0.0)
    return {"stall_p99_ms": float(np.percentile(late, 99)) if late.size else float("nan"),
            "stall_max_ms": float(late.max()) if late.size else float("nan"),
            "stall_median_ms": float(np.median(late)) if late.size else float("nan"),
            "redraw_hz": redrew / wall, "refresh_hz": refreshes / wall,
            "app_steps_per_s": rate, "metrics_hz": len(in_window) / wall,
            "idle_stall_p99_ms": float(np.percentile(idle_late, 99)) if idle_late.size else float("nan"),
            "gui_cpu_share": (gui_cpu1 - gui_cpu0) / wall,
            "process_cpu_share": ((proc1.user + proc1.system) - (proc0.user + proc0.system)) / wall,
            "first_metrics_s": first_metrics, "errors": errors, "adapter": c.info.get("adapter", "?")}


# ---- one headless trial ---------------------------------------------------------------------------

def headless_trial(epochs: int) -> dict:
    run = subprocess.run([sys.executable, "-m", "app", "train", str(GRAPH), "--epochs", str(epochs), "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        raise SystemExit(f"headless training failed:\n{run.stderr[-2000:]}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    return {"headless_steps_per_s": result["steps_per_second"],
            "headless_wall_steps_per_s": result["steps"] / result["seconds"]}


def child(kind: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--seconds", str(args.seconds), "--warmup", str(args.warmup),
           "--epochs", str(args.epochs)]
    env = dict(os.environ)
    if args.platform:
        env["QT_QPA_PLATFORM"] = args.platform
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    if run.returncode != 0:
        raise SystemExit(f"{kind} trial failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seconds", type=float, default=10.0, help="measured window of each app trial")
    p.add_argument("--warmup", type=float, default=2.0, help="training before the window opens")
    p.add_argument("--epochs", type=int, default=90, help="epochs of each headless trial (~10 s)")
    p.add_argument("--platform", help="QT_QPA_PLATFORM for the app trials (default offscreen)")
    p.add_argument("--json", help="write every trial and the medians here")
    p.add_argument("--child", choices=["app", "headless"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child == "app":
        print(json.dumps(app_trial(args.seconds, args.warmup)))
        return 0
    if args.child == "headless":
        print(json.dumps(headless_trial(args.epochs)))
        return 0

    trials = []
    for i in range(args.repeats):
        h = child("headless", args)
        a = child("app", args)
        a.update(h)
        a["app_vs_headless"] = a["app_steps_per_s"] / h["headless_steps_per_s"]
        trials.append(a)
        print(f"trial {i + 1}: stall p99 {a['stall_p99_ms']:.1f} ms (max {a['stall_max_ms']:.1f}, "
              f"idle p99 {a['idle_stall_p99_ms']:.1f}), GUI thread CPU {a['gui_cpu_share']:.0%}, "
              f"redraws {a['redraw_hz']:.1f} Hz (refresh {a['refresh_hz']:.1f} Hz, metrics {a['metrics_hz']:.1f} Hz), "
              f"app {a['app_steps_per_s']:.0f} steps/s vs headless {h['headless_steps_per_s']:.0f} "
              f"(wall {h['headless_wall_steps_per_s']:.0f}) = {a['app_vs_headless']:.2f}"
              + (f"  ERRORS {a['errors']}" if a["errors"] else ""), flush=True)
    keys = ["stall_p99_ms", "stall_max_ms", "idle_stall_p99_ms", "redraw_hz", "refresh_hz", "metrics_hz",
            "app_steps_per_s", "headless_steps_per_s", "headless_wall_steps_per_s", "app_vs_headless",
            "gui_cpu_share", "process_cpu_share", "first_metrics_s"]
    med = {k: statistics.median(t[k] for t in trials) for k in keys}
    print(f"\nmedians of {args.repeats} (digits MLP, {trials[0]['adapter']}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}):")
    ok = True
    for k in keys:
        target = TARGETS.get(k)
        verdict = ""
        if target is not None:
            good = med[k] < target if k == "stall_p99_ms" else med[k] >= target
            ok &= good
            verdict = f"   target {'<' if k == 'stall_p99_ms' else '>='} {target:g}: {'ok' if good else 'MISSED'}"
        print(f"  {k:28s} {med[k]:10.2f}{verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps({"trials": trials, "medians": med}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
