"""Flatten: (?, d1, d2, ...) -> (?, d1·d2·...), row-major (the last axis varies fastest), as
PyTorch's flatten(1). The data doesn't move: forward copies, backward adds dy into dx."""
from gpu.program import groups_1d
from .spec import LayerKind, Port, ShapeError, feature_size, fmt_shape


def _shape(s, p):
    x = s["x"]
    if len(x) < 2 or x[0] is not None:
        raise ShapeError("x", f"expected a batched tensor with features (?, ...), got {fmt_shape(x)}")
    return {"y": (None, feature_size(x))}


def _lower(ctx):
    n = ctx.size_out()
    ctx.forward("copy", groups_1d(n), {"x": ctx.x("x")}, {"y": ctx.y()}, n=n)
    if ctx.dx("x") and ctx.dy():
        ctx.add_into("backward", ctx.dy(), ctx.dx("x"), n)


KIND = LayerKind(
    name="flatten", version=1, category="Combine",
    inputs=[Port("x")], outputs=[Port("y", "(?, features)")], params=[],
    shape=_shape, reference=lambda i, w, p: {"y": i["x"].reshape(i["x"].shape[0], -1)},
    lower=_lower, shader="layers/flatten.wgsl", entries=("copy",),
    doc="Joins every axis but the batch into one: (?, C, H, W) -> (?, C·H·W), e.g. before a Dense.",
    color="#c0392b",
)
