"""The layer catalog: every registered kind's declaration, shape rule and float64 reference
forward (the executable spec the GPU kernels are checked against), plus hand checks.

The generic tests walk all_kinds(), so a new kind is covered as soon as its file exists."""
from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.special

from app.model.layers import CATEGORIES, all_kinds, get_kind
from app.model.layers.spec import (BATCH, MAX_DIM, MAX_RANK, LayerKind, Param, ParamError, ROLES, ShapeError,
                                   Weight, fmt_shape, same_shape)

ROOT = Path(__file__).resolve().parent.parent
KINDS = sorted(all_kinds())
BATCH_N = 3

# Candidate shapes for each input port. A kind's sample inputs are the first combination
# (in this order) that its shape rule accepts; every kind must accept one of them.
CANDIDATES = [(None, 4), (4, 4), (None,), (None, 1), (None, 2, 4), (4,), (None, 2, 6, 6), (None, 64), (None, 1, 8, 8)]


def ports_of(kind: LayerKind, params: dict) -> list[str]:
    return [p.name for p in kind.input_ports(params)]


def sample_shapes(kind: LayerKind, params: dict):
    ports = ports_of(kind, params)
    for combo in itertools.product(CANDIDATES, repeat=len(ports)):
        shapes = dict(zip(ports, combo))
        try:
            return shapes, kind.shape(shapes, params)
        except ShapeError:
            continue
    raise AssertionError(f"{kind.name}: its shape rule accepts none of the sample input shapes; "
                         f"add a fitting shape to CANDIDATES in {Path(__file__).name}")


def concrete(shape, batch=BATCH_N):
    return tuple(batch if d is None else d for d in shape)


def sample_inputs(kind: LayerKind, shapes: dict, rng) -> dict:
    out = {}
    for port, shape in shapes.items():
        if port == "target":   # labels: 0/1 are valid classes, valid BCE targets, valid MSE values
            out[port] = rng.integers(0, 2, concrete(shape)).astype(np.float64)
        else:
            out[port] = rng.normal(0.0, 1.5, concrete(shape))
    return out


def run_kind(kind: LayerKind, params: dict, rng, shapes=None):
    """Infer shapes, make weights and inputs, run the reference; returns (outs, expected shapes)."""
    if shapes is None:
        shapes, out_shapes = sample_shapes(kind, params)
    else:
        out_shapes = kind.shape(shapes, params)
    weights = {w.name: w.initial(rng) for w in kind.weights(shapes, params)}
    if kind.role in ("data", "target"):         # no inputs: the reference is handed the batch
        inputs = {port: rng.normal(size=concrete(s)) for port, s in out_shapes.items()}
    else:
        inputs = sample_inputs(kind, shapes, rng)
    return kind.reference(inputs, weights, params), out_shapes


# ---- every kind ----------------------------------------------------------------------

def test_the_first_set_of_kinds_is_registered():
    first_set = {"input", "target", "dense", "scale", "parameter", "matmul", "relu", "leaky_relu", "sigmoid",
                 "tanh", "gelu", "softmax", "add", "multiply", "concat", "mse", "softmax_cross_entropy",
                 "binary_cross_entropy"}
    assert first_set <= set(KINDS)
    assert get_kind("no_such_kind") is None
    assert all_kinds() is not all_kinds()          # a copy: callers can't corrupt the registry


