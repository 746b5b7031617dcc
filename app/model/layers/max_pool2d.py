"""MaxPool2D: y[n, c, oy, ox] = the largest x in the K×K window at (oy·S − PT, ox·S − PL) of
plane (n, c); padding never wins (it is −∞).

Backward: the whole gradient of a window goes to one element, its argmax. Tie rule: the
FIRST maximum in scan order (rows top to bottom, each left to right) wins — a later equal
value never replaces it (strict >). The forward stores each window's argmax (a u32 index
into x); the backward is one invocation per input element, which adds dy of every window
whose argmax it is (overlapping windows, kernel > stride, can pick one element twice)."""
import numpy as np

from gpu.program import groups_1d
from ._pool import pool_geometry, pool_params, pool_shape, pool_uniforms
from ._window import padded, taps, window_summary
from .spec import LayerKind, Port


def max_pool2d(x, kernel, stride, padding="valid", pad=0):
    p = dict(kernel=kernel, stride=stride, padding=padding, pad=pad)
    g = pool_geometry({"x": (None, *x.shape[1:])}, p)
    xp = padded(x, g, kernel, stride, 1, -np.inf)
    y = None
    for _, _, patch in taps(xp, g, kernel, stride, 1):
        y = patch.copy() if y is None else np.maximum(y, patch)
    return y


def _lower(ctx):
    u = pool_uniforms(ctx)
    arg = ctx.scratch("argmax", ctx.size_out(), "u32")
    ctx.forward("forward", groups_1d(ctx.size_out()), {"x": ctx.x("x")}, {"y": ctx.y(), "arg": arg}, **u)
    if ctx.dx("x") and ctx.dy():
        ctx.backward("backward", groups_1d(ctx.size_in("x")), {"dy": ctx.dy(), "arg": arg}, {"dx": ctx.dx("x")}, **u)


KIND = LayerKind(
    name="max_pool2d", version=1, category="Core",
    inputs=[Port("x", "images (?, C, H, W)")], outputs=[Port("y")],
    params=pool_params(), shape=pool_shape,
    reference=lambda i, w, p: {"y": max_pool2d(i["x"], p["kernel"], p["stride"], p["padding"], p["pad"])},
    lower=_lower, shader="layers/max_pool2d.wgsl", entries=("forward", "backward"),
    doc="The largest value of each window, per channel. The gradient goes to the window's first "
        "maximum in scan order (row by row, left to right).",
    summary=window_summary, color="#2980b9",
)
