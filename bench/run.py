"""Wiregrad against PyTorch (CPU) on the same work, in the same run.

    python bench/run.py                      # every workload, the table, the targets
    python bench/run.py --quick              # fewer repeats, smaller scaling sweep
    python bench/run.py --only W1,W2,M1 --json out.json
    python bench/run.py --plot bench/out/scaling.png

Each training workload runs on Wiregrad (a Session, as `wiregrad train` and the editor use it)
and on PyTorch (bench/torch_peer.py: the same graph, initial weights, batch order and
optimizer), with torch.set_num_threads equal to the cores lavapipe uses. Both are warmed up;
then repeats alternate between the two engines (so load from elsewhere on the machine hits both
alike) and the medians are reported with their ratio. Without torch installed the suite says
so and reports Wiregrad alone.

Workloads
  W1 spiral_small  2 -> 8 -> Tanh -> 8 -> Tanh -> 1, binary cross-entropy, batch 10, SGD
  W2 digits_mlp    64 -> 128 -> ReLU -> 64 -> ReLU -> 10, softmax CE, batch 64, Adam
  W3 digits_cnn    assets/examples/digits_cnn.json, batch 64, Adam (only if the file exists)
  W4 wide_mlp      784 -> 1024 -> ReLU -> 1024 -> ReLU -> 10, batch 256, Adam (synthetic data)
  M1 matmul        the engine's matmul kernel at 512^3 and 1024^3, beside numpy's @
  L1 latency       new Session (cold pipelines) -> first finished step, digits MLP, in a fresh
                   process; then Reset (a new Session of the same graph), which must not compile
  S  scaling       steps/s against width (64..2048) and depth (2..32 Dense+ReLU), both engines
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for p in (str(ROOT), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

from app.model.document import Document  # noqa: E402
from common import torch_or_none  # noqa: E402

TARGETS = {   # name -> (figure, comparison, threshold, wording)
    "W1": ("W1.ratio", ">=", 1.5, "W1 steps/s at least 1.5x PyTorch (best threads)"),
    "W2": ("W2.ratio", ">=", 0.5, "W2 steps/s at least 0.5x PyTorch (best threads)"),
    "M1": ("M1.1024.gflops", ">=", 20.0, "M1 matmul at least 20 GFLOP/s at 1024^3"),
    "L1": ("L1.cold_s", "<", 1.5, "L1 time to first step under 1.5 s (cold pipelines)"),
    "L1r": ("L1.reset_s", "<", 0.1, "L1 Reset to first step under 0.1 s, no compiles"),
}


def lavapipe_threads() -> int:
    """Threads lavapipe runs compute on: LP_NUM_THREADS, else every core."""
    try:
        return max(1, int(os.environ["LP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return os.cpu_count() or 1


TORCH_DEVICE = "cpu"     # --torch-device: where the PyTorch peer runs


def say(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- graphs

def mlp_doc(n_in: int, hidden: list[int], n_out: int, act: str, loss: str, dataset: dict,
            batch: int, optimizer: dict, seed: int = 0) -> Document:
    """input -> [dense(h) -> act] * len(hidden) -> dense(n_out) -> loss <- target, built with the
    Document API as the editor would."""
    doc = Document()
    x = doc.add_node("input", {"shape": [n_in]}, node_id="input1")
    prev = x
    for i, h in enumerate(hidden, 1):
        d = doc.add_node("dense", {"units": h}, node_id=f"dense{i}")
        doc.connect(prev, "y", d, "x")
        a = doc.add_node(act, node_id=f"{act}{i}")
        doc.connect(d, "y", a, "x")
        prev = a
    out = doc.add_node("dense", {"units": n_out}, node_id=f"dense{len(hidden) + 1}")
    doc.connect(prev, "y", out, "x")
    t = doc.add_node("target", {"labels": "classes"}, node_id="target1")
    lo = doc.add_node(loss, node_id=f"{loss}1")
    doc.connect(out, "y", lo, "pred")
    doc.connect(t, "y", lo, "target")
    doc.training = {"dataset": dataset, "optimizer": optimizer, "batch_size": batch,
                    "epochs": 1000, "seed": seed}
    return doc


_tmp = None


def synthetic_npz(rows: int, features: int, classes: int, seed: int = 0) -> str:
    """A classification set of the given shape, written once per process to a temp folder."""
    global _tmp
    if _tmp is None:
        _tmp = tempfile.TemporaryDirectory(prefix="wiregrad-bench-")
    path = Path(_tmp.name) / f"synthetic_{rows}x{features}x{classes}.npz"
    if not path.exists():
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((rows, features)).astype(np.float32)
        y = rng.integers(0, classes, size=rows).astype(np.int64)
        np.savez(path, x=x, y=y)
    return str(path)


def synthetic(rows, features, classes):
    return {"path": synthetic_npz(rows, features, classes), "format": "npz", "test_ratio": 0.0}


def workload_docs() -> dict[str, tuple[str, Document, Path | None]]:
    docs = {
        "W1": ("spiral_small", mlp_doc(2, [8, 8], 1, "tanh", "binary_cross_entropy",
                                       {"name": "spiral", "samples": 1000, "noise": 0.0, "seed": 0, "test_ratio": 0.3},
                                       10, {"name": "sgd", "lr": 0.1}), None),
        "W2": ("digits_mlp", mlp_doc(64, [128, 64], 10, "relu", "softmax_cross_entropy",
                                     {"name": "digits"}, 64, {"name": "adam", "lr": 0.003}), None),
    }
    cnn = ROOT / "assets" / "examples" / "digits_cnn.json"
    if cnn.exists():
        from app.model.graphfile import load
        doc = load(cnn)
        doc.training = {**doc.training, "batch_size": 64,
                        "optimizer": {**doc.training.get("optimizer", {}), "name": "adam"}}
        docs["W3"] = ("digits_cnn", doc, cnn.parent)
    docs["W4"] = ("wide_mlp", mlp_doc(784, [1024, 1024], 10, "relu", "softmax_cross_entropy",
                                      synthetic(4096, 784, 10), 256, {"name": "adam", "lr": 0.001}), None)
    return docs


# ---------------------------------------------------------------------------- engines

class WiregradRunner:
    """Steps through Session.run, as `wiregrad train` does; stats are not read while timing."""

    def __init__(self, doc, base_dir=None):
        from app.session import Session
        self.session = Session(doc, base_dir)
        # warm up: a fused program runs quick-to-compile kernels first and compiles its own
        # one per call (gpu/engine.py, tiers); time it once all of them run
        s, calls = self.session, 0
        while not s.engine.warm(s.train_phases) and calls < 200:
            s.run(1, stats=False)
            calls += 1
        s.engine.read("counters")           # the compiles run on lavapipe's queue: wait for them

    def steps(self, n: int) -> None:
        s, done = self.session, 0
        while done < n:
            before = s.step
            s.run(n - done, stats=False)
            done += s.step - before
        s.engine.read("counters")          # wait until the GPU has finished

    def close(self):
        self.session.close()


class TorchRunner:
    """The same graph, weights, batch order (one permutation per epoch from the session's seed,
    the last partial batch dropped) and optimizer, in PyTorch eager mode, on TORCH_DEVICE."""

    def __init__(self, torch, session):
        from torch_peer import TorchGraph, make_optimizer
        self.torch = torch
        self.device = TORCH_DEVICE
        self.model = TorchGraph(session.doc, session.analysis, session.weights()).to(self.device)
        self.opt = make_optimizer(self.model, session.doc.training["optimizer"])
        self.feeds = {}
        for node_id in session.low.feeds:
            data = torch.tensor(session._split_for(node_id, "train"))
            params = session.doc.nodes[node_id].params
            if session.doc.nodes[node_id].kind == "target" and params.get("labels") == "classes":
                data = data.reshape(-1)
            elif session.doc.nodes[node_id].kind == "input":
                data = data.reshape(len(data), *params["shape"])
            self.feeds[node_id] = data.to(self.device)
        self.n, self.batch = len(session.data.x_train), session.batch
        self.per_epoch = self.n // self.batch
        self.rng = np.random.default_rng(session.seed)
        self.step_no = 0
        self.perm = None

    def steps(self, count: int) -> None:
        torch = self.torch
        for _ in range(count):
            j = self.step_no % self.per_epoch
            if j == 0:
                self.perm = torch.tensor(self.rng.permutation(self.n), device=self.device)
            idx = self.perm[j * self.batch:(j + 1) * self.batch]
            feeds = {k: v[idx] for k, v in self.feeds.items()}
            self.opt.zero_grad(set_to_none=True)
            self.model(feeds).backward()
            self.opt.step()
            self.step_no += 1
        if self.device == "cuda":
            torch.cuda.synchronize()           # timed to the end of the work, as Wiregrad's


def timed(fn, *a) -> float:
    t0 = time.perf_counter()
    fn(*a)
    return time.perf_counter() - t0


def calibrate(fn, seconds: float, cap: int = 100000) -> int:
    """Steps that take about `seconds`, found by doubling from 1."""
    n = 1
    while n < cap:
        if timed(fn, n) >= seconds / 4:
            break
        n *= 2
    t = timed(fn, n)
    return max(1, min(cap, int(n * seconds / max(t, 1e-6))))


def threads_then(torch, threads, fn):
    """fn, run with torch.set_num_threads(threads) set first (outside the timing)."""
    def steps(n):
        return fn(n)
    steps.prepare = lambda: torch.set_num_threads(threads)
    return steps


def torch_runners(torch, session, threads) -> dict:
    """The PyTorch peer with the cores lavapipe uses; and with one thread as well when that is
    more: on a shared machine OpenMP threads that wait for a busy core can make PyTorch far
    slower than one thread, and a ratio against that would flatter Wiregrad."""
    out = {"torch": threads_then(torch, threads, TorchRunner(torch, session).steps)}
    if threads > 1 and TORCH_DEVICE == "cpu":
        out["torch_1t"] = threads_then(torch, 1, TorchRunner(torch, session).steps)
    return out


def compare(runners: dict, repeats: int, seconds: float) -> dict:
    """Alternate repeats between the runners (name -> steps(n) callable); medians of steps/s."""
    def prep(fn):
        getattr(fn, "prepare", lambda: None)()
    counts = {}
    for name, fn in runners.items():      # also the warm-up
        prep(fn)
        counts[name] = calibrate(fn, seconds)
    rates = {name: [] for name in runners}
    for _ in range(repeats):
        for name, fn in runners.items():
            prep(fn)
            rates[name].append(counts[name] / timed(fn, counts[name]))
    out = {}
    for name, r in rates.items():
        out[name] = {"steps_per_s": statistics.median(r), "min": min(r), "max": max(r),
                     "steps_per_repeat": counts[name], "repeats": len(r)}
    return out


def check_same_work(torch, doc, base_dir, steps: int = 3) -> float | None:
    """Both engines from the same start take `steps` steps on the same batches, with plain SGD
    (Adam's first steps are lr * g / |g|: float32 noise in near-zero gradients would show as
    lr-sized differences); the largest relative difference of the resulting weights: float32
    round-off, or a different computation."""
    from app.session import Session
    doc = doc.copy()
    doc.training = {**doc.training, "optimizer": {"name": "sgd", "lr": 0.01}}
    s = Session(doc, base_dir)
    try:
        peer = TorchRunner(torch, s)
        s.run(steps, stats=False)
        peer.steps(steps)
        worst = 0.0
        for name, value in s.weights().items():
            mine = np.asarray(value, dtype=np.float64)
            theirs = peer.model.params[name.replace(".", "__")].detach().cpu().numpy().astype(np.float64)
            worst = max(worst, float(np.abs(mine - theirs).max() / (np.abs(theirs).max() + 1e-12)))
        return worst
    finally:
        s.close()


def run_workload(key, name, doc, base_dir, torch, repeats, seconds) -> dict:
    say(f"[{key}] {name} ...")
    wg = WiregradRunner(doc, base_dir)
    runners = {"wiregrad": wg.steps}
    if torch is not None:
        runners.update(torch_runners(torch, wg.session, torch.get_num_threads()))
    threads = torch.get_num_threads() if torch is not None else None
    res = compare(runners, repeats, seconds)
    if torch is not None:
        torch.set_num_threads(threads)
    row = {"name": name, "batch": wg.session.batch, "params": int(wg.session.analysis.param_count),
           "dispatches_per_step": dispatch_count(wg.session),
           "fused": wg.session.low.program.meta.get("fused"),
           "wiregrad": res["wiregrad"], "torch": res.get("torch"), "torch_1thread": res.get("torch_1t")}
    add_ratios(row, res)
    wg.close()
    if torch is not None:
        row["max_rel_weight_diff_after_3_sgd_steps"] = check_same_work(torch, doc, base_dir)
    return row


def add_ratios(row: dict, res: dict) -> None:
    """ratio: against PyTorch with lavapipe's thread count (the suite's rule); ratio_vs_best:
    against the faster of that and one thread (the conservative figure the targets use)."""
    wg = res["wiregrad"]["steps_per_s"]
    peers = [res[k]["steps_per_s"] for k in ("torch", "torch_1t") if res.get(k)]
    row["ratio_threads"] = wg / res["torch"]["steps_per_s"] if res.get("torch") else None
    row["ratio"] = wg / max(peers) if peers else None


def dispatch_count(session) -> int:
    from app.session import TRAIN_PHASES
    phases = getattr(session, "train_phases", TRAIN_PHASES)
    return sum(len(session.low.program.phases.get(p, ())) for p in phases)


# ---------------------------------------------------------------------------- M1

def matmul_program(n: int):
    from gpu.program import Program, Tensor
    import app.model.lower as lower
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    prog = Program()
    prog.add(Tensor("a", a.size, init=a.ravel()))
    prog.add(Tensor("b", b.size, init=b.ravel()))
    prog.add(Tensor("c", n * n))
    for d in lower.matmul_dispatches("a", "b", "c", n, n, n, sources=prog.meta.setdefault("sources", {})):
        prog.emit("mm", d)
    return prog, a, b


def bench_matmul(sizes, repeats) -> dict:
    from gpu.engine import Engine
    out = {}
    for n in sizes:
        say(f"[M1] matmul {n}^3 ...")
        prog, a, b = matmul_program(n)
        eng = Engine(prog)
        eng.run(["mm"])
        c = eng.read("c").reshape(n, n)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        err = float(np.abs(c - ref).max() / np.abs(ref).max())
        flop = 2.0 * n ** 3

        def wg_run(reps):
            eng.run(["mm"], repeat=reps)
            eng.device.queue.read_buffer(eng.buffers["c"], size=4)     # wait for the GPU

        reps = max(1, int(0.5 / max(timed(wg_run, 1), 1e-3)))
        wg, npy = [], []
        for _ in range(repeats):
            wg.append(flop * reps / timed(wg_run, reps) / 1e9)
            npy.append(flop * reps / timed(lambda: [a @ b for _ in range(reps)]) / 1e9)
        eng.destroy()
        out[str(n)] = {"gflops": statistics.median(wg), "numpy_gflops": statistics.median(npy),
                       "ratio": statistics.median(wg) / statistics.median(npy), "max_rel_error": err}
    return out


# ---------------------------------------------------------------------------- L1

def latency_child(disk_cache: bool, warm: bool = False) -> dict:
    """Runs in a fresh process: device first (the editor has one before Train is pressed),
    optionally gpu.engine.warm_up (what an editor that calls it at start-up would have done),
    then Session + first finished step with nothing of it compiled, then Reset."""
    from gpu import shaders
    from gpu.device import get_device
    from gpu.engine import warm_up
    from app.session import Session
    t = time.perf_counter()
    device = get_device()
    device_s = time.perf_counter() - t
    warm_s = warm_up(device) if warm else 0.0
    doc = workload_docs()["W2"][1]
    t0 = time.perf_counter()
    s = Session(doc)
    t1 = time.perf_counter()
    s.run(1, stats=True)
    cold = time.perf_counter() - t0
    compiled = len(shaders._cache_for(device))
    s.close()
    t2 = time.perf_counter()
    s = Session(doc)
    s.run(1, stats=True)
    reset = time.perf_counter() - t2
    recompiled = len(shaders._cache_for(device)) - compiled
    s.close()
    return {"device_s": device_s, "warm_up_s": warm_s, "cold_s": cold, "cold_build_s": t1 - t0, "cold_first_step_s": cold - (t1 - t0),
            "reset_s": reset, "pipelines": compiled, "pipelines_compiled_on_reset": recompiled,
            "mesa_disk_cache": disk_cache}


def bench_latency(repeats: int) -> dict:
    out = {}
    for disk_cache, warm in ((False, False), (True, False), (False, True)):
        env = dict(os.environ)
        if not disk_cache:
            env["MESA_SHADER_CACHE_DISABLE"] = "true"
        runs = []
        for i in range(repeats + (1 if disk_cache else 0)):   # with the cache: a first run fills it
            say(f"[L1] fresh process (Mesa disk cache {'on' if disk_cache else 'off'}"
                f"{', wgpu warmed up at start' if warm else ''}) ...")
            cmd = [sys.executable, str(Path(__file__).resolve()), "--latency-child"]
            if disk_cache:
                cmd.append("--disk-cache")
            if warm:
                cmd.append("--warm-up")
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
            if p.returncode != 0:
                raise RuntimeError(f"latency child failed:\n{p.stderr[-2000:]}")
            if not (disk_cache and i == 0):
                runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0] if isinstance(runs[0][k], float)}
        med["pipelines"] = runs[0]["pipelines"]
        med["pipelines_compiled_on_reset"] = max(r["pipelines_compiled_on_reset"] for r in runs)
        out["warm_up" if warm else "disk_cache" if disk_cache else "no_disk_cache"] = med
    res = dict(out["no_disk_cache"])
    res["with_mesa_disk_cache"] = out["disk_cache"]
    res["after_warm_up"] = out["warm_up"]
    return res


# ---------------------------------------------------------------------------- scaling

def scaling_docs(quick: bool):
    widths = [64, 128, 256, 512, 1024] + ([] if quick else [2048])
    depths = [2, 4, 8, 16] + ([] if quick else [32])
    data = synthetic(4096, 64, 10)
    opt = {"name": "adam", "lr": 0.001}
    for w in widths:
        yield "width", w, mlp_doc(64, [w, w], 10, "relu", "softmax_cross_entropy", data, 64, opt)
    for d in depths:
        yield "depth", d, mlp_doc(64, [64] * d, 10, "relu", "softmax_cross_entropy", data, 64, opt)


def bench_scaling(torch, quick: bool, repeats: int, seconds: float) -> dict:
    out = {"width": [], "depth": [], "setup": "input 64 -> [Dense(w)+ReLU] x d -> Dense(10) -> softmax CE, batch 64, Adam; "
                                              "width sweep: d = 2; depth sweep: w = 64"}
    for axis, value, doc in scaling_docs(quick):
        say(f"[S] {axis} {value} ...")
        wg = WiregradRunner(doc)
        runners = {"wiregrad": wg.steps}
        threads = torch.get_num_threads() if torch is not None else None
        if torch is not None:
            runners.update(torch_runners(torch, wg.session, threads))
        res = compare(runners, repeats, seconds)
        if torch is not None:
            torch.set_num_threads(threads)
        wg.close()
        row = {axis: value, "wiregrad": res["wiregrad"]["steps_per_s"], "fused": wg.session.low.program.meta.get("fused"),
               "torch_threads": res["torch"]["steps_per_s"] if torch else None,
               "torch_1thread": res["torch_1t"]["steps_per_s"] if res.get("torch_1t") else None}
        peers = [v for v in (row["torch_threads"], row["torch_1thread"]) if v]
        row["torch"] = max(peers) if peers else None
        row["ratio"] = row["wiregrad"] / row["torch"] if peers else None
        out[axis].append(row)
    return out


def plot_scaling(scaling: dict, path: Path, title: str) -> None:
    """Two log-log panels (steps/s against width, against depth), drawn with pyqtgraph offscreen
    (matplotlib is not a dependency)."""
    import math
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from pyqtgraph.exporters import ImageExporter
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([])
    pg.setConfigOptions(background="w", foreground="k", antialias=True)
    win = pg.GraphicsLayoutWidget()
    win.resize(1200, 560)
    win.addLabel(title, row=0, col=0, colspan=2, size="12pt")
    win.addLabel(scaling.get("setup", ""), row=1, col=0, colspan=2, size="9pt")
    styles = {"wiregrad": ("#16a085", "o", "Wiregrad (lavapipe)"), "torch": ("#d35400", "s", "PyTorch CPU (faster thread count)")}
    values = [r.get(e) for axis in ("width", "depth") for r in scaling.get(axis, []) for e in styles if r.get(e)]
    lo, hi = (math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))) if values else (0, 4)
    yticks = [(math.log10(m * 10 ** d), f"{m * 10 ** d:g}") for d in range(lo, hi + 1) for m in (1, 2, 5)]
    for col, axis in enumerate(("width", "depth")):
        rows = scaling.get(axis) or []
        p = win.addPlot(row=2, col=col)
        p.setLogMode(x=True, y=True)
        p.showGrid(x=True, y=True, alpha=0.25)
        p.setLabel("bottom", "units in each of 2 hidden layers" if axis == "width" else "Dense(64)+ReLU layers")
        p.setLabel("left", "training steps / s")
        p.getAxis("bottom").setTicks([[(math.log10(r[axis]), str(r[axis])) for r in rows]])
        p.getAxis("left").setTicks([yticks])
        p.addLegend(offset=(-10, 10))
        for eng, (color, sym, label) in styles.items():
            pts = [(r[axis], r[eng]) for r in rows if r.get(eng)]
            if pts:
                x, y = (np.array(v, dtype=np.float64) for v in zip(*pts))
                p.plot(x, y, pen=pg.mkPen(color, width=2), symbol=sym, symbolBrush=color, symbolSize=8, name=label)
    win.show()
    app.processEvents()
    path.parent.mkdir(parents=True, exist_ok=True)
    exporter = ImageExporter(win.scene())
    exporter.parameters()["width"] = 1200
    exporter.export(str(path))
    win.close()


# ---------------------------------------------------------------------------- report

def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}", "numpy": np.__version__,
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def figure(result: dict, path: str):
    cur = result
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def evaluate_targets(result: dict) -> dict:
    out = {}
    for key, (path, op, threshold, wording) in TARGETS.items():
        value = figure(result, path)
        met = None if value is None else (value >= threshold if op == ">=" else value < threshold)
        out[key] = {"target": wording, "value": value, "threshold": threshold, "met": met}
    return out


def fmt(v, spec=".0f", width=10):
    return f"{'-':>{width}}" if v is None else f"{v:{width}{spec}}"


def print_table(result: dict) -> None:
    print(f"\nadapter: {result['adapter']}")
    print(f"machine: {result['machine']['cpu']}, {result['machine']['cores']} cores; "
          + (f"torch {result['torch_version']} with {result['torch_threads']} threads" if result["torch_version"]
             else "PyTorch not installed (pip install -e '.[bench]'): Wiregrad's figures alone")
          + (f" on {result['torch_device']}" if result.get("torch_device") not in (None, "cpu") else ""))
    w = result.get("workloads", {})
    if w:
        t = result["torch_threads"]
        torch_head = f"torch {t}t/s" if t else "torch/s"
        print(f"\n{'workload':<18}{'batch':>6}{'disp/step':>10}{'wiregrad/s':>12}{torch_head:>13}"
              f"{'torch 1t/s':>12}{'ratio':>8}{'vs best':>9}")
        for key, r in w.items():
            pt = r["torch"]["steps_per_s"] if r["torch"] else None
            p1 = r["torch_1thread"]["steps_per_s"] if r.get("torch_1thread") else None
            print(f"{key + ' ' + r['name']:<18}{r['batch']:>6}{r['dispatches_per_step']:>10}"
                  f"{r['wiregrad']['steps_per_s']:12.1f}{fmt(pt, '.1f', 13)}{fmt(p1, '.1f', 12)}"
                  f"{fmt(r['ratio_threads'], '.2f', 8)}{fmt(r['ratio'], '.2f', 9)}")
    m = result.get("M1")
    if m:
        print(f"\n{'matmul':<18}{'GFLOP/s':>10}{'numpy':>10}{'ratio':>8}{'rel err':>10}")
        for n, r in m.items():
            print(f"{'M1 ' + n + '^3':<18}{r['gflops']:10.2f}{r['numpy_gflops']:10.1f}{r['ratio']:8.3f}{r['max_rel_error']:10.1e}")
    lat = result.get("L1")
    if lat:
        print(f"\nL1 digits MLP: first step {lat['cold_s']:.3f} s cold (build {lat['cold_build_s']:.3f} s + "
              f"step {lat['cold_first_step_s']:.3f} s, {lat['pipelines']} pipelines, Mesa disk cache off); "
              f"{lat['with_mesa_disk_cache']['cold_s']:.3f} s with the disk cache; "
              f"{lat['after_warm_up']['cold_s']:.3f} s cold after gpu.engine.warm_up at start-up "
              f"({lat['after_warm_up']['warm_up_s']:.3f} s); "
              f"Reset {lat['reset_s'] * 1000:.1f} ms, compiled on Reset: {lat['pipelines_compiled_on_reset']}")
    s = result.get("scaling")
    if s:
        for axis in ("width", "depth"):
            print(f"\nscaling by {axis:<8}{'wiregrad/s':>12}{'torch/s':>10}{'ratio':>8}   (torch: the faster thread count)")
            for r in s[axis]:
                print(f"{'':<10}{r[axis]:>8}{r['wiregrad']:12.1f}{fmt(r['torch'], '.1f')}{fmt(r['ratio'], '.2f', 8)}")
    t = result.get("targets", {})
    if t:
        print("\ntargets:")
        for key, r in t.items():
            state = "not measured" if r["met"] is None else ("met" if r["met"] else "MISSED")
            val = "-" if r["value"] is None else f"{r['value']:.3g}"
            print(f"  {r['target']:<56} {val:>8}  {state}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated subset of W1,W2,W3,W4,M1,L1,S")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, shorter timings, smaller sweep")
    ap.add_argument("--repeats", type=int, help="timed repeats per engine (default 5, quick 3)")
    ap.add_argument("--seconds", type=float, help="target seconds per repeat (default 1.0, quick 0.4)")
    ap.add_argument("--torch-threads", type=int, default=None,
                    help="PyTorch threads (default: the cores lavapipe uses)")
    ap.add_argument("--no-torch", action="store_true", help="report Wiregrad alone")
    ap.add_argument("--torch-device", choices=("cpu", "cuda"), default="cpu",
                    help="where the PyTorch peer runs: cuda for the real-GPU comparison (TF32 off)")
    ap.add_argument("--json", help="write every figure and ratio to this file")
    ap.add_argument("--plot", default=str(BENCH / "out" / "scaling.png"), help="scaling plot PNG")
    ap.add_argument("--latency-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--disk-cache", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--warm-up", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.latency_child:
        print(json.dumps(latency_child(args.disk_cache, args.warm_up)))
        return 0

    repeats = args.repeats or (3 if args.quick else 5)
    seconds = args.seconds or (0.4 if args.quick else 1.0)
    only = set((args.only or "W1,W2,W3,W4,M1,L1,S").upper().split(","))
    threads = args.torch_threads or lavapipe_threads()
    global TORCH_DEVICE
    TORCH_DEVICE = args.torch_device
    torch = None if args.no_torch else torch_or_none(threads, args.torch_device)
    if torch is None:
        say("PyTorch is not installed (pip install -e '.[bench]'): reporting Wiregrad alone"
            if not args.no_torch else "--no-torch: reporting Wiregrad alone")

    from gpu.device import adapter_name
    result = {"adapter": adapter_name(), "machine": machine(), "lavapipe_threads": lavapipe_threads(),
              "torch_version": getattr(torch, "__version__", None), "torch_threads": threads if torch else None,
              "torch_device": TORCH_DEVICE if torch else None,
              "repeats": repeats, "seconds_per_repeat": seconds, "workloads": {}}
    if "L1" in only:       # first, before this process has compiled anything (it runs in children anyway)
        result["L1"] = bench_latency(1 if args.quick else 3)
    for key, (name, doc, base) in workload_docs().items():
        if key in only:
            result["workloads"][key] = run_workload(key, name, doc, base, torch, repeats, seconds)
            result[key] = {"ratio": result["workloads"][key]["ratio"],
                           "steps_per_s": result["workloads"][key]["wiregrad"]["steps_per_s"]}
    if "M1" in only:
        result["M1"] = bench_matmul([512, 1024], repeats)
    if "S" in only:
        result["scaling"] = bench_scaling(torch, args.quick, max(1, repeats - 2), seconds / 2)
        try:
            plot_scaling(result["scaling"], Path(args.plot),
                         f"Wiregrad ({result['adapter'].split(' (')[0]}) vs PyTorch CPU "
                         f"(the faster of {threads} threads and 1): training steps per second")
            result["scaling_plot"] = args.plot
        except Exception as e:     # a plot is a nicety; the figures are in the table and JSON
            say(f"could not draw the scaling plot: {e}")
    result["targets"] = evaluate_targets(result)
    print_table(result)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2, allow_nan=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