@pytest.mark.parametrize("name", KINDS)
def test_declaration(name):
    kind = get_kind(name)
    assert kind.name == name and re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name)   # the schema's kind pattern
    assert isinstance(kind.version, int) and kind.version >= 1
    assert kind.category in CATEGORIES and kind.role in ROLES
    params = kind.defaults()
    for ports in (ports_of(kind, params), [p.name for p in kind.outputs]):
        assert len(set(ports)) == len(ports)
        assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,31}", p) for p in ports)   # the schema's port pattern
    assert kind.outputs, "a kind needs an output port"
    assert len({p.name for p in kind.params}) == len(kind.params)
    assert isinstance(kind.summary(params), str)
    if kind.role == "loss":
        assert [p.name for p in kind.outputs] == ["loss"]
    if kind.shader:          # the declared WGSL file exists and has every declared entry point
        text = (ROOT / "wgsl" / kind.shader).read_text("utf-8")
        for shared in re.findall(r"^//!\s*entries\s+from\s+(\S+)", text, flags=re.M):   # see gpu/shaders.py
            text += (ROOT / "wgsl" / shared).read_text("utf-8")
        entries = set(re.findall(r"^//! entry (\w+)", text, flags=re.M))
        assert set(kind.entries) <= entries, f"{kind.shader} lacks {set(kind.entries) - entries}"


@pytest.mark.parametrize("name", KINDS)
def test_param_defaults_pass_their_own_checks(name):
    kind = get_kind(name)
    defaults = kind.defaults()
    assert set(defaults) == {p.name for p in kind.params}
    for p in kind.params:
        assert p.type in ("int", "float", "bool", "choice", "shape")
        assert p.check(p.default) == defaults[p.name]
        if p.type == "choice":
            assert p.default in p.choices
        if p.min is not None and p.max is not None:
            assert p.min <= p.max
    # each call gives fresh copies: one node's list can't be another node's
    again = kind.defaults()
    for key, value in defaults.items():
        if isinstance(value, (list, dict)):
            assert value is not again[key]
            value.append(99) if isinstance(value, list) else None
            assert kind.defaults()[key] == again[key]


@pytest.mark.parametrize("name", KINDS)
def test_params_refuse_wrong_types(name):
    kind = get_kind(name)
    for p in kind.params:
        for bad in ("abc", None, [], {}, float("nan")):
            if p.type == "choice" and bad in p.choices:
                continue
            with pytest.raises(ParamError):
                p.check(bad)
        if p.type in ("int", "float"):
            with pytest.raises(ParamError):
                p.check(True)          # a bool is not a number here
            if p.min is not None:
                with pytest.raises(ParamError, match=re.escape(p.bounds_text().strip())):
                    p.check(p.min - 1)
            if p.max is not None:
                with pytest.raises(ParamError):
                    p.check(p.max + 1)


@pytest.mark.parametrize("name", KINDS)
def test_shape_rule_on_sample_inputs(name):
    kind = get_kind(name)
    params = kind.defaults()
    shapes, outs = sample_shapes(kind, params)
    assert set(outs) == {p.name for p in kind.outputs}
    for port, shape in outs.items():
        shape = tuple(shape)
        assert len(shape) >= 1
        assert all(d is None or (isinstance(d, int) and d >= 1) for d in shape), (port, shape)
        assert all(d is not None for d in shape[1:]), "only the first axis may be the batch"
    for w in kind.weights(shapes, params):
        assert isinstance(w, Weight) and all(isinstance(d, int) and d >= 1 for d in w.shape)
    if kind.role == "loss":
        assert tuple(outs["loss"]) == (None,)


@pytest.mark.parametrize("name", KINDS)
def test_shape_rule_raises_only_shape_errors(name):
    """Any combination of input shapes gives output shapes or a ShapeError on a real port."""
    kind = get_kind(name)
    params = kind.defaults()
    ports = ports_of(kind, params)
    for combo in itertools.product(CANDIDATES + [(None, 7)], repeat=len(ports)):
        try:
            kind.shape(dict(zip(ports, combo)), params)
        except ShapeError as e:
            assert e.port in ports, (combo, e.port)
            assert str(e)


