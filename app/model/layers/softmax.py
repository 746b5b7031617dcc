"""Softmax over the last axis. Backward (one invocation per row): dx += y ⊙ (dy − Σ dy⊙y)."""
import numpy as np

from gpu.program import groups_1d
from .spec import LayerKind, Port, feature_size, need_batched


def softmax(x):
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _lower(ctx):
    shape = ctx.shape_in("x")
    width = shape[-1]
    rows = ctx.size_in("x") // width
    ctx.forward("forward", groups_1d(rows), {"x": ctx.x("x")}, {"y": ctx.y()}, rows=rows, width=width)
    if ctx.dx("x") and ctx.dy():
        ctx.backward("backward", groups_1d(rows), {"y": ctx.y(), "dy": ctx.dy()}, {"dx": ctx.dx("x")},
                     rows=rows, width=width)


KIND = LayerKind(
    name="softmax", version=1, category="Activation",
    inputs=[Port("x")], outputs=[Port("y")], params=[],
    shape=lambda s, p: {"y": need_batched(s, "x")},
    reference=lambda i, w, p: {"y": softmax(i["x"])},
    lower=_lower, shader="layers/softmax.wgsl", entries=("forward", "backward"),
    doc="Turns each row into probabilities. For training a classifier, feed logits to SoftmaxCrossEntropy instead.",
    color="#e67e22",
)
