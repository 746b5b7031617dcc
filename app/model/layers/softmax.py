"""Softmax over one axis (the last by default; `axis` counts the batch as 0, negative from the
end). Seen around the axis the tensor is (outer, width, inner): one invocation per
(outer, inner) line of `width` values, at stride `inner`.
Backward (per line): dx += y ⊙ (dy − Σ dy⊙y)."""
import numpy as np

from gpu.program import groups_1d
from ._axis import axis_param, outer_inner, resolve_axis
from .spec import LayerKind, Port, need_batched


def softmax(x, axis=-1):
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def _shape(s, p):
    x = need_batched(s, "x")
    resolve_axis(x, p.get("axis", -1), "x")
    return {"y": x}


def _reference(i, w, p):
    x = i["x"]
    return {"y": softmax(x, resolve_axis((None, *x.shape[1:]), p.get("axis", -1), "x"))}


def _lower(ctx):
    shape = ctx.shape_in("x")
    outer, width, inner = outer_inner(shape, resolve_axis(shape, ctx.params.get("axis", -1), "x"))
    u = dict(lines=outer * inner, width=width, inner=inner)
    ctx.forward("forward", groups_1d(outer * inner), {"x": ctx.x("x")}, {"y": ctx.y()}, **u)
    if ctx.dx("x") and ctx.dy():
        ctx.backward("backward", groups_1d(outer * inner), {"y": ctx.y(), "dy": ctx.dy()}, {"dx": ctx.dx("x")}, **u)


KIND = LayerKind(
    name="softmax", version=1, category="Activation",
    inputs=[Port("x")], outputs=[Port("y")], params=[axis_param("the axis whose values sum to 1")],
    shape=_shape, reference=_reference,
    lower=_lower, shader="layers/softmax.wgsl", entries=("forward", "backward"),
    doc="Turns each row into probabilities (along `axis`, the last by default). For training a classifier, "
        "feed logits to SoftmaxCrossEntropy instead.",
    summary=lambda p: "" if p.get("axis", -1) == -1 else f"axis {p['axis']}",
    color="#e67e22",
)