@pytest.mark.parametrize("name", KINDS)
def test_reference_forward_has_the_inferred_shape_and_is_finite(name):
    kind = get_kind(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    outs, expected = run_kind(kind, kind.defaults(), rng)
    assert set(outs) == set(expected)
    for port, y in outs.items():
        y = np.asarray(y)
        assert y.dtype == np.float64, (port, y.dtype)
        assert y.shape == concrete(expected[port]), (port, y.shape, expected[port])
        assert np.all(np.isfinite(y))


def _per_sample(name):
    kind = get_kind(name)
    try:
        shapes, _ = sample_shapes(kind, kind.defaults())
    except AssertionError:
        return False          # test_shape_rule_on_sample_inputs reports it
    return kind.role in ("layer", "loss") and shapes and all(s[0] is None for s in shapes.values())


@pytest.mark.parametrize("name", [k for k in KINDS if _per_sample(k)])
def test_reference_is_batch_independent(name):
    """Row i of a batched output depends only on row i of the batched inputs."""
    kind = get_kind(name)
    params = kind.defaults()
    shapes, out_shapes = sample_shapes(kind, params)
    rng = np.random.default_rng(7)
    weights = {w.name: w.initial(rng) for w in kind.weights(shapes, params)}
    inputs = sample_inputs(kind, shapes, rng)
    full = kind.reference(inputs, weights, params)
    first = kind.reference({k: v[:1] for k, v in inputs.items()}, weights, params)
    for port, y in full.items():
        if out_shapes[port][0] is None:
            np.testing.assert_allclose(first[port], y[:1], rtol=1e-12, atol=1e-12)


# ---- initialisers ----------------------------------------------------------------------

@pytest.mark.parametrize("init", ["zeros", "ones", "uniform", "glorot", "he", "normal"])
def test_weight_initialisers(init):
    w = Weight("w", (200, 300), init, scale=0.5)
    a = w.initial(np.random.default_rng(1))
    assert a.shape == (200, 300) and a.dtype == np.float64 and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, w.initial(np.random.default_rng(1)))     # seeded
    if init == "zeros":
        assert not a.any()
    elif init == "ones":
        assert np.all(a == 1)
    elif init == "uniform":
        assert np.abs(a).max() <= 0.5 and np.abs(a).max() > 0.45
    elif init == "glorot":
        bound = math.sqrt(6 / 500)
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.95 * bound
    elif init == "he":
        assert a.std() == pytest.approx(math.sqrt(2 / 200), rel=0.05)
    elif init == "normal":
        assert a.std() == pytest.approx(0.5, rel=0.05)
    with pytest.raises(ValueError):
        Weight("w", (2, 2), "bogus").initial(np.random.default_rng(0))


def test_weight_of_a_scalar_shape():
    """Scale on a (?,) tensor has a weight of shape (): every initialiser must cope."""
    for init in ("zeros", "ones", "uniform", "glorot", "he", "normal"):
        a = Weight("w", (), init).initial(np.random.default_rng(0))
        assert np.shape(a) == () and np.isfinite(a)
    kind = get_kind("scale")
    (w,) = kind.weights({"x": (None,)}, kind.defaults())
    assert w.shape == ()


# ---- helpers in spec ------------------------------------------------------------------------

def test_fmt_shape():
    assert fmt_shape((None, 32)) == "(?, 32)"
    assert fmt_shape((None,)) == "(?,)"
    assert fmt_shape((3, 4, 5)) == "(3, 4, 5)"


def test_same_shape_message_names_both_shapes():
    with pytest.raises(ShapeError) as e:
        same_shape({"a": (None, 64), "b": (None, 32)}, ["a", "b"])
    assert e.value.port == "b"
    assert str(e.value) == "got (?, 32), expected (?, 64) to match {node}.a"


def test_param_messages_quote_like_the_file():
    units = get_kind("dense").param("units")
    with pytest.raises(ParamError, match=re.escape('expected an integer in [1, 65536], got "abc"')):
        units.check("abc")
    with pytest.raises(ParamError) as e:
        units.check("x" * 10_000_000)      # a huge value never makes a huge message
    assert len(str(e.value)) < 200
    with pytest.raises(ParamError, match="expected true or false, got 1"):
        get_kind("dense").param("bias").check(1)


