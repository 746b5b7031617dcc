"""BatchNorm (training and evaluation modes, running statistics as state), LayerNorm and
Dropout (counter-based masks) on the GPU against their references, finite differences and
numpy transcriptions of their rules."""
from __future__ import annotations

import numpy as np
import pytest

from app.model.document import Document
from app.model.layers import get_kind
from app.model.layers.dropout import mask as dropout_mask
from app.model.layers.spec import Mode
from app.model.lower import lower
from app.model.shapes import analyse, describe
from layers_harness import check_kind, graph, rel_error, run


def params(kind, **p):
    return {**get_kind(kind).defaults(), **p}


# ---- BatchNorm -----------------------------------------------------------------------------

BN_CASES = [((5,), 7), ((3, 4, 5), 2), ((3, 7), 1), ((2, 3, 3), 65), ((1, 5, 3), 3), ((67,), 2)]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape,batch", BN_CASES)
def test_batch_norm_matches_reference_and_finite_differences(gpu_device, shape, batch, training):
    check_kind(gpu_device, "batch_norm", params("batch_norm", momentum=0.3), {"x": shape}, batch,
               training=training)


def _bn_engine(gpu_device, shape, batch, training, momentum=0.1, gradients=False):
    from gpu.engine import Engine
    doc = graph("batch_norm", params("batch_norm", momentum=momentum), {"x": shape})
    a = analyse(doc)
    low = lower(doc, batch, analysis=a, gradients=gradients, training=training)
    return doc, a, low, Engine(low.program, gpu_device)


def test_batch_norm_state_is_not_learned():
    doc = graph("batch_norm", params("batch_norm"), {"x": (3, 4, 4)})
    a = analyse(doc)
    low = lower(doc, 2, analysis=a, optimizer={"name": "sgd", "lr": 0.1})
    assert set(low.params) >= {"k.gamma", "k.beta"} and set(low.buffers) == {"k.running_mean", "k.running_var"}
    assert low.training
    tensors = low.program.tensors
    assert "d:k.gamma" in tensors and "d:k.running_mean" not in tensors and "d:k.running_var" not in tensors
    updated = {b.tensor for d in low.program.phases["update"] for b in d.bindings if b.write}
    assert "k.gamma" in updated and "k.running_mean" not in updated
    assert all(s[2] not in low.buffers for s in low.stats)
    assert a.param_count == 3 + 3 + 48 and a.state_count == 6 and a.node_param_count("k") == 6
    text = describe(doc, a)
    learn, state = text.split("state (saved with the weights, not learned):")
    assert "k.gamma" in learn and "k.running_mean" not in learn
    assert "k.running_mean" in state and "k.running_var" in state and "total state: 6" in state


def test_batch_norm_training_and_evaluation_differ_as_specified(gpu_device):
    """Training normalises with the batch's statistics; evaluation with the running ones."""
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(6, 3, 4, 5)).astype(np.float32).astype(np.float64)
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    rm, rv = rng.normal(size=3), rng.uniform(0.5, 2.0, size=3)
    outs = {}
    for training in (True, False):
        doc, a, low, engine = _bn_engine(gpu_device, (3, 4, 5), 6, training)
        try:
            for name, value in (("k.gamma", gamma), ("k.beta", beta), ("k.running_mean", rm), ("k.running_var", rv),
                                ("x_x.w", np.ones((3, 4, 5)))):
                engine.write(name, value)
            engine.write(low.feeds["in_x"], x)
            engine.run(["forward"])
            outs[training] = engine.read(low.outputs[("k", "y")]).reshape(x.shape)
            after = engine.read("k.running_mean"), engine.read("k.running_var")
        finally:
            engine.destroy()
        if training:      # the running statistics moved (by momentum 0.1) towards the batch's
            assert rel_error(after[0], 0.9 * rm + 0.1 * x.mean(axis=(0, 2, 3))) < 1e-5
        else:             # evaluation leaves them alone
            np.testing.assert_array_equal(after[0], rm.astype(np.float32))
            np.testing.assert_array_equal(after[1], rv.astype(np.float32))
    b = lambda v: v.reshape(1, 3, 1, 1)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    assert rel_error(outs[True], b(gamma) * (x - b(mean)) / np.sqrt(b(var) + 1e-5) + b(beta)) < 1e-5
    assert rel_error(outs[False], b(gamma) * (x - b(rm)) / np.sqrt(b(rv) + 1e-5) + b(beta)) < 1e-5
    assert rel_error(outs[True], outs[False]) > 0.1
    # and the references say the same
    kind = get_kind("batch_norm")
    w = {"gamma": gamma, "beta": beta, "running_mean": rm, "running_var": rv}
    p = params("batch_norm")
    assert rel_error(outs[True], kind.reference({"x": x}, w, p, mode=Mode(training=True))["y"]) < 1e-5
    assert rel_error(outs[False], kind.reference({"x": x}, w, p)["y"]) < 1e-5     # evaluation by default


