"""app/model/fused.py: a rewritten training Program against the plain one (same tensors, same
values after every step, within float32 reassociation) and against the float64 reference
(the gradients by central differences of reference.cost, the update by optim.reference_step).
"""
from __future__ import annotations

import numpy as np
import pytest

from app.model import reference
from app.model.document import Document
from app.model.fused import find_chain, layers_fit, whole_step_fits
from app.model.lower import grad_name, lower
from app.model.optim import reference_step
from app.model.shapes import analyse

pytestmark = pytest.mark.gpu


def _dataset(tmp_path, rows, fin, classes=None, width=1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, fin)).astype(np.float32)
    if classes is None:      # real-valued targets
        y = rng.standard_normal((rows, width)).astype(np.float32)
        if width == 1:
            y = y[:, 0]
    else:
        y = rng.integers(0, classes, size=rows)
    path = tmp_path / f"d{rows}x{fin}_{classes}_{width}_{seed}.npz"
    np.savez(path, x=x, y=y)
    return {"path": str(path), "format": "npz", "test_ratio": 0.0}


def chain_doc(tmp_path, fin, layers, loss, optimizer, batch=8, rows=40, classes=2, out_act=None):
    """input(fin) -> layers [(units, act or None, bias)] -> [out_act] -> loss."""
    doc = Document()
    prev = doc.add_node("input", {"shape": [fin]}, node_id="input1")
    for i, (units, act, bias) in enumerate(layers, 1):
        d = doc.add_node("dense", {"units": units, "bias": bias}, node_id=f"dense{i}")
        doc.connect(prev, "y", d, "x")
        prev = d
        if act:
            a = doc.add_node(act, node_id=f"{act}{i}")
            doc.connect(d, "y", a, "x")
            prev = a
    if out_act:
        a = doc.add_node(out_act, node_id="out_act")
        doc.connect(prev, "y", a, "x")
        prev = a
    width = layers[-1][0]
    if loss == "mse":
        t = doc.add_node("target", {"labels": "values", "shape": [width]}, node_id="target1")
        data = _dataset(tmp_path, rows, fin, None, width)
    else:
        t = doc.add_node("target", {"labels": "classes"}, node_id="target1")
        data = _dataset(tmp_path, rows, fin, classes)
    lo = doc.add_node(loss, node_id="loss1")
    doc.connect(prev, "y", lo, "pred")
    doc.connect(t, "y", lo, "target")
    doc.training = {"dataset": data, "optimizer": optimizer, "batch_size": batch, "epochs": 5, "seed": 3}
    return doc


CASES = {
    "W1-like tanh bce sgd": dict(fin=2, layers=[(8, "tanh", True), (8, "tanh", True), (1, None, True)],
                                 loss="binary_cross_entropy", optimizer={"name": "sgd", "lr": 0.1}),
    "relu sce adam": dict(fin=5, layers=[(16, "relu", True), (3, None, True)], classes=3,
                          loss="softmax_cross_entropy", optimizer={"name": "adam", "lr": 0.01}),
    "sigmoid mse momentum": dict(fin=3, layers=[(6, "sigmoid", True), (5, "sigmoid", True), (2, None, True)],
                                 loss="mse", optimizer={"name": "momentum", "lr": 0.05}),
    "leaky no-bias nesterov": dict(fin=4, layers=[(7, "leaky_relu", False), (4, None, False)], classes=4,
                                   loss="softmax_cross_entropy", optimizer={"name": "nesterov", "lr": 0.05}),
    "gelu dense-dense adamw": dict(fin=3, layers=[(5, "gelu", True), (4, None, True), (1, None, True)],
                                   loss="binary_cross_entropy", optimizer={"name": "adamw", "lr": 0.01,
                                                                           "weight_decay": 0.1}),
    "output activation mse": dict(fin=2, layers=[(4, "tanh", True), (1, None, True)], out_act="sigmoid",
                                  loss="mse", optimizer={"name": "sgd", "lr": 0.1}),
}