def test_float_param_refuses_an_int_too_large_for_a_float():
    slope = get_kind("leaky_relu").param("slope")
    assert slope.check(0) == 0.0 and isinstance(slope.check(0), float)
    with pytest.raises(ParamError):
        slope.check(10 ** 400)
    with pytest.raises(ParamError):
        slope.check(float("inf"))
    assert Param("f", "float", 1.0).check(3) == 3.0


def test_shape_param_bounds():
    shape = get_kind("input").param("shape")
    assert shape.check((1, 8, 8)) == [1, 8, 8]
    assert shape.check([MAX_DIM]) == [MAX_DIM]
    assert shape.check([1] * MAX_RANK) == [1] * MAX_RANK
    for bad in ([], [0], [-1], [2.0], [True], [MAX_DIM + 1], [1] * (MAX_RANK + 1), [10 ** 30], "8", 8):
        with pytest.raises(ParamError):
            shape.check(bad)


# ---- hand checks ---------------------------------------------------------------------------

def ref(name, xs, weights=None, **params):
    kind = get_kind(name)
    p = {**kind.defaults(), **params}
    return kind.reference({k: np.asarray(v, dtype=np.float64) for k, v in xs.items()}, weights or {}, p)


def test_dense():
    kind = get_kind("dense")
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 0.5]])
    w = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]])
    b = np.array([0.5, -0.5])
    y = ref("dense", {"x": x}, {"w": w, "b": b}, units=2)["y"]
    np.testing.assert_allclose(y, [[1 + 6 + 0.5, 2 - 3 - 0.5], [-1 + 1 + 0.5, 0 - 0.5 - 0.5]])
    y = ref("dense", {"x": x}, {"w": w}, units=2, bias=False)["y"]
    np.testing.assert_allclose(y, [[7.0, -1.0], [0.0, -0.5]])
    p = {"units": 5, "bias": True}
    assert kind.shape({"x": (None, 3)}, p) == {"y": (None, 5)}
    assert [(w.name, w.shape, w.init) for w in kind.weights({"x": (None, 3)}, p)] == [
        ("w", (3, 5), "glorot"), ("b", (5,), "zeros")]
    assert [w.name for w in kind.weights({"x": (None, 3)}, {"units": 5, "bias": False})] == ["w"]
    for bad in [(None, 2, 3), (None,), (4, 3)]:
        with pytest.raises(ShapeError) as e:
            kind.shape({"x": bad}, p)
        assert e.value.port == "x" and fmt_shape(bad) in str(e.value)


def test_softmax():
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1000.0, 1000.0, -1000.0]])
    y = ref("softmax", {"x": x})["y"]
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(y[0], e / e.sum(), rtol=1e-14)
    np.testing.assert_allclose(y[0], [0.09003057317038046, 0.24472847105479764, 0.6652409557748219], rtol=1e-12)
    np.testing.assert_allclose(y[1], [1 / 3] * 3)
    np.testing.assert_allclose(y[2], [0.5, 0.5, 0.0])         # no overflow at large logits
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-14)
    z = np.random.default_rng(0).normal(size=(5, 2, 7))           # over the last axis, any rank
    np.testing.assert_allclose(ref("softmax", {"x": z})["y"].sum(axis=-1), 1.0, rtol=1e-13)
    np.testing.assert_allclose(ref("softmax", {"x": z + 3.0})["y"], ref("softmax", {"x": z})["y"], rtol=1e-12)


