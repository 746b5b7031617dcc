"""Conv2D, the 2-D pools, GlobalAvgPool, Flatten, Reshape and Split on the GPU against their
float64 references (forward, relative error < 1e-5) and finite differences of it (backward,
< 1e-3), on awkward shapes; Conv2D also against independent oracles (scipy.signal.correlate2d
and PyTorch's conv2d), and MaxPool's tie rule."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from app.model.layers import get_kind
from app.model.layers.spec import ShapeError
from layers_harness import check_kind, graph, rel_error, run


def params(kind, **p):
    return {**get_kind(kind).defaults(), **p}


# ---- Conv2D ------------------------------------------------------------------------------

CONV_CASES = [
    # (params, (C, H, W), batch): odd sizes, stride > 1 with padding, kernel > stride, 1×1,
    # one channel, a batch of 1, groups, depthwise, dilation, no bias
    (dict(channels=3, kernel=3, padding="same"), (2, 7, 5), 2),
    (dict(channels=4, kernel=3, stride=2, padding="explicit", pad=1), (3, 9, 8), 1),
    (dict(channels=5, kernel=1, padding="valid", bias=False), (5, 3, 4), 3),
    (dict(channels=2, kernel=1, stride=2, padding="valid"), (1, 7, 7), 2),
    (dict(channels=4, kernel=5, stride=3, padding="same"), (1, 8, 13), 1),
    (dict(channels=3, kernel=3, stride=2, padding="valid"), (1, 9, 6), 3),
    (dict(channels=6, kernel=3, padding="same", depthwise=True), (3, 6, 5), 2),
    (dict(channels=4, kernel=3, stride=2, padding="same", groups=2, dilation=2), (4, 11, 9), 2),
    (dict(channels=6, kernel=2, stride=1, padding="explicit", pad=2, groups=3, bias=False), (3, 4, 5), 1),
    (dict(channels=3, kernel=3, padding="valid", dilation=2), (2, 7, 8), 2),
    (dict(channels=2, kernel=4, stride=2, padding="same"), (2, 6, 6), 1),
]


@pytest.mark.parametrize("p,shape,batch", CONV_CASES)
def test_conv2d_matches_reference_and_finite_differences(gpu_device, p, shape, batch):
    check_kind(gpu_device, "conv2d", params("conv2d", **p), {"x": shape}, batch)


@pytest.mark.parametrize("p,shape,batch", [CONV_CASES[0], CONV_CASES[1], CONV_CASES[4], CONV_CASES[9]])
def test_conv2d_direct_kernels_with_one_group(gpu_device, monkeypatch, p, shape, batch):
    """One group normally takes the implicit GEMM; past IM2COL_LIMIT it runs the direct kernels."""
    from app.model.layers import conv2d
    monkeypatch.setattr(conv2d, "IM2COL_LIMIT", 0)
    doc = graph("conv2d", params("conv2d", **p), {"x": shape})
    got, low, *_ = run(gpu_device, doc, batch)
    assert {d.entry for d in low.program.phases["forward"] if d.node == "k"} == {"forward"}
    check_kind(gpu_device, "conv2d", params("conv2d", **p), {"x": shape}, batch)


def same_padding(n, k, s, d):
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def oracle_conv2d(x, w, b, stride, padding, pad, dilation, groups):
    """An independent Conv2D: scipy.signal.correlate2d of each (sample, output channel, input
    channel) on an explicitly padded image with a dilated kernel, then every stride-th value."""
    n, c, h, wd = x.shape
    o, cg, k, _ = w.shape
    if padding == "same":
        (pt, pb), (pl, pr) = same_padding(h, k, stride, dilation), same_padding(wd, k, stride, dilation)
    else:
        pt = pb = pl = pr = pad if padding == "explicit" else 0
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    kd = (k - 1) * dilation + 1
    wdil = np.zeros((o, cg, kd, kd))
    wdil[:, :, ::dilation, ::dilation] = w
    og = o // groups
    y = []
    for i in range(n):
        maps = []
        for oc in range(o):
            g = oc // og
            acc = sum(scipy.signal.correlate2d(xp[i, g * cg + ci], wdil[oc, ci], mode="valid") for ci in range(cg))
            maps.append(acc[::stride, ::stride] + (b[oc] if b is not None else 0.0))
        y.append(maps)
    return np.array(y)


@pytest.mark.parametrize("p,shape,batch", CONV_CASES)
def test_conv2d_against_scipy(gpu_device, p, shape, batch):
    """The reference and the GPU forward both agree with scipy's correlate2d."""
    p = params("conv2d", **p)
    doc = graph("conv2d", p, {"x": shape})
    got, low, a, weights, feeds = run(gpu_device, doc, batch)
    x = feeds["in_x"]                                     # Scale(ones) passes it through
    w, b = weights["k.w"], weights.get("k.b")
    groups = shape[0] if p["depthwise"] else p["groups"]
    want = oracle_conv2d(x, w, b, p["stride"], p["padding"], p["pad"], p["dilation"], groups)
    ref = get_kind("conv2d").reference({"x": x}, {"w": w, "b": b}, p)["y"]
    assert ref.shape == want.shape
    np.testing.assert_allclose(ref, want, rtol=1e-10, atol=1e-12)
    assert rel_error(got[low.outputs[("k", "y")]].reshape(want.shape), want) < 1e-5


