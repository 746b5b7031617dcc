"""Batches past 65535 rows. Two limits meet there: WebGPU's 65535 workgroups per dispatch
dimension (gpu.program.groups_1d spills into y; kernels take linear_id), and lavapipe's loop
limiter, which silently ends an invocation's loops once it has run 65535 iterations in all,
so no kernel may sum a batch's rows in one invocation (Dense's bias gradient did, and the
generated dW product over K = batch did with one K step per iteration: a gradcheck of the
spiral example at batch 70000 was off by 0.43, at 65537 by 1.0).

A 2 -> 2 (tanh) -> 1 network at batch 70000 against numpy float64 gradients, through the plain
Program (WIREGRAD_FUSE=0) and the per-layer fused one (its quick and its fast kernels), and the
kernels on their own: the bias gradient, the generated matmul in K chunks (every epilogue
that may be split), the plain ops/matmul.wgsl, and dispatches that spill into y.
"""
from __future__ import annotations

import numpy as np
import pytest

from gpu.program import Binding, Dispatch, Program, Tensor, groups_1d

pytestmark = pytest.mark.gpu

B = 70000


def _doc():
    from app.model.document import Document
    doc = Document()
    x = doc.add_node("input", {"shape": [2]}, node_id="input1")
    d1 = doc.add_node("dense", {"units": 2, "bias": True}, node_id="dense1")
    a = doc.add_node("tanh", node_id="tanh1")
    d2 = doc.add_node("dense", {"units": 1, "bias": True}, node_id="dense2")
    t = doc.add_node("target", {"labels": "values", "shape": [1]}, node_id="target1")
    lo = doc.add_node("mse", node_id="loss1")
    doc.connect(x, "y", d1, "x")
    doc.connect(d1, "y", a, "x")
    doc.connect(a, "y", d2, "x")
    doc.connect(d2, "y", lo, "pred")
    doc.connect(t, "y", lo, "target")
    return doc


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, 2)).astype(np.float32)
    # a target with a non-zero mean, so every gradient is a sum of same-signed terms and rows
    # left out show (each row is ~1/70000 of it, far above float32 round-off)
    t = (3.0 + rng.standard_normal((B, 1))).astype(np.float32)
    return x, t


def _numpy_grads(w, x, t):
    """dC/dθ in float64 for C = mean over rows of (z - t)^2."""
    x, t = x.astype(np.float64), t.astype(np.float64)
    w1, b1, w2, b2 = (w[k].astype(np.float64) for k in ("dense1.w", "dense1.b", "dense2.w", "dense2.b"))
    h = np.tanh(x @ w1.reshape(2, 2) + b1)
    z = h @ w2.reshape(2, 1) + b2
    dz = 2.0 * (z - t) / len(x)
    da = (dz @ w2.reshape(2, 1).T) * (1.0 - h * h)
    return {"dense1.w": (x.T @ da).ravel(), "dense1.b": da.sum(0),
            "dense2.w": (h.T @ dz).ravel(), "dense2.b": dz.sum(0)}


def _check(engine, weights, x, t, what):
    want = _numpy_grads(weights, x, t)
    for name, g in want.items():
        got = engine.read(f"d:{name}").astype(np.float64)
        err = np.abs(got - g).max() / np.abs(g).max()
        assert err < 1e-4, f"{what}: d:{name} relative error {err:.3g} (got {got}, want {g})"


@pytest.mark.parametrize("fuse", ["0", "1"])
def test_training_gradients_at_batch_70000(gpu_device, monkeypatch, fuse):
    from gpu.engine import Engine
    from app.model.lower import lower
    monkeypatch.setenv("WIREGRAD_FUSE", fuse)
    x, t = _data()
    low = lower(_doc(), B, optimizer={"name": "sgd", "lr": 0.1}, data_rows=B)
    prog = low.program
    assert prog.meta.get("fused") == (None if fuse == "0" else "layers")
    prog.meta.pop("tiers", None)        # no tiering: each run runs exactly its phase's kernels
    engine = Engine(prog, gpu_device)
    try:
        engine.write("data:input1", x)
        engine.write("data:target1", t)
        engine.write("perm", np.arange(B, dtype=np.uint32))
        # fused: the fast kernels ("step") and their quick twins ("step_quick"), each run directly
        runs = [("step",), ("step_quick",)] if fuse == "1" else [("feed", "forward", "backward", "update")]
        for phases in runs:
            engine.write("counters", np.zeros(2, np.uint32))
            weights = {k: engine.read(k) for k in ("dense1.w", "dense1.b", "dense2.w", "dense2.b")}
            engine.run(phases)
            _check(engine, weights, x, t, f"WIREGRAD_FUSE={fuse}, {phases}")
    finally:
        engine.destroy()


def test_gradcheck_route_at_batch_70000(gpu_device):
    """The forward/backward Program gradcheck runs (no optimizer: the plain lowering)."""
    from gpu.engine import Engine
    from app.model.lower import lower
    x, t = _data(1)
    low = lower(_doc(), B, gradients=True)
    engine = Engine(low.program, gpu_device)
    try:
        engine.write(low.feeds["input1"], x)
        engine.write(low.feeds["target1"], t)
        weights = {k: low.program.tensors[k].init for k in ("dense1.w", "dense1.b", "dense2.w", "dense2.b")}
        engine.run(["forward", "backward"])
        _check(engine, weights, x, t, "gradients=True")
    finally:
        engine.destroy()


# ---------------------------------------------------------------------------- kernels

def _run(build, prog, phase="k"):
    e = build(prog)
    e.run([phase])
    return e