def test_mse():
    loss = ref("mse", {"pred": [[1.0, 2.0], [3.0, 4.0]], "target": [[1.0, 1.0], [1.0, 1.0]]})["loss"]
    np.testing.assert_allclose(loss, [0.5, 6.5])
    # one output per sample against (?,) values
    loss = ref("mse", {"pred": [[2.0], [-1.0]], "target": [0.5, 1.0]})["loss"]
    np.testing.assert_allclose(loss, [2.25, 4.0])
    kind = get_kind("mse")
    assert kind.shape({"pred": (None, 1), "target": (None,)}, {}) == {"loss": (None,)}
    with pytest.raises(ShapeError) as e:
        kind.shape({"pred": (None, 3), "target": (None, 2)}, {})
    assert e.value.port == "target" and str(e.value) == "got (?, 2), expected (?, 3) to match {node}.pred"


def test_softmax_cross_entropy():
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1000.0, 0.0, -1000.0]])
    t = np.array([2, 0, 1])
    loss = ref("softmax_cross_entropy", {"pred": z, "target": t})["loss"]
    hand = [math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 3, math.log(3), 1000.0]
    np.testing.assert_allclose(loss, hand, rtol=1e-12)
    assert loss[0] == pytest.approx(0.40760596444437584, rel=1e-12)
    rng = np.random.default_rng(3)
    z = rng.normal(0, 3, (8, 5))
    t = rng.integers(0, 5, 8)
    loss = ref("softmax_cross_entropy", {"pred": z, "target": t})["loss"]
    np.testing.assert_allclose(loss, -scipy.special.log_softmax(z, axis=1)[np.arange(8), t], rtol=1e-12)
    assert np.all(loss > 0)
    kind = get_kind("softmax_cross_entropy")
    assert kind.shape({"pred": (None, 10), "target": (None,)}, {}) == {"loss": (None,)}
    with pytest.raises(ShapeError) as e:
        kind.shape({"pred": (None, 10), "target": (None, 10)}, {})
    assert e.value.port == "target" and "class labels (?,)" in str(e.value)
    with pytest.raises(ShapeError) as e:
        kind.shape({"pred": (None, 2, 5), "target": (None,)}, {})
    assert e.value.port == "pred"


def test_binary_cross_entropy():
    rng = np.random.default_rng(5)
    z = rng.uniform(-6, 6, (10, 3))
    t = rng.integers(0, 2, (10, 3)).astype(float)
    s = 1 / (1 + np.exp(-z))
    naive = -(t * np.log(s) + (1 - t) * np.log(1 - s)).mean(axis=1)
    np.testing.assert_allclose(ref("binary_cross_entropy", {"pred": z, "target": t})["loss"], naive, rtol=1e-10)
    # soft targets too
    t = rng.uniform(0, 1, (10, 3))
    naive = -(t * np.log(s) + (1 - t) * np.log(1 - s)).mean(axis=1)
    np.testing.assert_allclose(ref("binary_cross_entropy", {"pred": z, "target": t})["loss"], naive, rtol=1e-10)
    # stable where the naive formula gives inf or nan
    z = np.array([[100.0], [-100.0], [100.0], [-100.0], [0.0]])
    t = np.array([1.0, 1.0, 0.0, 0.0, 1.0])
    loss = ref("binary_cross_entropy", {"pred": z, "target": t})["loss"]
    assert np.all(np.isfinite(loss))
    np.testing.assert_allclose(loss, [math.log1p(math.exp(-100)), 100.0, 100.0, math.log1p(math.exp(-100)),
                                      math.log(2)], rtol=1e-12)
    loss = ref("binary_cross_entropy", {"pred": [[1e4, -1e4]], "target": [[0.0, 1.0]]})["loss"]
    np.testing.assert_allclose(loss, [1e4])


def test_gelu_against_math_erf():
    x = np.linspace(-6, 6, 101).reshape(1, -1)
    y = ref("gelu", {"x": x})["y"]
    hand = [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x[0]]
    np.testing.assert_allclose(y[0], hand, rtol=1e-15, atol=1e-300)
    assert ref("gelu", {"x": [[1.0]]})["y"][0, 0] == pytest.approx(0.8413447460685429, rel=1e-15)
    assert ref("gelu", {"x": np.zeros((0, 4))})["y"].shape == (0, 4)    # an empty batch