def transcribe_running_stats(batches, momentum, axes):
    """PyTorch's rule: running ← (1 − momentum)·running + momentum·batch statistic, with the
    unbiased variance for running_var."""
    rm, rv = 0.0, 1.0
    for x in batches:
        m = x.size // x.shape[1]
        rm = (1 - momentum) * rm + momentum * x.mean(axis=axes)
        rv = (1 - momentum) * rv + momentum * x.var(axis=axes) * m / (m - 1)
    return rm, rv


@pytest.mark.parametrize("shape,axes", [((4,), (0,)), ((3, 5, 2), (0, 2, 3))])
def test_batch_norm_running_statistics_over_several_steps(gpu_device, shape, axes):
    rng = np.random.default_rng(1)
    batches = [rng.normal(rng.normal(), rng.uniform(0.5, 3), size=(8, *shape)).astype(np.float32).astype(np.float64)
               for _ in range(5)]
    doc, a, low, engine = _bn_engine(gpu_device, shape, 8, True, momentum=0.3, gradients=True)
    try:
        engine.write("x_x.w", np.ones(shape))
        for x in batches:
            engine.write(low.feeds["in_x"], x)
            engine.run(["forward", "backward"])
        rm, rv = engine.read("k.running_mean"), engine.read("k.running_var")
    finally:
        engine.destroy()
    want_m, want_v = transcribe_running_stats(batches, 0.3, axes)
    assert rel_error(rm, want_m) < 1e-5 and rel_error(rv, want_v) < 1e-5


def _bn_mlp() -> Document:
    doc = Document()
    doc.training = {"dataset": {"name": "digits"}, "optimizer": {"name": "adam", "lr": 0.01},
                    "batch_size": 32, "epochs": 1, "seed": 3}
    doc.add_node("input", {"shape": [64]}, node_id="input1")
    doc.add_node("batch_norm", {"momentum": 0.2}, node_id="bn")
    doc.add_node("dense", {"units": 10}, node_id="dense1")
    doc.add_node("target", {"labels": "classes"}, node_id="target1")
    doc.add_node("softmax_cross_entropy", node_id="loss1")
    doc.connect("input1", "y", "bn", "x")
    doc.connect("bn", "y", "dense1", "x")
    doc.connect("dense1", "y", "loss1", "pred")
    doc.connect("target1", "y", "loss1", "target")
    return doc


def test_batch_norm_in_a_session(gpu_device, tmp_path):
    """Training steps update the running statistics from the batches the session drew;
    evaluation normalises with them; they travel with the weights (file included)."""
    from app.model.weights import load_weights, save_weights
    from app.session import Session
    from app.train import _expected_shapes
    s = Session(_bn_mlp(), device=gpu_device)
    try:
        s.run(5, stats=True)
        perm = np.random.default_rng(3).permutation(len(s.data.x_train))
        x = np.asarray(s.data.x_train, np.float32).astype(np.float64)
        batches = [x[perm[i * 32:(i + 1) * 32]] for i in range(5)]
        want_m, want_v = transcribe_running_stats(batches, 0.2, (0,))
        w = s.weights()
        assert {"bn.running_mean", "bn.running_var", "bn.gamma"} <= set(w)
        assert rel_error(w["bn.running_mean"], want_m) < 1e-5 and rel_error(w["bn.running_var"], want_v) < 1e-5
        assert "bn.running_mean" in s.last_finite

        loss, acc = s.evaluate("test")
        low, engine = s._eval
        assert not low.training
        got = engine.read(low.outputs[("bn", "y")]).reshape(low.batch, 64)
        feed = engine.read(low.feeds["input1"]).reshape(low.batch, 64).astype(np.float64)   # the last chunk
        want = w["bn.gamma"] * (feed - w["bn.running_mean"]) / np.sqrt(w["bn.running_var"] + 1e-5) + w["bn.beta"]
        assert rel_error(got, want) < 1e-5

        path = tmp_path / "w.safetensors"
        save_weights(path, s.weights())
        loaded = load_weights(path, _expected_shapes(s.doc))
        np.testing.assert_array_equal(loaded["bn.running_var"], w["bn.running_var"].astype(np.float32))
        s2 = Session(_bn_mlp(), weights=loaded, device=gpu_device)
        try:
            np.testing.assert_array_equal(s2.weights()["bn.running_mean"], w["bn.running_mean"])
            assert s2.evaluate("test") == pytest.approx((loss, acc), rel=1e-6)
        finally:
            s2.close()
    finally:
        s.close()


def test_batch_norm_shapes():
    kind = get_kind("batch_norm")
    assert kind.shape({"x": (None, 8, 4, 4)}, params("batch_norm")) == {"y": (None, 8, 4, 4)}
    ws = {w.name: w for w in kind.weights({"x": (None, 8, 4, 4)}, params("batch_norm"))}
    assert [ws[n].trainable for n in ("gamma", "beta", "running_mean", "running_var")] == [True, True, False, False]
    assert all(w.shape == (8,) for w in ws.values())
    from app.model.layers.spec import ShapeError
    with pytest.raises(ShapeError):
        kind.shape({"x": (None,)}, params("batch_norm"))


# ---- LayerNorm ------------------------------------------------------------------------------

