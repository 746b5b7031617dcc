"""AvgPool2D: y[n, c, oy, ox] = the mean of the K×K window at (oy·S − PT, ox·S − PL) of plane
(n, c), over the elements inside the image only: padding is not counted (PyTorch's
count_include_pad=False), so a window on the border averages fewer elements.

Backward: every element of a window gets dy / (that window's count); one invocation per input
element sums over the windows that contain it (overlapping windows when kernel > stride)."""
import numpy as np

from gpu.program import groups_1d
from ._pool import pool_geometry, pool_params, pool_shape, pool_uniforms
from ._window import padded, taps, window_summary
from .spec import LayerKind, Port


def avg_pool2d(x, kernel, stride, padding="valid", pad=0):
    p = dict(kernel=kernel, stride=stride, padding=padding, pad=pad)
    g = pool_geometry({"x": (None, *x.shape[1:])}, p)
    xp = padded(x, g, kernel, stride, 1, 0.0)
    inside = padded(np.ones((1, 1, *x.shape[2:])), g, kernel, stride, 1, 0.0)
    total = sum(patch for _, _, patch in taps(xp, g, kernel, stride, 1))
    count = sum(patch for _, _, patch in taps(inside, g, kernel, stride, 1))
    return total / count


def _lower(ctx):
    u = pool_uniforms(ctx)
    ctx.forward("forward", groups_1d(ctx.size_out()), {"x": ctx.x("x")}, {"y": ctx.y()}, **u)
    if ctx.dx("x") and ctx.dy():
        ctx.backward("backward", groups_1d(ctx.size_in("x")), {"dy": ctx.dy()}, {"dx": ctx.dx("x")}, **u)


KIND = LayerKind(
    name="avg_pool2d", version=1, category="Core",
    inputs=[Port("x", "images (?, C, H, W)")], outputs=[Port("y")],
    params=pool_params(), shape=pool_shape,
    reference=lambda i, w, p: {"y": avg_pool2d(i["x"], p["kernel"], p["stride"], p["padding"], p["pad"])},
    lower=_lower, shader="layers/avg_pool2d.wgsl", entries=("forward", "backward"),
    doc="The mean of each window, per channel; padding is not counted in the mean.",
    summary=window_summary, color="#2980b9",
)