def test_simple_activations():
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(ref("relu", {"x": x})["y"], [[0, 0, 0, 0.5, 3]])
    np.testing.assert_allclose(ref("leaky_relu", {"x": x}, slope=0.1)["y"], [[-0.2, -0.05, 0, 0.5, 3]])
    np.testing.assert_allclose(ref("leaky_relu", {"x": x})["y"], [[-0.02, -0.005, 0, 0.5, 3]])
    np.testing.assert_allclose(ref("leaky_relu", {"x": x}, slope=1.0)["y"], x)
    np.testing.assert_allclose(ref("tanh", {"x": x})["y"], np.tanh(x))
    np.testing.assert_allclose(ref("sigmoid", {"x": x})["y"][0], [1 / (1 + math.exp(-v)) for v in x[0]], rtol=1e-15)
    big = ref("sigmoid", {"x": [[-700.0, 700.0]]})["y"]
    np.testing.assert_allclose(big, [[0.0, 1.0]], atol=1e-300)
    for name in ("relu", "leaky_relu", "tanh", "sigmoid", "gelu", "softmax"):
        kind = get_kind(name)
        assert kind.shape({"x": (None, 2, 3)}, kind.defaults()) == {"y": (None, 2, 3)}
        with pytest.raises(ShapeError):
            kind.shape({"x": (4, 4)}, kind.defaults())     # a Parameter has no batch axis


def test_concat():
    a = np.arange(4.0).reshape(2, 2)
    b = np.arange(6.0).reshape(2, 3) + 10
    y = ref("concat", {"a": a, "b": b})["y"]
    np.testing.assert_array_equal(y, [[0, 1, 10, 11, 12], [2, 3, 13, 14, 15]])
    y = ref("concat", {"a": a, "b": b, "c": a}, inputs=3)["y"]
    assert y.shape == (2, 7)
    kind = get_kind("concat")
    assert kind.shape({"a": (None, 2), "b": (None, 3)}, {"inputs": 2}) == {"y": (None, 5)}
    assert kind.shape({"a": (None, 4, 2), "b": (None, 4, 3)}, {"inputs": 2}) == {"y": (None, 4, 5)}
    with pytest.raises(ShapeError) as e:
        kind.shape({"a": (None, 4, 2), "b": (None, 5, 3)}, {"inputs": 2})
    assert e.value.port == "b" and "(?, 5, 3)" in str(e.value) and "(?, 4, 2)" in str(e.value)
    with pytest.raises(ShapeError) as e:       # (?,) has no feature axis: not joined along the batch
        kind.shape({"a": (None,), "b": (None,)}, {"inputs": 2})
    assert e.value.port == "a"


def test_add_with_three_inputs():
    kind = get_kind("add")
    p = {"inputs": 3}
    assert [pt.name for pt in kind.input_ports(p)] == ["a", "b", "c"]
    assert [pt.name for pt in kind.input_ports({"inputs": 2})] == ["a", "b"]
    rng = np.random.default_rng(2)
    a, b, c = rng.normal(size=(3, 4, 5))
    np.testing.assert_allclose(ref("add", {"a": a, "b": b, "c": c}, inputs=3)["y"], a + b + c, rtol=1e-15)
    assert kind.shape({"a": (None, 5), "b": (None, 5), "c": (None, 5)}, p) == {"y": (None, 5)}
    with pytest.raises(ShapeError) as e:
        kind.shape({"a": (None, 64), "b": (None, 64), "c": (None, 32)}, p)
    assert e.value.port == "c" and str(e.value) == "got (?, 32), expected (?, 64) to match {node}.a"