@pytest.mark.parametrize("axes,shape,batch", [
    ("last", (5,), 3), ("last", (3, 67), 2), ("all", (3, 4, 5), 2), ("all", (1,), 1), ("last", (2, 1), 65),
    ("all", (130,), 1),
])
def test_layer_norm(gpu_device, axes, shape, batch):
    check_kind(gpu_device, "layer_norm", params("layer_norm", axes=axes), {"x": shape}, batch)


def test_layer_norm_is_the_same_in_both_modes_and_normalises_each_row():
    kind = get_kind("layer_norm")
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(4, 3, 5))
    w = {"gamma": np.ones(5), "beta": np.zeros(5)}
    y = kind.reference({"x": x}, w, params("layer_norm"))["y"]
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=-1), 1.0, rtol=1e-4)
    assert not kind.modal
    assert [w.shape for w in kind.weights({"x": (None, 3, 5)}, params("layer_norm", axes="all"))] == [(3, 5), (3, 5)]


# ---- Dropout --------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("training", [True, False])
def test_dropout_matches_reference_and_finite_differences(gpu_device, rate, training):
    check_kind(gpu_device, "dropout", params("dropout", rate=rate, seed=7), {"x": (13, 5)}, 3, training=training, step=11)


def _dropout_run(gpu_device, rate=0.3, seed=0, step=0, n=1000, batch=7, training=True, node="k", x=None):
    from gpu.engine import Engine
    doc = Document()
    doc.add_node("input", {"shape": [n]}, node_id="in")
    doc.add_node("dropout", {"rate": rate, "seed": seed}, node_id=node)
    doc.add_node("target", {"labels": "values", "shape": [n]}, node_id="t")
    doc.add_node("mse", node_id="loss")
    doc.connect("in", "y", node, "x")
    doc.connect(node, "y", "loss", "pred")
    doc.connect("t", "y", "loss", "target")
    low = lower(doc, batch, gradients=training, training=training)
    engine = Engine(low.program, gpu_device)
    try:
        x = np.random.default_rng(5).uniform(1.0, 2.0, size=(batch, n)) if x is None else x
        engine.write(low.feeds["in"], x)
        if "counters" in low.program.tensors:
            engine.write("counters", np.array([step, 0], np.uint32))
        engine.run(["forward"])
        return x.astype(np.float32), engine.read(low.outputs[(node, "y")]).reshape(batch, n), low
    finally:
        engine.destroy()


def test_dropout_same_seed_and_step_give_the_same_mask(gpu_device):
    x, y1, _ = _dropout_run(gpu_device, step=4)
    _, y2, _ = _dropout_run(gpu_device, step=4)
    np.testing.assert_array_equal(y1, y2)
    kept = y1 != 0
    np.testing.assert_array_equal(kept, dropout_mask(x.shape, 0.3, 0, "k", 4).astype(bool))   # the numpy rule
    np.testing.assert_allclose(y1[kept], x[kept] / 0.7, rtol=1e-6)
    # a new step, seed or node draws a new mask
    for other in (dict(step=5), dict(seed=1), dict(node="k2")):
        _, y3, _ = _dropout_run(gpu_device, **{"step": 4, **other})
        assert 0.3 < np.mean((y3 != 0) != kept) < 0.5, other     # about 2·0.3·0.7 = 0.42 differ


@pytest.mark.parametrize("rate", [0.05, 0.3, 0.5, 0.8])
def test_dropout_keep_rate_within_statistical_bounds(gpu_device, rate):
    n, batch = 20000, 5
    _, y, _ = _dropout_run(gpu_device, rate=rate, n=n, batch=batch, step=123)
    p = 1 - rate
    kept = float(np.mean(y != 0))
    assert abs(kept - p) < 5 * np.sqrt(p * (1 - p) / (n * batch)), (kept, p)
    # no pattern along the index: both halves and every fifth element keep at the same rate
    for part in (y[:, : n // 2], y[:, n // 2:], y[:, ::5]):
        frac = float(np.mean(part != 0))
        assert abs(frac - p) < 5 * np.sqrt(p * (1 - p) / part.size)


def test_dropout_in_evaluation_is_the_identity(gpu_device):
    x, y, low = _dropout_run(gpu_device, rate=0.5, training=False, step=3)
    assert "counters" not in low.program.tensors
    np.testing.assert_array_equal(y, x)
    kind = get_kind("dropout")
    np.testing.assert_array_equal(kind.reference({"x": x}, {}, params("dropout"))["y"], x)


def test_dropout_backward_uses_the_forward_mask(gpu_device):
    """dx is dy/(1 − rate) exactly where the forward kept the element, and 0 elsewhere."""
    doc = graph("dropout", params("dropout", rate=0.4, seed=9), {"x": (300,)})
    got, low, a, weights, feeds = run(gpu_device, doc, 4, step=17)
    y = got[low.outputs[("k", "y")]]
    dy = got["d:" + low.outputs[("k", "y")]]
    dx = got["d:" + low.outputs[("x_x", "y")]]
    kept = y != 0
    assert 0.5 < kept.mean() < 0.7
    np.testing.assert_allclose(dx[kept], dy[kept] / 0.6, rtol=1e-6)
    assert not dx[~kept].any()