def test_conv2d_against_torch():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    rng = np.random.default_rng(3)
    for p, shape, batch in CONV_CASES:
        p = params("conv2d", **p)
        if p["padding"] == "same" and p["stride"] != 1:
            continue                        # torch has no 'same' for strides > 1
        groups = shape[0] if p["depthwise"] else p["groups"]
        x = rng.normal(size=(batch, *shape))
        w = rng.normal(size=(p["channels"], shape[0] // groups, p["kernel"], p["kernel"]))
        b = rng.normal(size=p["channels"]) if p["bias"] else None
        pad = {"valid": 0, "explicit": p["pad"], "same": "same"}[p["padding"]]
        want = F.conv2d(torch.tensor(x), torch.tensor(w), None if b is None else torch.tensor(b), p["stride"],
                        pad, p["dilation"], groups).numpy()
        got = get_kind("conv2d").reference({"x": x}, {"w": w, "b": b}, p)["y"]
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_conv2d_shapes_and_messages():
    kind = get_kind("conv2d")
    p = params("conv2d", channels=8, kernel=3, stride=2, padding="same")
    assert kind.shape({"x": (None, 1, 8, 8)}, p) == {"y": (None, 8, 4, 4)}
    assert kind.shape({"x": (None, 1, 7, 5)}, p) == {"y": (None, 8, 4, 3)}
    assert kind.shape({"x": (None, 1, 8, 8)}, {**p, "padding": "valid"}) == {"y": (None, 8, 3, 3)}
    assert kind.shape({"x": (None, 1, 8, 8)}, {**p, "padding": "explicit", "pad": 1}) == {"y": (None, 8, 4, 4)}
    ws = kind.weights({"x": (None, 4, 8, 8)}, {**p, "groups": 2})
    assert [(w.name, w.shape) for w in ws] == [("w", (8, 2, 3, 3)), ("b", (8,))]
    with pytest.raises(ShapeError, match=r"expected an image batch \(\?, channels, height, width\), got \(\?, 64\)"):
        kind.shape({"x": (None, 64)}, p)
    with pytest.raises(ShapeError, match="3 input channels don't split into 2 groups"):
        kind.shape({"x": (None, 3, 8, 8)}, {**p, "groups": 2})
    with pytest.raises(ShapeError, match="depthwise needs a multiple"):
        kind.shape({"x": (None, 3, 8, 8)}, {**p, "depthwise": True})
    with pytest.raises(ShapeError, match="too small"):
        kind.shape({"x": (None, 1, 2, 8)}, {**p, "padding": "valid"})


# ---- pools -------------------------------------------------------------------------------

POOL_CASES = [
    (dict(), (2, 7, 5), 2),                                                # odd sizes: the edge is dropped
    (dict(kernel=3, stride=2, padding="explicit", pad=1), (3, 9, 8), 1),  # stride > 1 with padding
    (dict(kernel=3, stride=1, padding="same"), (1, 5, 6), 3),              # kernel > stride: overlaps
    (dict(kernel=4, stride=3, padding="same"), (2, 10, 7), 2),             # uneven 'same' padding
    (dict(kernel=1, stride=2), (1, 5, 5), 1),
    (dict(kernel=5, stride=5, padding="same"), (1, 3, 4), 2),              # one window, mostly padding
]


@pytest.mark.parametrize("kind", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("p,shape,batch", POOL_CASES)
def test_pool_matches_reference_and_finite_differences(gpu_device, kind, p, shape, batch):
    check_kind(gpu_device, kind, params(kind, **p), {"x": shape}, batch)


def test_pools_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    mx = get_kind("max_pool2d").reference({"x": x}, {}, params("max_pool2d"))["y"]
    np.testing.assert_array_equal(mx[0, 0], [[5, 7], [13, 15]])
    av = get_kind("avg_pool2d").reference({"x": x}, {}, params("avg_pool2d"))["y"]
    np.testing.assert_array_equal(av[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    # padding isn't counted in the mean: the corner window of a 3x3/1 'same' pool holds 4 values
    av = get_kind("avg_pool2d").reference({"x": x}, {}, params("avg_pool2d", kernel=3, stride=1, padding="same"))["y"]
    assert av[0, 0, 0, 0] == np.mean([0, 1, 4, 5])
    with pytest.raises(ShapeError, match="more than half the kernel"):
        get_kind("max_pool2d").shape({"x": (None, 1, 8, 8)}, params("max_pool2d", padding="explicit", pad=2))


def test_max_pool_ties_go_to_the_first_maximum(gpu_device):
    """Tie rule: the gradient of a window goes to its first maximum in scan order (row by
    row, left to right); overlapping windows each pick their own."""
    doc = graph("max_pool2d", params("max_pool2d", kernel=2, stride=1), {"x": (1, 3, 3)})
    x = np.array([[[[1.0, 1.0, 0.0],
                    [1.0, 1.0, 2.0],
                    [0.0, 2.0, 2.0]]]])
    from app.model.shapes import analyse
    a = analyse(doc)
    feeds = {"in_x": x, "t_y": np.zeros((1, 1, 2, 2))}
    got, low, *_ = run(gpu_device, doc, 1, feeds=feeds)
    y = got[low.outputs[("k", "y")]].reshape(2, 2)
    np.testing.assert_array_equal(y, [[1, 2], [2, 2]])
    # MSE against zeros: dC/dy = 2·y / 4 per window
    dx = got["d:" + low.outputs[("x_x", "y")]].reshape(3, 3)
    dy = 2 * y / 4
    want = np.zeros((3, 3))
    want[0, 0] += dy[0, 0]          # window (0,0): four 1s, the first is (0,0)
    want[1, 2] += dy[0, 1]          # window (0,1): the 2 at (1,2)
    want[2, 1] += dy[1, 0]          # window (1,0): the 2 at (2,1)
    want[1, 2] += dy[1, 1]          # window (1,1): 2s at (1,2), (2,1), (2,2): the first is (1,2)
    np.testing.assert_allclose(dx, want, rtol=1e-6)


def test_global_avg_pool(gpu_device):
    for shape, batch in (((3, 5, 7), 2), ((5, 3), 1), ((1, 1, 1), 3)):
        check_kind(gpu_device, "global_avg_pool", {}, {"x": shape}, batch)
    kind = get_kind("global_avg_pool")
    assert kind.shape({"x": (None, 8, 4, 4)}, {}) == {"y": (None, 8)}
    with pytest.raises(ShapeError):
        kind.shape({"x": (None, 8)}, {})


# ---- Flatten, Reshape, Split -----------------------------------------------------------------

def test_flatten_and_reshape(gpu_device):
    check_kind(gpu_device, "flatten", {}, {"x": (2, 3, 5)}, 3)
    check_kind(gpu_device, "flatten", {}, {"x": (7,)}, 1)
    check_kind(gpu_device, "reshape", {"shape": [5, 6]}, {"x": (2, 3, 5)}, 1)
    check_kind(gpu_device, "reshape", {"shape": [1, 8, 8]}, {"x": (64,)}, 2)
    assert get_kind("flatten").shape({"x": (None, 16, 4, 4)}, {}) == {"y": (None, 256)}
    with pytest.raises(ShapeError, match=r"\(\?, 63\) has 63 elements per sample; shape \[1, 8, 8\] needs 64"):
        get_kind("reshape").shape({"x": (None, 63)}, {"shape": [1, 8, 8]})
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(get_kind("flatten").reference({"x": x}, {}, {})["y"], x.reshape(2, 12))


@pytest.mark.parametrize("p,shape,batch", [
    (dict(), (4, 6), 3),
    (dict(axis=1, size=3), (5, 2, 3), 2),
    (dict(axis=2, size=1), (5, 2, 3), 1),
    (dict(axis=-3, size=0), (4, 3, 3), 2),
    (dict(axis=-1, size=66), (2, 67), 2),
])
def test_split(gpu_device, p, shape, batch):
    check_kind(gpu_device, "split", params("split", **p), {"x": shape}, batch)


def test_split_shapes():
    kind = get_kind("split")
    assert kind.shape({"x": (None, 6)}, params("split")) == {"a": (None, 3), "b": (None, 3)}
    assert kind.shape({"x": (None, 8, 4, 4)}, params("split", axis=1, size=2)) == {"a": (None, 2, 4, 4),
                                                                                     "b": (None, 6, 4, 4)}
    with pytest.raises(ShapeError, match="don't halve"):
        kind.shape({"x": (None, 5)}, params("split"))
    with pytest.raises(ShapeError, match="batch axis"):
        kind.shape({"x": (None, 6)}, params("split", axis=0))
    with pytest.raises(ShapeError, match="can't split off 6"):
        kind.shape({"x": (None, 6)}, params("split", size=6))
