"""A small harness for one layer kind on chosen (awkward) shapes, used by tests/test_layers_*.py.

The graph: every input port is fed Input -> Scale(ones), so dC/d(port) is the Scale output's
gradient; every output closes with an MSE against a Target of random values. The engine runs
one forward (checked against app.model.reference, relative error < 1e-5 over the whole
tensor) and one backward (the kind's learnable tensors and its inputs' gradients checked
against central finite differences of the reference's cost, relative error < 1e-3).
"""
from __future__ import annotations

import numpy as np

from app.model import reference
from app.model.document import Document
from app.model.layers import get_kind
from app.model.lower import grad_name, init_weights, lower
from app.model.shapes import analyse

FORWARD_TOL = 1e-5
BACKWARD_TOL = 1e-3


def rel_error(got, want) -> float:
    got, want = np.asarray(got, np.float64).ravel(), np.asarray(want, np.float64).ravel()
    scale = max(float(np.abs(want).max(initial=0.0)), 1e-30)
    return float(np.abs(got - want).max(initial=0.0) / scale)


def graph(kind_name: str, params: dict, inputs: dict) -> Document:
    """inputs: port -> feature shape (no batch), or ("param", shape) for an unbatched
    Parameter node (its output is then checked as the learnable tensor "x_<port>.value")."""
    kind = get_kind(kind_name)
    doc = Document()
    k = doc.add_node(kind_name, params, node_id="k")
    for port, shape in inputs.items():
        if shape and shape[0] == "param":
            s = doc.add_node("parameter", {"shape": list(shape[1]), "init": "normal"}, node_id=f"x_{port}")
            doc.connect(s, "y", k, port)
            continue
        i = doc.add_node("input", {"shape": list(shape)}, node_id=f"in_{port}")
        s = doc.add_node("scale", {"init": "ones"}, node_id=f"x_{port}")
        doc.connect(i, "y", s, "x")
        doc.connect(s, "y", k, port)
    a = analyse(doc)
    assert not [p for p in a.problems if p.node == "k"], a.problems
    for out in kind.outputs:
        f = list(a.shapes[("k", out.name)][1:])
        t = doc.add_node("target", {"labels": "values", "shape": f}, node_id=f"t_{out.name}")
        loss = doc.add_node("mse", node_id=f"mse_{out.name}")
        doc.connect(k, out.name, loss, "pred")
        doc.connect(t, "y", loss, "target")
    return doc


def make_feeds(doc, a, batch, rng, scale=1.0):
    feeds = {}
    for node_id in a.order:
        role = get_kind(doc.nodes[node_id].kind).role
        if role in ("data", "target"):
            shape = tuple(batch if d is None else d for d in a.shapes[(node_id, "y")])
            feeds[node_id] = rng.normal(0, scale if role == "data" else 1.0, size=shape)
    return {k: v.astype(np.float32).astype(np.float64) for k, v in feeds.items()}


def run(device, doc, batch, seed=0, training=True, weights=None, feeds=None, step=0):
    """Forward and backward once; returns (engine tensors, lowered, analysis, weights, feeds)."""
    from gpu.engine import Engine
    a = analyse(doc)
    assert not a.problems, a.problems
    rng = np.random.default_rng(seed)
    if weights is None:
        weights = {k: v.astype(np.float32).astype(np.float64) for k, v in init_weights(doc, a, seed).items()}
    feeds = feeds if feeds is not None else make_feeds(doc, a, batch, rng)
    low = lower(doc, batch, analysis=a, weights=weights, gradients=True, training=training)
    engine = Engine(low.program, device)
    try:
        for node_id, value in feeds.items():
            engine.write(low.feeds[node_id], value.astype(np.float32))
        if step and "counters" in low.program.tensors:
            engine.write("counters", np.array([step, 0], np.uint32))
        engine.run(["forward", "backward"])
        got = {name: engine.read(name) for name in low.program.tensors}
    finally:
        engine.destroy()
    return got, low, a, weights, feeds


def check_kind(device, kind_name: str, params: dict, inputs: dict, batch: int, seed: int = 0,
               training: bool = True, samples: int = 40, step: int = 0, eps: float = 1e-6) -> dict:
    """Forward and backward of one node of `kind_name` against the reference; returns the
    errors by what was checked (and asserts them)."""
    doc = graph(kind_name, params, inputs)
    got, low, a, weights, feeds = run(device, doc, batch, seed, training, step=step)

    def fwd(w=weights, overrides=None):
        return reference.forward(doc, a, w, feeds, overrides, training=training, step=step)

    base = fwd()
    errors = {}
    for (node, port), tensor in low.outputs.items():
        if node == "k":
            errors[f"forward {port}"] = rel_error(got[tensor], base[(node, port)])
    rng = np.random.default_rng(seed + 1)

    def fd_check(what, value, cost, engine_grad):
        idx = rng.choice(value.size, size=min(samples, value.size), replace=False)
        fd = []
        for i in idx:
            hi, lo = value.copy(), value.copy()
            hi.flat[i] += eps
            lo.flat[i] -= eps
            fd.append((cost(hi) - cost(lo)) / (2 * eps))
        errors[what] = rel_error(np.asarray(engine_grad, np.float64)[idx], np.array(fd))

    for tensor, (node, wname, _) in low.params.items():
        if node != "k" and not (node.startswith("x_") and wname == "value"):
            continue
        assert grad_name(tensor) in got, f"no gradient for {tensor}"
        fd_check(f"d{wname}", weights[tensor],
                 lambda v, t=tensor: reference.cost(doc, a, fwd({**weights, t: v})), got[grad_name(tensor)])
    for port, shape in inputs.items():
        if shape and shape[0] == "param":
            continue       # checked above as x_<port>.value
        key = (f"x_{port}", "y")
        tensor = low.outputs[key]
        assert grad_name(tensor) in got, f"no gradient for input {port}"
        fd_check(f"d{port}", base[key], lambda v, key=key: reference.cost(doc, a, fwd(overrides={key: v})),
                 got[grad_name(tensor)])
    for what, err in errors.items():
        tol = FORWARD_TOL if what.startswith("forward") else BACKWARD_TOL
        assert err < tol, f"{kind_name} {params} {inputs} batch {batch}: {what}: relative error {err:.3g}"
    return errors
