"""Per-layer sums over more than 65535 rows. lavapipe's loop limiter silently ends an
invocation's loops once it has run 65535 iterations in all, so a gradient that one
invocation summed over N·Ho·Wo positions (Conv2D's weights and bias) or over the batch
(Scale's weights, LayerNorm's γ and β, Add's broadcast operand) came out short. Each kernel
now sums in a workgroup of 64 strided shares (see wgsl/layers/dense.wgsl bias_grad).

Each case lowers a one-layer graph through the kind's own `lower` (so its workgroup counts
and uniforms are the ones training uses), then runs just that layer's gradient kernels on
chosen dy / x against numpy float64. Gradient outputs start non-zero: the kernels add.
"""
from __future__ import annotations

import numpy as np
import pytest

from app.model.document import Document
from app.model.lower import lower
from gpu.program import Program, Tensor

pytestmark = pytest.mark.gpu


def _lowered(kind, params, shape, batch, extra_inputs=()):
    doc = Document()
    k = doc.add_node(kind, params, node_id="k")
    i = doc.add_node("input", {"shape": list(shape)}, node_id="in_x")
    # a Scale in front, so the layer's input has a gradient (its dx kernels are emitted)
    s = doc.add_node("scale", {"init": "ones"}, node_id="s")
    doc.connect(i, "y", s, "x")
    doc.connect(s, "y", k, "x" if kind != "add" else "a")
    for port, pshape in extra_inputs:      # unbatched operands: Parameter nodes
        j = doc.add_node("parameter", {"shape": list(pshape), "init": "normal"}, node_id=f"p_{port}")
        doc.connect(j, "y", k, port)
    from app.model.shapes import analyse
    a = analyse(doc)
    f = list(a.shapes[("k", "y")][1:])
    t = doc.add_node("target", {"labels": "values", "shape": f}, node_id="t")
    lo = doc.add_node("mse", node_id="mse")
    doc.connect(k, "y", lo, "pred")
    doc.connect(t, "y", lo, "target")
    return lower(doc, batch, gradients=True, fuse=False).program


def _run_kernels(build, prog, node, entries, data):
    """Runs `node`'s backward dispatches whose entry is in `entries`, alone, on tensors named
    as the lowering named them and filled from `data` (name -> array); returns the engine."""
    ds = [d for d in prog.phases["backward"] if d.node == node and d.entry in entries]
    assert sorted({d.entry for d in ds}) == sorted(entries), [d.entry for d in prog.phases["backward"]]
    p = Program()
    for d in ds:
        for b in d.bindings:
            if b.tensor not in p.tensors:
                size = prog.tensors[b.tensor].size
                init = np.asarray(data[b.tensor], np.float32).ravel()
                assert init.size == size, (b.tensor, init.size, size)
                p.add(Tensor(b.tensor, size, init=init))
        p.emit("k", d)
    e = build(p)
    e.run(["k"])
    return e


def _close(got, want, what, tol=1e-5):
    want = np.asarray(want, np.float64).ravel()
    err = np.abs(np.asarray(got, np.float64).ravel() - want).max() / np.abs(want).max()
    assert err < tol, f"{what}: relative error {err:.3g}"


def _names(prog, entry, node="k"):
    d = next(d for d in prog.phases["backward"] if d.node == node and d.entry == entry)
    return {b.name: b.tensor for b in d.bindings}


# ---------------------------------------------------------------- Conv2D (70,560 positions)

N, H, W = 90, 28, 28            # 'same' 3x3: N·Ho·Wo = 70560 > 65535


def test_conv2d_gemm_bias_gradient(build):
    """One group: the implicit GEMM path's bias_rows over the (N·Ho·Wo, O) row matrix."""
    prog = _lowered("conv2d", {"channels": 2, "kernel": 3, "padding": "same"}, (1, H, W), N)
    t = _names(prog, "bias_rows")
    rng = np.random.default_rng(0)
    rows = (1.0 + rng.standard_normal((N * H * W, 2))).astype(np.float32)
    db0 = rng.standard_normal(2).astype(np.float32)
    e = _run_kernels(build, prog, "k", ["bias_rows"], {t["rows"]: rows, t["db"]: db0})
    _close(e.read(t["db"]), db0 + rows.astype(np.float64).sum(0), "conv2d bias_rows")
    e.destroy()


