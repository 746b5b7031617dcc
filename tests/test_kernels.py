"""Every registered layer kind's WGSL kernels against its float64 reference.

For each kind with a `lower`, CASES draws a small graph around one node of that kind:
every batched input port is fed Input -> Scale (so dC/d(port) is the Scale output's
gradient), every unbatched port a Parameter, a loss's target a Target, and a non-loss
kind's outputs close with an MSE against a Target of values. Shapes are random and awkward
(batch of 1, odd sizes, sizes past 64 and off multiples of 4, since ops/matmul.wgsl works
in 4x4 blocks and row kernels in groups of 64).

Checked per case:
- forward: every node output against app.model.reference, relative error < 1e-5, with each
  output buffer poisoned (NaN, then 1e30) before the run, so an unwritten element shows;
- backward: every gradient the engine computes (the kind's params and the inputs it feeds
  back, plus the harness's) against central finite differences of the reference's cost,
  relative error < 1e-3;
- backward kernels add: gradient buffers holding R before the backward end up holding
  R + gradient (a kernel that overwrote would drop a sibling's share at a fan-out).

A kind registered with a `lower` and no entry in CASES fails test_every_kind_has_a_case.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest

from app.gradcheck import random_feeds
from app.model import reference
from app.model.document import Document
from app.model.layers import all_kinds
from app.model.lower import grad_name, init_weights, lower
from app.model.shapes import analyse

FORWARD_TOL = 1e-5
BACKWARD_TOL = 1e-3
SEEDS = (0, 1, 2, 3, 4)
# batch per seed: a batch of 1, a small odd batch, a batch past one workgroup of 64 rows, ...
BATCHES = {0: lambda r: 1, 1: lambda r: int(r.choice([3, 5, 7])), 2: lambda r: int(r.choice([65, 67])),
           3: lambda r: int(r.choice([2, 4, 9])), 4: lambda r: int(r.choice([1, 13, 33]))}
DIMS = (1, 2, 3, 5, 7, 9, 13, 17, 31, 66, 67)


# ---------------------------------------------------------------------- the per-kind table

@dataclass
class Case:
    params: dict = field(default_factory=dict)
    # port -> ("x", feature shape): Input -> Scale; ("p", shape): Parameter;
    #         ("t", Target params): a Target (a loss's labels)
    ports: dict = field(default_factory=dict)


def dim(r, most=67) -> int:
    return int(r.choice([d for d in DIMS if d <= most]))


def features(r, most=67) -> tuple:
    """A feature shape: mostly one axis, sometimes two (elementwise kinds take any rank)."""
    if r.random() < 0.3:
        return (dim(r, 9), dim(r, 13))
    return (dim(r, most),)


def _elementwise(params=lambda r: {}):
    return lambda r: Case(params(r), {"x": ("x", features(r))})


def _nary(r, ports):
    f = features(r)
    return {p: ("x", f) for p in ports}


def _bias_like(r, a: tuple):
    """An operand Add(broadcast=True) spreads onto a batched a of feature shape `a`."""
    if r.random() < 0.3:                      # batched: (?, a[:k], 1, ..., 1)
        k = int(r.integers(0, len(a) + 1))
        return ("x", (*a[:k], *(1,) * (len(a) - k)))
    if r.random() < 0.15:
        return ("p", (1,))
    lo = int(r.integers(0, len(a)))
    hi = int(r.integers(lo + 1, len(a) + 1))
    return ("p", (*a[lo:hi], *(1,) * (len(a) - hi)))   # e.g. (C, 1, 1), (H, 1), (W,)


def _add(r):
    n = int(r.choice([2, 3]))
    if r.random() < 0.4:
        a = _image(r) if r.random() < 0.6 else features(r, 17)
        return Case({"inputs": n, "broadcast": True},
                    {"a": ("x", a), **{p: _bias_like(r, a) for p in "bc"[:n - 1]}})
    return Case({"inputs": n}, _nary(r, "abc"[:n]))


def _rank2or3(r) -> tuple:
    return _image(r) if r.random() < 0.5 else (dim(r, 9), dim(r, 13))


def _axis(r, shape) -> int:
    """A feature axis of (?, *shape), as a positive or a negative index."""
    ax = int(r.integers(1, len(shape) + 1))
    return ax if r.random() < 0.5 else ax - len(shape) - 1


def _concat(r):
    n = int(r.choice([2, 3]))
    if r.random() < 0.4:                      # along a chosen axis
        base = _rank2or3(r)
        axis = _axis(r, base)
        ports = {}
        for p in "abc"[:n]:
            shape = list(base)
            shape[axis - 1 if axis > 0 else axis] = dim(r, 9)
            ports[p] = ("x", tuple(shape))
        return Case({"inputs": n, "axis": axis}, ports)
    lead = () if r.random() < 0.7 else (dim(r, 5),)
    return Case({"inputs": n}, {p: ("x", (*lead, dim(r, 31))) for p in "abc"[:n]})


def _softmax(r):
    if r.random() < 0.5:
        f = _rank2or3(r)
        return Case({"axis": _axis(r, f)}, {"x": ("x", f)})
    return Case({}, {"x": ("x", features(r))})


def _dense(r):
    return Case({"units": dim(r), "bias": bool(r.random() < 0.7)}, {"x": ("x", (dim(r),))})


def _matmul(r):
    k, n = dim(r), dim(r)
    return Case({}, {"a": ("x", (k,)), "b": ("p", (k, n))})


def _multiply(r):
    return Case({}, _nary(r, "ab"))


def _mse(r):
    if r.random() < 0.25:     # pred (?, 1) against labels (?,)
        return Case({}, {"pred": ("x", (1,)), "target": ("t", {"labels": "classes"})})
    f = features(r)
    return Case({}, {"pred": ("x", f), "target": ("t", {"labels": "values", "shape": list(f)})})


_bce = _mse   # same ports; random_feeds draws targets in [0, 1] (or 0/1 labels) for BCE


def _sce(r):
    return Case({}, {"pred": ("x", (dim(r),)), "target": ("t", {"labels": "classes"})})


# ---- images (?, C, H, W): conv, pooling, normalisation (the layer set of issue 7)

def _image(r, most_c=3):
    return (int(r.choice([1, 2, 3][:most_c])), int(r.choice([3, 5, 6, 7, 9])), int(r.choice([3, 4, 5, 7, 8])))


def _window(r, k_most=3):
    k = int(r.integers(1, k_most + 1))
    padding = str(r.choice(["valid", "same", "explicit"]))
    return {"kernel": k, "stride": int(r.choice([1, 2, 3])), "padding": padding,
            "pad": int(r.integers(0, k // 2 + 1)) if padding == "explicit" else 0}


def _conv2d(r):
    c, h, w = _image(r)
    p = {**_window(r), "dilation": int(r.choice([1, 1, 2])), "bias": bool(r.random() < 0.7)}
    if r.random() < 0.3:                       # depthwise: a multiple of the input channels
        p.update(depthwise=True, channels=c * int(r.choice([1, 2])))
    else:
        g = int(r.choice([g for g in (1, 2, 3) if c % g == 0]))
        p.update(groups=g, channels=g * int(r.choice([1, 2, 3])))
    span = p["dilation"] * (p["kernel"] - 1) + 1
    if p["padding"] != "same" and min(h, w) + 2 * p["pad"] < span:
        p["padding"] = "same"
    return Case(p, {"x": ("x", (c, h, w))})


def _pool(r):
    c, h, w = _image(r)
    return Case(_window(r), {"x": ("x", (c, h, w))})


def _global_avg_pool(r):
    return Case({}, {"x": ("x", _image(r) if r.random() < 0.7 else (dim(r, 9), dim(r, 13)))})


def _batch_norm(r):
    shape = (dim(r, 17),) if r.random() < 0.4 else _image(r)
    return Case({"momentum": float(r.choice([0.1, 0.5])), "eps": 1e-5}, {"x": ("x", shape)})


def _layer_norm(r):
    axes = str(r.choice(["last", "all"]))
    return Case({"axes": axes}, {"x": ("x", features(r))})


def _reshape(r):
    a, b = dim(r, 9), dim(r, 13)
    return Case({"shape": [b, a]}, {"x": ("x", (a, b))})


def _split(r):
    f = (int(r.choice([2, 3, 5, 9])), int(r.choice([2, 4, 6, 66])))
    axis = int(r.choice([-1, 1, 2]))
    n = f[0] if axis == 1 else f[1]
    size = 0 if n % 2 == 0 and r.random() < 0.5 else int(r.integers(1, n))
    return Case({"axis": axis, "size": size}, {"x": ("x", f)})


CASES = {
    "add": _add,
    "binary_cross_entropy": _bce,
    "concat": _concat,
    "dense": _dense,
    "gelu": _elementwise(),
    "leaky_relu": _elementwise(lambda r: {"slope": float(r.choice([0.01, 0.2, 0.73]))}),
    "matmul": _matmul,
    "mse": _mse,
    "multiply": _multiply,
    "relu": _elementwise(),
    "scale": _elementwise(lambda r: {"init": str(r.choice(["ones", "uniform", "normal"]))}),
    "sigmoid": _elementwise(),
    "softmax": _softmax,
    "softmax_cross_entropy": _sce,
    "tanh": _elementwise(),
    # issue 7
    "avg_pool2d": _pool,
    "batch_norm": _batch_norm,
    "conv2d": _conv2d,
    "dropout": _elementwise(lambda r: {"rate": float(r.choice([0.1, 0.5, 0.9])), "seed": int(r.integers(0, 100))}),
    "elu": _elementwise(lambda r: {"alpha": float(r.choice([0.5, 1.0, 1.7]))}),
    "flatten": lambda r: Case({}, {"x": ("x", _image(r))}),
    "global_avg_pool": _global_avg_pool,
    "layer_norm": _layer_norm,
    "max_pool2d": _pool,
    "reshape": _reshape,
    "silu": _elementwise(),
    "softplus": _elementwise(lambda r: {"beta": float(r.choice([0.5, 1.0, 3.0]))}),
    "split": _split,
}
# kinds that lower to no kernel of their own: the harness uses all three around every case
NO_KERNEL = {"input", "target", "parameter"}


# ---------------------------------------------------------------------- building a case

@dataclass
class Built:
    doc: Document
    analysis: object
    batch: int
    grads_in: list          # (node, port) outputs whose gradient is dC/d(an input of the kind)


def build_case(kind_name: str, seed: int) -> Built:
    r = np.random.default_rng([seed, zlib.crc32(kind_name.encode())])
    case = CASES[kind_name](r)
    batch = BATCHES[seed](r)
    kind = all_kinds()[kind_name]
    doc = Document()
    k = doc.add_node(kind_name, case.params, node_id="k")
    grads_in = []
    for port, (how, what) in case.ports.items():
        if how == "x":
            i = doc.add_node("input", {"shape": list(what)}, node_id=f"in_{port}")
            s = doc.add_node("scale", {"init": "ones"}, node_id=f"x_{port}")
            doc.connect(i, "y", s, "x")
            doc.connect(s, "y", k, port)
            grads_in.append((s, "y"))
        elif how == "p":
            p = doc.add_node("parameter", {"shape": list(what), "init": "normal"}, node_id=f"p_{port}")
            doc.connect(p, "y", k, port)
            grads_in.append((p, "y"))
        else:
            t = doc.add_node("target", what, node_id=f"t_{port}")
            doc.connect(t, "y", k, port)
    if kind.role != "loss":
        shapes = analyse(doc).shapes
        for out in kind.outputs:
            f = list(shapes[("k", out.name)][1:])
            t = doc.add_node("target", {"labels": "values", "shape": f}, node_id=f"t_{out.name}")
            loss = doc.add_node("mse", node_id=f"mse_{out.name}")
            doc.connect(k, out.name, loss, "pred")
            doc.connect(t, "y", loss, "target")
    a = analyse(doc)
    assert not a.problems, a.problems
    return Built(doc, a, batch, grads_in)


def case_ids():
    return [(name, seed) for name in sorted(CASES) for seed in SEEDS]


# ---------------------------------------------------------------------- the oracle

def rel_error(got, want) -> float:
    got, want = np.asarray(got, np.float64).ravel(), np.asarray(want, np.float64).ravel()
    scale = max(float(np.abs(want).max(initial=0.0)), 1e-30)
    return float(np.abs(got - want).max(initial=0.0) / scale)   # NaN in got gives NaN: fails "<"


def sample_indices(shape, rng, most=120) -> np.ndarray:
    """Every element of a small tensor; otherwise a random sample plus the first and last
    rows and the last column of its 2-D view, where a blocked kernel's edges fall."""
    size = int(np.prod(shape))
    if size <= most:
        return np.arange(size)
    rows = shape[0] if len(shape) > 1 else 1
    grid = np.arange(size).reshape(rows, -1)
    edges = np.concatenate([grid[0], grid[-1], grid[:, -1]])
    edges = edges[rng.permutation(len(edges))[:most // 2]]
    return np.unique(np.concatenate([edges, rng.choice(size, most // 2, replace=False)]))


def finite_differences(cost, base: np.ndarray, idx, eps=1e-6) -> np.ndarray:
    out = []
    for i in idx:
        hi, lo = base.copy(), base.copy()
        hi.flat[i] += eps
        lo.flat[i] -= eps
        out.append((cost(hi) - cost(lo)) / (2 * eps))
    return np.array(out)


def feeds_and_weights(b: Built, seed: int):
    rng = np.random.default_rng(seed + 100)
    weights = {k: v.astype(np.float32).astype(np.float64)
               for k, v in init_weights(b.doc, b.analysis, seed).items()}
    return random_feeds(b.doc, b.analysis, b.batch, rng), weights


# ---------------------------------------------------------------------- no GPU needed

def test_every_kind_has_a_case():
    kinds = all_kinds()
    missing = sorted(n for n, k in kinds.items() if k.lower is not None and n not in CASES)
    assert not missing, f"add these kinds to CASES in {__file__}: {missing}"
    assert sorted(n for n, k in kinds.items() if k.lower is None) == sorted(NO_KERNEL)
    assert set(CASES) <= set(kinds), f"CASES names kinds that don't exist: {set(CASES) - set(kinds)}"


@pytest.mark.parametrize("name", sorted(all_kinds()))
def test_shader_declares_every_entry(name):
    from gpu import shaders
    kind = all_kinds()[name]
    if kind.shader is None:
        assert kind.lower is None and not kind.entries
        return
    have = shaders.entries(kind.shader)
    missing = [e for e in kind.entries if e not in have]
    assert not missing, f"{kind.shader} lacks entries {missing} that {name} declares"


@pytest.mark.parametrize("name,seed", case_ids())
def test_cases_lower_and_cover_edges(name, seed):
    """Every case builds, lowers, and emits only entries its shader declares."""
    from gpu import shaders
    b = build_case(name, seed)
    low = lower(b.doc, b.batch, analysis=b.analysis, gradients=True)
    for phase, dispatches in low.program.phases.items():
        for d in dispatches:
            assert d.entry in shaders.entries(d.shader), (phase, d.shader, d.entry)
    assert any(d.node == "k" for d in low.program.phases["forward"])
    assert any(d.node == "k" for d in low.program.phases["backward"]), "the kind emits no backward"


def test_the_shapes_reach_the_awkward_sizes():
    """The drawn shapes include a batch of 1, batches past 64 and sizes off multiples of 4."""
    batches, sizes = set(), set()
    for name, seed in case_ids():
        b = build_case(name, seed)
        batches.add(b.batch)
        sizes.update(d for shape in b.analysis.shapes.values() for d in shape if d is not None)
    assert 1 in batches and max(batches) > 64
    assert any(s % 4 for s in sizes) and any(s > 64 for s in sizes)


# ---------------------------------------------------------------------- on the GPU

@pytest.mark.parametrize("name,seed", case_ids())
def test_kernels_match_reference(gpu_device, name, seed):
    from gpu.engine import Engine
    b = build_case(name, seed)
    feeds, weights = feeds_and_weights(b, seed)
    low = lower(b.doc, b.batch, analysis=b.analysis, weights=weights, gradients=True)
    engine = Engine(low.program, gpu_device)
    try:
        for node, value in feeds.items():
            engine.write(low.feeds[node], value.astype(np.float32))
        ref = reference.forward(b.doc, b.analysis, weights, feeds)
        written = {key: t for key, t in low.outputs.items()
                   if key[0] not in low.feeds and t not in low.params}

        # forward, with every output buffer poisoned first
        for poison in (np.nan, 1e30):
            for t in written.values():
                engine.write(t, np.full(low.program.tensors[t].size, poison, np.float32))
            engine.run(["forward"])
            for key, t in written.items():
                err = rel_error(engine.read(t), ref[key])
                assert err < FORWARD_TOL, f"{name} seed {seed}: forward {key} (poison {poison}): error {err:.3g}"

        # backward against central finite differences of the reference's cost
        engine.run(["forward", "backward"])
        got = {t: engine.read(t) for t in low.program.tensors if t.startswith("d:")}
        rng = np.random.default_rng(seed)
        checked = []
        for tensor, (node, wname, shape) in low.params.items():
            # the harness's Scale(ones) weights: dw = sum(dy * x) only restates the input's
            # gradient, checked below, and is ~0 (all noise) where a kind is invariant to
            # scaling its input (BatchNorm, LayerNorm)
            if grad_name(tensor) not in got or node.startswith("x_"):
                continue

            def cost(w, tensor=tensor):
                return reference.cost(b.doc, b.analysis,
                                      reference.forward(b.doc, b.analysis, {**weights, tensor: w}, feeds))
            checked.append((f"d{tensor}", weights[tensor], cost, got[grad_name(tensor)]))
        for key, tensor in low.outputs.items():
            if grad_name(tensor) not in got or tensor in low.params or key[0] in low.losses:
                continue

            def cost(v, key=key):
                return reference.cost(b.doc, b.analysis,
                                      reference.forward(b.doc, b.analysis, weights, feeds, {key: v}))
            checked.append((f"d{key}", ref[key], cost, got[grad_name(tensor)]))
        # the harness must reach every input the kind feeds a gradient back to, and its params
        names = {c[0] for c in checked}
        want = {f"d{low.outputs[key]}" if low.outputs[key] in low.params else f"d{key}" for key in b.grads_in}
        want |= {f"dk.{w.name}" for w in b.analysis.weights.get("k", []) if w.trainable}   # not state
        assert want <= names, f"not checked: {want - names}"
        for what, base, cost, engine_grad in checked:
            idx = sample_indices(np.shape(base), rng)
            fd = finite_differences(cost, np.asarray(base, np.float64), idx)
            err = rel_error(engine_grad[idx], fd)
            assert err < BACKWARD_TOL, f"{name} seed {seed}: {what}: error {err:.3g} (batch {b.batch})"

        # backward kernels add into their gradient buffers
        k_grads = [grad_name(low.outputs[key]) for key in b.grads_in]
        k_grads += [grad_name(t) for t, (n, _, _) in low.params.items() if n == "k" and grad_name(t) in got]
        r = np.random.default_rng(seed + 7)
        start = {}
        for t in low.program.zeroed:
            start[t] = (r.normal(size=low.program.tensors[t].size).astype(np.float32) if t in k_grads
                        else np.zeros(low.program.tensors[t].size, np.float32))
            engine.write(t, start[t])
        engine.run(["backward"], zero=False)
        for t in k_grads:
            want = start[t].astype(np.float64) + got[t]
            assert rel_error(engine.read(t), want) < 1e-5, f"{name}: the backward into {t} doesn't add"
    finally:
        engine.destroy()
