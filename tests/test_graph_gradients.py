"""Whole graphs: the engine's gradients against central finite differences of the float64
reference (app.gradcheck.check), for hand-picked structures and random DAGs from
hypothesis: fan-out, skip connections through Add with 2-3 inputs, a Parameter shared by
two MatMuls, nodes whose two inputs are the same tensor (Multiply(x, x), MatMul(P, P)),
Concat, and several losses in one graph. Also: a tensor consumed three times gets exactly
the sum of the three contributions, and a second step with the same weights gives the same
gradients (nothing the backward adds into is left un-cleared between steps)."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.gradcheck import check, engine_gradients, random_feeds
from app.model.document import Document
from app.model.graphfile import load
from app.model.layers import get_kind
from app.model.lower import grad_name, init_weights, lower
from app.model.shapes import analyse

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "assets" / "examples").glob("*.json"))
TOL = 1e-3


def assert_gradients(doc, device, batch=3, seed=0, samples=16, allow_empty=False):
    results = check(doc, batch=batch, samples=samples, seed=seed, device=device)
    assert results or allow_empty, "nothing was checked"
    bad = [f"{r.node} {r.what}: {r.error:.3g}" for r in results if not r.error < TOL]
    assert not bad, "gradients off:\n" + "\n".join(bad)
    return results


def assert_repeatable(doc, device, batch=3, seed=0):
    """Two forward+backward runs with the same weights and data give bit-identical gradients
    and stats: every tensor a backward adds into is cleared (or rewritten) each step."""
    from gpu.engine import Engine
    a = analyse(doc)
    feeds = random_feeds(doc, a, batch, np.random.default_rng(seed))
    low = lower(doc, batch, analysis=a, seed=seed, gradients=True)
    engine = Engine(low.program, device)
    try:
        for node, value in feeds.items():
            engine.write(low.feeds[node], value.astype(np.float32))
        runs = []
        for _ in range(2):
            engine.run(["forward", "backward", "stats"])
            runs.append({t: engine.read(t) for t in low.program.tensors if t.startswith("d:") or t == "stats"})
        engine.run(["forward", "backward", "stats"], repeat=3)
        runs.append({t: engine.read(t) for t in runs[0]})
    finally:
        engine.destroy()
    for t in runs[0]:
        for later in runs[1:]:
            np.testing.assert_array_equal(later[t], runs[0][t], err_msg=f"{t} changes from step to step")


# ---------------------------------------------------------------------- building graphs

class G:
    """Terse graph building for tests."""

    def __init__(self):
        self.doc = Document()

    def node(self, kind, *inputs, **params):
        node_id = params.pop("id", None)
        n = self.doc.add_node(kind, params, node_id=node_id)
        ports = [p.name for p in get_kind(kind).input_ports(self.doc.nodes[n].params)]
        for port, src in zip(ports, inputs):
            self.doc.connect(src, "loss" if self.doc.nodes[src].kind in LOSSES else "y", n, port)
        return n

    def loss(self, kind, pred, width=None):
        if kind == "softmax_cross_entropy":
            t = self.node("target", labels="classes")
        else:
            shape = list(analyse(self.doc).shapes[(pred, "loss" if self.doc.nodes[pred].kind in LOSSES else "y")][1:])
            t = self.node("target", labels="values", shape=shape) if shape else self.node("target", labels="classes")
        return self.node(kind, pred, t)


LOSSES = {"mse", "softmax_cross_entropy", "binary_cross_entropy"}


def shared_parameter():
    g = G()
    x = g.node("input", shape=[5])
    p = g.node("parameter", shape=[5, 5], init="normal")
    h = g.node("tanh", g.node("matmul", x, p))
    y = g.node("matmul", h, p)              # P used twice, once after a nonlinearity
    g.loss("mse", y)
    return g.doc


def multiply_self():
    g = G()
    s = g.node("scale", g.node("input", shape=[7]), init="normal")
    sq = g.node("multiply", s, s)
    g.loss("mse", g.node("dense", sq, units=3))
    return g.doc


def matmul_p_p():
    g = G()
    x = g.node("input", shape=[6])
    p = g.node("parameter", shape=[6, 6], init="normal")
    pp = g.node("matmul", p, p)
    g.loss("softmax_cross_entropy", g.node("matmul", x, pp))
    return g.doc


def add_three_with_repeats():
    g = G()
    s = g.node("scale", g.node("input", shape=[5]), init="normal")
    d = g.node("dense", s, units=5)
    a = g.node("add", s, d, s, inputs=3)            # s enters twice, d once
    c = g.node("concat", a, a)                      # a enters twice
    g.loss("mse", g.node("dense", g.node("relu", c), units=2))
    return g.doc


def several_losses():
    g = G()
    h = g.node("tanh", g.node("dense", g.node("input", shape=[4]), units=6))
    g.loss("softmax_cross_entropy", g.node("dense", h, units=3))
    g.loss("binary_cross_entropy", g.node("dense", h, units=1))
    g.loss("mse", g.node("dense", h, units=2))
    g.loss("mse", h)                                 # a loss straight on a hidden layer
    return g.doc


def skip_connections():
    g = G()
    x = g.node("dense", g.node("input", shape=[5]), units=5)
    h = g.node("gelu", g.node("dense", x, units=5))
    r = g.node("add", x, h)
    r2 = g.node("add", r, g.node("sigmoid", g.node("dense", r, units=5)), x, inputs=3)
    g.loss("softmax_cross_entropy", g.node("softmax", r2))   # softmax then cross-entropy: unusual, legal
    return g.doc


def loss_feeding_a_loss():
    """A loss's per-sample output used as a value downstream: its gradient is the seed 1/batch
    plus what flows back from the second loss."""
    g = G()
    d = g.node("dense", g.node("input", shape=[3]), units=2)
    l1 = g.loss("mse", d)
    s = g.node("scale", l1, init="normal")
    g.loss("mse", s)
    return g.doc


GRAPHS = {f.__name__: f for f in (shared_parameter, multiply_self, matmul_p_p, add_three_with_repeats,
                                  several_losses, skip_connections, loss_feeding_a_loss)}


# ---------------------------------------------------------------------- the comparison itself

def test_compare_accepts_a_one_sided_derivative_only_at_a_kink():
    """gradcheck's _compare: at a smooth point the engine must match central differences; at
    a kink within ±eps (ReLU at 0, tied maxima) anything between the one-sided derivatives."""
    from app.gradcheck import _compare
    at = np.array([0.0, 1.0, -2.0])

    def cost(f):
        return lambda i, h: float(sum(f(v) for v in at + h * (np.arange(3) == i)))
    relu, square = cost(lambda v: max(v, 0.0)), cost(lambda v: v * v)

    def err(f, grad):
        return _compare(np.array(grad), 3, f, np.random.default_rng(0), 3, 1e-6)
    assert err(relu, [1.0, 1.0, 0.0]) < 1e-6          # the right-hand derivative at the kink
    assert err(relu, [0.0, 1.0, 0.0]) < 1e-6          # the left-hand one
    assert err(relu, [0.3, 1.0, 0.0]) < 1e-6          # a subgradient
    assert err(relu, [1.5, 1.0, 0.0]) > 0.3           # beyond both sides
    assert err(relu, [1.0, 0.9, 0.0]) > 0.05          # wrong at a smooth point
    assert err(square, [0.0, 2.0, -4.0]) < 1e-6
    assert err(square, [0.0, 2.01, -4.0]) > 1e-3


# ---------------------------------------------------------------------- fixed graphs

@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("batch", [1, 5])
def test_graph_gradients(gpu_device, name, batch):
    doc = GRAPHS[name]()
    assert not analyse(doc).problems
    assert_gradients(doc, gpu_device, batch=batch, seed=batch)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_gradients_repeat_step_to_step(gpu_device, name):
    assert_repeatable(GRAPHS[name](), gpu_device, batch=4)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_pass_gradcheck(gpu_device, path):
    assert len(EXAMPLES) >= 4
    assert_gradients(load(path), gpu_device, batch=4, samples=12)


def test_a_tensor_consumed_three_times_gets_the_sum(gpu_device):
    """One Scale output feeds three Dense layers, each into its own loss: its gradient is
    exactly the sum of the three gradients computed with one consumer at a time."""
    def graph(branches):
        g = G()
        s = g.node("scale", g.node("input", shape=[6], id="x"), init="normal", id="s")
        for i in branches:
            d = g.node("dense", s, units=3 + i, id=f"d{i}")
            t = g.node("target", labels="values", shape=[3 + i], id=f"t{i}")
            g.node("mse", d, t, id=f"loss{i}")
        return g.doc

    batch = 5
    full = graph([0, 1, 2])
    a = analyse(full)
    weights = {k: v.astype(np.float32).astype(np.float64) for k, v in init_weights(full, a, 3).items()}
    feeds = random_feeds(full, a, batch, np.random.default_rng(3))
    got, _ = engine_gradients(full, a, weights, feeds, batch, gpu_device)
    parts = []
    for i in range(3):
        doc = graph([i])
        ai = analyse(doc)
        one, _ = engine_gradients(doc, ai, {k: weights[k] for k in ("s.w", f"d{i}.w", f"d{i}.b")},
                                  {k: feeds[k] for k in ("x", f"t{i}")}, batch, gpu_device)
        parts.append(one)
        # each branch's own weights get the same gradient alone as in the full graph
        np.testing.assert_array_equal(one[f"d:d{i}.w"], got[f"d:d{i}.w"])
    contributions = [p["d:s.y"] for p in parts]
    assert all(np.abs(c).max() > 0 for c in contributions)
    total = got["d:s.y"]
    sums = [(np.float32(0) + c1 + c2 + c3) for c1, c2, c3 in itertools.permutations(contributions)]
    assert any(np.array_equal(total, s) for s in sums), \
        f"not the sum of the contributions: max difference {np.abs(total - sums[0]).max():.3g}"
    assert not np.allclose(total, sums[0] / 3)
    np.testing.assert_allclose(got["d:s.w"], sum(p["d:s.w"] for p in parts), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------- random DAGs

ACTIVATIONS = ["relu", "leaky_relu", "tanh", "sigmoid", "gelu", "softmax", "elu", "silu", "softplus", "dropout"]
OPS = st.one_of(
    st.tuples(st.just("dense"), st.integers(0, 99), st.booleans()),
    st.tuples(st.just("act"), st.integers(0, 99), st.sampled_from(ACTIVATIONS)),
    st.tuples(st.just("scale"), st.integers(0, 99)),
    st.tuples(st.just("add"), st.lists(st.integers(0, 99), min_size=2, max_size=3)),
    st.tuples(st.just("multiply"), st.integers(0, 99), st.integers(0, 99)),
    st.tuples(st.just("square"), st.integers(0, 99)),          # Multiply(x, x)
    st.tuples(st.just("concat"), st.integers(0, 99), st.integers(0, 99)),
    st.tuples(st.just("shared"), st.integers(0, 99)),          # MatMul(x, P), P shared
    st.tuples(st.just("pp"), st.integers(0, 99)),              # MatMul(x, MatMul(P, P))
    st.tuples(st.just("fork"), st.integers(0, 99), st.sampled_from(ACTIVATIONS)),  # x -> 2 paths -> Add
)


@st.composite
def dags(draw):
    return dict(
        width=draw(st.sampled_from([1, 2, 3, 5])),
        inputs=draw(st.integers(1, 2)),
        ops=draw(st.lists(OPS, min_size=1, max_size=7)),
        losses=draw(st.lists(st.tuples(st.sampled_from(sorted(LOSSES)), st.integers(0, 99)),
                             min_size=1, max_size=3)),
        batch=draw(st.sampled_from([1, 2, 3, 5])),
        seed=draw(st.integers(0, 2 ** 16)),
    )


def build_dag(recipe) -> Document:
    w = recipe["width"]
    g = G()
    pool = []
    for _ in range(recipe["inputs"]):
        x = g.node("input", shape=[w])
        pool += [x, g.node("scale", x, init="normal")]
    shared = {}

    def param():
        if "p" not in shared:
            shared["p"] = g.node("parameter", shape=[w, w], init="normal")
        return shared["p"]

    def pick(i):
        return pool[i % len(pool)]

    for op, *args in recipe["ops"]:
        if op == "dense":
            n = g.node("dense", pick(args[0]), units=w, bias=args[1])
        elif op == "act":
            n = g.node(args[1], pick(args[0]))
        elif op == "scale":
            n = g.node("scale", pick(args[0]), init="normal")
        elif op == "add":
            n = g.node("add", *map(pick, args[0]), inputs=len(args[0]))
        elif op == "multiply":
            n = g.node("multiply", pick(args[0]), pick(args[1]))
        elif op == "square":
            n = g.node("multiply", pick(args[0]), pick(args[0]))
        elif op == "concat":
            n = g.node("dense", g.node("concat", pick(args[0]), pick(args[1])), units=w)
        elif op == "shared":
            n = g.node("matmul", pick(args[0]), param())
        elif op == "fork":
            x = pick(args[0])
            n = g.node("add", g.node("dense", x, units=w), g.node(args[1], g.node("dense", x, units=w)))
        else:
            if "pp" not in shared:
                shared["pp"] = g.node("matmul", param(), param())
            n = g.node("matmul", pick(args[0]), shared["pp"])
        pool.append(n)
    for kind, i in recipe["losses"]:
        g.loss(kind, pool[len(pool) - 1 - i % len(pool)])   # counted from the newest tensor
    return g.doc


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags())
def test_random_dags(gpu_device, recipe):
    doc = build_dag(recipe)
    assert not analyse(doc).problems
    assert_gradients(doc, gpu_device, batch=recipe["batch"], seed=recipe["seed"], samples=10,
                     allow_empty=True)