def test_add_and_concat_ports_survive_an_out_of_bounds_count():
    """A file may hold inputs: 100 (it loads and validation flags it); ports must not crash."""
    for name in ("add", "concat"):
        kind = get_kind(name)
        assert len(kind.input_ports({"inputs": 100})) == 8
        assert kind.input_ports({"inputs": -3}) == []
        assert len(kind.input_ports({"inputs": 10 ** 30})) == 8


def test_multiply():
    a = np.array([[1.0, -2.0], [3.0, 0.5]])
    b = np.array([[2.0, 2.0], [-1.0, 4.0]])
    np.testing.assert_array_equal(ref("multiply", {"a": a, "b": b})["y"], [[2, -4], [-3, 2]])
    with pytest.raises(ShapeError) as e:
        get_kind("multiply").shape({"a": (None, 3), "b": (None, 4)}, {})
    assert e.value.port == "b"


def test_scale():
    kind = get_kind("scale")
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    w = np.array([2.0, 0.0, -1.0])
    np.testing.assert_array_equal(ref("scale", {"x": x}, {"w": w})["y"], [[2, 0, -3], [8, 0, -6]])
    (weight,) = kind.weights({"x": (None, 3)}, kind.defaults())
    assert weight.shape == (3,) and weight.init == "ones"
    np.testing.assert_array_equal(weight.initial(np.random.default_rng(0)), np.ones(3))   # starts as identity
    (weight,) = kind.weights({"x": (None, 2, 3)}, {"init": "uniform"})
    assert weight.shape == (2, 3)
    assert kind.shape({"x": (None, 3)}, kind.defaults()) == {"y": (None, 3)}


def test_parameter_and_matmul():
    param, matmul = get_kind("parameter"), get_kind("matmul")
    p = {"shape": [3, 2], "init": "glorot"}
    assert param.shape({}, p) == {"y": (3, 2)}
    (w,) = param.weights({}, p)
    assert w.name == "value" and w.shape == (3, 2)
    value = w.initial(np.random.default_rng(0))
    y = param.reference({}, {"value": value}, p)["y"]
    np.testing.assert_array_equal(y, value)
    b = np.array([[1.0, 2.0], [0.0, 1.0], [-1.0, 0.5]])
    a = np.array([[1.0, 1.0, 1.0], [2.0, 0.0, -1.0]])
    out = matmul.reference({"a": a, "b": param.reference({}, {"value": b}, p)["y"]}, {}, {})["y"]
    np.testing.assert_array_equal(out, [[0.0, 3.5], [3.0, 3.5]])
    assert matmul.shape({"a": (None, 3), "b": (3, 2)}, {}) == {"y": (None, 2)}
    assert matmul.shape({"a": (4, 3), "b": (3, 2)}, {}) == {"y": (4, 2)}
    with pytest.raises(ShapeError) as e:
        matmul.shape({"a": (None, 4), "b": (3, 2)}, {})
    assert e.value.port == "b" and "(3, 2)" in str(e.value) and "(?, 4)" in str(e.value)
    with pytest.raises(ShapeError) as e:
        matmul.shape({"a": (None, 3), "b": (None, 3)}, {})
    assert e.value.port == "b"
    with pytest.raises(ShapeError) as e:
        matmul.shape({"a": (None, 2, 3), "b": (3, 2)}, {})
    assert e.value.port == "a"


def test_data_kinds():
    inp, tgt = get_kind("input"), get_kind("target")
    assert inp.shape({}, {"shape": [1, 8, 8]}) == {"y": (None, 1, 8, 8)}
    assert tgt.shape({}, {"labels": "classes", "shape": [1]}) == {"y": (None,)}
    assert tgt.shape({}, {"labels": "values", "shape": [3]}) == {"y": (None, 3)}
    assert inp.role == "data" and tgt.role == "target" and inp.input_ports({"shape": [2]}) == []
    y = inp.reference({"y": [[1, 2]]}, {}, {"shape": [2]})["y"]
    assert y.dtype == np.float64 and y.tolist() == [[1.0, 2.0]]