def _sessions(doc, monkeypatch):
    from app.session import Session
    fused = Session(doc)
    monkeypatch.setenv("WIREGRAD_FUSE", "0")
    plain = Session(doc)
    monkeypatch.delenv("WIREGRAD_FUSE")
    return fused, plain


# the same graphs through the per-layer rewrite (forced: they are small enough for whole_step),
# plus shapes that exercise the generated matmuls' edges and both gather kernels
LAYER_CASES = {**{k: v for k, v in CASES.items() if k != "output activation mse"},
               "wide fin%4 sce adam": dict(fin=12, layers=[(36, "relu", True), (20, "tanh", True), (5, None, True)],
                                           classes=5, batch=16, rows=64, loss="softmax_cross_entropy",
                                           optimizer={"name": "adam", "lr": 0.01}),
               "odd widths momentum": dict(fin=7, layers=[(13, "relu", True), (9, None, False), (3, None, True)],
                                           classes=3, batch=12, rows=48, loss="softmax_cross_entropy",
                                           optimizer={"name": "momentum", "lr": 0.05})}


@pytest.mark.parametrize("path,case", [("whole_step", c) for c in CASES] + [("layers", c) for c in LAYER_CASES])
def test_fused_matches_the_plain_program(gpu_device, tmp_path, monkeypatch, path, case):
    import app.model.fused as fz
    if path == "layers":
        monkeypatch.setattr(fz, "WHOLE_STEP_MAX_MACS", 0)
    doc = chain_doc(tmp_path, **{**CASES, **LAYER_CASES}[case])
    fused, plain = _sessions(doc, monkeypatch)
    try:
        assert fused.low.program.meta.get("fused") == path
        assert "fused" not in plain.low.program.meta
        assert fused.train_phases == ("step",) and not fused.low.program.zeroed
        if path == "whole_step":
            assert len(fused.low.program.phases["step"]) == 1
        names = set(plain.low.program.tensors) - {"flat:" + s for s in "ADPGMV"}
        assert names <= set(fused.low.program.tensors)        # every tensor is still there
        for steps, rtol in ((1, 2e-5), (11, 2e-3)):          # 12 steps cross two epochs (5 per epoch)
            a, b = fused.run(steps), plain.run(steps)
            assert a.step == b.step
            assert a.loss == pytest.approx(b.loss, rel=rtol, abs=1e-6)
            for k in b.param_norms:
                assert a.param_norms[k] == pytest.approx(b.param_norms[k], rel=rtol * 10, abs=1e-6), k
            for k in b.out_norms:
                assert a.out_norms[k] == pytest.approx(b.out_norms[k], rel=rtol * 10, abs=1e-6), k
            for name in sorted(names):
                if name.startswith("data:") or name == "stats":
                    continue
                got, want = fused.engine.read(name), plain.engine.read(name)
                scale = max(float(np.abs(want).max()), 1e-3)
                assert np.allclose(got, want, rtol=rtol, atol=rtol * scale), \
                    f"{name} after {a.step} steps: worst {np.abs(got - want).max():.3g}"
    finally:
        fused.close()
        plain.close()


@pytest.mark.parametrize("path,case", [("whole_step", "W1-like tanh bce sgd"), ("whole_step", "relu sce adam"),
                                       ("whole_step", "leaky no-bias nesterov"), ("layers", "relu sce adam"),
                                       ("layers", "sigmoid mse momentum"), ("layers", "odd widths momentum")])
