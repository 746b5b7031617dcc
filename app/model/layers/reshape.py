"""Reshape: (?, ...) -> (?, *shape), row-major like numpy's reshape; the element count per
sample must stay the same. The data doesn't move: forward copies, backward adds dy into dx."""
import math

from gpu.program import groups_1d
from .spec import LayerKind, Param, Port, ShapeError, feature_size, fmt_shape


def _shape(s, p):
    x = s["x"]
    if len(x) < 1 or x[0] is not None:
        raise ShapeError("x", f"expected a batched tensor (?, ...), got {fmt_shape(x)}")
    have, want = feature_size(x), math.prod(p["shape"])
    if have != want:
        raise ShapeError("x", f"{fmt_shape(x)} has {have} elements per sample; shape {list(p['shape'])} "
                              f"needs {want}")
    return {"y": (None, *p["shape"])}


def _lower(ctx):
    n = ctx.size_out()
    ctx.forward("copy", groups_1d(n), {"x": ctx.x("x")}, {"y": ctx.y()}, n=n)
    if ctx.dx("x") and ctx.dy():
        ctx.add_into("backward", ctx.dy(), ctx.dx("x"), n)


KIND = LayerKind(
    name="reshape", version=1, category="Combine",
    inputs=[Port("x")], outputs=[Port("y")],
    params=[Param("shape", "shape", [1, 8, 8], doc="the new shape per sample (no batch axis); same element count")],
    shape=_shape, reference=lambda i, w, p: {"y": i["x"].reshape(i["x"].shape[0], *p["shape"])},
    lower=_lower, shader="layers/reshape.wgsl", entries=("copy",),
    doc="Gives each sample a new shape with the same number of elements, e.g. (?, 64) -> (?, 1, 8, 8).",
    summary=lambda p: "×".join(map(str, p["shape"])),
    color="#c0392b",
)
