"""GlobalAvgPool: (?, C, *spatial) -> (?, C), the mean of each channel over all its positions
(S of them). Backward: every position of channel c gets dy[n, c] / S."""
import math

from gpu.program import WORKGROUP, groups_1d
from .spec import LayerKind, Port, ShapeError, fmt_shape


def _shape(s, p):
    x = s["x"]
    if len(x) < 3 or x[0] is not None:
        raise ShapeError("x", f"expected (?, channels, positions...) such as (?, C, H, W), got {fmt_shape(x)}")
    return {"y": (None, x[1])}


def _lower(ctx):
    shape = ctx.shape_in("x")
    rows, positions = shape[0] * shape[1], math.prod(shape[2:])
    ctx.forward("forward", groups_1d(rows * WORKGROUP), {"x": ctx.x("x")}, {"y": ctx.y()}, rows=rows, positions=positions)
    if ctx.dx("x") and ctx.dy():
        ctx.backward("backward", groups_1d(rows * positions), {"dy": ctx.dy()}, {"dx": ctx.dx("x")},
                     rows=rows, positions=positions)


KIND = LayerKind(
    name="global_avg_pool", version=1, category="Core",
    inputs=[Port("x", "feature maps (?, C, H, W)")], outputs=[Port("y", "(?, C)")], params=[],
    shape=_shape,
    reference=lambda i, w, p: {"y": i["x"].reshape(*i["x"].shape[:2], -1).mean(axis=2)},
    lower=_lower, shader="layers/global_avg_pool.wgsl", entries=("forward", "backward"),
    doc="The mean of each channel over all positions: (?, C, H, W) -> (?, C).",
    color="#2980b9",
)