def test_fused_against_the_float64_reference(gpu_device, tmp_path, monkeypatch, path, case):
    """One fused step: the loss and every gradient against float64 central differences, and
    the new weights against the float64 optimizer applied to those gradients."""
    import app.model.fused as fz
    from app.session import Session
    if path == "layers":
        monkeypatch.setattr(fz, "WHOLE_STEP_MAX_MACS", 0)
    doc = chain_doc(tmp_path, **{**CASES, **LAYER_CASES}[case])
    s = Session(doc)
    try:
        assert s.low.program.meta.get("fused") == path
        a = analyse(s.doc)
        before = {k: v.astype(np.float64) for k, v in s.weights().items()}
        s.run(1, stats=False)
        feeds = {n: s.engine.read(t).astype(np.float64) for n, t in s.low.feeds.items()}
        feeds = {n: v.reshape(s.batch, -1) if s.doc.nodes[n].kind == "input" else v for n, v in feeds.items()}
        if s.doc.nodes["target1"].params["labels"] == "values":
            feeds["target1"] = feeds["target1"].reshape(s.batch, -1)
        values = reference.forward(s.doc, a, before, feeds)
        loss = s.engine.read(s.low.outputs[("loss1", "loss")])
        assert np.allclose(loss, values[("loss1", "loss")], rtol=1e-4, atol=1e-6)
        settings = s.doc.training["optimizer"]
        for t, (node, wname, shape) in s.low.params.items():
            g = s.engine.read(grad_name(t)).astype(np.float64)
            fd = np.empty_like(g)
            for i in range(g.size):
                w = {k: v.copy() for k, v in before.items()}
                w[t].flat[i] += 1e-6
                up = reference.cost(s.doc, a, reference.forward(s.doc, a, w, feeds))
                w[t].flat[i] -= 2e-6
                down = reference.cost(s.doc, a, reference.forward(s.doc, a, w, feeds))
                fd[i] = (up - down) / 2e-6
            scale = max(np.abs(fd).max(), 1e-6)
            assert np.abs(g - fd).max() / scale < 1e-3, f"gradient of {t}"
            want = reference_step(settings["name"], settings, before[t].ravel(), fd, {}, 1)
            got = s.engine.read(t).astype(np.float64)
            assert np.allclose(got, want, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(want).max())), f"update of {t}"
    finally:
        s.close()


def test_only_chains_that_fit_are_fused(gpu_device, tmp_path):
    from pathlib import Path
    from app.model.graphfile import load
    examples = Path(__file__).resolve().parent.parent / "assets" / "examples"
    res = load(examples / "residual_mlp.json")          # a skip connection: not a chain
    low = lower(res, 4, data_rows=16, optimizer={"name": "sgd"})
    assert "fused" not in low.program.meta
    assert find_chain(low, res) is None
    big = chain_doc(tmp_path, fin=64, layers=[(256, "relu", True), (10, None, True)], batch=64, rows=128,
                    classes=10, loss="softmax_cross_entropy", optimizer={"name": "adam"})
    low = lower(big, 64, data_rows=128, optimizer={"name": "adam"}, fuse=False)
    chain = find_chain(low, big)
    assert chain is not None and not whole_step_fits(chain) and layers_fit(chain)
    assert lower(big, 64, data_rows=128, optimizer={"name": "adam"}).program.meta["fused"] == "layers"
    # forward-only and gradient programs (evaluation, gradcheck) are never rewritten
    small = chain_doc(tmp_path, **CASES["W1-like tanh bce sgd"])
    assert "fused" not in lower(small, 8, data_rows=40).program.meta
    assert "fused" not in lower(small, 8, gradients=True).program.meta


@pytest.mark.parametrize("path", ["whole_step", "layers"])
def test_nan_stop_names_the_node_when_fused(gpu_device, tmp_path, monkeypatch, path):
    """The fused kernels write every node's output, so the NaN check still names the culprit."""
    import app.model.fused as fz
    from app.session import Session, TrainingError
    if path == "layers":
        monkeypatch.setattr(fz, "WHOLE_STEP_MAX_MACS", 0)
    doc = chain_doc(tmp_path, **CASES["relu sce adam"])
    s = Session(doc)
    try:
        assert s.low.program.meta.get("fused") == path
        w = s.weights()
        w["dense2.w"] = np.full_like(w["dense2.w"], np.inf)
        s.set_weights(w)
        with pytest.raises(TrainingError) as e:
            s.run(1)
        assert e.value.node == "dense2"
    finally:
        s.close()
