"""ELU, SiLU, Softplus, Softmax over a chosen axis, Concat along a chosen axis and Add with a
broadcast operand, on the GPU against their references and finite differences."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from app.model.layers import get_kind
from app.model.layers.spec import ShapeError
from layers_harness import check_kind, graph, rel_error, run


def params(kind, **p):
    return {**get_kind(kind).defaults(), **p}


@pytest.mark.parametrize("kind,p", [
    ("elu", dict(alpha=1.0)), ("elu", dict(alpha=0.3)), ("silu", {}), ("softplus", dict(beta=1.0)),
    ("softplus", dict(beta=4.0)),
])
@pytest.mark.parametrize("shape,batch", [((13,), 3), ((2, 67), 1)])
def test_activation(gpu_device, kind, p, shape, batch):
    check_kind(gpu_device, kind, params(kind, **p), {"x": shape}, batch)


def test_activation_references_by_hand_and_at_the_extremes(gpu_device):
    x = np.array([[-100.0, -20.0, -1.0, -1e-4, 0.0, 1e-4, 1.0, 20.0, 100.0]])
    elu = get_kind("elu").reference({"x": x}, {}, params("elu", alpha=2.0))["y"]
    np.testing.assert_allclose(elu, np.where(x > 0, x, 2.0 * (np.exp(x) - 1)), rtol=1e-12)
    silu = get_kind("silu").reference({"x": x}, {}, {})["y"]
    np.testing.assert_allclose(silu, x * scipy.special.expit(x), rtol=1e-12)
    sp = get_kind("softplus").reference({"x": x}, {}, params("softplus"))["y"]
    np.testing.assert_allclose(sp, np.logaddexp(0.0, x), rtol=1e-12)
    assert sp[0, 0] > 0 and np.isfinite(sp).all()
    # the kernels keep the tails: relative error per element, not just against the largest
    for kind, p in (("elu", params("elu")), ("silu", {}), ("softplus", params("softplus"))):
        doc = graph(kind, p, {"x": (9,)})
        feeds = {"in_x": x, "t_y": np.zeros_like(x)}
        got, low, a, weights, _ = run(gpu_device, doc, 1, feeds=feeds)
        want = get_kind(kind).reference({"x": x}, {}, p)["y"]
        y = got[low.outputs[("k", "y")]].reshape(want.shape)
        assert np.isfinite(y).all(), kind
        big = np.abs(want) > 1e-30
        assert np.max(np.abs(y[big] - want[big]) / np.abs(want[big])) < 1e-5, kind


# ---- Softmax over an axis ----------------------------------------------------------------------

@pytest.mark.parametrize("axis,shape,batch", [(-1, (7,), 3), (1, (5, 3), 2), (-3, (4, 3, 5), 1), (2, (2, 3, 5), 2),
                                              (1, (67, 2), 1)])
def test_softmax_over_an_axis(gpu_device, axis, shape, batch):
    check_kind(gpu_device, "softmax", params("softmax", axis=axis), {"x": shape}, batch)


def test_softmax_axis_rule():
    kind = get_kind("softmax")
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    np.testing.assert_allclose(kind.reference({"x": x}, {}, params("softmax", axis=1))["y"],
                               scipy.special.softmax(x, axis=1), rtol=1e-12)
    np.testing.assert_allclose(kind.reference({"x": x}, {}, {})["y"], scipy.special.softmax(x, axis=-1), rtol=1e-12)
    with pytest.raises(ShapeError, match="batch axis"):
        kind.shape({"x": (None, 4)}, params("softmax", axis=0))
    with pytest.raises(ShapeError, match="outside"):
        kind.shape({"x": (None, 4)}, params("softmax", axis=2))


# ---- Concat along an axis ------------------------------------------------------------------------

@pytest.mark.parametrize("p,inputs,batch", [
    (dict(), {"a": (4,), "b": (3,)}, 3),
    (dict(inputs=3, axis=1), {"a": (2, 5), "b": (3, 5), "c": (1, 5)}, 2),
    (dict(axis=-3), {"a": (2, 3, 5), "b": (1, 3, 5)}, 1),
    (dict(axis=2), {"a": (2, 3, 5), "b": (2, 1, 5)}, 2),
])
def test_concat_along_an_axis(gpu_device, p, inputs, batch):
    check_kind(gpu_device, "concat", params("concat", **p), inputs, batch)


def test_concat_axis_rule():
    kind = get_kind("concat")
    assert kind.shape({"a": (None, 8, 4, 4), "b": (None, 3, 4, 4)}, params("concat", axis=1)) == {"y": (None, 11, 4, 4)}
    with pytest.raises(ShapeError) as e:
        kind.shape({"a": (None, 8, 4, 4), "b": (None, 3, 4, 5)}, params("concat", axis=1))
    assert e.value.port == "b" and "(?, *, 4, 4)" in str(e.value) and "all but axis 1" in str(e.value)
    a, b = np.ones((2, 1, 3)), np.zeros((2, 2, 3))
    assert kind.reference({"a": a, "b": b}, {}, params("concat", axis=1))["y"].shape == (2, 3, 3)


# ---- Add with a broadcast operand -------------------------------------------------------------------

@pytest.mark.parametrize("p,inputs,batch", [
    (dict(broadcast=True), {"a": (3, 4, 5), "b": ("param", (3, 1, 1))}, 2),          # a per-channel bias
    (dict(broadcast=True, inputs=3), {"a": (3, 4, 5), "b": ("param", (5,)), "c": (3, 1, 1)}, 2),
    (dict(broadcast=True, inputs=3), {"a": (3, 4, 5), "b": ("param", (1,)), "c": (3, 4, 5)}, 1),
    (dict(broadcast=True), {"a": (3, 4, 5), "b": ("param", (4, 1))}, 3),
    (dict(broadcast=True), {"a": (6,), "b": ("param", (6,))}, 67),
    (dict(broadcast=True), {"a": (6,), "b": (6,)}, 1),                                 # same shapes still work
])
def test_add_broadcast(gpu_device, p, inputs, batch):
    check_kind(gpu_device, "add", params("add", **p), inputs, batch)


def test_add_broadcast_rule():
    kind = get_kind("add")
    b = params("add", broadcast=True)
    assert kind.shape({"a": (None, 8, 4, 4), "b": (8, 1, 1)}, b) == {"y": (None, 8, 4, 4)}
    assert kind.shape({"a": (None, 8, 4, 4), "b": (None, 8, 1, 1)}, b) == {"y": (None, 8, 4, 4)}
    with pytest.raises(ShapeError, match="doesn't broadcast"):
        kind.shape({"a": (None, 8, 4, 4), "b": (7, 1, 1)}, b)
    with pytest.raises(ShapeError, match="must be adjacent"):
        kind.shape({"a": (None, 8, 4, 4), "b": (8, 1, 4)}, b)
    with pytest.raises(ShapeError, match="more axes"):
        kind.shape({"a": (None, 4), "b": (2, 2, 4)}, b)
    # off (the default, as in files written before the param existed): shapes must match
    with pytest.raises(ShapeError, match=r"got \(8, 1, 1\), expected \(\?, 8, 4, 4\)"):
        kind.shape({"a": (None, 8, 4, 4), "b": (8, 1, 1)}, {"inputs": 2})
