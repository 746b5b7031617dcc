"""Multiply: y = a ⊙ b, elementwise. Backward: da += dy ⊙ b, db += dy ⊙ a."""
from gpu.program import groups_1d
from .spec import LayerKind, Port, same_shape


def _lower(ctx):
    n = ctx.size_out()
    ctx.forward("forward", groups_1d(n), {"a": ctx.x("a"), "b": ctx.x("b")}, {"y": ctx.y()}, n=n)
    if ctx.dy() is None:
        return
    for mine, other in (("a", "b"), ("b", "a")):
        if ctx.dx(mine):
            ctx.backward("backward", groups_1d(n), {"dy": ctx.dy(), "other": ctx.x(other)},
                         {"dx": ctx.dx(mine)}, n=n)


KIND = LayerKind(
    name="multiply", version=1, category="Combine",
    inputs=[Port("a"), Port("b")], outputs=[Port("y")], params=[],
    shape=lambda s, p: {"y": same_shape(s, ["a", "b"])},
    reference=lambda i, w, p: {"y": i["a"] * i["b"]},
    lower=_lower, shader="layers/multiply.wgsl", entries=("forward", "backward"),
    doc="Elementwise product of two tensors (gating).",
    color="#c0392b",
)