@pytest.mark.parametrize("rows,cols", [(B, 3), (3, 66000)])   # many rows; columns spilling into y
def test_dense_bias_grad(build, rows, cols):
    rng = np.random.default_rng(rows + cols)
    dy = (1.0 + rng.standard_normal((rows, cols))).astype(np.float32)
    db0 = rng.standard_normal(cols).astype(np.float32)
    groups = groups_1d(cols * 64)
    assert (groups[1] > 1) == (cols > 65535)
    p = Program()
    p.add(Tensor("dy", dy.size, init=dy.ravel()))
    p.add(Tensor("db", cols, init=db0))
    p.emit("k", Dispatch("layers/dense.wgsl", "bias_grad", (Binding("dy", "dy"), Binding("db", "db", True)),
                         groups, (("rows", "u32", rows), ("cols", "u32", cols))))
    e = _run(build, p)
    want = db0 + dy.astype(np.float64).sum(0)
    assert np.abs(e.read("db") - want).max() <= 1e-5 * np.abs(want).max()
    e.destroy()


def _matmul_program(a, b, m, n, k, ta, tb, c0, bias):
    p = Program()
    p.add(Tensor("a", a.size, init=(a.T if ta else a).ravel().copy()))
    p.add(Tensor("b", b.size, init=(b.T if tb else b).ravel().copy()))
    p.add(Tensor("c", m * n, init=c0.ravel()))
    p.add(Tensor("bias", n, init=bias))
    p.add(Tensor("db", n, init=np.full(n, 7.0, np.float32)))    # overwritten by colsum
    return p


@pytest.mark.parametrize("pick", ["choose", "quick"])
def test_generated_matmul_in_k_chunks(build, pick):
    """dW-shaped products over K = 70000 (vec4 along K, and K % 4 != 0: one step an
    iteration), every epilogue a split product may carry."""
    from app.model import matmul
    rng = np.random.default_rng(5)
    cases = [(3, 5, B, True, False), (4, 8, B + 1, True, False), (3, 4, B + 3, False, False),
             (2, 3, B + 2, False, True)]
    for m, n, k, ta, tb in cases:
        for acc, bias, colsum in [(False, False, False), (True, False, False), (False, True, False),
                                  (False, False, True)]:
            if colsum and tb:
                continue
            a = (0.5 + rng.standard_normal((m, k))).astype(np.float32)
            b = (0.5 + rng.standard_normal((k, n))).astype(np.float32)
            c0 = rng.standard_normal((m, n)).astype(np.float32) if acc else np.full((m, n), 5.0, np.float32)
            bb = rng.standard_normal(n).astype(np.float32)
            p = _matmul_program(a, b, m, n, k, ta, tb, c0, bb)
            v = getattr(matmul, pick)(m, n, k, ta, tb, acc=acc, bias=bias, colsum=colsum)
            assert v.ksplit
            ds = matmul.dispatches(v, "a", "b", "c", m, n, k, bias="bias", db="db",
                                   sources=p.meta.setdefault("sources", {}))
            assert len(ds) == len(matmul.chunks(v, k)) >= 3
            for d in ds:
                p.emit("k", d)
            e = _run(build, p)
            want = (c0 if acc else 0) + a.astype(np.float64) @ b + (bb if bias else 0)
            got = e.read("c").reshape(m, n)
            assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max(), (m, n, k, ta, tb, acc, bias, colsum, v)
            if colsum:
                want_db = b.astype(np.float64).sum(0)
                assert np.abs(e.read("db") - want_db).max() <= 1e-5 * np.abs(want_db).max()
            e.destroy()
    with pytest.raises(ValueError):
        matmul.dispatch(v, "a", "b", "c", m, n, k)            # one Dispatch can't cover it


def test_generated_matmul_refuses_a_split_activation():
    from app.model import matmul
    with pytest.raises(ValueError):
        matmul.choose(8, 8, B, act="//! include layers/tanh.wgsl as act_tanh")


def test_generated_matmul_spills_into_y(build):
    """4x4 blocks of an (70000, 132) output in workgroups of 8: past 65535 groups."""
    from app.model import matmul
    m, n, k = B, 132, 3
    rng = np.random.default_rng(2)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    p = _matmul_program(a, b, m, n, k, False, False, np.zeros((m, n), np.float32), np.zeros(n, np.float32))
    v = matmul.quick(m, n, k)
    d = matmul.dispatch(v, "a", "b", "c", m, n, k, sources=p.meta.setdefault("sources", {}))
    assert d.groups[1] > 1
    p.emit("k", d)
    e = _run(build, p)
    assert np.abs(e.read("c").reshape(m, n) - a.astype(np.float64) @ b).max() <= 1e-5
    e.destroy()


@pytest.mark.parametrize("ta,tb", [(True, False), (False, True)])
def test_plain_matmul_wgsl_in_k_chunks(build, ta, tb):
    """wgsl/ops/matmul.wgsl (lower.matmul_dispatches without generated sources)."""
    from app.model.lower import matmul_dispatches
    m, n, k = 5, 6, B + 1
    rng = np.random.default_rng(3)
    a = (0.5 + rng.standard_normal((m, k))).astype(np.float32)
    b = (0.5 + rng.standard_normal((k, n))).astype(np.float32)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    bb = rng.standard_normal(n).astype(np.float32)
    for acc, bias in ((True, None), (False, "bias")):
        p = _matmul_program(a, b, m, n, k, ta, tb, c0, bb)
        ds = matmul_dispatches("a", "b", "c", m, n, k, ta=ta, tb=tb, acc=acc, bias=bias)
        assert len(ds) >= 3
        for d in ds:
            p.emit("k", d)
        e = _run(build, p)
        want = (c0 if acc else 0) + a.astype(np.float64) @ b + (bb if bias else 0)
        assert np.abs(e.read("c").reshape(m, n) - want).max() <= 1e-5 * np.abs(want).max(), (acc, bias)
        e.destroy()