def test_conv2d_direct_weight_and_bias_gradients(build):
    """Depthwise (the direct kernels): backward_w and backward_b over every position."""
    from app.model.layers.conv2d import conv2d
    prog = _lowered("conv2d", {"channels": 2, "kernel": 3, "padding": "same", "depthwise": True},
                    (2, H, W), N)
    tw, tb = _names(prog, "backward_w"), _names(prog, "backward_b")
    rng = np.random.default_rng(1)
    x = (0.5 + rng.standard_normal((N, 2, H, W))).astype(np.float32)
    dy = (1.0 + rng.standard_normal((N, 2, H, W))).astype(np.float32)
    dw0 = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)
    db0 = rng.standard_normal(2).astype(np.float32)
    e = _run_kernels(build, prog, "k", ["backward_w", "backward_b"],
                     {tw["x"]: x, tw["dy"]: dy, tw["dw"]: dw0, tb["db"]: db0})
    # dw[o, 0, ky, kx] = Σ dy[:, o] · (x[:, o] shifted by the tap), from the reference's linearity
    x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
    want = np.zeros((2, 1, 3, 3))
    for ky in range(3):
        for kx in range(3):
            unit = np.zeros((2, 1, 3, 3))
            unit[:, 0, ky, kx] = 1.0
            want[:, 0, ky, kx] = (conv2d(x64, unit, None, padding="same", groups=2) * dy64).sum((0, 2, 3))
    _close(e.read(tw["dw"]), dw0 + want, "conv2d backward_w")
    _close(e.read(tb["db"]), db0 + dy64.sum((0, 2, 3)), "conv2d backward_b")
    e.destroy()


# ---------------------------------------------------------------- batch 70,000

B = 70000


def test_scale_weight_gradient(build):
    prog = _lowered("scale", {}, (3,), B)
    t = _names(prog, "backward_w")
    rng = np.random.default_rng(2)
    x = (0.5 + rng.standard_normal((B, 3))).astype(np.float32)
    dy = (1.0 + rng.standard_normal((B, 3))).astype(np.float32)
    dw0 = rng.standard_normal(3).astype(np.float32)
    e = _run_kernels(build, prog, "k", ["backward_w"], {t["x"]: x, t["dy"]: dy, t["dw"]: dw0})
    _close(e.read(t["dw"]), dw0 + (x.astype(np.float64) * dy).sum(0), "scale backward_w")
    e.destroy()


def test_layer_norm_gamma_beta_gradients(build):
    prog = _lowered("layer_norm", {}, (4,), B)
    t = _names(prog, "backward_w")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((B, 4)).astype(np.float32)
    dy = (1.0 + rng.standard_normal((B, 4))).astype(np.float32)
    mean = x.mean(1).astype(np.float32)
    rstd = (1.0 / np.sqrt(x.var(1) + 1e-5)).astype(np.float32)
    stat = np.concatenate([mean, rstd])
    dg0, db0 = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    e = _run_kernels(build, prog, "k", ["backward_w"],
                     {t["x"]: x, t["dy"]: dy, t["stat"]: stat, t["dgamma"]: dg0, t["dbeta"]: db0})
    xhat = (x.astype(np.float64) - mean[:, None]) * rstd[:, None]
    # dγ sums dy · x̂, whose terms are of both signs: compare against Σ|dy · x̂|
    got = e.read(t["dgamma"]).astype(np.float64)
    want = dg0 + (dy * xhat).sum(0)
    assert np.abs(got - want).max() < 1e-5 * np.abs(dy * xhat).sum(0).max()
    assert np.abs(got - dg0 - (dy * xhat)[:60000].sum(0)).max() > 1.0     # the last rows count
    _close(e.read(t["dbeta"]), db0 + dy.astype(np.float64).sum(0), "layer_norm dβ")
    e.destroy()


def test_add_broadcast_gradient(build):
    """b (2, 1) broadcast onto a (?, 2, 1000) at batch 70: 70·1000 = 70000 positions per value."""
    prog = _lowered("add", {"broadcast": True}, (2, 1000), 70, extra_inputs=[("b", (2, 1))])
    t = _names(prog, "grad_b")
    rng = np.random.default_rng(4)
    dy = (1.0 + rng.standard_normal((70, 2, 1000))).astype(np.float32)
    dx0 = rng.standard_normal(2).astype(np.float32)
    e = _run_kernels(build, prog, "k", ["grad_b"], {t["dy"]: dy, t["dx"]: dx0})
    _close(e.read(t["dx"]), dx0 + dy.astype(np.float64).sum((0, 2)), "add grad_b")
    e.destroy()


def test_global_avg_pool_over_70000_positions(build):
    """The forward's mean over positions: 3 rows of 1 x 280 x 250 = 70000 positions."""
    prog = _lowered("global_avg_pool", {}, (1, 280, 250), 3)
    d = next(d for d in prog.phases["forward"] if d.node == "k")
    t = {b.name: b.tensor for b in d.bindings}
    rng = np.random.default_rng(6)
    x = (1.0 + rng.standard_normal((3, 1, 280, 250))).astype(np.float32)
    p = Program()
    p.add(Tensor(t["x"], x.size, init=x.ravel()))
    p.add(Tensor(t["y"], 3))
    p.emit("k", d)
    e = build(p)
    e.run(["k"])
    _close(e.read(t["y"]), x.astype(np.float64).mean((1, 2, 3)), "global_avg_pool forward")
    e.destroy()
